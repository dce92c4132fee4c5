import Foundation
import XCTest
@testable import QuicWire

/// The fuzzer seeds in Fuzz/seeds are meant to be valid inputs: check that they parse fully,
/// so the fuzzer starts from deep inside the decoders.
final class FuzzSeedTests: XCTestCase {
    func seed(_ name: String) throws -> [UInt8] {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../../Fuzz/seeds/\(name)")
        return [UInt8](try Data(contentsOf: url))
    }

    /// Splits the datagram (after the selector byte) and decodes every packet's frames.
    func walk(_ input: [UInt8]) throws -> [(PacketKind, [Frame])] {
        let dcidLength = Int(input[0] % 21)
        let datagram = Array(input.dropFirst())
        return try datagram.withUnsafeBytes { buf in
            var it = CoalescedPackets(buf, shortHeaderDCIDLength: dcidLength, allowFixedBitZero: input[0] & 0x80 != 0)
            var out: [(PacketKind, [Frame])] = []
            while let h = try it.next() {
                guard h.kind.hasPacketNumber else { out.append((h.kind, [])); continue }
                let u = try h.unprotected(firstByte: h.firstByte, in: buf)
                var d = FrameDecoder(buf, start: u.payloadOffset, end: u.payloadEnd, packetKind: h.kind)
                var frames: [Frame] = []
                while let f = try d.next() { frames.append(f) }
                out.append((h.kind, frames))
            }
            return out
        }
    }

    func testSeedsDecode() throws {
        let short = try walk(seed("short"))
        XCTAssertEqual(short.map(\.0), [.oneRTT])
        XCTAssertEqual(short[0].1.count, 31)
        XCTAssertEqual(try walk(seed("coalesced")).map(\.0), [.initial, .handshake, .oneRTT])
        XCTAssertEqual(try walk(seed("initial")).map(\.1.count), [2])
        XCTAssertEqual(try walk(seed("v2-initial")).map(\.0), [.initial])
        XCTAssertEqual(try walk(seed("retry")).map(\.0), [.retry])
        XCTAssertEqual(try walk(seed("retry-v2")).map(\.0), [.retry])
        XCTAssertEqual(try walk(seed("vn")).map(\.0), [.versionNegotiation])
        XCTAssertEqual(try walk(seed("zero-rtt")).map(\.0), [.zeroRTT])
        let tp = try seed("tp")
        XCTAssertEqual(try TransportParameters.decode(Array(tp.dropFirst()), sender: .client).initialMaxStreamsBidi, 16)
    }
}
