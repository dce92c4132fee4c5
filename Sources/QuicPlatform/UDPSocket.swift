// A nonblocking UDP socket with batched receive (ReceiveBuffers.swift) and send
// (SendQueue.swift). Not thread-safe: one thread (its worker) owns it at a time.
import CPlatform
import Glibc

/// Sendable (unchecked): owned by one thread at a time: the thread that creates it until
/// `Worker.add` registers it, then only that worker (`localAddress` and `options` are `let`s
/// and may be read anywhere).
public final class UDPSocket: @unchecked Sendable {
    /// The file descriptor (-1 once closed).
    public private(set) var fileDescriptor: Int32
    /// The bound address (with the port the kernel chose for port 0).
    public let localAddress: UDPAddress
    public let options: UDPSocketOptions
    public internal(set) var features: UDPSocketFeatures
    public internal(set) var statistics = UDPSocketStatistics()

    let receiveBuffers: ReceiveBuffers
    let sendQueue: SendQueue
    /// The worker this socket is registered with (it flushes queued sends after each round).
    weak var worker: Worker?
    var flushScheduled = false
    /// True while sends wait for EPOLLOUT after EAGAIN.
    var waitingForWritable = false

    /// The peer of a connected socket (see `connect(to:)`), nil for an unconnected one.
    public private(set) var connectedPeer: UDPAddress?
    /// errno of an ICMP error the kernel reported (connected sockets only), 0 if none.
    var pendingUnreachable: Int32 = 0

    /// The batch system calls, replaceable by tests to inject failures (EAGAIN, EIO, partial
    /// sends) that loopback never produces. Same contract as the syscalls: -1 with errno set.
    typealias BatchCall = (Int32, UnsafeMutablePointer<cplatform_mmsghdr>, UInt32, Int32) -> Int32
    var recvmmsgCall: BatchCall = { cplatform_recvmmsg($0, $1, $2, $3) }
    var sendmmsgCall: BatchCall = { cplatform_sendmmsg($0, $1, $2, $3) }

