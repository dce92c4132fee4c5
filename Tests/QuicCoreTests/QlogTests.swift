import Foundation
import XCTest
@testable import QuicCore
import QuicQlog
import QuicTLS
import QuicWire

/// Records what a connection reports, for checking the event sequence.
final class RecordingObserver: ConnectionObserver {
    var names: [String] = []
    var sent: [(ObservedPacketType, UInt64)] = []
    var received: [(ObservedPacketType, UInt64)] = []
    var receivedFrameBytes = 0
    var finished = 0
    var metrics: [ObservedRecoveryMetrics] = []

    func connectionStarted(role: EndpointRole, version: QuicVersion, localCID: ConnectionID, remoteCID: ConnectionID,
                           remote: SocketAddress, now: QuicInstant) { names.append("connection_started") }
    func parametersSet(local: Bool, _ parameters: TransportParameters, now: QuicInstant) {
        names.append(local ? "parameters_set:local" : "parameters_set:remote")
    }
    func versionInformation(local: [QuicVersion], peer: [QuicVersion]?, chosen: QuicVersion, now: QuicInstant) {
        names.append("version_information")
    }
    func alpnInformation(local: [[UInt8]], chosen: [UInt8], now: QuicInstant) { names.append("alpn_information") }
    func packetSent(_ packet: ObservedPacket, now: QuicInstant) {
        names.append("packet_sent"); sent.append((packet.type, packet.packetNumber))
    }
    func packetReceived(_ packet: ObservedPacket, now: QuicInstant) {
        names.append("packet_received"); received.append((packet.type, packet.packetNumber))
        receivedFrameBytes += packet.payload.count
    }
    func packetDropped(type: ObservedPacketType, packetNumber: UInt64?, length: Int, trigger: ObservedDropTrigger, now: QuicInstant) {
        names.append("packet_dropped")
    }
    func connectionStateUpdated(_ state: ObservedConnectionState, now: QuicInstant) { names.append("state:\(state)") }
    func connectionClosed(_ reason: ConnectionCloseReason, now: QuicInstant) { names.append("connection_closed") }
    func peerAddressChanged(to remote: SocketAddress, validating: Bool, now: QuicInstant) { names.append("migration") }
    func localAddressChanged(to local: SocketAddress, now: QuicInstant) { names.append("local_migration") }
    func metricsUpdated(_ metrics: ObservedRecoveryMetrics, now: QuicInstant) {
        names.append("metrics_updated"); self.metrics.append(metrics)
    }
    func packetLost(type: ObservedPacketType, packetNumber: UInt64, now: QuicInstant) { names.append("packet_lost") }
    func congestionStateUpdated(from old: ObservedCongestionState, to new: ObservedCongestionState, now: QuicInstant) {
        names.append("congestion_state_updated")
    }
    func keyUpdated(_ key: ObservedKeyType, generation: UInt64, localUpdate: Bool, now: QuicInstant) {
        names.append("key_updated:\(key):\(generation)")
    }
    func keyDiscarded(_ key: ObservedKeyType, generation: UInt64, now: QuicInstant) { names.append("key_discarded:\(key)") }
    func finish(now: QuicInstant) { finished += 1; names.append("finish") }
}

final class RecordingFactory: ConnectionObserverFactory, @unchecked Sendable {
    var observers: [EndpointRole: RecordingObserver] = [:]
    var traces: [EndpointRole: (QlogTrace, MemorySink)] = [:]
    let writeJSON: Bool
    init(writeJSON: Bool = false) { self.writeJSON = writeJSON }
    func makeObserver(role: EndpointRole, originalDestinationCID: ConnectionID) -> ConnectionObserver? {
        if writeJSON {
            let sink = MemorySink()
            let t = QlogTrace(role: role, originalDestinationCID: originalDestinationCID, referenceTimeMs: 1_700_000_000_000, sink: sink)
            t.flushThreshold = 512   // exercise the flushes
            traces[role] = (t, sink)
            return t
        }
        let o = RecordingObserver()
        observers[role] = o
        return o
    }
}

final class MemorySink: QlogSink {
    var bytes: [UInt8] = []
    var closed = 0
    func write(_ b: [UInt8]) { bytes += b }
    func close() { closed += 1 }
}

