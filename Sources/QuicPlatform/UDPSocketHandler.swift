// What a worker calls for a registered socket. Set once per socket, called per batch.

public protocol UDPSocketHandler: AnyObject {
    /// A batch of received datagrams, on the socket's worker. The payloads are borrowed: copy
    /// what must outlive the call.
    func receive(_ datagrams: ReceivedDatagrams, on socket: UDPSocket)
    /// Sends that had to wait (the kernel buffer was full) have all gone out.
    func writable(_ socket: UDPSocket)
    /// The kernel reported an ICMP error for a connected socket's peer (ECONNREFUSED: nothing
    /// listens on that port; EHOSTUNREACH / ENETUNREACH). The socket stays usable.
    func unreachable(_ socket: UDPSocket, errno: Int32)
    /// The socket failed (a receive or send error other than the transient ones) and has been
    /// removed from the worker and closed.
    func failed(_ socket: UDPSocket, error: PlatformError)
}

extension UDPSocketHandler {
    public func writable(_ socket: UDPSocket) {}
    public func unreachable(_ socket: UDPSocket, errno: Int32) {}
    public func failed(_ socket: UDPSocket, error: PlatformError) {}
}
