// Batched receive: recvmmsg into preallocated buffers, ancillary data parsed once per
// message (ECN, destination address, GRO segment size), GRO batches split back into datagrams.
import CPlatform
import Glibc

/// What the kernel told us about one received message.
struct ReceivedMessage {
    /// Which receive buffer holds the bytes.
    var slot = 0
    var length = 0
    /// GRO segment size (0: the message is one datagram).
    var segmentSize = 0
    var remote = UDPAddress.anyIPv4()
    var local = UDPAddress.anyIPv4()
    var hasLocal = false
    var interfaceIndex: UInt32 = 0
    var ecn = ECNCodepoint.notECT
}

/// The preallocated memory for one socket's receives: never grows after init.
final class ReceiveBuffers {
    /// Room for IP_TOS + IPV6_TCLASS + in_pktinfo + in6_pktinfo + UDP_GRO, with headers.
    static var controlSpace: Int {
        let s = cplatform_cmsg_space(MemoryLayout<Int32>.size) * 3
            + cplatform_cmsg_space(MemoryLayout<cplatform_in_pktinfo>.size)
            + cplatform_cmsg_space(MemoryLayout<cplatform_in6_pktinfo>.size)
        return (s + 7) & ~7
    }

    let count: Int
    let bufferSize: Int
    let controlSize: Int
    let data: UnsafeMutableRawPointer
    let control: UnsafeMutableRawPointer
    let names: UnsafeMutablePointer<sockaddr_storage>
    let iovecs: UnsafeMutablePointer<iovec>
    let headers: UnsafeMutablePointer<cplatform_mmsghdr>
    let messages: UnsafeMutablePointer<ReceivedMessage>
    /// Messages filled by the last receive.
    var filled = 0

    init(count: Int, bufferSize: Int, controlSize: Int) {
        self.count = count
        self.bufferSize = bufferSize
        self.controlSize = controlSize
        data = .allocate(byteCount: count * bufferSize, alignment: 16)
        control = .allocate(byteCount: count * controlSize, alignment: 8)
        names = .allocate(capacity: count)
        names.initialize(repeating: sockaddr_storage(), count: count)
        iovecs = .allocate(capacity: count)
        headers = .allocate(capacity: count)
        messages = .allocate(capacity: count)
        messages.initialize(repeating: ReceivedMessage(), count: count)
        for i in 0..<count {
            iovecs[i] = iovec(iov_base: data + i * bufferSize, iov_len: bufferSize)
            headers[i] = cplatform_mmsghdr()
        }
    }

    deinit {
        data.deallocate()
        control.deallocate()
        names.deinitialize(count: count)
        names.deallocate()
        iovecs.deallocate()
        headers.deallocate()
        messages.deinitialize(count: count)
        messages.deallocate()
    }

    /// Resets the headers the kernel writes back into (name and control lengths, flags).
    func prepare() {
        for i in 0..<count {
            headers[i].msg_hdr = msghdr(
                msg_name: UnsafeMutableRawPointer(names + i),
                msg_namelen: socklen_t(MemoryLayout<sockaddr_storage>.size),
                msg_iov: iovecs + i, msg_iovlen: 1,
                msg_control: control + i * controlSize, msg_controllen: controlSize,
                msg_flags: 0)
            headers[i].msg_len = 0
        }
    }
}

extension UDPSocket {
    /// Receives one batch (up to `options.receiveBatchSize` messages) without blocking.
    /// The result is empty when nothing is waiting. The datagrams are valid until the next
    /// receive on this socket. ICMP errors reported on the socket (ECONNREFUSED, unreachable;
    /// connected sockets only) are kept for `takeUnreachableError()` and the receive goes on;
    /// other failures throw.
    public func receive() throws(PlatformError) -> ReceivedDatagrams {
        let buffers = receiveBuffers
        buffers.filled = 0
        guard fileDescriptor >= 0 else { throw .system(.recvmmsg, errno: EBADF) }
        var attempts = 0
        while true {
            buffers.prepare()
            let n = recvmmsgCall(fileDescriptor, buffers.headers, UInt32(buffers.count), Int32(MSG_DONTWAIT))
            if n >= 0 {
                parse(count: Int(n))
                return ReceivedDatagrams(buffers: buffers, count: buffers.filled)
            }
            let code = errno
            switch code {
            case EINTR:
                continue
            case EAGAIN, EWOULDBLOCK, ENOMEM, ENOBUFS:
                return ReceivedDatagrams(buffers: buffers, count: 0)
            case _ where UDPSocket.isICMPError(code) || code == EMSGSIZE:
                // A pending error from an earlier send (ICMP); reading it clears it.
                if code != EMSGSIZE { pendingUnreachable = code }
                attempts += 1
                if attempts > 8 { return ReceivedDatagrams(buffers: buffers, count: 0) }
                continue
            default:
                throw .system(.recvmmsg, errno: code)
            }
        }
    }

