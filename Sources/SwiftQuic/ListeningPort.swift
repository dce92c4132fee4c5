// The listeners of one local UDP port and the sockets they share: MsQuic's server binding.
//
// MsQuic keeps one binding per listening port: a listening binding is looked up by its local
// port alone (library.c, QuicLibraryLookupBinding), and every listener started on that port
// registers on it (binding.c, QuicBindingRegisterListener). A new client is handed to the first
// registered listener whose address fits the client's destination address and that shares an
// ALPN with the ClientHello (QuicBindingGetListener); when none fits, the handshake ends with
// CRYPTO_ERROR no_application_protocol (0x178, RFC 9001 §8.1). docs/api/ListenerStart.md:
// QUIC_STATUS_ALPN_IN_USE when another listener already has one of the ALPNs on the same address.
//
// Here one SO_REUSEPORT socket group (one socket per worker) is opened per distinct bound address
// of the port and shared by every listener bound there. Every socket of the port picks the
// listener through the same ordered list, so the kernel's spread of clients over the sockets
// does not decide which listener a client reaches.

import QuicCore
import QuicPlatform
import Synchronization

/// Sendable (unchecked): `listeners` is a Mutex; `groups` is read and written only under
/// `ListeningPort.table`'s lock; the rest is immutable.
final class ListeningPort: @unchecked Sendable {
    /// QUIC_ADDRESS_FAMILY values on Linux (MsQuic uses the AF_* numbers): the order of the
    /// listener list is by family, descending.
    static let familyUnspec: UInt16 = 0
    static let familyInet: UInt16 = 2
    static let familyInet6: UInt16 = 10

    /// A started listener as registered on its port.
    struct Entry {
        let listener: ListenerObject
        /// QUIC_ADDRESS_FAMILY of the address given to ListenerStart (UNSPEC for NULL).
        let family: UInt16
        /// The address given was a wildcard (or NULL / UNSPEC).
        let wildcard: Bool
        let address: UDPAddress
        /// In the listener's order of preference.
        let alpns: [[UInt8]]

        /// MsQuic's QuicListenerHasAlpnOverlap: one ALPN in both lists.
        func overlaps(_ other: Entry) -> Bool {
            alpns.contains { other.alpns.contains($0) }
        }

        /// The first of the listener's ALPNs that the client offers (the server's preference,
        /// RFC 7301 §3.2, as MsQuic's QuicListenerMatchesAlpn), if any.
        func negotiate(_ offered: [[UInt8]]) -> [UInt8]? {
            alpns.first { offered.contains($0) }
        }

        /// Whether a client that sent to `local` may reach this listener (QuicBindingGetListener:
        /// an UNSPEC listener takes any address; else the same family, and the same IP unless the
        /// listener is a wildcard).
        func accepts(local: UDPAddress) -> Bool {
            if family == ListeningPort.familyUnspec { return true }
            let localFamily = local.family == .ipv4 ? ListeningPort.familyInet : ListeningPort.familyInet6
            guard localFamily == family else { return false }
            return wildcard || (local.high == address.high && local.low == address.low)
        }
    }

    /// A SO_REUSEPORT socket group on one bound address of the port.
    struct SocketGroup {
        /// The bound address (with the port), the key a later listener joins by.
        let address: UDPAddress
        let bindings: [Binding]
        /// The sockets' own address (as the kernel reports it), kept here so that no
        /// application thread reads `Binding.socket`, which belongs to the worker.
        let bound: UDPAddress?
        /// Started listeners bound here; the sockets close (when idle) once none is left.
        var users: Int
    }

    /// The registered listeners in MsQuic's order: by family descending (INET6, INET, UNSPEC),
    /// within a family specific addresses before wildcards, and in order of start within those.
    /// Read by the workers at each new client.
    private let listeners = Mutex<[Entry]>([])
    /// Only under `ListeningPort.table`'s lock.
    private var groups: [SocketGroup] = []
    /// One key for the Retry and NEW_TOKEN tokens of every socket of the port: a client's next
    /// connection may reach any of them (RFC 9000 §8.1.3).
    let addressTokenKey = Endpoint.freshAddressTokenKey()

