// Failures loopback never produces (EIO from a GSO send, EAGAIN, partial sendmmsg, recvmmsg
// errors), injected through the socket's replaceable batch calls.
import CPlatform
import Glibc
import Synchronization
import XCTest
@testable import QuicPlatform

/// Counts calls across threads.
final class CallCounter: @unchecked Sendable {
    private let n = Atomic<Int>(0)
    func next() -> Int { n.wrappingAdd(1, ordering: .relaxed).oldValue }
    var count: Int { n.load(ordering: .relaxed) }
}

final class FaultInjectionTests: XCTestCase {
    func testGSOTurnsOffAfterEIO() throws {
        let receiver = try UDPSocket(bindingTo: .loopbackIPv4(), options: { var o = UDPSocketOptions(); o.useGRO = false; return o }())
        let sender = try UDPSocket(bindingTo: .loopbackIPv4())
        try XCTSkipUnless(sender.features.gso, "kernel without UDP GSO")
        let gsoAttempts = CallCounter()
        sender.sendmmsgCall = { fd, msgs, n, flags in
            if msgs[0].msg_hdr.msg_controllen > 0 {  // the GSO message carries UDP_SEGMENT
                _ = gsoAttempts.next()
                errno = EIO
                return -1
            }
            return cplatform_sendmmsg(fd, msgs, n, flags)
        }
        let datagrams = (0..<4).map { pattern($0, 700) }
        let buffer = try XCTUnwrap(sender.reserveSendBuffer())
        for (i, d) in datagrams.enumerated() { buffer.baseAddress!.advanced(by: i * 700).copyMemory(from: d, byteCount: 700) }
        XCTAssertTrue(sender.commitSend(length: 2800, to: receiver.localAddress, segmentSize: 700))
        try flushAll(sender)
        XCTAssertEqual(gsoAttempts.count, 1)
        XCTAssertFalse(sender.features.gso)
        XCTAssertEqual(sender.statistics.sentMessages, 4)
        XCTAssertEqual(sender.statistics.sendErrors, 0)
        XCTAssertEqual(try receive(receiver, count: 4).map(\.bytes), datagrams)
    }

    func testPartialSendThenEAGAINKeepsOrder() throws {
        let receiver = try UDPSocket(bindingTo: .loopbackIPv4())
        let sender = try UDPSocket(bindingTo: .loopbackIPv4())
        let calls = CallCounter()
        sender.sendmmsgCall = { fd, msgs, n, flags in
            switch calls.next() {
            case 0: return cplatform_sendmmsg(fd, msgs, min(n, 2), flags)  // kernel took only 2
            case 1: errno = EINTR; return -1
            case 2: errno = EAGAIN; return -1
            default: return cplatform_sendmmsg(fd, msgs, n, flags)
            }
        }
        for i in 0..<10 { XCTAssertTrue(pattern(i, 300).withUnsafeBytes { sender.send($0, to: receiver.localAddress) }) }
        XCTAssertFalse(try sender.flush(), "EAGAIN leaves the rest queued")
        XCTAssertEqual(sender.pendingSendCount, 8)
        XCTAssertTrue(try sender.flush())
        XCTAssertEqual(sender.pendingSendCount, 0)
        XCTAssertEqual(try receive(receiver, count: 10).map(\.bytes), (0..<10).map { pattern($0, 300) })
    }

    func testPartialGSOMessageResumesMidBuffer() throws {
        // A buffer of 5 datagrams sent one by one (no GSO) where the kernel takes 3, then the rest.
        var options = UDPSocketOptions()
        options.useGSO = false
        let receiver = try UDPSocket(bindingTo: .loopbackIPv4())
        let sender = try UDPSocket(bindingTo: .loopbackIPv4(), options: options)
        let calls = CallCounter()
        sender.sendmmsgCall = { fd, msgs, n, flags in
            calls.next() == 0 ? cplatform_sendmmsg(fd, msgs, min(n, 3), flags) : cplatform_sendmmsg(fd, msgs, n, flags)
        }
        let datagrams = (0..<5).map { pattern($0, 100) }
        let buffer = try XCTUnwrap(sender.reserveSendBuffer())
        for (i, d) in datagrams.enumerated() { buffer.baseAddress!.advanced(by: i * 100).copyMemory(from: d, byteCount: 100) }
        XCTAssertTrue(sender.commitSend(length: 500, to: receiver.localAddress, segmentSize: 100))
        XCTAssertTrue([9].map(UInt8.init).withUnsafeBytes { sender.send($0, to: receiver.localAddress) })
        try flushAll(sender)
        XCTAssertEqual(calls.count, 2)
        XCTAssertEqual(try receive(receiver, count: 6).map(\.bytes), datagrams + [[9]])
    }

