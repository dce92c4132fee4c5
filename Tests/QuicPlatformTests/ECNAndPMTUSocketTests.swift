import Glibc
import XCTest
@testable import QuicPlatform

/// What DPLPMTUD and ECN need from the socket layer (RFC 9000 §13.4, §14): datagrams leave
/// with DF set (IP_PMTUDISC_PROBE) so a probe larger than the path is dropped instead of
/// fragmented, and the ECN codepoint a connection asks for rides with each GSO batch.
final class ECNAndPMTUSocketTests: XCTestCase {
    /// IPv4 sockets are opened with IP_MTU_DISCOVER = IP_PMTUDISC_PROBE (DF, no kernel PMTU cache).
    func testSocketsSetDontFragmentProbeMode() throws {
        let s = try UDPSocket(bindingTo: .loopbackIPv4())
        var value: Int32 = -1
        var length = socklen_t(MemoryLayout<Int32>.size)
        XCTAssertEqual(getsockopt(s.fileDescriptor, Int32(IPPROTO_IP), IP_MTU_DISCOVER, &value, &length), 0)
        XCTAssertEqual(value, Int32(IP_PMTUDISC_PROBE))
        if loopbackIPv6Available() {
            let s6 = try UDPSocket(bindingTo: .loopbackIPv6())
            value = -1
            XCTAssertEqual(getsockopt(s6.fileDescriptor, Int32(IPPROTO_IPV6), IPV6_MTU_DISCOVER, &value, &length), 0)
            XCTAssertEqual(value, Int32(IPV6_PMTUDISC_PROBE))
        }
    }

    /// A full 1500-byte IPv4 packet (1472 bytes of UDP payload, what DPLPMTUD reaches on
    /// loopback) goes out with DF and arrives whole.
    func testFullSizeDatagramWithDFArrives() throws {
        let a = try UDPSocket(bindingTo: .loopbackIPv4())
        let b = try UDPSocket(bindingTo: .loopbackIPv4())
        XCTAssertTrue(pattern(1, 1472).withUnsafeBytes { a.send($0, to: b.localAddress, ecn: .ect0) })
        try flushAll(a)
        let got = try receive(b, count: 1)
        XCTAssertEqual(got.first?.bytes, pattern(1, 1472))
        if b.features.ecn { XCTAssertEqual(got.first?.ecn, .ect0) }
    }

    /// `sendBatched` with codepoints: an ECT(0) run stays one batch, a change of codepoint
    /// starts another, and every datagram arrives with the mark it was sent with.
    func testBatchedSendsCarryTheirECNCodepoint() throws {
        var noGRO = UDPSocketOptions()
        noGRO.useGRO = false
        let receiver = try UDPSocket(bindingTo: .loopbackIPv4(), options: noGRO)
        try XCTSkipUnless(receiver.features.ecn, "no ECN reporting on this kernel")
        let sender = try UDPSocket(bindingTo: .loopbackIPv4())
        let marks: [ECNCodepoint] = [.ect0, .ect0, .ect0, .notECT, .notECT, .ect0]
        var queue = Array(marks.enumerated())
        let sent = sender.sendBatched(fullSize: 1200) { buffer in
            guard let (i, mark) = queue.first, buffer.count >= 1200 else { return nil }
            queue.removeFirst()
            let bytes = pattern(i, 1200)
            buffer.baseAddress!.copyMemory(from: bytes, byteCount: bytes.count)
            return (1200, receiver.localAddress, mark)
        }
        XCTAssertEqual(sent, marks.count)
        let q = sender.sendQueue
        let entries = (0..<q.count).map { q.entries[(q.head + $0) % q.bufferCount] }
        XCTAssertEqual(entries.map(\.ecn), [.ect0, .notECT, .ect0], "one batch per run of one codepoint")
        try flushAll(sender)
        let got = try receive(receiver, count: marks.count)
        XCTAssertEqual(got.map(\.ecn), marks)
        XCTAssertEqual(got.map(\.bytes), (0..<marks.count).map { pattern($0, 1200) })
    }
}