    /// The listening ports of this process by port number.
    private static let table = Mutex<[UInt16: ListeningPort]>([:])

    /// What a worker does with a client whose ClientHello is complete.
    enum Choice {
        /// NEW_CONNECTION on this listener with this ALPN.
        case accept(ListenerObject, negotiated: [UInt8])
        /// No listener fits: the handshake is run to its no_application_protocol alert on
        /// behalf of `registration` (any of the port's listeners'), offering `alpns`.
        case refuse(Registration, alpns: [[UInt8]])
        /// No listener left at all: the first flight is dropped.
        case drop
    }

    /// MsQuic's QuicBindingGetListener: the first registered listener whose address accepts
    /// `local` and which shares an ALPN with the client.
    func choose(local: UDPAddress, offered: [[UInt8]]) -> Choice {
        listeners.withLock { list -> Choice in
            for entry in list where entry.accepts(local: local) {
                if let alpn = entry.negotiate(offered) { return .accept(entry.listener, negotiated: alpn) }
            }
            guard let first = list.first else { return .drop }
            return .refuse(first.listener.registration, alpns: first.alpns)
        }
    }

    /// MsQuic's QuicBindingRegisterListener: where `new` goes in the order, or nil when a
    /// listener of the same family, wildcard-ness and (unless UNSPEC) IP already has one of
    /// its ALPNs (QUIC_STATUS_ALPN_IN_USE). Listeners on other addresses of the port may share
    /// ALPNs: the order decides which one a client gets.
    private static func place(of new: Entry, in list: [Entry]) -> Int? {
        for (i, old) in list.enumerated() {
            if new.family > old.family { return i }            // past its family
            if new.family != old.family { continue }
            if !new.wildcard && old.wildcard { return i }      // past the specific addresses
            if new.wildcard != old.wildcard { continue }
            if new.family != ListeningPort.familyUnspec
                && (new.address.high != old.address.high || new.address.low != old.address.low) { continue }
            if new.overlaps(old) { return nil }
        }
        return list.count
    }

    /// Whether `new` could be registered (no ALPN_IN_USE).
    private func admits(_ new: Entry) -> Bool {
        listeners.withLock { ListeningPort.place(of: new, in: $0) != nil }
    }

    /// Registers `new`; false when its ALPNs are in use.
    @discardableResult
    private func register(_ new: Entry) -> Bool {
        listeners.withLock { list -> Bool in
            guard let index = ListeningPort.place(of: new, in: list) else { return false }
            list.insert(new, at: index)
            return true
        }
    }

    /// Takes `listener` out of the list; whether any listener is left.
    private func unregister(_ listener: ListenerObject) -> Bool {
        listeners.withLock { list -> Bool in
            list.removeAll { $0.listener === listener }
            return !list.isEmpty
        }
    }

    /// The outcome of `start`.
    enum Started {
        case started(ListeningPort, port: UInt16, bindings: [Binding], bound: UDPAddress?)
        case refused(QuicStatus)
    }