    func testWorkerWaitsForWritableAfterEAGAIN() throws {
        final class Handler: UDPSocketHandler, @unchecked Sendable {
            let writable = Recorder<Int>()
            func receive(_ datagrams: ReceivedDatagrams, on socket: UDPSocket) {}
            func writable(_ socket: UDPSocket) { writable.append(socket.pendingSendCount) }
        }
        let worker = try Worker()
        defer { try? worker.stop() }
        let receiver = try UDPSocket(bindingTo: .loopbackIPv4())
        let sender = try UDPSocket(bindingTo: .loopbackIPv4())
        let calls = CallCounter()
        sender.sendmmsgCall = { fd, msgs, n, flags in
            if calls.next() == 0 { errno = EAGAIN; return -1 }
            return cplatform_sendmmsg(fd, msgs, n, flags)
        }
        let handler = Handler()
        try worker.add(sender, handler: handler)
        let target = receiver.localAddress
        worker.post {
            for i in 0..<5 { _ = pattern(i, 50).withUnsafeBytes { sender.send($0, to: target) } }
        }
        XCTAssertEqual(try receive(receiver, count: 5).map(\.bytes), (0..<5).map { pattern($0, 50) })
        XCTAssertEqual(handler.writable.wait(for: 1), [0])
        XCTAssertGreaterThanOrEqual(calls.count, 2)
    }

    func testReceiveSkipsTransientErrorsAndReportsFatalOnes() throws {
        let receiver = try UDPSocket(bindingTo: .loopbackIPv4())
        let sender = try UDPSocket(bindingTo: .loopbackIPv4())
        let calls = CallCounter()
        receiver.recvmmsgCall = { fd, msgs, n, flags in
            switch calls.next() {
            case 0: errno = ECONNREFUSED; return -1  // ICMP error pending from an earlier send
            case 1: errno = EINTR; return -1
            default: return cplatform_recvmmsg(fd, msgs, n, flags)
            }
        }
        XCTAssertTrue(pattern(0, 10).withUnsafeBytes { sender.send($0, to: receiver.localAddress) })
        try flushAll(sender)
        XCTAssertEqual(try receive(receiver, count: 1).map(\.bytes), [pattern(0, 10)])

        // On a worker, a hard error removes and closes the socket and tells the handler.
        let worker = try Worker()
        defer { try? worker.stop() }
        receiver.recvmmsgCall = { _, _, _, _ in errno = ENOTSOCK; return -1 }
        let handler = CountingHandler()
        try worker.add(receiver, handler: handler)
        XCTAssertTrue(pattern(1, 10).withUnsafeBytes { sender.send($0, to: receiver.localAddress) })
        try flushAll(sender)
        XCTAssertEqual(handler.failures.wait(for: 1), [.system(.recvmmsg, errno: ENOTSOCK)])
        XCTAssertTrue(handler.payloads.values.isEmpty)
        let deadline = MonotonicClock.now() + 2_000_000
        while !receiver.isClosed && MonotonicClock.now() < deadline { usleep(1000) }
        XCTAssertTrue(receiver.isClosed)
    }
}

final class GSOLimitTests: XCTestCase {
    /// 60 datagrams of 1100 bytes (66,000 bytes) in one buffer: more than one UDP datagram can
    /// carry, so it leaves as a GSO message of 59 and one more.
    func testLargeGSOBufferIsCutBelowTheUDPLimit() throws {
        var big = UDPSocketOptions()
        big.sendBufferSize = 70_000
        let sender = try UDPSocket(bindingTo: .loopbackIPv4(), options: big)
        try XCTSkipUnless(sender.features.gso, "kernel without UDP GSO")
        var rcv = UDPSocketOptions()
        rcv.useGRO = false
        rcv.kernelReceiveBufferSize = 1 << 20
        let receiver = try UDPSocket(bindingTo: .loopbackIPv4(), options: rcv)
        let datagrams = (0..<60).map { pattern($0, 1100) }
        let buffer = try XCTUnwrap(sender.reserveSendBuffer())
        for (i, d) in datagrams.enumerated() { buffer.baseAddress!.advanced(by: i * 1100).copyMemory(from: d, byteCount: 1100) }
        XCTAssertTrue(sender.commitSend(length: 66_000, to: receiver.localAddress, segmentSize: 1100))
        try flushAll(sender)
        XCTAssertEqual(sender.statistics.sendErrors, 0)
        XCTAssertEqual(sender.statistics.sentMessages, 2)
        XCTAssertEqual(sender.statistics.sentDatagrams, 60)
        XCTAssertEqual(try receive(receiver, count: 60).map(\.bytes), datagrams)
    }