final class QlogTests: XCTestCase {
    /// A handshake, a 20 kB stream each way, an application close; both sides observed.
    func runConnection(factory: RecordingFactory, loss: Double = 0, seed: UInt64 = 1, bytes: Int = 20_000) throws -> (Connection, Connection) {
        var serverConfig = SimConfigs.server()
        serverConfig.observerFactory = factory
        let net = SimConfigs.network(seed: seed, server: serverConfig)
        net.link.loss = loss
        var clientConfig = SimConfigs.client()
        clientConfig.observerFactory = factory
        let client = try net.connect(clientConfig)
        XCTAssertTrue(net.run { client.isHandshakeConfirmed && (net.server.accepted.first?.isHandshakeConfirmed ?? false) })
        let server = try XCTUnwrap(net.server.accepted.first)
        let id = try client.openStream(bidirectional: true)
        try client.send(stream: id, bytes: [UInt8](repeating: 7, count: bytes), fin: true)
        XCTAssertTrue(net.run { net.server.events(server).contains { if case .peerStreamStarted = $0 { return true }; return false } })
        _ = net.run(for: 5_000_000)
        client.close(errorCode: 5, now: net.now)
        XCTAssertTrue(net.run { client.isClosed && server.isClosed })
        return (client, server)
    }

    func testObserverSeesTheConnectionInOrder() throws {
        let factory = RecordingFactory()
        _ = try runConnection(factory: factory)
        let c = try XCTUnwrap(factory.observers[.client])
        let s = try XCTUnwrap(factory.observers[.server])
        // Creation first: connection_started, the first state, our parameters, Initial keys.
        XCTAssertEqual(Array(c.names.prefix(6)), ["connection_started", "state:attempted", "parameters_set:local",
                                                  "key_updated:clientInitial:0", "key_updated:serverInitial:0", "packet_sent"])
        XCTAssertEqual(Array(s.names.prefix(3)), ["connection_started", "state:handshakeStarted", "parameters_set:local"])
        XCTAssertEqual(c.sent.first?.0, .initial)
        XCTAssertEqual(c.sent.first?.1, 0)
        for o in [c, s] {
            func index(_ n: String) -> Int? { o.names.firstIndex(of: n) }
            for n in ["parameters_set:remote", "state:handshakeCompleted", "alpn_information", "version_information",
                      "state:handshakeConfirmed", "metrics_updated", "connection_closed", "state:closed", "finish"] {
                XCTAssertNotNil(index(n), "\(n) missing")
            }
            XCTAssertLessThan(index("parameters_set:remote")!, index("state:handshakeCompleted")!)
            XCTAssertLessThan(index("state:handshakeCompleted")!, index("state:handshakeConfirmed")!)
            XCTAssertTrue(o.names.contains("key_discarded:clientInitial") && o.names.contains("key_discarded:clientHandshake"))
            XCTAssertTrue(o.names.contains("key_updated:client1RTT:0") && o.names.contains("key_updated:server1RTT:0"))
            XCTAssertEqual(o.names.last, "finish")
            XCTAssertEqual(o.finished, 1)
            XCTAssertTrue(o.metrics.contains { $0.smoothedRTT.microseconds > 0 && $0.congestionWindow > 0 })
        }
        XCTAssertTrue(c.names.contains("state:closing"))
        XCTAssertTrue(s.names.contains("state:draining"))
        // No loss: every packet one side sent, the other received, with the same number.
        func key(_ p: (ObservedPacketType, UInt64)) -> String { "\(p.0)/\(p.1)" }
        XCTAssertEqual(Set(c.sent.map(key)), Set(s.received.map(key)).union(Set(c.sent.map(key))))
        XCTAssertTrue(Set(s.received.map(key)).isSubset(of: Set(c.sent.map(key))))
        XCTAssertTrue(Set(c.received.map(key)).isSubset(of: Set(s.sent.map(key))))
        XCTAssertGreaterThan(s.received.count, 10)
        XCTAssertGreaterThanOrEqual(s.receivedFrameBytes, 20_000)
    }

    func testLossShowsAsPacketLost() throws {
        let factory = RecordingFactory()
        _ = try runConnection(factory: factory, loss: 0.05, seed: 3, bytes: 300_000)
        let c = try XCTUnwrap(factory.observers[.client])
        XCTAssertTrue(c.names.contains("packet_lost"))
        // Slow start -> recovery (RFC 9002 §7.3.2) and out of it again.
        XCTAssertGreaterThanOrEqual(c.names.filter { $0 == "congestion_state_updated" }.count, 2)
    }

