import XCTest
@testable import QuicCore
import QuicWire

/// A simulated link for DPLPMTUD and ECN (virtual clock, in memory): like SimNetwork, but every
/// datagram carries the ECN codepoint the sender asked for, the link may drop datagrams above
/// a UDP payload size (an MTU black hole: no ICMP, RFC 8899 §1) and may bleach or CE-mark
/// the codepoint.
final class PathSim {
    enum ECNAction { case pass, bleach, markCE }
    var now: QuicInstant = 1_000_000
    var delay: UInt64 = 10_000
    /// Largest UDP payload the path carries (each direction); larger datagrams vanish.
    var pathPayloadLimit = 1472
    var ecnAction = ECNAction.pass
    var rng = SimRandom(seed: 7)
    var loss = 0.0
    let client: SimPeer
    let server: SimPeer
    var clientConnection: Connection!
    struct Datagram { var at: QuicInstant; var toServer: Bool; var bytes: [UInt8]; var ecn: ECNCodepoint; var seq: Int }
    var inFlight: [Datagram] = []
    var seq = 0
    /// Sizes of the datagrams each side sent, and the codepoints they asked for.
    var sentSizes: [Bool: [Int]] = [true: [], false: []]
    var sentECN: [Bool: [ECNCodepoint]] = [true: [], false: []]
    var droppedForSize = 0
    /// A bottleneck on each direction (bytes per second; 0 = none) with a drop-tail queue of
    /// `queueLimit` bytes: the queueing delay HyStart++ (RFC 9406) watches for.
    var bottleneckRate: UInt64 = 0
    var queueLimit: UInt64 = .max
    private var busyUntil: [Bool: QuicInstant] = [true: .zero, false: .zero]
    var droppedAtQueue = 0
    var largestQueueDelay = QuicDuration.zero

    init(server: ConnectionConfiguration, client: ConnectionConfiguration, ipv6: Bool = false) throws {
        let clientAddress = ipv6 ? SocketAddress(bytes: [0xfd] + [UInt8](repeating: 0, count: 14) + [1], port: 5000)!
                                 : SocketAddress(ipv4: 10, 0, 0, 1, port: 5000)
        let serverAddress = ipv6 ? SocketAddress(bytes: [0xfd] + [UInt8](repeating: 0, count: 14) + [2], port: 4433)!
                                 : SocketAddress(ipv4: 10, 0, 0, 2, port: 4433)
        self.client = SimPeer(endpoint: Endpoint(configuration: EndpointConfiguration()), address: clientAddress)
        self.server = SimPeer(endpoint: Endpoint(configuration: EndpointConfiguration(server: server)),
                              address: serverAddress)
        clientConnection = try self.client.endpoint.connect(configuration: client, to: self.server.address, now: now)
    }

    var serverConnection: Connection? { server.accepted.first }
    var connections: [Connection] { [clientConnection] + server.accepted }

    private func flush(_ c: Connection, toServer: Bool) {
        var guardCount = 0
        while let (t, bytes) = c.pollTransmit(now: now) {
            guardCount += 1
            if guardCount > 10_000 { XCTFail("connection keeps sending"); return }
            sentSizes[toServer]!.append(t.size)
            sentECN[toServer]!.append(t.ecn)
            if t.size > pathPayloadLimit { droppedForSize += 1; continue }
            if rng.chance(loss) { continue }
            var ecn = t.ecn
            switch ecnAction {
            case .pass: break
            case .bleach: ecn = .notECT
            case .markCE: if ecn != .notECT { ecn = .ce }   // RFC 3168: only ECT packets get CE
            }
            var at = now + .microseconds(delay)
            if bottleneckRate > 0 {
                let start = max(now, busyUntil[toServer]!)
                let waiting = start - now
                let queuedBytes = waiting.microseconds * bottleneckRate / 1_000_000
                if queuedBytes + UInt64(bytes.count) > queueLimit { droppedAtQueue += 1; continue }
                largestQueueDelay = max(largestQueueDelay, waiting)
                let serialization = QuicDuration.microseconds(UInt64(bytes.count) * 1_000_000 / bottleneckRate)
                busyUntil[toServer] = start + serialization
                at = start + serialization + .microseconds(delay)
            }
            seq += 1
            inFlight.append(Datagram(at: at, toServer: toServer, bytes: bytes, ecn: ecn, seq: seq))
        }
    }

