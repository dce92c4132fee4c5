// Test support: the API reached the way a C program reaches it (MsQuicOpenVersion through the
// public header), status values from the header's facts, and test certificates made by
// CTests/gen-certs.sh.

import CMsQuic
import Foundation
import XCTest

/// QUIC_STATUS values (msquic_posix.h); the header spells them as casts Swift cannot import.
enum S {
    static let success: UInt32 = 0
    static let pending: UInt32 = 0xFFFF_FFFE
    static let invalidParameter: UInt32 = UInt32(EINVAL)
    static let invalidState: UInt32 = UInt32(EPERM)
    static let notSupported: UInt32 = UInt32(EOPNOTSUPP)
    static let bufferTooSmall: UInt32 = UInt32(EOVERFLOW)
    static let tlsError: UInt32 = UInt32(ENOKEY)
    static let outOfMemory: UInt32 = UInt32(ENOMEM)
}

/// One MsQuicOpenVersion reference; closed by `close()` (tests close explicitly so the library
/// state is fresh for the next test).
final class Quic {
    let table: UnsafePointer<QUIC_API_TABLE>
    var api: QUIC_API_TABLE { table.pointee }
    private var closed = false

    init(file: StaticString = #filePath, line: UInt = #line) {
        var raw: UnsafeRawPointer?
        let status = MsQuicOpenVersion(UInt32(QUIC_API_VERSION_2), &raw)
        XCTAssertEqual(status, S.success, file: file, line: line)
        table = raw!.assumingMemoryBound(to: QUIC_API_TABLE.self)
    }

    func close() {
        guard !closed else { return }
        closed = true
        MsQuicClose(UnsafeRawPointer(table))
    }

    deinit { close() }

    func registration(_ name: String? = nil, file: StaticString = #filePath, line: UInt = #line) -> HQUIC {
        var handle: HQUIC?
        let status: UInt32
        if let name {
            status = name.withCString { cName in
                var config = QUIC_REGISTRATION_CONFIG(AppName: cName, ExecutionProfile: QUIC_EXECUTION_PROFILE_LOW_LATENCY)
                return api.RegistrationOpen!(&config, &handle)
            }
        } else {
            status = api.RegistrationOpen!(nil, &handle)
        }
        XCTAssertEqual(status, S.success, file: file, line: line)
        return handle!
    }

    /// ConfigurationOpen with the given ALPNs and optional settings.
    func openConfiguration(_ registration: HQUIC?, alpns: [String] = ["test"],
                           settings: UnsafePointer<QUIC_SETTINGS>? = nil,
                           settingsSize: UInt32 = UInt32(MemoryLayout<QUIC_SETTINGS>.size),
                           context: UnsafeMutableRawPointer? = nil) -> (UInt32, HQUIC?) {
        let storage = alpns.map { Array($0.utf8) }
        return withBuffers(storage) { buffers in
            var handle: HQUIC?
            let status = api.ConfigurationOpen!(registration, buffers.baseAddress, UInt32(buffers.count),
                                                settings, settings == nil ? 0 : settingsSize, context, &handle)
            return (status, handle)
        }
    }

    func configuration(_ registration: HQUIC, alpns: [String] = ["test"],
                       file: StaticString = #filePath, line: UInt = #line) -> HQUIC {
        let (status, handle) = openConfiguration(registration, alpns: alpns)
        XCTAssertEqual(status, S.success, file: file, line: line)
        return handle!
    }

    // MARK: GetParam / SetParam helpers

    func get(_ handle: HQUIC?, _ param: Int32, _ length: inout UInt32, _ buffer: UnsafeMutableRawPointer?) -> UInt32 {
        api.GetParam!(handle, UInt32(param), &length, buffer)
    }

    func get<T>(_ handle: HQUIC?, _ param: Int32, as type: T.Type) -> (UInt32, T?) {
        let size = MemoryLayout<T>.size
        let raw = UnsafeMutableRawPointer.allocate(byteCount: max(size, 1), alignment: 8)
        defer { raw.deallocate() }
        raw.initializeMemory(as: UInt8.self, repeating: 0, count: size)
        var length = UInt32(size)
        let status = api.GetParam!(handle, UInt32(param), &length, raw)
        return (status, status == S.success ? raw.load(as: T.self) : nil)
    }

    func set<T>(_ handle: HQUIC?, _ param: Int32, _ value: T) -> UInt32 {
        var value = value
        return withUnsafeBytes(of: &value) { api.SetParam!(handle, UInt32(param), UInt32($0.count), $0.baseAddress) }
    }
}

/// An array of QUIC_BUFFER over `storage` for the duration of `body`.
func withBuffers<R>(_ storage: [[UInt8]], _ body: (UnsafeMutableBufferPointer<QUIC_BUFFER>) -> R) -> R {
    let copies = storage.map { bytes -> UnsafeMutablePointer<UInt8> in
        let p = UnsafeMutablePointer<UInt8>.allocate(capacity: max(bytes.count, 1))
        p.initialize(from: bytes, count: bytes.count)
        return p
    }
    defer { copies.forEach { $0.deallocate() } }
    let buffers = UnsafeMutableBufferPointer<QUIC_BUFFER>.allocate(capacity: max(storage.count, 1))
    defer { buffers.deallocate() }
    for (i, bytes) in storage.enumerated() {
        buffers[i] = QUIC_BUFFER(Length: UInt32(bytes.count), Buffer: copies[i])
    }
    return body(UnsafeMutableBufferPointer(rebasing: buffers[0..<storage.count]))
}

/// Certificates from CTests/gen-certs.sh, made once per test run.
enum Certs {
    static let directory: String? = {
        let dir = NSTemporaryDirectory() + "swiftquic-api-tests-\(getpid())"
        let script = URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("CTests/gen-certs.sh").path
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/bash")
        process.arguments = [script, dir]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        do { try process.run() } catch { return nil }
        process.waitUntilExit()
        return process.terminationStatus == 0 ? dir : nil
    }()

    static func path(_ name: String) throws -> String {
        guard let directory else { throw XCTSkip("gen-certs.sh could not make test certificates") }
        return directory + "/" + name
    }
}