    /// The JSON-SEQ output: RS-separated records that parse, the header qvis needs, events in
    /// time order with the names and fields of draft-ietf-quic-qlog-quic-events.
    func testTraceIsJSONSequenceForQvis() throws {
        let factory = RecordingFactory(writeJSON: true)
        _ = try runConnection(factory: factory)
        var sentByClient = Set<String>()
        var receivedByServer = Set<String>()
        for role in [EndpointRole.client, .server] {
            let (_, sink) = try XCTUnwrap(factory.traces[role])
            XCTAssertEqual(sink.closed, 1)
            XCTAssertEqual(sink.bytes.first, 0x1e)
            XCTAssertEqual(sink.bytes.last, 0x0a)
            let records = sink.bytes.split(separator: 0x1e)
            XCTAssertGreaterThan(records.count, 20)
            let objects = try records.map { try XCTUnwrap(JSONSerialization.jsonObject(with: Data($0)) as? [String: Any]) }
            let header = objects[0]
            XCTAssertEqual(header["qlog_version"] as? String, "0.3")
            XCTAssertEqual(header["qlog_format"] as? String, "JSON-SEQ")
            let trace = try XCTUnwrap(header["trace"] as? [String: Any])
            let vp = try XCTUnwrap(trace["vantage_point"] as? [String: Any])
            XCTAssertEqual(vp["type"] as? String, role == .client ? "client" : "server")
            let common = try XCTUnwrap(trace["common_fields"] as? [String: Any])
            XCTAssertEqual(common["time_format"] as? String, "relative")
            XCTAssertEqual((common["ODCID"] as? String)?.count, 16)
            var last = -1.0
            var names = Set<String>()
            for e in objects.dropFirst() {
                let time = try XCTUnwrap(e["time"] as? Double)
                XCTAssertGreaterThanOrEqual(time, last)
                last = time
                let name = try XCTUnwrap(e["name"] as? String)
                names.insert(name)
                let data = try XCTUnwrap(e["data"] as? [String: Any])
                if name == "transport:packet_sent" || name == "transport:packet_received" {
                    let h = try XCTUnwrap(data["header"] as? [String: Any])
                    let type = try XCTUnwrap(h["packet_type"] as? String)
                    XCTAssertTrue(["initial", "handshake", "1RTT"].contains(type))
                    let pn = try XCTUnwrap(h["packet_number"] as? Int)
                    XCTAssertNotNil(h["dcid"] as? String)
                    XCTAssertNotNil((data["raw"] as? [String: Any])?["length"] as? Int)
                    let frames = try XCTUnwrap(data["frames"] as? [[String: Any]])
                    XCTAssertFalse(frames.isEmpty)
                    for f in frames { XCTAssertNotEqual(f["frame_type"] as? String, "unknown", "\(f)") }
                    if role == .client && name == "transport:packet_sent" { sentByClient.insert("\(type)/\(pn)") }
                    if role == .server && name == "transport:packet_received" { receivedByServer.insert("\(type)/\(pn)") }
                }
            }
            for n in ["connectivity:connection_started", "transport:parameters_set", "transport:packet_sent",
                      "transport:packet_received", "transport:alpn_information", "transport:version_information",
                      "connectivity:connection_state_updated", "connectivity:connection_closed",
                      "recovery:metrics_updated", "security:key_updated", "security:key_discarded"] {
                XCTAssertTrue(names.contains(n), "\(role): \(n) missing")
            }
        }
        XCTAssertFalse(receivedByServer.isEmpty)
        XCTAssertTrue(receivedByServer.isSubset(of: sentByClient))
    }