    private func parse(count: Int) {
        let buffers = receiveBuffers
        let sol_udp = cplatform_sol_udp(), udpGRO = cplatform_udp_gro()
        let ipTOS = cplatform_ip_tos(), ipPktinfo = cplatform_ip_pktinfo()
        let v6TClass = cplatform_ipv6_tclass(), v6Pktinfo = cplatform_ipv6_pktinfo()
        var kept = 0
        for i in 0..<count {
            let header = buffers.headers + i
            let length = Int(header.pointee.msg_len)
            if header.pointee.msg_hdr.msg_flags & Int32(MSG_TRUNC) != 0 {
                statistics.truncatedDatagrams += 1
                continue
            }
            guard let remote = UDPAddress(sockaddr: UnsafeRawPointer(buffers.names + i),
                                          length: Int(header.pointee.msg_hdr.msg_namelen)) else { continue }
            var message = ReceivedMessage()
            message.slot = i
            message.length = length
            message.remote = remote.unmapped
            withUnsafeMutablePointer(to: &header.pointee.msg_hdr) { msg in
                var cmsg = cplatform_cmsg_firsthdr(msg)
                while let c = cmsg {
                    let level = c.pointee.cmsg_level, type = c.pointee.cmsg_type
                    let payload = UnsafeRawPointer(cplatform_cmsg_data(c)!)
                    let payloadLength = Int(c.pointee.cmsg_len) - cplatform_cmsg_len(0)
                    if level == Int32(IPPROTO_IP) && type == ipTOS && payloadLength >= 1 {
                        message.ecn = ECNCodepoint(trafficClass: payload.load(as: UInt8.self))
                    } else if level == Int32(IPPROTO_IPV6) && type == v6TClass && payloadLength >= 4 {
                        message.ecn = ECNCodepoint(trafficClass: UInt8(truncatingIfNeeded: payload.loadUnaligned(as: Int32.self)))
                    } else if level == Int32(IPPROTO_IP) && type == ipPktinfo
                                && payloadLength >= MemoryLayout<cplatform_in_pktinfo>.size {
                        let info = payload.loadUnaligned(as: cplatform_in_pktinfo.self)
                        message.local = UDPAddress(family: .ipv4, high: UInt64(UInt32(bigEndian: info.ipi_addr.s_addr)) << 32,
                                                   low: 0, port: localAddress.port)
                        message.hasLocal = true
                        message.interfaceIndex = UInt32(bitPattern: info.ipi_ifindex)
                    } else if level == Int32(IPPROTO_IPV6) && type == v6Pktinfo
                                && payloadLength >= MemoryLayout<cplatform_in6_pktinfo>.size {
                        let h = UInt64(bigEndian: payload.loadUnaligned(fromByteOffset: 0, as: UInt64.self))
                        let l = UInt64(bigEndian: payload.loadUnaligned(fromByteOffset: 8, as: UInt64.self))
                        let index = payload.loadUnaligned(fromByteOffset: 16, as: UInt32.self)
                        let scope = (h >> 54) == 0x3FA ? index : 0  // fe80::/10 needs its interface
                        message.local = UDPAddress(family: .ipv6, high: h, low: l, port: localAddress.port, scopeID: scope).unmapped
                        message.hasLocal = true
                        message.interfaceIndex = index
                    } else if level == sol_udp && type == udpGRO && payloadLength >= 2 {
                        let size = payloadLength >= 4 ? Int(payload.loadUnaligned(as: Int32.self)) : Int(payload.loadUnaligned(as: UInt16.self))
                        message.segmentSize = size > 0 && size < length ? size : 0
                    }
                    cmsg = cplatform_cmsg_nxthdr(msg, c)
                }
            }
            // A socket bound to one address gets only datagrams for it.
            if !message.hasLocal && !localAddress.isWildcard {
                message.local = localAddress
                message.hasLocal = true
            }
            buffers.messages[kept] = message
            kept += 1
            statistics.receivedMessages += 1
            statistics.receivedDatagrams += message.segmentSize > 0 ? (length + message.segmentSize - 1) / message.segmentSize : 1
        }
        buffers.filled = kept
    }
}

/// The datagrams of one receive, GRO batches split into their segments (each segment is one
/// datagram; the last may be shorter). A view into the socket's buffers: do not keep it.
public struct ReceivedDatagrams: Sequence {
    unowned(unsafe) let buffers: ReceiveBuffers
    /// Messages in this batch (a GRO message holds several datagrams).
    public let messageCount: Int

    init(buffers: ReceiveBuffers, count: Int) {
        self.buffers = buffers
        self.messageCount = count
    }

    public var isEmpty: Bool { messageCount == 0 }

    /// The GRO segment size of message `index` (0 if it is a single datagram); for tests and stats.
    public func segmentSize(ofMessage index: Int) -> Int {
        guard index >= 0 && index < messageCount else { return 0 }
        return buffers.messages[index].segmentSize
    }

    public func makeIterator() -> Iterator { Iterator(buffers: buffers, count: messageCount) }

    public struct Iterator: IteratorProtocol {
        unowned(unsafe) let buffers: ReceiveBuffers
        let count: Int
        var message = 0
        var offset = 0

        init(buffers: ReceiveBuffers, count: Int) {
            self.buffers = buffers
            self.count = count
        }

        public mutating func next() -> ReceivedDatagram? {
            while message < count {
                let m = buffers.messages[message]
                let base = UnsafeRawPointer(buffers.data + m.slot * buffers.bufferSize)
                if offset >= m.length && !(m.length == 0 && offset == 0) {
                    message += 1
                    offset = 0
                    continue
                }
                let step = m.segmentSize > 0 ? Swift.min(m.segmentSize, m.length - offset) : m.length
                let datagram = ReceivedDatagram(
                    payload: UnsafeRawBufferPointer(start: base + offset, count: step),
                    remote: m.remote, local: m.hasLocal ? m.local : nil,
                    interfaceIndex: m.interfaceIndex, ecn: m.ecn)
                if m.length == 0 {
                    // An empty datagram is still one datagram.
                    message += 1
                    offset = 0
                } else {
                    offset += step
                }
                return datagram
            }
            return nil
        }
    }
}
