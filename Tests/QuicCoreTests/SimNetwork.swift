import Foundation
import XCTest
@testable import QuicCore
import QuicTLS
import QuicWire

/// A seeded pseudo-random generator (SplitMix64) so simulated runs repeat exactly.
struct SimRandom: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9e37_79b9_7f4a_7c15
        var z = state
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }
    mutating func chance(_ p: Double) -> Bool { p > 0 && Double(next() % 1_000_000) / 1_000_000 < p }
}

/// Link behaviour of the simulated network (each direction alike).
struct SimLink {
    var delay: UInt64 = 10_000        // one-way, µs
    var jitter: UInt64 = 0            // extra random delay up to this (reorders)
    var loss = 0.0
    var duplication = 0.0
    var corruption = 0.0
    /// Drop everything (to test idle timeouts).
    var blackhole = false
}

/// One endpoint of the simulation and what its connections reported.
final class SimPeer {
    let endpoint: Endpoint
    var address: SocketAddress
    var events: [ObjectIdentifier: [ConnectionEvent]] = [:]
    var accepted: [Connection] = []
    init(endpoint: Endpoint, address: SocketAddress) { self.endpoint = endpoint; self.address = address }
    func events(_ c: Connection) -> [ConnectionEvent] { events[ObjectIdentifier(c)] ?? [] }
}

/// Two endpoints joined by a simulated link with a virtual clock (µs).
final class SimNetwork {
    var now: QuicInstant = 1_000_000
    var rng: SimRandom
    var link = SimLink()
    let client: SimPeer
    let server: SimPeer
    struct Datagram { var deliverAt: QuicInstant; var toServer: Bool; var from: SocketAddress; var bytes: [UInt8]; var seq: Int }
    var inFlight: [Datagram] = []
    var seq = 0
    var datagramsSent = 0
    var tracedConnections: [Connection] = []
    /// Hook to inspect or rewrite datagrams before they enter the link (nil drops).
    var tap: ((Bool, [UInt8]) -> [UInt8]?)?
    /// Runs after each round of deliveries and timers, before the peers send: where an
    /// application reacting to an event (e.g. closing on CONNECTED) acts.
    var afterDelivery: (() -> Void)?
    /// Server datagrams addressed to a client address that is gone (dropped).
    var misaddressed = 0
    /// Addresses the client also receives at besides `client.address` (a migrating client's
    /// sockets stay open while the new path is validated).
    var clientAlsoReceivesAt: [SocketAddress] = []

    init(seed: UInt64, server: EndpointConfiguration, client: EndpointConfiguration = EndpointConfiguration()) {
        rng = SimRandom(seed: seed)
        self.client = SimPeer(endpoint: Endpoint(configuration: client), address: SocketAddress(ipv4: 10, 0, 0, 1, port: 5000))
        self.server = SimPeer(endpoint: Endpoint(configuration: server), address: SocketAddress(ipv4: 10, 0, 0, 2, port: 4433))
    }

    func connect(_ config: ConnectionConfiguration) throws -> Connection {
        let c = try client.endpoint.connect(configuration: config, to: server.address, now: now)
        tracedConnections.append(c)
        return c
    }

    private func send(_ bytes: [UInt8], toServer: Bool) {
        datagramsSent += 1
        var bytes = bytes
        if let tap { guard let b = tap(toServer, bytes) else { return }; bytes = b }
        if link.blackhole || rng.chance(link.loss) { return }
        var copies = 1
        if rng.chance(link.duplication) { copies = 2 }
        for _ in 0..<copies {
            var b = bytes
            if rng.chance(link.corruption), !b.isEmpty {
                let i = Int(rng.next() % UInt64(b.count))
                b[i] ^= UInt8(1 + rng.next() % 255)
            }
            let extra = link.jitter > 0 ? rng.next() % link.jitter : 0
            seq += 1
            inFlight.append(Datagram(deliverAt: now + .microseconds(link.delay + extra), toServer: toServer,
                                     from: toServer ? client.address : server.address, bytes: b, seq: seq))
        }
    }

    private func flush(_ peer: SimPeer, toServer: Bool) {
        for conn in peer.endpoint.allConnections + (toServer ? tracedConnections : []) {
            var guardCount = 0
            while let (transmit, bytes) = conn.pollTransmit(now: now) {
                // A datagram to an address the client no longer has (after a simulated NAT
                // rebinding) is lost.
                if !toServer && transmit.destination != client.address
                    && !clientAlsoReceivesAt.contains(transmit.destination) {
                    misaddressed += 1
                } else {
                    send(bytes, toServer: toServer)
                }
                guardCount += 1
                if guardCount > 10_000 { XCTFail("connection keeps sending"); break }
            }
            while let e = conn.pollEvent() { peer.events[ObjectIdentifier(conn), default: []].append(e) }
        }
        while let (_, bytes) = peer.endpoint.pollTransmit() { send(bytes, toServer: toServer) }
    }

    private func allConnections() -> [Connection] {
        var seen = Set<ObjectIdentifier>()
        var out: [Connection] = []
        for c in client.endpoint.allConnections + server.endpoint.allConnections + tracedConnections + server.accepted
            where seen.insert(ObjectIdentifier(c)).inserted { out.append(c) }
        return out
    }

    /// Runs until `done()` holds or `limit` µs of virtual time pass; returns whether `done` held.
    @discardableResult
    func run(for limit: UInt64 = 60_000_000, until done: () -> Bool = { false }) -> Bool {
        let end = now + .microseconds(limit)
        var spins = 0
        while now <= end {
            flush(client, toServer: true)
            flush(server, toServer: false)
            drainEvents()
            if done() { return true }
            var next = inFlight.map(\.deliverAt).min() ?? .never
            for c in allConnections() { if let t = c.nextTimeout() { next = min(next, t) } }
            guard next != .never else { return done() }
            if next > end { now = end; break }
            if next <= now {
                spins += 1
                if spins > 10_000 {
                    // A timer that never moves is a busy loop for a real event loop too.
                    let stuck = allConnections().filter { ($0.nextTimeout() ?? .never) <= now }
                    XCTFail("timer stuck at \(now): \(stuck.map { "\($0.role) state \($0.state) \($0.timerDebug(now: now))" })")
                    return false
                }
            } else {
                spins = 0
            }
            now = max(now, next)
            // Deliver in arrival order.
            let due = inFlight.filter { $0.deliverAt <= now }.sorted { ($0.deliverAt, $0.seq) < ($1.deliverAt, $1.seq) }
            inFlight.removeAll { $0.deliverAt <= now }
            for d in due {
                let peer = d.toServer ? server : client
                if case .newConnection(let c)? = peer.endpoint.handle(datagram: d.bytes, from: d.from, now: now) {
                    server.accepted.append(c)
                }
            }
            for c in allConnections() where (c.nextTimeout() ?? .never) <= now { c.handleTimeout(now: now) }
            afterDelivery?()
            client.endpoint.removeClosedConnections()
            server.endpoint.removeClosedConnections()
        }
        drainEvents()
        return done()
    }

    private func drainEvents() {
        for c in allConnections() {
            let peer = c.role == .client ? client : server
            while let e = c.pollEvent() { peer.events[ObjectIdentifier(c), default: []].append(e) }
        }
    }
}
