// TLSCredential loading failures name their cause (written with the SwiftQuic API work, which
// maps them all to QUIC_STATUS_TLS_ERROR).

import Foundation
import QuicTLS
import XCTest

final class CredentialLoadTests: XCTestCase {
    private func openssl(_ arguments: [String]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["openssl"] + arguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw XCTSkip("openssl \(arguments.first ?? "") failed") }
    }

    func testPKCS12PasswordAndContentErrors() throws {
        let dir = NSTemporaryDirectory() + "quictls-cred-\(getpid())"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try openssl(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                     "-keyout", "\(dir)/k.pem", "-out", "\(dir)/c.pem", "-days", "1", "-subj", "/CN=localhost"])
        try openssl(["pkcs12", "-export", "-in", "\(dir)/c.pem", "-inkey", "\(dir)/k.pem",
                     "-out", "\(dir)/full.p12", "-passout", "pass:secret"])
        try openssl(["pkcs12", "-export", "-nokeys", "-in", "\(dir)/c.pem",
                     "-out", "\(dir)/certonly.p12", "-passout", "pass:secret"])
        let full = try [UInt8](Data(contentsOf: URL(fileURLWithPath: "\(dir)/full.p12")))
        let certOnly = try [UInt8](Data(contentsOf: URL(fileURLWithPath: "\(dir)/certonly.p12")))

        XCTAssertEqual(try TLSCredential.loadPKCS12(full, password: "secret").chain.count, 1)
        XCTAssertThrowsError(try TLSCredential.loadPKCS12(full, password: "wrong")) {
            XCTAssertEqual($0 as? CredentialError, .badPassword)
        }
        // The right password on a blob without a key is bad data, not a bad password.
        XCTAssertThrowsError(try TLSCredential.loadPKCS12(certOnly, password: "secret")) {
            guard case .invalidData = $0 as? CredentialError else { return XCTFail("\($0)") }
        }
        XCTAssertThrowsError(try TLSCredential.loadPKCS12(certOnly, password: "wrong")) {
            XCTAssertEqual($0 as? CredentialError, .badPassword)
        }
    }
}
