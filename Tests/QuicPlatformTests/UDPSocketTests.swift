import Glibc
import XCTest
@testable import QuicPlatform

final class UDPSocketTests: XCTestCase {
    func testBindEphemeralAndReceiveNothing() throws {
        let s = try UDPSocket(bindingTo: .loopbackIPv4())
        XCTAssertNotEqual(s.localAddress.port, 0)
        XCTAssertEqual(s.localAddress.bytes, [127, 0, 0, 1])
        let batch = try s.receive()
        XCTAssertTrue(batch.isEmpty)
        XCTAssertEqual(Array(batch).count, 0)
        s.close()
        XCTAssertTrue(s.isClosed)
        XCTAssertThrowsError(try s.receive())
    }

    func testBatchSendReceiveIPv4() throws {
        var options = UDPSocketOptions()
        options.sendBatchSize = 8  // several sendmmsg calls for 50 datagrams
        options.receiveBatchSize = 16
        let a = try UDPSocket(bindingTo: .loopbackIPv4(), options: options)
        let b = try UDPSocket(bindingTo: .loopbackIPv4(), options: options)
        var expected: [[UInt8]] = []
        for i in 0..<50 {
            if a.pendingSendCount == options.sendBufferCount { try flushAll(a) }
            let bytes = pattern(i, 100 + i * 13)
            expected.append(bytes)
            XCTAssertTrue(bytes.withUnsafeBytes { a.send($0, to: b.localAddress) })
        }
        try flushAll(a)
        XCTAssertEqual(a.pendingSendCount, 0)
        XCTAssertEqual(a.statistics.sentDatagrams, 50)
        let got = try receive(b, count: 50)
        XCTAssertEqual(got.map(\.bytes), expected)
        XCTAssertTrue(got.allSatisfy { $0.remote == a.localAddress })
        XCTAssertEqual(b.statistics.receivedDatagrams, 50)
    }

    func testBatchSendReceiveIPv6() throws {
        try XCTSkipUnless(loopbackIPv6Available(), "no ::1")
        let a = try UDPSocket(bindingTo: .loopbackIPv6())
        let b = try UDPSocket(bindingTo: .loopbackIPv6())
        for i in 0..<20 { XCTAssertTrue(pattern(i, 1200).withUnsafeBytes { a.send($0, to: b.localAddress) }) }
        try flushAll(a)
        let got = try receive(b, count: 20)
        XCTAssertEqual(got.map(\.bytes), (0..<20).map { pattern($0, 1200) })
        XCTAssertTrue(got.allSatisfy { $0.remote == a.localAddress && $0.local?.bytes == UDPAddress.loopbackIPv6().bytes })
    }

    /// Writes 5 datagrams of 1000 bytes and a last one of 300 into one buffer.
    private func queueSegments(_ from: UDPSocket, to: UDPAddress, seed: Int) -> [[UInt8]] {
        let datagrams = (0..<6).map { pattern(seed + $0, $0 == 5 ? 300 : 1000) }
        let buffer = from.reserveSendBuffer()!
        var offset = 0
        for d in datagrams {
            buffer.baseAddress!.advanced(by: offset).copyMemory(from: d, byteCount: d.count)
            offset += d.count
        }
        XCTAssertTrue(from.commitSend(length: offset, to: to, segmentSize: 1000))
        return datagrams
    }

    func testGSOOnAndOff() throws {
        var families: [UDPAddress] = [.loopbackIPv4()]
        if loopbackIPv6Available() { families.append(.loopbackIPv6()) }
        for address in families {
            var noGRO = UDPSocketOptions()
            noGRO.useGRO = false
            let receiver = try UDPSocket(bindingTo: address, options: noGRO)
            for gso in [true, false] {
                var options = UDPSocketOptions()
                options.useGSO = gso
                let sender = try UDPSocket(bindingTo: address, options: options)
                if !gso { XCTAssertFalse(sender.features.gso) }
                let expected = queueSegments(sender, to: receiver.localAddress, seed: gso ? 0 : 100)
                try flushAll(sender)
                XCTAssertEqual(sender.statistics.sentDatagrams, 6)
                XCTAssertEqual(sender.statistics.sentMessages, sender.features.gso ? 1 : 6, "gso=\(sender.features.gso)")
                let got = try receive(receiver, count: 6)
                XCTAssertEqual(got.map(\.bytes), expected, "gso=\(gso) \(address.family)")
                XCTAssertTrue(got.allSatisfy { $0.remote == sender.localAddress })
            }
        }
    }

    func testGSOKernelSupportOnLoopback() throws {
        let s = try UDPSocket(bindingTo: .loopbackIPv4())
        // Linux has had UDP_SEGMENT since 4.18; this documents what the test machine offers.
        let f = s.features
        print("UDP features on this kernel: gso=\(f.gso) gro=\(f.gro) ecn=\(f.ecn) pktinfo=\(f.packetInfo)")
        try XCTSkipUnless(s.features.gso, "kernel without UDP GSO")
        XCTAssertTrue(s.features.gso)
    }

