import Foundation
import XCTest
@testable import QuicCore

/// Replays the connection fuzz target's inputs (ConnectionFuzzDriver.swift) deterministically:
/// the committed corpus seeds and every reproducer the fuzzer found (issue 10).
final class ConnectionFuzzReplayTests: XCTestCase {
    static let fuzzDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Fuzz")

    func inputs(_ directory: String) throws -> [(String, [UInt8])] {
        let dir = Self.fuzzDirectory.appendingPathComponent(directory)
        let names = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { !$0.hasPrefix(".") }.sorted()
        return try names.map { ($0, [UInt8](try Data(contentsOf: dir.appendingPathComponent($0)))) }
    }

    /// The harness itself works: with no operations both roles complete a real handshake and
    /// the victim ends by idle timeout (RFC 9000 §10.1) while the harness follows the timers.
    func testPlainSessionsHandshakeAndIdleOut() {
        // Byte 1 knobs: none, a Retry first (RFC 9000 §8.1.2), 1452-byte datagrams + ChaCha20 only.
        for flags: UInt8 in [0x00, 0x01] {
            for knobs: UInt8 in [0x00, 0x20, 0xc0] {
                let outcome = ConnectionFuzz.run([flags, knobs])
                XCTAssertTrue(outcome.handshakeCompleted, "flags \(flags) knobs \(knobs)")
                XCTAssertTrue(outcome.closed, "flags \(flags) knobs \(knobs)")
                XCTAssertEqual(outcome.closeReason?.idleTimeout, true, "flags \(flags) knobs \(knobs)")
            }
        }
    }

    /// Frames injected by the harness reach the victim in a packet it authenticates: a
    /// MAX_STREAMS above 2^60 in 1-RTT is a FRAME_ENCODING_ERROR (RFC 9000 §19.11), for both roles.
    func testInjectedOneRTTFrameReachesTheVictim() {
        for flags: UInt8 in [0x00, 0x01] {
            let input: [UInt8] = [flags, 0, /* DELIVER */ 0x00, /* FRAMES 1-RTT, 9 bytes */ 0x02, 0x02, 0x00, 0x09,
                                  0x12, 0xd0, 0, 0, 0, 0, 0, 0, 0x01]
            let outcome = ConnectionFuzz.run(input)
            XCTAssertTrue(outcome.handshakeCompleted, "flags \(flags)")
            XCTAssertEqual(outcome.closeReason?.errorCode, 0x07, "flags \(flags)")
            XCTAssertEqual(outcome.closeReason?.fromPeer, false, "flags \(flags)")
        }
    }

    /// A peer's transport parameters reach the victim: a duplicate parameter (flag bit 3) is a
    /// TRANSPORT_PARAMETER_ERROR (RFC 9000 §7.4), in the ClientHello and in EncryptedExtensions.
    func testFuzzedTransportParametersReachTheVictim() {
        for flags: UInt8 in [0x08, 0x09] {
            // initial_max_data = 1, announced a second time.
            let outcome = ConnectionFuzz.run([flags, 1, 0x04, 0x01])
            XCTAssertFalse(outcome.handshakeCompleted, "flags \(flags)")
            XCTAssertEqual(outcome.closeReason?.errorCode, 0x08, "flags \(flags)")
        }
    }

    /// Every committed corpus seed runs to its end without a trap.
    func testCorpusSeeds() throws {
        let seeds = try inputs("seeds-connection")
        XCTAssertFalse(seeds.isEmpty)
        for (_, bytes) in seeds { ConnectionFuzz.run(bytes) }
    }

    /// The fuzzer's reproducers (Fuzz/crashes-connection) run without a trap, each with the
    /// outcome the RFC asks for. The first two (found before the fix of branch `time`): a peer
    /// announcing max_idle_timeout near 2^62 ms, to a victim server (in the ClientHello) and to a
    /// victim client (in EncryptedExtensions), trapped in restartIdleTimer (`* 1000`). RFC 9000
    /// §10.1: the idle timeout is the minimum of both values, so the victim (30 s) completes the
    /// handshake and then times out.
    func testCrashReproducers() throws {
        let reproducers = try inputs("crashes-connection")
        XCTAssertFalse(reproducers.isEmpty)
        for (name, bytes) in reproducers {
            let outcome = ConnectionFuzz.run(bytes)
            if name.hasPrefix("idle-timeout-") {
                XCTAssertTrue(outcome.handshakeCompleted, name)
                XCTAssertEqual(outcome.closeReason?.idleTimeout, true, name)
            }
        }
    }

    /// The value, max_idle_timeout = 2^61 ms, and the largest varint, for both roles.
    func testHugePeerIdleTimeout() {
        for flags: UInt8 in [0x00, 0x01] {
            for value: [UInt8] in [[0xe0, 0, 0, 0, 0, 0, 0, 0], [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]] {
                let outcome = ConnectionFuzz.run([flags, 1, 0x01] + value)
                XCTAssertTrue(outcome.handshakeCompleted, "flags \(flags)")
                XCTAssertEqual(outcome.closeReason?.idleTimeout, true, "flags \(flags)")
            }
        }
    }
}
