import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A blocking TCP socket on 127.0.0.1 with bounded waits, for the interop tests.
final class TCPConnection {
    let fd: Int32
    /// Upper bound for any single wait.
    var timeoutMilliseconds: Int32 = 10_000

    fileprivate init(fd: Int32) { self.fd = fd }
    deinit { close(fd) }

    private static func loopback(port: UInt16) -> sockaddr_in {
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = port.bigEndian
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        return addr
    }

    /// Connects to 127.0.0.1:`port`; nil if nothing accepts.
    static func connect(port: UInt16) -> TCPConnection? {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return nil }
        var addr = loopback(port: port)
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard rc == 0 else {
            close(fd)
            return nil
        }
        return TCPConnection(fd: fd)
    }

    /// Retries `connect` until it works or `seconds` pass.
    static func connect(port: UInt16, within seconds: Double) -> TCPConnection? {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if let c = connect(port: port) { return c }
            usleep(50_000)
        }
        return nil
    }

    func write(_ bytes: [UInt8]) throws {
        var sent = 0
        while sent < bytes.count {
            let n = bytes[sent...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard n > 0 else { throw RecordLayerError("send failed: errno \(errno)") }
            sent += n
        }
    }

    /// Reads exactly `count` bytes; throws on EOF or timeout.
    func read(exactly count: Int) throws -> [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity(count)
        while out.count < count {
            let chunk = try readSome(max: count - out.count)
            guard !chunk.isEmpty else { throw RecordLayerError("connection closed after \(out.count)/\(count) bytes") }
            out += chunk
        }
        return out
    }

    /// Up to `max` bytes; empty at EOF. Throws on timeout.
    func readSome(max: Int) throws -> [UInt8] {
        var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        let ready = poll(&pfd, 1, timeoutMilliseconds)
        guard ready > 0 else { throw RecordLayerError("timed out waiting for the peer") }
        var buf = [UInt8](repeating: 0, count: max)
        let n = buf.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        if n < 0 {
            if errno == ECONNRESET { return [] }
            throw RecordLayerError("recv failed: errno \(errno)")
        }
        return Array(buf[0..<n])
    }

    func shutdownWrite() { shutdown(fd, Int32(SHUT_WR)) }
}

/// A listening socket on 127.0.0.1 with an ephemeral port.
final class TCPListener {
    let fd: Int32
    let port: UInt16

    init() throws {
        let sock = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard sock >= 0 else { throw RecordLayerError("socket failed") }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = 0
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        let ok = withUnsafeMutablePointer(to: &addr) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { sa in
                bind(sock, sa, len) == 0 && listen(sock, 4) == 0 && getsockname(sock, sa, &len) == 0
            }
        }
        guard ok else {
            close(sock)
            throw RecordLayerError("bind/listen failed: errno \(errno)")
        }
        fd = sock
        port = UInt16(bigEndian: addr.sin_port)
    }

    deinit { close(fd) }

    /// Accepts one connection within `seconds`.
    func accept(within seconds: Int32) throws -> TCPConnection {
        var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        guard poll(&pfd, 1, seconds * 1000) > 0 else { throw RecordLayerError("no connection within \(seconds) s") }
        let c = Glibc.accept(fd, nil, nil)
        guard c >= 0 else { throw RecordLayerError("accept failed: errno \(errno)") }
        return TCPConnection(fd: c)
    }
}