    @discardableResult
    func run(for limit: UInt64 = 60_000_000, until done: () -> Bool) -> Bool {
        let end = now + .microseconds(limit)
        while now <= end {
            flush(clientConnection, toServer: true)
            for c in server.accepted { flush(c, toServer: false) }
            while let (_, bytes) = server.endpoint.pollTransmit() {
                inFlight.append(Datagram(at: now + .microseconds(delay), toServer: false, bytes: bytes, ecn: .notECT, seq: seq))
            }
            if done() { return true }
            var next = inFlight.map(\.at).min() ?? .never
            for c in connections { if let t = c.nextTimeout() { next = min(next, t) } }
            guard next != .never, next <= end else { now = end; return done() }
            now = max(now, next)
            let due = inFlight.filter { $0.at <= now }.sorted { ($0.at, $0.seq) < ($1.at, $1.seq) }
            inFlight.removeAll { $0.at <= now }
            for d in due {
                let peer = d.toServer ? server : client
                let from = d.toServer ? client.address : server.address
                if case .newConnection(let c)? = peer.endpoint.handle(datagram: d.bytes, from: from, now: now, ecn: d.ecn) {
                    server.accepted.append(c)
                }
            }
            for c in connections where (c.nextTimeout() ?? .never) <= now { c.handleTimeout(now: now) }
        }
        return done()
    }

    /// Runs the handshake to confirmation on both sides.
    func connect() throws -> (Connection, Connection) {
        XCTAssertTrue(run { clientConnection.isHandshakeConfirmed && (serverConnection?.isHandshakeConfirmed ?? false) })
        return (clientConnection, try XCTUnwrap(serverConnection))
    }

    /// Sends `bytes` from the client to the server on a new stream; true when all arrived.
    /// `midway` runs once a third has arrived.
    func upload(_ bytes: Int, midway: (() -> Void)? = nil) throws -> Bool {
        let c = clientConnection!
        let s = try XCTUnwrap(serverConnection)
        let id = try c.openStream(bidirectional: false)
        let data = (0..<bytes).map { UInt8(truncatingIfNeeded: $0 &* 13) }
        try c.send(stream: id, bytes: data, fin: true)
        let sink = StreamSink()
        sink.seen.insert(id)
        var fired = midway == nil
        let ok = run(for: 120_000_000) {
            sink.pump(s, events: [])
            while c.pollEvent() != nil {}
            while s.pollEvent() != nil {}
            if !fired, (sink.data[id]?.count ?? 0) > bytes / 3 { fired = true; midway?() }
            return sink.fin.contains(id)
        }
        return ok && sink.data[id] == data
    }
}

final class PMTUAndECNTests: XCTestCase {
    func configs(mtu: MTUDiscoveryConfig? = MTUDiscoveryConfig(), ecn: Bool = false)
        -> (server: ConnectionConfiguration, client: ConnectionConfiguration) {
        var s = SimConfigs.server()
        var c = SimConfigs.client()
        s.mtuDiscovery = mtu; c.mtuDiscovery = mtu
        s.ecnEnabled = ecn; c.ecnEnabled = ecn
        return (s, c)
    }

    // MARK: DPLPMTUD

    /// An open 1500-byte path (IPv4): after the handshake the search climbs 1288 → 1368 → 1448 →
    /// 1500 (MsQuic's +80 steps, 1500 always tried) and data then goes in 1472-byte datagrams.
    func testSearchReachesMaximumMtu() throws {
        let (sc, cc) = configs()
        let sim = try PathSim(server: sc, client: cc)
        let (client, server) = try sim.connect()
        // Before the search, the base: MinimumMtu 1288 less 28 bytes of IPv4 + UDP headers.
        XCTAssertTrue(sim.sentSizes[true]!.prefix(2).allSatisfy { $0 <= 1260 }, "the first flight within the base MTU")
        XCTAssertTrue(try sim.upload(200_000))
        XCTAssertEqual(client.statistics.ipPathMTU, 1500)
        XCTAssertEqual(client.maxDatagramSize, 1472)
        XCTAssertEqual(client.pmtu.phase, .searchComplete)
        XCTAssertEqual(server.statistics.ipPathMTU, 1500, "the server probes its direction too")
        XCTAssertTrue(sim.sentSizes[true]!.contains(1472), "full-size datagrams at the discovered MTU")
        XCTAssertEqual(sim.droppedForSize, 0)
        XCTAssertEqual(client.recovery.recovery.congestion.maxDatagramSize, 1472, "CC counts in the new size")
    }

