import Foundation
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// An `openssl` command-line process for the interop tests: output captured, lifetime
/// bounded, always stopped.
final class OpenSSLProcess: @unchecked Sendable {
    /// The `openssl` binary on PATH, nil if not installed.
    static let executable: String? = {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        for dir in path.split(separator: ":") {
            let candidate = "\(dir)/openssl"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }()

    /// Skips the calling test when `openssl` is missing.
    static func requireInstalled() throws -> String {
        guard let exe = executable else { throw XCTSkip("openssl is not installed") }
        return exe
    }

    let process = Process()
    private let stdinPipe = Pipe()
    private let outputPipe = Pipe()
    private let lock = NSLock()
    private var captured = Data()
    private var stopped = false

    init(_ arguments: [String], directory: URL? = nil) throws {
        process.executableURL = URL(fileURLWithPath: try OpenSSLProcess.requireInstalled())
        process.arguments = arguments
        if let directory { process.currentDirectoryURL = directory }
        process.standardInput = stdinPipe
        process.standardOutput = outputPipe
        process.standardError = outputPipe
        outputPipe.fileHandleForReading.readabilityHandler = { [weak self] handle in
            let data = handle.availableData
            guard let self, !data.isEmpty else { return }
            self.lock.lock()
            self.captured.append(data)
            self.lock.unlock()
        }
        try process.run()
    }

    deinit { stop() }

    /// Everything written to stdout and stderr so far.
    var output: String {
        lock.lock()
        defer { lock.unlock() }
        return String(decoding: captured, as: UTF8.self)
    }

    /// Waits until the output contains `text` (true) or `seconds` pass / the process exits (false).
    @discardableResult
    func waitForOutput(_ text: String, within seconds: Double = 10) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if output.contains(text) { return true }
            if !process.isRunning {
                usleep(100_000)
                return output.contains(text)
            }
            usleep(20_000)
        }
        return output.contains(text)
    }

    /// The port of `s_server -accept 127.0.0.1:0` ("ACCEPT 127.0.0.1:PORT").
    func acceptedPort(within seconds: Double = 10) -> UInt16? {
        guard waitForOutput("ACCEPT", within: seconds) else { return nil }
        for line in output.split(separator: "\n") where line.hasPrefix("ACCEPT") {
            if let colon = line.lastIndex(of: ":"), let port = UInt16(line[line.index(after: colon)...]) {
                return port
            }
        }
        return nil
    }

    func writeStdin(_ text: String) {
        try? stdinPipe.fileHandleForWriting.write(contentsOf: Data(text.utf8))
    }

    func closeStdin() { try? stdinPipe.fileHandleForWriting.close() }

    /// Waits for the process to exit by itself.
    @discardableResult
    func waitForExit(within seconds: Double) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while process.isRunning && Date() < deadline { usleep(20_000) }
        return !process.isRunning
    }

    /// Terminates (SIGTERM, then SIGKILL after a second) and reaps the process.
    func stop() {
        if stopped { return }
        stopped = true
        if process.isRunning {
            process.terminate()
            if !waitForExit(within: 1) { kill(process.processIdentifier, SIGKILL) }
            process.waitUntilExit()
        }
        outputPipe.fileHandleForReading.readabilityHandler = nil
        closeStdin()
    }
}