    /// A GSO message the kernel refuses as a whole is retried datagram by datagram.
    func testRefusedGSOMessageIsSplit() throws {
        let receiver = try UDPSocket(bindingTo: .loopbackIPv4(), options: { var o = UDPSocketOptions(); o.useGRO = false; return o }())
        let sender = try UDPSocket(bindingTo: .loopbackIPv4())
        try XCTSkipUnless(sender.features.gso, "kernel without UDP GSO")
        sender.sendmmsgCall = { fd, msgs, n, flags in
            if msgs[0].msg_hdr.msg_controllen > 0 { errno = EMSGSIZE; return -1 }
            return cplatform_sendmmsg(fd, msgs, n, flags)
        }
        let datagrams = (0..<3).map { pattern($0, 500) }
        let buffer = try XCTUnwrap(sender.reserveSendBuffer())
        for (i, d) in datagrams.enumerated() { buffer.baseAddress!.advanced(by: i * 500).copyMemory(from: d, byteCount: 500) }
        XCTAssertTrue(sender.commitSend(length: 1500, to: receiver.localAddress, segmentSize: 500))
        try flushAll(sender)
        XCTAssertTrue(sender.features.gso, "EMSGSIZE does not turn GSO off for later buffers")
        XCTAssertEqual(sender.statistics.sentMessages, 3)
        XCTAssertEqual(try receive(receiver, count: 3).map(\.bytes), datagrams)
    }
}

final class UnreachableTests: XCTestCase {
    /// A port nothing listens on (bound, then closed).
    private func closedPort() throws -> UInt16 {
        let s = try UDPSocket(bindingTo: .loopbackIPv4())
        defer { s.close() }
        return s.localAddress.port
    }

    func testConnectedSocketReportsPortUnreachable() throws {
        let client = try UDPSocket(bindingTo: .loopbackIPv4())
        let peer = UDPAddress.loopbackIPv4(port: try closedPort())
        try client.connect(to: peer)
        XCTAssertEqual(client.connectedPeer, peer)
        XCTAssertTrue(pattern(0, 20).withUnsafeBytes { client.send($0, to: peer) })
        try flushAll(client)
        var code: Int32?
        let deadline = MonotonicClock.now() + 2_000_000
        while code == nil && MonotonicClock.now() < deadline {
            var pfd = pollfd(fd: client.fileDescriptor, events: Int16(POLLIN), revents: 0)
            _ = poll(&pfd, 1, 50)
            XCTAssertTrue(try client.receive().isEmpty)
            code = client.takeUnreachableError()
        }
        XCTAssertEqual(code, ECONNREFUSED)
        XCTAssertNil(client.takeUnreachableError())
    }

    func testPendingICMPErrorOnSendIsReportedAndTheDatagramRetried() throws {
        let client = try UDPSocket(bindingTo: .loopbackIPv4())
        let server = try UDPSocket(bindingTo: .loopbackIPv4())
        try client.connect(to: server.localAddress)
        let calls = CallCounter()
        client.sendmmsgCall = { fd, msgs, n, flags in
            if calls.next() == 0 { errno = ECONNREFUSED; return -1 }  // error left by an earlier datagram
            return cplatform_sendmmsg(fd, msgs, n, flags)
        }
        XCTAssertTrue(pattern(1, 30).withUnsafeBytes { client.send($0, to: server.localAddress) })
        try flushAll(client)
        XCTAssertEqual(client.takeUnreachableError(), ECONNREFUSED)
        XCTAssertEqual(client.statistics.sendErrors, 0)
        XCTAssertEqual(try receive(server, count: 1).map(\.bytes), [pattern(1, 30)])
    }

    func testWorkerHandsUnreachableToHandler() throws {
        final class Handler: UDPSocketHandler, @unchecked Sendable {
            let codes = Recorder<Int32>()
            func receive(_ datagrams: ReceivedDatagrams, on socket: UDPSocket) {}
            func unreachable(_ socket: UDPSocket, errno: Int32) { codes.append(errno) }
        }
        let worker = try Worker()
        defer { try? worker.stop() }
        let client = try UDPSocket(bindingTo: .loopbackIPv4())
        let peer = UDPAddress.loopbackIPv4(port: try closedPort())
        try client.connect(to: peer)
        let handler = Handler()
        try worker.add(client, handler: handler)
        worker.post { _ = pattern(2, 20).withUnsafeBytes { client.send($0, to: peer) } }
        XCTAssertEqual(handler.codes.wait(for: 1), [ECONNREFUSED])
        XCTAssertFalse(client.isClosed)
    }
}