    func testJSONWriterEscapesStrings() throws {
        var w = JSONWriter()
        w.beginObject()
        w.key("a"); w.value(stringBytes: Array("q\"b\\n\n\t\u{1}é".utf8))
        w.key("b"); w.value(stringBytes: [0x41, 0xff, 0xc3])   // invalid UTF-8
        w.field("n", UInt64.max)
        w.field("z", UInt64(0))
        w.field("t", ms: 1_234_567)
        w.array("e"); w.endArray()
        w.array("r"); w.beginArray(); w.value(UInt64(1)); w.value(UInt64(2)); w.endArray(); w.value(true); w.endArray()
        w.endObject()
        let o = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(w.bytes)) as? [String: Any])
        XCTAssertEqual(o["a"] as? String, "q\"b\\n\n\t\u{1}é")
        XCTAssertEqual(o["b"] as? String, "A\u{ff}\u{c3}")
        XCTAssertEqual(String(decoding: w.bytes, as: UTF8.self).contains("18446744073709551615"), true)
        XCTAssertEqual(o["z"] as? Int, 0)
        XCTAssertEqual(o["t"] as? Double, 1234.567)
        XCTAssertEqual((o["e"] as? [Any])?.count, 0)
        XCTAssertEqual((o["r"] as? [Any])?.count, 2)
    }

    /// Off means free: no factory, no observer, and every use of `qlog` in the engine is
    /// `qlog?.` (arguments not evaluated when nil) or inside `if let q = qlog`.
    func testOffByDefaultAndEveryHookIsGuarded() throws {
        let net = SimConfigs.network()
        let client = try net.connect(SimConfigs.client())
        XCTAssertTrue(net.run { client.isHandshakeConfirmed })
        XCTAssertNil(client.qlog)
        XCTAssertNil(net.server.accepted.first?.qlog)
        let dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../../Sources/QuicCore").standardized
        let files = FileManager.default.enumerator(atPath: dir.path)!.compactMap { $0 as? String }.filter { $0.hasSuffix(".swift") }
        var uses = 0
        for f in files where !f.hasSuffix("Connection+Qlog.swift") && !f.hasSuffix("ConnectionObserver.swift") {
            let text = try String(contentsOfFile: dir.appendingPathComponent(f).path, encoding: .utf8)
            for line in text.split(separator: "\n") where line.contains("qlog") && !line.contains("//") {
                let l = line.trimmingCharacters(in: .whitespaces)
                if l.hasPrefix("var qlog") || l.hasPrefix("qlog = ") { continue }
                uses += 1
                XCTAssertTrue(l.contains("qlog?.") || l.contains("if let q = qlog"), "\(f): unguarded \(l)")
            }
        }
        XCTAssertGreaterThan(uses, 15)
    }

    /// A client migration (RFC 9000 §9.2): the client's trace records its new local address,
    /// the server's the peer's new address under validation, and both the PATH_CHALLENGE /
    /// PATH_RESPONSE frames of the validation (§8.2).
    func testMigrationEvents() throws {
        let factory = RecordingFactory(writeJSON: true)
        var serverConfig = SimConfigs.server()
        serverConfig.observerFactory = factory
        let net = SimConfigs.network(server: serverConfig)
        var clientConfig = SimConfigs.client()
        clientConfig.observerFactory = factory
        let client = try net.connect(clientConfig)
        XCTAssertTrue(net.run { client.isHandshakeConfirmed && (net.server.accepted.first?.isHandshakeConfirmed ?? false) })
        let server = try XCTUnwrap(net.server.accepted.first)
        client.noteLocalAddress(net.client.address)
        net.clientAlsoReceivesAt = [net.client.address]
        net.tap = { toServer, bytes in
            if toServer { net.client.address = client.localAddress }
            return bytes
        }
        let newAddress = SocketAddress(ipv4: 10, 0, 0, 3, port: 5100)
        XCTAssertTrue(net.run(for: 2_000_000) { client.recovery.recovery.bytesInFlight == 0 })
        try client.migrate(toLocal: newAddress, now: net.now)
        XCTAssertTrue(net.run(for: 10_000_000) { !client.isProbingLocalPath && server.pathValidation == nil })
        client.close(errorCode: 0, now: net.now)
        XCTAssertTrue(net.run { client.isClosed && server.isClosed })
        func events(_ role: EndpointRole) throws -> [[String: Any]] {
            let (_, sink) = try XCTUnwrap(factory.traces[role])
            return try sink.bytes.split(separator: 0x1e).dropFirst().map {
                try XCTUnwrap(JSONSerialization.jsonObject(with: Data($0)) as? [String: Any])
            }
        }
        func frames(_ es: [[String: Any]], _ name: String) -> [String] {
            es.filter { $0["name"] as? String == name }.flatMap { e in
                (((e["data"] as? [String: Any])?["frames"] as? [[String: Any]]) ?? []).compactMap { $0["frame_type"] as? String }
            }
        }
        let c = try events(.client), s = try events(.server)
        let cm = c.filter { $0["name"] as? String == "transport:migration_state_updated" }.compactMap { $0["data"] as? [String: Any] }
        XCTAssertEqual(cm.first?["state"] as? String, "migration_started")
        XCTAssertEqual((cm.first?["path_local"] as? [String: Any])?["ip_v4"] as? String, "10.0.0.3")
        let sm = s.filter { $0["name"] as? String == "transport:migration_state_updated" }.compactMap { $0["data"] as? [String: Any] }
        XCTAssertEqual(sm.first?["state"] as? String, "probing_started")
        XCTAssertEqual((sm.first?["path_remote"] as? [String: Any])?["port_v4"] as? Int, 5100)
        XCTAssertTrue(frames(c, "transport:packet_sent").contains("path_challenge"))
        XCTAssertTrue(frames(s, "transport:packet_received").contains("path_challenge"))
        XCTAssertTrue(frames(s, "transport:packet_sent").contains("path_response"))
        XCTAssertTrue(frames(s, "transport:packet_sent").contains("path_challenge"))
        XCTAssertTrue(frames(c, "transport:packet_received").contains("path_response"))
    }

    func testFileNameConvention() {
        let id = ConnectionID([0x01, 0xab, 0, 0xff])!
        XCTAssertEqual(QlogDirectoryFactory.fileName(role: .server, originalDestinationCID: id), "01ab00ff_server.sqlog")
        XCTAssertEqual(QlogDirectoryFactory.fileName(role: .client, originalDestinationCID: id), "01ab00ff_client.sqlog")
    }
}