    func testGROReceivesCoalescedAndSplits() throws {
        let receiver = try UDPSocket(bindingTo: .loopbackIPv4())
        try XCTSkipUnless(receiver.features.gro, "kernel without UDP GRO")
        let sender = try UDPSocket(bindingTo: .loopbackIPv4())
        let expected = queueSegments(sender, to: receiver.localAddress, seed: 7)
        try flushAll(sender)
        var sizes: [Int] = []
        let got = try receive(receiver, count: 6, segmentSizes: &sizes)
        XCTAssertEqual(got.map(\.bytes), expected)
        // Loopback hands a GSO send to a GRO socket as one message; either way the split is right.
        print("GRO messages: \(sizes)")
        if sender.features.gso { XCTAssertEqual(sizes, [1000]) }
    }

    func testGROSplitOfSyntheticBatch() {
        // The split logic alone: a 2500-byte message with segment size 1000, an empty datagram,
        // and a plain 10-byte one.
        let buffers = ReceiveBuffers(count: 3, bufferSize: 4096, controlSize: 64)
        for i in 0..<2500 { buffers.data.storeBytes(of: UInt8(truncatingIfNeeded: i), toByteOffset: i, as: UInt8.self) }
        for i in 0..<10 { buffers.data.storeBytes(of: UInt8(200 + i), toByteOffset: 2 * 4096 + i, as: UInt8.self) }
        let peer = UDPAddress.loopbackIPv4(port: 9)
        buffers.messages[0] = ReceivedMessage(slot: 0, length: 2500, segmentSize: 1000, remote: peer)
        buffers.messages[1] = ReceivedMessage(slot: 1, length: 0, segmentSize: 0, remote: peer)
        buffers.messages[2] = ReceivedMessage(slot: 2, length: 10, segmentSize: 0, remote: peer, ecn: .ce)
        let datagrams = Array(ReceivedDatagrams(buffers: buffers, count: 3))
        XCTAssertEqual(datagrams.map(\.payload.count), [1000, 1000, 500, 0, 10])
        XCTAssertEqual(Array(datagrams[1].payload), (1000..<2000).map { UInt8(truncatingIfNeeded: $0) })
        XCTAssertEqual(Array(datagrams[2].payload), (2000..<2500).map { UInt8(truncatingIfNeeded: $0) })
        XCTAssertEqual(Array(datagrams[4].payload), (0..<10).map { UInt8(200 + $0) })
        XCTAssertEqual(datagrams[4].ecn, .ce)
    }

    func testECNMarksRoundTrip() throws {
        var families: [UDPAddress] = [.loopbackIPv4()]
        if loopbackIPv6Available() { families.append(.loopbackIPv6()) }
        for address in families {
            let a = try UDPSocket(bindingTo: address)
            let b = try UDPSocket(bindingTo: address)
            try XCTSkipUnless(b.features.ecn, "no ECN reporting")
            let marks: [ECNCodepoint] = [.notECT, .ect0, .ect1, .ce]
            for (i, mark) in marks.enumerated() {
                XCTAssertTrue(pattern(i, 64).withUnsafeBytes { a.send($0, to: b.localAddress, ecn: mark) })
            }
            try flushAll(a)
            let got = try receive(b, count: marks.count)
            XCTAssertEqual(got.map(\.ecn), marks, "\(address.family)")
        }
    }

    func testPacketInfoReportsLocalAddress() throws {
        let b = try UDPSocket(bindingTo: .loopbackIPv4())
        XCTAssertTrue(b.features.packetInfo)
        let a = try UDPSocket(bindingTo: .loopbackIPv4())
        XCTAssertTrue([UInt8](repeating: 1, count: 10).withUnsafeBytes { a.send($0, to: b.localAddress) })
        try flushAll(a)
        let got = try receive(b, count: 1)
        XCTAssertEqual(got.first?.local, b.localAddress)
        // The interface index comes only from the IP_PKTINFO message (loopback's index).
        XCTAssertEqual(got.first?.interfaceIndex, if_nametoindex("lo"))
    }