    /// IPv6: the same MTUs leave 48 bytes for the IPv6 and UDP headers: the base is 1240 bytes
    /// of payload and the search ends at 1452.
    func testIPv6HeadersAreAccountedFor() throws {
        let (sc, cc) = configs()
        let sim = try PathSim(server: sc, client: cc, ipv6: true)
        sim.pathPayloadLimit = 1452
        let (client, _) = try sim.connect()
        XCTAssertEqual(client.remoteAddress.family, .ipv6)
        XCTAssertTrue(sim.sentSizes[true]!.prefix(2).allSatisfy { $0 <= 1240 })
        XCTAssertTrue(try sim.upload(200_000))
        XCTAssertEqual(client.statistics.ipPathMTU, 1500)
        XCTAssertEqual(client.maxDatagramSize, 1452)
        XCTAssertEqual(sim.droppedForSize, 0, "no probe went above 1500 bytes of IPv6 packet")
    }

    /// A black hole above 1400 bytes of UDP payload: probes of 1448 and 1500 vanish (three
    /// each, MtuDiscoveryMissingProbeCount), the search settles on 1368 + 28... i.e. the largest
    /// step that fits, and their loss is no congestion event (RFC 9000 §14.4).
    func testProbesAboveTheBlackHoleConvergeBelowIt() throws {
        let (sc, cc) = configs()
        let sim = try PathSim(server: sc, client: cc)
        sim.pathPayloadLimit = 1400
        let (client, _) = try sim.connect()
        let congestionBefore = client.statistics.congestionEvents
        XCTAssertTrue(try sim.upload(150_000))
        XCTAssertEqual(client.pmtu.phase, .searchComplete)
        XCTAssertEqual(client.statistics.ipPathMTU, 1368, "1368 passes (1340 bytes of payload), 1448 never does")
        XCTAssertEqual(sim.sentSizes[true]!.filter { $0 == 1448 - 28 }.count, 3, "MissingProbeCount probes of the failing size")
        XCTAssertEqual(client.statistics.congestionEvents, congestionBefore, "lost probes are not congestion (§14.4)")
        XCTAssertEqual(client.statistics.mtuBlackHoles, 0)
    }

    /// MtuDiscoverySearchCompleteTimeoutUs (RFC 8899 PMTU_RAISE_TIMER): a search that ended
    /// below a black hole runs again that long after, and finds the path grown.
    func testSearchRunsAgainAfterTheCompleteTimeout() throws {
        let (sc, cc) = configs(mtu: MTUDiscoveryConfig(searchCompleteTimeout: .seconds(5)))
        let sim = try PathSim(server: sc, client: cc)
        sim.pathPayloadLimit = 1400
        let (client, _) = try sim.connect()
        XCTAssertTrue(try sim.upload(100_000))
        XCTAssertEqual(client.statistics.ipPathMTU, 1368)
        sim.pathPayloadLimit = 1472
        XCTAssertTrue(try sim.upload(50_000))
        XCTAssertEqual(client.statistics.ipPathMTU, 1368, "not before the timeout")
        sim.run(for: 5_500_000) { false }
        XCTAssertTrue(try sim.upload(100_000))
        XCTAssertEqual(client.statistics.ipPathMTU, 1500)
    }

    /// Random loss (10 %, both directions) is not a black hole: full-size packets keep being
    /// acknowledged between losses, the path MTU found stays, and the transfer completes.
    func testRandomLossIsNotABlackHole() throws {
        for seed in UInt64(1)...3 {
            let (sc, cc) = configs()
            let sim = try PathSim(server: sc, client: cc)
            sim.rng = SimRandom(seed: seed)
            let (client, _) = try sim.connect()
            XCTAssertTrue(try sim.run { client.pmtu.phase == .searchComplete })
            XCTAssertEqual(client.statistics.ipPathMTU, 1500, "seed \(seed)")
            sim.loss = 0.1
            XCTAssertTrue(try sim.upload(400_000), "seed \(seed)")
            XCTAssertGreaterThan(client.statistics.lostPackets, 0)
            XCTAssertEqual(client.statistics.mtuBlackHoles, 0, "seed \(seed)")
            XCTAssertEqual(client.statistics.ipPathMTU, 1500, "seed \(seed)")
        }
    }