    /// Registers `entry` on the port of `address` and gives it the socket group bound to that
    /// address, opening one (`open`) when the port or the address is new. Port 0: a new port
    /// (MsQuic always makes a new binding for an unspecified port). `open` runs under the table's
    /// lock; it must not wait for a worker.
    static func start(_ entry: Entry, address: UDPAddress,
                      open: (UDPAddress, ListeningPort) throws(PlatformError) -> ([Binding], UDPAddress?)) -> Started {
        var discarded: [Binding] = []
        defer { closeLater(discarded, portEmpty: true) }
        return table.withLock { table -> Started in
            if address.port != 0, let existing = table[address.port] {
                // The check comes first, the sockets (if this address is new on the port) next,
                // and the listener joins the list once nothing can fail any more: a worker may
                // hand it a client from then on.
                guard existing.admits(entry) else { return .refused(Status.alpnInUse) }
                let group: SocketGroup
                if let i = existing.groups.firstIndex(where: { $0.address == address }) {
                    existing.groups[i].users += 1
                    group = existing.groups[i]
                } else {
                    do throws(PlatformError) {
                        let (bindings, bound) = try open(address, existing)
                        group = SocketGroup(address: address, bindings: bindings, bound: bound, users: 1)
                        existing.groups.append(group)
                    } catch {
                        return .refused(status(of: error))
                    }
                }
                existing.register(entry)
                return .started(existing, port: address.port, bindings: group.bindings, bound: group.bound)
            }
            // A new port: its sockets may take clients as soon as they are open, so the
            // listener is on the list before.
            let fresh = ListeningPort()
            fresh.register(entry)
            let bindings: [Binding]
            let bound: UDPAddress?
            do throws(PlatformError) { (bindings, bound) = try open(address, fresh) } catch {
                return .refused(status(of: error))
            }
            let port = bound?.port ?? address.port
            var key = address
            key.port = port
            if port == 0 || table[port] != nil {
                // The kernel handed out a port this process already listens on (MsQuic guards
                // against the same): give the sockets back and refuse.
                discarded = bindings
                return .refused(Status.addressInUse)
            }
            fresh.groups = [SocketGroup(address: key, bindings: bindings, bound: bound, users: 1)]
            table[port] = fresh
            return .started(fresh, port: port, bindings: bindings, bound: bound)
        }
    }

    /// The last MsQuicClose: every port is forgotten (its bindings are torn down by the
    /// library), so that no listener, binding or worker is kept by this table.
    static func forgetAll() {
        let ports = table.withLock { table -> [ListeningPort] in
            let all = Array(table.values)
            table.removeAll()
            return all
        }
        for port in ports {
            port.listeners.withLock { $0.removeAll() }
            table.withLock { _ in port.groups.removeAll() }
        }
    }

    private static func status(of error: PlatformError) -> QuicStatus {
        if case .system(_, let errno) = error, errno == 98 { return Status.addressInUse }   // EADDRINUSE
        return Status.internalError
    }

    /// ListenerStop: `listener` leaves its port. Its socket group closes (once its last
    /// connection is gone) when no other listener is bound there; the port is forgotten when no
    /// listener is left, and its sockets stop accepting.
    func stop(_ listener: ListenerObject, port: UInt16, address: UDPAddress) {
        var closing: [Binding] = []
        var portEmpty = false
        ListeningPort.table.withLock { table in
            portEmpty = !unregister(listener)
            if let i = groups.firstIndex(where: { $0.address == address }) {
                groups[i].users -= 1
                if groups[i].users <= 0 { closing = groups.remove(at: i).bindings }
            }
            if portEmpty {
                for g in groups { closing += g.bindings }
                groups.removeAll()
                if table[port] === self { table[port] = nil }
            }
        }
        ListeningPort.closeLater(closing, portEmpty: portEmpty)
        // A worker may have chosen this listener just before it left the list: once each
        // worker has run this no-op, no NEW_CONNECTION begun before is still under way, and
        // STOP_COMPLETE is the listener's last event (as MsQuic waits for its references).
        if !portEmpty || closing.isEmpty, let pool = Runtime.workers() {
            for worker in pool.workers { _ = worker.perform {} }
        }
    }

    /// Each binding on its worker: close when its last connection is gone. While the port has
    /// listeners the sockets go on taking new clients for them until then (a client may reach
    /// any socket of the port); once none is left, first flights nobody was told of are dropped.
    private static func closeLater(_ bindings: [Binding], portEmpty: Bool) {
        for b in bindings {
            _ = b.worker.perform {
                if portEmpty {
                    b.listeningPort = nil
                    b.removeUnannouncedPending()
                }
                b.closeWhenIdle = true
                b.closeIfIdle()
            }
        }
    }
}