    /// A wildcard (dual-stack) socket: it learns each datagram's destination from PKTINFO and
    /// can choose its source address per send. Traffic stays on loopback.
    func testDualStackWildcardLocalAndSourceAddress() throws {
        try XCTSkipUnless(loopbackIPv6Available(), "no ::1")
        let server = try UDPSocket(bindingTo: .anyIPv6())
        let port = server.localAddress.port
        let v4Client = try UDPSocket(bindingTo: .loopbackIPv4())
        let v6Client = try UDPSocket(bindingTo: .loopbackIPv6())
        XCTAssertTrue(([4] as [UInt8]).withUnsafeBytes { v4Client.send($0, to: .loopbackIPv4(port: port)) })
        XCTAssertTrue(([6] as [UInt8]).withUnsafeBytes { v6Client.send($0, to: .loopbackIPv6(port: port)) })
        try flushAll(v4Client)
        try flushAll(v6Client)
        let got = try receive(server, count: 2).sorted { $0.bytes[0] < $1.bytes[0] }
        XCTAssertEqual(got.count, 2)
        guard got.count == 2 else { return }
        XCTAssertEqual(got[0].remote, v4Client.localAddress)  // IPv4, not ::ffff:127.0.0.1
        XCTAssertEqual(got[0].local, .loopbackIPv4(port: port))
        XCTAssertEqual(got[1].remote, v6Client.localAddress)
        XCTAssertEqual(got[1].local, .loopbackIPv6(port: port))

        // Replies: to the IPv4 client from 127.0.0.2 (any 127/8 address is local), which the
        // client then sees as the sender; to the IPv6 client from ::1.
        let other = UDPAddress(ipv4: 127, 0, 0, 2, port: 0)
        XCTAssertTrue(([44] as [UInt8]).withUnsafeBytes { server.send($0, to: got[0].remote, from: other, ecn: .ect0) })
        XCTAssertTrue(([66] as [UInt8]).withUnsafeBytes { server.send($0, to: got[1].remote, from: .loopbackIPv6()) })
        try flushAll(server)
        XCTAssertEqual(server.statistics.sendErrors, 0)
        let r4 = try receive(v4Client, count: 1)
        XCTAssertEqual(r4.first?.bytes, [44])
        XCTAssertEqual(r4.first?.remote, UDPAddress(ipv4: 127, 0, 0, 2, port: port))
        XCTAssertEqual(r4.first?.ecn, .ect0)
        let r6 = try receive(v6Client, count: 1)
        XCTAssertEqual(r6.first?.bytes, [66])
        XCTAssertEqual(r6.first?.remote, .loopbackIPv6(port: port))
    }

    func testIPv4SocketRefusesIPv6Peer() throws {
        let a = try UDPSocket(bindingTo: .loopbackIPv4())
        XCTAssertFalse(([1] as [UInt8]).withUnsafeBytes { a.send($0, to: .loopbackIPv6(port: 1)) })
        XCTAssertEqual(a.pendingSendCount, 0)
    }

    func testOversizeDatagramIsDroppedNotFatal() throws {
        var small = UDPSocketOptions()
        small.receiveBufferSize = 100
        let b = try UDPSocket(bindingTo: .loopbackIPv4(), options: small)
        let a = try UDPSocket(bindingTo: .loopbackIPv4())
        XCTAssertTrue(pattern(0, 500).withUnsafeBytes { a.send($0, to: b.localAddress) })  // truncated at b
        XCTAssertTrue(pattern(1, 80).withUnsafeBytes { a.send($0, to: b.localAddress) })
        // Larger than any UDP datagram: the kernel refuses it (EMSGSIZE), the queue goes on.
        let huge = a.reserveSendBuffer()!
        XCTAssertTrue(a.commitSend(length: min(huge.count, 65_536), to: b.localAddress))
        XCTAssertTrue(pattern(2, 90).withUnsafeBytes { a.send($0, to: b.localAddress) })
        try flushAll(a)
        XCTAssertEqual(a.statistics.sendErrors, 1)
        XCTAssertEqual(a.statistics.lastSendErrno, EMSGSIZE)
        let got = try receive(b, count: 2)
        XCTAssertEqual(got.map(\.bytes), [pattern(1, 80), pattern(2, 90)])
        XCTAssertEqual(b.statistics.truncatedDatagrams, 1)
    }

    func testQueueFullAndReserveWithoutCommit() throws {
        var options = UDPSocketOptions()
        options.sendBufferCount = 2
        let a = try UDPSocket(bindingTo: .loopbackIPv4())
        let small = try UDPSocket(bindingTo: .loopbackIPv4(), options: options)
        XCTAssertNotNil(small.reserveSendBuffer())
        XCTAssertTrue(([1] as [UInt8]).withUnsafeBytes { small.send($0, to: a.localAddress) })
        XCTAssertTrue(([2] as [UInt8]).withUnsafeBytes { small.send($0, to: a.localAddress) })
        XCTAssertNil(small.reserveSendBuffer())
        XCTAssertFalse(([3] as [UInt8]).withUnsafeBytes { small.send($0, to: a.localAddress) })
        XCTAssertFalse(small.commitSend(length: 1, to: a.localAddress))
        try flushAll(small)
        XCTAssertEqual(try receive(a, count: 2).map(\.bytes), [[1], [2]])
    }

    func testReusePortGroupSharesOnePort() throws {
        let group = try UDPSocket.bindReusePortGroup(count: 3, address: .loopbackIPv4())
        XCTAssertEqual(Set(group.map(\.localAddress)).count, 1)
        XCTAssertNotEqual(group[0].localAddress.port, 0)
        // Without SO_REUSEPORT the same port is taken.
        XCTAssertThrowsError(try UDPSocket(bindingTo: group[0].localAddress)) { error in
            XCTAssertEqual(error as? PlatformError, .system(.bind, errno: EADDRINUSE))
        }
    }
}
