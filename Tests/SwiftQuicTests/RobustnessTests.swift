// Memory safety of the size protocol and of the handle registry under concurrent use.

import CMsQuic
import Foundation
import XCTest

final class RobustnessTests: XCTestCase {
    func testShortSettingsBufferIsNeverWrittenPastItsLength() {
        let quic = Quic()
        defer { quic.close() }
        for length in [109, 116, 120, 127, 128, 140, 143, 144] {
            let buffer = UnsafeMutableRawPointer.allocate(byteCount: 256, alignment: 8)
            defer { buffer.deallocate() }
            buffer.initializeMemory(as: UInt8.self, repeating: 0xAA, count: 256)
            var size = UInt32(length)
            XCTAssertEqual(quic.api.GetParam!(nil, UInt32(QUIC_PARAM_GLOBAL_SETTINGS), &size, buffer), S.success)
            XCTAssertEqual(size, UInt32(length))
            for i in length..<256 {
                XCTAssertEqual(buffer.load(fromByteOffset: i, as: UInt8.self), 0xAA, "byte \(i) of a \(length)-byte buffer")
            }
        }
        // A larger buffer gets the whole struct and its length back.
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: 256, alignment: 8)
        defer { buffer.deallocate() }
        var size: UInt32 = 256
        XCTAssertEqual(quic.api.GetParam!(nil, UInt32(QUIC_PARAM_GLOBAL_SETTINGS), &size, buffer), S.success)
        XCTAssertEqual(size, 144)
    }

    func testConcurrentOpenUseAndClose() {
        let quic = Quic()
        defer { quic.close() }
        let api = quic.api
        final class Counter: @unchecked Sendable {
            let lock = NSLock()
            var value = 0
            func bump() { lock.lock(); value += 1; lock.unlock() }
        }
        let failures = Counter()
        DispatchQueue.concurrentPerform(iterations: 8) { worker in
            for round in 0..<200 {
                var registration: HQUIC?
                guard api.RegistrationOpen!(nil, &registration) == S.success else {
                    failures.bump(); continue
                }
                let (status, configuration) = withBuffers([Array("w\(worker)".utf8)]) { buffers -> (UInt32, HQUIC?) in
                    var handle: HQUIC?
                    let status = api.ConfigurationOpen!(registration, buffers.baseAddress, 1, nil, 0, nil, &handle)
                    return (status, handle)
                }
                var length: UInt32 = 144
                var settings = QUIC_SETTINGS()
                let get = api.GetParam!(configuration, UInt32(QUIC_PARAM_CONFIGURATION_SETTINGS), &length, &settings)
                if status != S.success || get != S.success || settings.IdleTimeoutMs != 30_000 {
                    failures.bump()
                }
                if round % 2 == 0 { api.ConfigurationClose!(configuration) }
                api.RegistrationClose!(registration)
            }
        }
        XCTAssertEqual(failures.value, 0)
    }
}