/// "Free when off", measured: malloc calls of a deterministic 300 kB transfer on the simulated
/// network with qlog off, printed for comparison with the same test on a build without the
/// hooks (and with an observer, to show the counter sees qlog's own work). Needs the malloc
/// counter preloaded, like RecoveryAllocationTests:
///
///     gcc -O2 -shared -fPIC -o /tmp/libcount.so Fuzz/DecodeBench/count.c
///     LD_PRELOAD=/tmp/libcount.so .build/debug/swiftquicPackageTests.xctest QuicCoreTests.QlogAllocationTests
final class QlogAllocationTests: XCTestCase {
    typealias CountFn = @convention(c) () -> UInt

    static func transferMallocs(factory: ConnectionObserverFactory?, count: CountFn) throws -> UInt {
        var serverConfig = SimConfigs.server()
        serverConfig.observerFactory = factory
        let net = SimConfigs.network(seed: 7, server: serverConfig)
        var clientConfig = SimConfigs.client()
        clientConfig.observerFactory = factory
        let client = try net.connect(clientConfig)
        XCTAssertTrue(net.run { client.isHandshakeConfirmed && (net.server.accepted.first?.isHandshakeConfirmed ?? false) })
        let server = try XCTUnwrap(net.server.accepted.first)
        let id = try client.openStream(bidirectional: false)
        let data = [UInt8](repeating: 1, count: 300_000)
        var received = 0
        let before = count()
        try client.send(stream: id, bytes: data, fin: true)
        _ = net.run(for: 10_000_000) {
            if let r = server.readable(stream: id) {
                let n = r.data.count
                if n > 0 { _ = try? server.receiveComplete(stream: id, count: UInt64(n)); received += n }
            }
            return received >= data.count
        }
        let after = count()
        XCTAssertEqual(received, data.count)
        return after - before
    }

    func testMallocsWithQlogOffAndOn() throws {
        guard let sym = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "wire_malloc_count") else {
            throw XCTSkip("malloc counter not preloaded (see the comment above)")
        }
        let count = unsafeBitCast(sym, to: CountFn.self)
        let off1 = try Self.transferMallocs(factory: nil, count: count)
        let off2 = try Self.transferMallocs(factory: nil, count: count)
        let on = try Self.transferMallocs(factory: RecordingFactory(writeJSON: true), count: count)
        print("QLOG_MALLOCS off=\(off1) off(again)=\(off2) on=\(on)")
        XCTAssertGreaterThan(on, off1)
    }
}
