import Glibc
import XCTest
@testable import QuicPlatform

/// `UDPSocket.sendBatched`: a producer's equal-size datagrams to one peer become one queued
/// send with a segment size (one GSO message), and everything still arrives intact.
final class SendBatchingTests: XCTestCase {
    /// A producer handing out prepared datagrams one per call.
    final class Producer {
        var queue: [(bytes: [UInt8], to: UDPAddress)]
        var offered: [Int] = []
        init(_ q: [(bytes: [UInt8], to: UDPAddress)]) { queue = q }
        func next(_ buffer: UnsafeMutableRawBufferPointer) -> (length: Int, to: UDPAddress)? {
            offered.append(buffer.count)
            guard let d = queue.first, d.bytes.count <= buffer.count else { return nil }
            queue.removeFirst()
            buffer.baseAddress!.copyMemory(from: d.bytes, byteCount: d.bytes.count)
            return (d.bytes.count, d.to)
        }
    }

    private func queuedEntries(_ s: UDPSocket) -> [PendingSend] {
        let q = s.sendQueue
        return (0..<q.count).map { q.entries[(q.head + $0) % q.bufferCount] }
    }

    func testEqualFullSizeDatagramsBecomeOneSendWithASegmentSize() throws {
        var noGRO = UDPSocketOptions()
        noGRO.useGRO = false
        let receiver = try UDPSocket(bindingTo: .loopbackIPv4(), options: noGRO)
        let sender = try UDPSocket(bindingTo: .loopbackIPv4())
        // Ten full 1200-byte datagrams and a shorter last one.
        let datagrams = (0..<11).map { pattern($0, $0 == 10 ? 700 : 1200) }
        let p = Producer(datagrams.map { ($0, receiver.localAddress) })
        XCTAssertEqual(sender.sendBatched(fullSize: 1200, p.next), 11)
        let entries = queuedEntries(sender)
        XCTAssertEqual(entries.count, 1, "one send for the whole run")
        XCTAssertEqual(entries.first?.length, 10 * 1200 + 700)
        XCTAssertEqual(entries.first?.segmentSize, 1200)
        // After the first datagram the producer was offered exactly one segment each time (then
        // a whole new buffer, where it had nothing more).
        XCTAssertEqual(Array(p.offered.dropFirst().prefix(10)), Array(repeating: 1200, count: 10))
        XCTAssertEqual(p.offered.count, 12)
        try flushAll(sender)
        XCTAssertEqual(sender.statistics.sentDatagrams, 11)
        if sender.features.gso { XCTAssertEqual(sender.statistics.sentMessages, 1) }
        let got = try receive(receiver, count: 11)
        XCTAssertEqual(got.map(\.bytes), datagrams)
    }

    func testShortDatagramsAndAnotherPeerAreNotBatched() throws {
        var noGRO = UDPSocketOptions()
        noGRO.useGRO = false
        let r1 = try UDPSocket(bindingTo: .loopbackIPv4(), options: noGRO)
        let r2 = try UDPSocket(bindingTo: .loopbackIPv4(), options: noGRO)
        let sender = try UDPSocket(bindingTo: .loopbackIPv4())
        // A short datagram (an ACK) first: sent alone. Then two full ones to r1, one full to r2
        // (moved to a buffer of its own), then two more to r2.
        let plan: [([UInt8], UDPAddress)] = [
            (pattern(0, 60), r1.localAddress),
            (pattern(1, 1200), r1.localAddress), (pattern(2, 1200), r1.localAddress),
            (pattern(3, 1200), r2.localAddress), (pattern(4, 1200), r2.localAddress),
            (pattern(5, 1200), r2.localAddress),
        ]
        let p = Producer(plan.map { ($0.0, $0.1) })
        XCTAssertEqual(sender.sendBatched(fullSize: 1200, p.next), 6)
        let entries = queuedEntries(sender)
        XCTAssertEqual(entries.map(\.length), [60, 2400, 3600])
        XCTAssertEqual(entries.map(\.segmentSize), [60, 1200, 1200])
        XCTAssertEqual(entries.map(\.to), [r1.localAddress, r1.localAddress, r2.localAddress])
        try flushAll(sender)
        XCTAssertEqual(try receive(r1, count: 3).map(\.bytes), plan[0..<3].map(\.0))
        XCTAssertEqual(try receive(r2, count: 3).map(\.bytes), plan[3..<6].map(\.0))
    }

    func testBatchesStopAtTheSegmentLimitAndContinueInTheNextBuffer() throws {
        let receiver = try UDPSocket(bindingTo: .loopbackIPv4())
        var options = UDPSocketOptions()
        options.sendBufferCount = 4
        let sender = try UDPSocket(bindingTo: .loopbackIPv4(), options: options)
        // 100 full datagrams of 600 bytes: at most 64 per send (and at most 65,000 bytes).
        let p = Producer((0..<100).map { (pattern($0, 600), receiver.localAddress) })
        XCTAssertEqual(sender.sendBatched(fullSize: 600, p.next), 100)
        let entries = queuedEntries(sender)
        XCTAssertEqual(entries.map(\.length).reduce(0, +), 100 * 600)
        XCTAssertTrue(entries.allSatisfy { $0.length / 600 <= UDPSocket.maxBatchedDatagrams && $0.segmentSize == 600 })
        XCTAssertEqual(entries.count, 2)
        try flushAll(sender)
        XCTAssertEqual(sender.statistics.sentDatagrams, 100)
    }
}