    /// Creates a socket bound to `address` (port 0 = ephemeral). An IPv6 wildcard bind is dual
    /// stack unless `options.ipv6Only`.
    public init(bindingTo address: UDPAddress, options: UDPSocketOptions = UDPSocketOptions()) throws(PlatformError) {
        guard options.receiveBatchSize > 0, options.receiveBufferSize > 0, options.sendBatchSize > 0,
              options.sendBufferCount > 0, options.sendBufferSize > 0 else {
            throw .invalidArgument("batch and buffer sizes must be positive")
        }
        let domain = address.family == .ipv4 ? AF_INET : AF_INET6
        let fd = Glibc.socket(domain, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw .lastError(.socket) }
        var features = UDPSocketFeatures()
        do throws(PlatformError) {
            let ipv6 = address.family == .ipv6
            if ipv6 { try Self.set(fd, Int32(IPPROTO_IPV6), cplatform_ipv6_v6only(), options.ipv6Only ? 1 : 0) }
            if options.reusePort { try Self.set(fd, SOL_SOCKET, cplatform_so_reuseport(), 1) }
            if let size = options.kernelReceiveBufferSize { try Self.set(fd, SOL_SOCKET, SO_RCVBUF, Int32(clamping: size)) }
            if let size = options.kernelSendBufferSize { try Self.set(fd, SOL_SOCKET, SO_SNDBUF, Int32(clamping: size)) }
            // IPv4 options also apply to IPv4 traffic on a dual-stack IPv6 socket.
            let v4Level = Int32(IPPROTO_IP), v6Level = Int32(IPPROTO_IPV6)
            let dualStack = ipv6 && !options.ipv6Only
            if options.dontFragment {
                // RFC 9000 §14: no IP fragmentation; PROBE sets DF without using the kernel's PMTU cache.
                // Best effort: a kernel without it still sends.
                if !ipv6 || dualStack { _ = Self.trySet(fd, v4Level, IP_MTU_DISCOVER, Int32(IP_PMTUDISC_PROBE)) }
                if ipv6 { _ = Self.trySet(fd, v6Level, IPV6_MTU_DISCOVER, Int32(IPV6_PMTUDISC_PROBE)) }
            }
            if options.useECN {
                var ok = true
                if !ipv6 || dualStack { ok = Self.trySet(fd, v4Level, cplatform_ip_recvtos(), 1) && ok }
                if ipv6 { ok = Self.trySet(fd, v6Level, cplatform_ipv6_recvtclass(), 1) && ok }
                features.ecn = ok
            }
            if options.usePacketInfo {
                var ok = true
                if !ipv6 || dualStack { ok = Self.trySet(fd, v4Level, cplatform_ip_pktinfo(), 1) && ok }
                if ipv6 { ok = Self.trySet(fd, v6Level, cplatform_ipv6_recvpktinfo(), 1) && ok }
                features.packetInfo = ok
            }
            if options.useGSO {
                // The option is readable iff the kernel knows UDP_SEGMENT (Linux 4.18+).
                var value: Int32 = 0
                var length = socklen_t(MemoryLayout<Int32>.size)
                features.gso = getsockopt(fd, cplatform_sol_udp(), cplatform_udp_segment(), &value, &length) == 0
            }
            if options.useGRO {
                features.gro = Self.trySet(fd, cplatform_sol_udp(), cplatform_udp_gro(), 1)
            }
            let bindAddress = address
            let result = bindAddress.withSockAddr { Glibc.bind(fd, $0, $1) }
            guard result == 0 else { throw .lastError(.bind) }
            var storage = sockaddr_storage()
            var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
            let named = withUnsafeMutablePointer(to: &storage) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
            }
            guard named == 0 else { throw .lastError(.getsockname) }
            guard let bound = UDPAddress(storage: storage, length: length) else {
                throw .invalidArgument("unexpected bound address family")
            }
            localAddress = bound
        } catch {
            Glibc.close(fd)
            throw error
        }
        fileDescriptor = fd
        self.options = options
        self.features = features
        let controlSize = ReceiveBuffers.controlSpace
        receiveBuffers = ReceiveBuffers(count: options.receiveBatchSize, bufferSize: options.receiveBufferSize, controlSize: controlSize)
        sendQueue = SendQueue(bufferCount: options.sendBufferCount, bufferSize: options.sendBufferSize, batchSize: options.sendBatchSize)
    }

    deinit {
        if fileDescriptor >= 0 { Glibc.close(fileDescriptor) }
    }

    /// Closes the descriptor (idempotent). A socket registered with a worker is closed by
    /// `Worker.remove` instead, which also takes it out of epoll.
    public func close() {
        guard fileDescriptor >= 0 else { return }
        Glibc.close(fileDescriptor)
        fileDescriptor = -1
    }

    public var isClosed: Bool { fileDescriptor < 0 }

    /// Connects the socket to `remote` (a client's socket for one server): the kernel then
    /// delivers only that peer's datagrams and reports ICMP errors for it (port or host
    /// unreachable), which `takeUnreachableError()` / `UDPSocketHandler.unreachable` hand on.
    /// Sends may still name `remote` as their destination.
    public func connect(to remote: UDPAddress) throws(PlatformError) {
        guard fileDescriptor >= 0 else { throw .system(.connect, errno: EBADF) }
        guard remote.family == .ipv4 || isIPv6Socket else { throw .invalidArgument("IPv6 peer for an IPv4 socket") }
        let target = isIPv6Socket ? remote.mappedToIPv6 : remote
        let fd = fileDescriptor
        let rc = target.withSockAddr { Glibc.connect(fd, $0, $1) }
        guard rc == 0 else { throw .lastError(.connect) }
        connectedPeer = remote
    }

    /// The errno of the last ICMP error reported for a connected socket's peer (ECONNREFUSED
    /// for a closed port, EHOSTUNREACH, ENETUNREACH, ...), or nil; clears it.
    public func takeUnreachableError() -> Int32? {
        guard pendingUnreachable != 0 else { return nil }
        defer { pendingUnreachable = 0 }
        return pendingUnreachable
    }

    /// Errors the kernel keeps on a socket after an ICMP message about an earlier datagram.
    static func isICMPError(_ code: Int32) -> Bool {
        code == ECONNREFUSED || code == EHOSTUNREACH || code == ENETUNREACH || code == EHOSTDOWN
            || code == ENETDOWN || code == ECONNRESET
    }

    /// True if this socket sends to IPv4 peers as IPv4-mapped IPv6 (a dual-stack socket).
    var isIPv6Socket: Bool { localAddress.family == .ipv6 }

    // MARK: socket options

    static func set(_ fd: Int32, _ level: Int32, _ name: Int32, _ value: Int32) throws(PlatformError) {
        guard trySet(fd, level, name, value) else { throw .lastError(.setsockopt) }
    }

    static func trySet(_ fd: Int32, _ level: Int32, _ name: Int32, _ value: Int32) -> Bool {
        var v = value
        return setsockopt(fd, level, name, &v, socklen_t(MemoryLayout<Int32>.size)) == 0
    }

    /// Binds one SO_REUSEPORT socket per entry of a group (e.g. one per worker) on `address`.
    /// With port 0 the first socket gets an ephemeral port and the others join it.
    public static func bindReusePortGroup(count: Int, address: UDPAddress, options: UDPSocketOptions = UDPSocketOptions()) throws(PlatformError) -> [UDPSocket] {
        guard count > 0 else { throw .invalidArgument("group size must be positive") }
        var opts = options
        opts.reusePort = true
        let first = try UDPSocket(bindingTo: address, options: opts)
        var group = [first]
        var shared = address
        shared.port = first.localAddress.port
        for _ in 1..<count {
            group.append(try UDPSocket(bindingTo: shared, options: opts))
        }
        if options.steerByConnectionID && count > 1 {
            // The program belongs to the group; attaching it through the first socket is enough.
            guard cplatform_attach_reuseport_cid_steering(first.fileDescriptor, UInt32(count)) == 0 else {
                let e = errno
                group.forEach { $0.close() }
                throw .system(.setsockopt, errno: e)
            }
        }
        return group
    }
}

extension UDPSocket {
    /// The local address the kernel's routing picks for datagrams to `remote`: a throwaway
    /// socket is connect()ed (UDP: nothing is sent) and asked with getsockname. Nil without a
    /// route. Lets a client bound to the wildcard address report the address it really uses,
    /// as MsQuic's connected client sockets do, without connecting the socket it keeps.
    public static func routeSource(toward remote: UDPAddress) -> UDPAddress? {
        let domain = remote.family == .ipv4 ? AF_INET : AF_INET6
        let fd = Glibc.socket(domain, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return nil }
        defer { Glibc.close(fd) }
        guard remote.withSockAddr({ Glibc.connect(fd, $0, $1) }) == 0 else { return nil }
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let named = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        guard named == 0 else { return nil }
        return UDPAddress(storage: storage, length: length)
    }
}
