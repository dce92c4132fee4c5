// How a UDP socket is set up, and which kernel features it ended up with.

public struct UDPSocketOptions: Sendable {
    /// SO_REUSEPORT: several sockets (one per worker) share one address and the kernel spreads
    /// incoming flows over them. Needed on every socket of the group, including the first.
    public var reusePort = false
    /// IPV6_V6ONLY for IPv6 sockets. Off by default: a socket bound to :: also receives IPv4
    /// (dual stack), reported as IPv4 addresses.
    public var ipv6Only = false
    /// For a reuse-port group: steer each datagram to the group's socket whose index (modulo the
    /// group size) is the first byte of its QUIC Destination Connection ID (a classic BPF
    /// program, SO_ATTACH_REUSEPORT_CBPF), instead of the kernel's 4-tuple hash. A peer whose
    /// address or port changes then still reaches the worker that holds its connection.
    public var steerByConnectionID = false
    /// Messages per recvmmsg call.
    public var receiveBatchSize = 32
    /// Bytes per receive buffer. With GRO one message can carry up to 64 KiB of coalesced
    /// datagrams; without it a datagram larger than this is dropped (truncated).
    public var receiveBufferSize = 65_536
    /// Messages per sendmmsg call.
    public var sendBatchSize = 32
    /// Outgoing buffers that can be queued before a flush.
    public var sendBufferCount = 32
    /// Bytes per outgoing buffer (one datagram, or several same-size datagrams for GSO).
    public var sendBufferSize = 65_536
    /// Use UDP generic segmentation offload (UDP_SEGMENT) when the kernel has it.
    public var useGSO = true
    /// Use UDP generic receive offload (UDP_GRO) when the kernel has it.
    public var useGRO = true
    /// Report received ECN marks (IP_RECVTOS / IPV6_RECVTCLASS).
    public var useECN = true
    /// Report each datagram's destination address (IP_PKTINFO / IPV6_RECVPKTINFO).
    public var usePacketInfo = true
    /// Set Don't Fragment (IP_PMTUDISC_PROBE): RFC 9000 §14 forbids IP fragmentation of QUIC
    /// datagrams and asks for DF on IPv4.
    public var dontFragment = true
    /// SO_RCVBUF / SO_SNDBUF in bytes; nil keeps the system default. The receive buffer is
    /// asked for as INT32_MAX, as MsQuic does (its datapath_epoll.c: "the socket is shared by
    /// multiple QUIC endpoints"): the kernel caps it at net.core.rmem_max (×2 for its
    /// bookkeeping), instead of rmem_default's 208 KiB that a window-sized burst overflows.
    /// MsQuic leaves SO_SNDBUF at the system default, and so do we.
    public var kernelReceiveBufferSize: Int? = Int(Int32.max)
    public var kernelSendBufferSize: Int? = nil

    public init() {}
}

/// What the kernel accepted for one socket (found out at run time; each falls back cleanly).
public struct UDPSocketFeatures: Sendable, Equatable {
    /// UDP_SEGMENT sends (turned off at run time if the kernel rejects a GSO send with EIO).
    public var gso = false
    /// UDP_GRO receives.
    public var gro = false
    /// ECN marks reported on receive; sending marks needs no option.
    public var ecn = false
    /// Destination address reported on receive.
    public var packetInfo = false
    /// Most segments the kernel takes in one GSO send (UDP_MAX_SEGMENTS).
    public var maxGSOSegments = 64
}

/// Running counts for one socket (read on the thread that owns it).
public struct UDPSocketStatistics: Sendable, Equatable {
    public var receivedMessages = 0
    public var receivedDatagrams = 0
    /// Datagrams dropped on receive because they did not fit the receive buffer.
    public var truncatedDatagrams = 0
    public var sentMessages = 0
    public var sentDatagrams = 0
    /// Datagrams the kernel refused (EMSGSIZE, unreachable, ...): dropped, as IP would.
    public var sendErrors = 0
    /// The last errno of a dropped send (0 if none).
    public var lastSendErrno: Int32 = 0
}
