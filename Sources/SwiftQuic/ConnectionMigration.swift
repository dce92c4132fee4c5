// Client active migration through the API (RFC 9000 §9.2): QUIC_PARAM_CONN_LOCAL_ADDRESS set on
// a started client connection opens a socket on the new local address, moves the connection
// there (QuicCore's `Connection.migrate(toLocal:)`) and raises LOCAL_ADDRESS_CHANGED. While the
// new path is validated both sockets deliver to the connection (one Binding handles both, so
// the connection's CIDs route from either); once it is validated the old socket closes, and if
// validation fails the connection goes back to the old one and the new one closes.
//
// MsQuic (connection.c, QuicConnParamSet): INVALID_PARAMETER for a buffer that is not a
// QUIC_ADDR, INVALID_STATE for a server or a connection closed locally, INVALID_STATE when
// started but the handshake is not confirmed, INVALID_PARAMETER for an address family other
// than UNSPEC/INET/INET6, the socket's own failure status (e.g. ADDRESS_IN_USE) when the new
// address cannot be bound. Beyond MsQuic (which does not check them): INVALID_STATE when the
// peer sent disable_active_migration (RFC 9000 §18.2 forbids sending from another address),
// when the peer left us no unused CID (§9.5), and when the connection's QUIC_SETTINGS say
// MigrationEnabled = FALSE.

import QuicCore
import QuicPlatform
import QuicWire

/// The sockets of a client connection that migrated (ConnectionObject.pathSockets).
struct PathSockets {
    /// The socket the connection sends from when it is not its binding's own socket.
    var active: UDPSocket?
    /// Sockets this connection opened and must close (the active one, a failed one later).
    var owned: [UDPSocket] = []
}

extension ConnectionObject {
    /// The socket sends go out on: the migrated one, else the binding's.
    var sendSocket: UDPSocket? { pathSockets.active ?? binding?.socket }

    /// SetParam(QUIC_PARAM_CONN_LOCAL_ADDRESS) on a started connection, on its worker.
    func migrateLocal(to requested: UDPAddress) -> QuicStatus {
        worker.assertIsCurrent()
        guard let core, let binding, !core.isClosed, !shutdownRequested else { return Status.invalidState }
        // Not a client, closing, not confirmed, disable_active_migration, no spare CID.
        if core.localMigrationRefusal != nil { return Status.invalidState }
        // QUIC_SETTINGS.MigrationEnabled = FALSE: this client does not migrate.
        if let configuration, configuration.connectionSettings(ownSettings)[.migrationEnabled] == 0 {
            return Status.invalidState
        }
        // A wildcard (UNSPEC reads as [::]) toward an IPv4 peer: the IPv4 wildcard, same port.
        var local = requested
        if local.isWildcard, local.family == .ipv6, core.remoteAddress.family == .ipv4 {
            local = .anyIPv4()
            local.port = requested.port
        }
        let socket: UDPSocket
        do { socket = try UDPSocket(bindingTo: local) } catch {
            // MsQuic on POSIX returns the socket's errno as the status.
            if case PlatformError.system(_, let errno) = error {
                if errno == 98 { return Status.addressInUse }
                if errno == 99 { return Status.addressNotAvailable }   // not an address of this host
            }
            return Status.internalError
        }
        do { try worker.add(socket, handler: binding) } catch {
            socket.close()
            return Status.internalError
        }
        // The engine learns the address it is leaving (first migration) and the new one.
        if let current = sendSocket?.localAddress { core.noteLocalAddress(current.socketAddress) }
        do {
            try core.migrate(toLocal: socket.localAddress.socketAddress, now: Runtime.now)
        } catch {
            worker.remove(socket)
            return Status.invalidState
        }
        pathSockets.owned.append(socket)
        service()
        return Status.success
    }

    /// The engine now sends from `address` (`.localAddressChanged`): the socket follows, the
    /// application hears QUIC_CONNECTION_EVENT_LOCAL_ADDRESS_CHANGED.
    func localAddressChanged(to address: SocketAddress) {
        guard let new = UDPAddress(address) else { return }
        if let s = pathSockets.owned.first(where: { $0.localAddress == new }) {
            pathSockets.active = s
        } else {
            pathSockets.active = nil            // back on the binding's own socket
        }
        localAddressCache = sendSocket?.localAddress ?? new
        let addr = UnsafeMutableRawPointer.allocate(byteCount: QuicAddr.size, alignment: 8)
        QuicAddr.write(localAddressCache ?? new, to: addr)
        let ev = RawEvent(type: EventType.localAddressChanged)
        ev.set(8, UnsafeRawPointer(addr))
        _ = deliver(ev)
        ev.free()
        addr.deallocate()
    }

    /// After each service round: once no validation is running, the sockets the connection no
    /// longer sends from are closed; an unshared binding takes the migrated socket as its own.
    func closeUnusedPathSockets() {
        guard !pathSockets.owned.isEmpty, let core, !core.isProbingLocalPath else { return }
        let active = pathSockets.active
        for s in pathSockets.owned where s !== active { worker.remove(s) }
        pathSockets.owned.removeAll { $0 !== active }
        guard let binding, let active, binding.connections.count == 1, !shareUDPBinding,
              let old = binding.socket, old !== active else { return }
        // The binding's socket was only this connection's: the migrated one replaces it.
        binding.socket = active
        pathSockets = PathSockets()
        worker.remove(old)
    }

    /// The connection leaves its binding (closed, abandoned): its own sockets close.
    func closeAllPathSockets() {
        for s in pathSockets.owned { worker.remove(s) }
        pathSockets = PathSockets()
    }
}