    /// MaximumMtu caps the search; MinimumMtu == MaximumMtu turns it off.
    func testSettingsBoundTheSearch() throws {
        var (sc, cc) = configs(mtu: MTUDiscoveryConfig(minimumMtu: 1300, maximumMtu: 1400))
        var sim = try PathSim(server: sc, client: cc)
        var (client, _) = try sim.connect()
        XCTAssertTrue(try sim.upload(50_000))
        XCTAssertEqual(client.statistics.ipPathMTU, 1400)
        XCTAssertTrue(sim.sentSizes[true]!.allSatisfy { $0 <= 1400 - 28 })

        (sc, cc) = configs(mtu: MTUDiscoveryConfig(minimumMtu: 1350, maximumMtu: 1350))
        sim = try PathSim(server: sc, client: cc)
        (client, _) = try sim.connect()
        XCTAssertTrue(try sim.upload(50_000))
        XCTAssertEqual(client.statistics.ipPathMTU, 1350)
        XCTAssertTrue(sim.sentSizes[true]!.allSatisfy { $0 <= 1322 })
        XCTAssertEqual(client.pmtu.phase, .searchComplete, "nothing to search")
    }

    /// The peer's max_udp_payload_size bounds the probes (RFC 9000 §18.2, §14.3).
    func testPeerMaxUDPPayloadSizeBoundsTheSearch() throws {
        var (sc, cc) = configs()
        sc.transportParameters.maxUDPPayloadSize = 1350
        let sim = try PathSim(server: sc, client: cc)
        let (client, _) = try sim.connect()
        XCTAssertTrue(try sim.upload(50_000))
        XCTAssertEqual(client.maxDatagramSize, 1350)
        XCTAssertTrue(sim.sentSizes[true]!.allSatisfy { $0 <= 1350 })
        _ = cc
    }

    /// The path MTU shrinks mid-transfer (1500 → a 1300-byte payload limit): full-size packets
    /// vanish, black-hole detection (RFC 8899 §4.3) returns to the base MTU, the search runs
    /// again and settles below the new limit, and the transfer completes.
    func testPathMTUShrinkingMidTransferIsDetected() throws {
        let (sc, cc) = configs()
        let sim = try PathSim(server: sc, client: cc)
        let (client, _) = try sim.connect()
        XCTAssertTrue(try sim.upload(100_000))
        XCTAssertEqual(client.statistics.ipPathMTU, 1500)
        XCTAssertTrue(try sim.upload(600_000) { sim.pathPayloadLimit = 1300 })
        XCTAssertGreaterThanOrEqual(client.statistics.mtuBlackHoles, 1)
        XCTAssertLessThanOrEqual(client.maxDatagramSize, 1300)
        XCTAssertEqual(client.statistics.ipPathMTU, 1288, "1368 (1340 payload) no longer passes")
    }

    /// DATAGRAM (RFC 9221): the largest payload the application may send grows with the path
    /// MTU, reported with another datagramStateChanged (MsQuic's MaxSendLength).
    func testDatagramMaxSendLengthFollowsTheMTU() throws {
        var (sc, cc) = configs()
        sc.datagramReceiveEnabled = true
        sc.transportParameters.maxDatagramFrameSize = 65535
        let sim = try PathSim(server: sc, client: cc)
        let client = sim.clientConnection!
        var lengths: [Int] = []
        XCTAssertTrue(sim.run {
            while let e = client.pollEvent() {
                if case .datagramStateChanged(true, let m) = e { lengths.append(m) }
            }
            while let e = sim.serverConnection?.pollEvent() { _ = e }
            return client.pmtu.phase == .searchComplete
        })
        XCTAssertEqual(lengths.last, client.maxDatagramPayload)
        XCTAssertGreaterThan(lengths.last ?? 0, 1400)
        XCTAssertLessThan(lengths.first ?? .max, 1300)
        let id = try client.sendDatagram([UInt8](repeating: 7, count: lengths.last ?? 0))
        _ = id
    }

    /// Without `mtuDiscovery` the engine keeps its fixed datagram size (the default for tests).
    func testNoDiscoveryWithoutConfiguration() throws {
        let (sc, cc) = configs(mtu: nil)
        let sim = try PathSim(server: sc, client: cc)
        let (client, _) = try sim.connect()
        XCTAssertTrue(try sim.upload(50_000))
        XCTAssertEqual(client.maxDatagramSize, 1200)
        XCTAssertTrue(sim.sentSizes[true]!.allSatisfy { $0 <= 1200 })
    }

