import Glibc
import XCTest
@testable import QuicPlatform

/// Received datagrams copied out of the socket's buffers.
struct Copied: Equatable {
    var bytes: [UInt8]
    var remote: UDPAddress
    var local: UDPAddress?
    var ecn: ECNCodepoint
    var interfaceIndex: UInt32
}

extension ReceivedDatagrams {
    func copied() -> [Copied] {
        map { Copied(bytes: Array($0.payload), remote: $0.remote, local: $0.local, ecn: $0.ecn, interfaceIndex: $0.interfaceIndex) }
    }
}

/// Receives on `socket` until `count` datagrams arrived or `seconds` passed.
func receive(_ socket: UDPSocket, count: Int, seconds: Double = 3, segmentSizes: UnsafeMutablePointer<[Int]>? = nil) throws -> [Copied] {
    var out: [Copied] = []
    let deadline = MonotonicClock.now() + UInt64(seconds * 1_000_000)
    while out.count < count && MonotonicClock.now() < deadline {
        var pfd = pollfd(fd: socket.fileDescriptor, events: Int16(POLLIN), revents: 0)
        _ = poll(&pfd, 1, 50)
        let batch = try socket.receive()
        for i in 0..<batch.messageCount { segmentSizes?.pointee.append(batch.segmentSize(ofMessage: i)) }
        out += batch.copied()
    }
    return out
}

/// `count` bytes of a recognizable pattern for datagram `index`.
func pattern(_ index: Int, _ count: Int) -> [UInt8] {
    (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ index &* 31 &+ 1) }
}

/// Flushes until the queue is empty (loopback drains fast; bounded).
func flushAll(_ socket: UDPSocket) throws {
    let deadline = MonotonicClock.now() + 3_000_000
    while try !socket.flush() {
        XCTAssertLessThan(MonotonicClock.now(), deadline, "send queue did not drain")
        if MonotonicClock.now() >= deadline { return }
        var pfd = pollfd(fd: socket.fileDescriptor, events: Int16(POLLOUT), revents: 0)
        _ = poll(&pfd, 1, 50)
    }
}

func loopbackIPv6Available() -> Bool {
    (try? UDPSocket(bindingTo: .loopbackIPv6())) != nil
}