    // MARK: ECN

    /// Marks pass: the client marks its 1-RTT datagrams ECT(0), the server's ACK_ECN counts
    /// validate them (RFC 9000 §13.4.2.1) and marking continues past the testing period.
    func testECNValidatesAndKeepsMarking() throws {
        let (sc, cc) = configs(mtu: nil, ecn: true)
        let sim = try PathSim(server: sc, client: cc)
        let (client, server) = try sim.connect()
        XCTAssertTrue(try sim.upload(200_000))
        XCTAssertTrue(client.ecnCapable)
        XCTAssertTrue(client.statistics.ecnCapable)
        XCTAssertEqual(client.ecnValidation.phase, .capable)
        let marked = sim.sentECN[true]!.filter { $0 == .ect0 }.count
        XCTAssertGreaterThan(marked, kECNTestingDatagrams * 3, "marking went on after validation")
        XCTAssertGreaterThan(server.recovery.recovery.ackTrackers.application.ecnCounts.ect0, 0, "the receiver counted ECT(0)")
        XCTAssertEqual(client.statistics.ecnCongestionEvents, 0)
    }

    /// The network clears the marks (bleaching): the peer's ACKs carry no ECN counts, so
    /// validation fails, marking stops, and the transfer completes (RFC 9000 §13.4.2.1).
    func testECNBleachingFailsValidationAndMarkingStops() throws {
        let (sc, cc) = configs(mtu: nil, ecn: true)
        let sim = try PathSim(server: sc, client: cc)
        sim.ecnAction = .bleach
        let (client, _) = try sim.connect()
        XCTAssertTrue(try sim.upload(200_000))
        XCTAssertEqual(client.ecnValidation.phase, .failed)
        XCTAssertFalse(client.ecnCapable)
        let marked = sim.sentECN[true]!.filter { $0 != .notECT }.count
        XCTAssertGreaterThan(marked, 0)
        XCTAssertLessThanOrEqual(marked, kECNTestingDatagrams, "no marks after the testing period failed")
        XCTAssertEqual(sim.sentECN[true]!.suffix(20).filter { $0 != .notECT }.count, 0)
    }

    /// Every marked datagram arrives CE (a congested ECN router): the sender's window reacts
    /// (RFC 9002 §7.1, Appendix B.7) but nothing is lost or retransmitted.
    func testECNCongestionExperiencedReducesWindowWithoutLoss() throws {
        let (sc, cc) = configs(mtu: nil, ecn: true)
        let sim = try PathSim(server: sc, client: cc)
        let (client, server) = try sim.connect()
        sim.ecnAction = .markCE
        XCTAssertTrue(try sim.upload(300_000))
        XCTAssertGreaterThan(client.statistics.ecnCongestionEvents, 0)
        XCTAssertGreaterThan(client.statistics.congestionEvents, 0, "CE is a congestion event")
        XCTAssertEqual(client.statistics.lostPackets, 0, "no loss, no retransmission")
        XCTAssertGreaterThan(server.recovery.recovery.ackTrackers.application.ecnCounts.ce, 0)
        XCTAssertLessThan(client.recovery.recovery.congestionWindow, 300_000)
        XCTAssertNotEqual(client.ecnValidation.phase, .failed, "CE counts are valid feedback")
    }

    /// ECN off (MsQuic's default): nothing marked, received marks still counted and reported.
    func testECNOffSendsNoMarksButCountsReceivedOnes() throws {
        let (sc, cc) = configs(mtu: nil, ecn: false)
        var serverMarking = sc
        serverMarking.ecnEnabled = true
        let sim = try PathSim(server: serverMarking, client: cc)
        let (client, server) = try sim.connect()
        XCTAssertTrue(try sim.upload(50_000))
        XCTAssertTrue(sim.sentECN[true]!.allSatisfy { $0 == .notECT })
        _ = server
        XCTAssertGreaterThan(client.recovery.recovery.ackTrackers.application.ecnCounts.ect0, 0,
                             "the client counts the server's ECT(0) marks (§13.4.1) without marking itself")
        XCTAssertTrue(server.ecnCapable, "the server's marks were validated by the client's ACK_ECN counts")
    }
}
