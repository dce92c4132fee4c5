import XCTest
@testable import QuicCore
import QuicTLS
import QuicWire

/// Reads every stream of a connection as the sim runs, remembering bytes and FINs.
final class StreamSink {
    var data: [StreamID: [UInt8]] = [:]
    var fin: Set<StreamID> = []
    var seen: Set<StreamID> = []
    func pump(_ c: Connection, events: [ConnectionEvent]) {
        for e in events {
            if case .peerStreamStarted(let id) = e { seen.insert(id) }
            if case .stream(.dataAvailable(let id)) = e { seen.insert(id) }
        }
        for id in seen {
            let (bytes, f) = c.read(stream: id)
            data[id, default: []] += bytes
            if f { fin.insert(id) }
        }
    }
}

final class ConnectionStreamTests: XCTestCase {
    func pattern(_ n: Int, seed: UInt8) -> [UInt8] { (0..<n).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ Int(seed)) } }

    func connectedPair(seed: UInt64 = 1, link: SimLink = SimLink(), server: ConnectionConfiguration = SimConfigs.server(),
                       client clientConfig: ConnectionConfiguration = SimConfigs.client()) throws -> (SimNetwork, Connection, Connection) {
        let net = SimConfigs.network(seed: seed, server: server)
        net.link = link
        let client = try net.connect(clientConfig)
        XCTAssertTrue(net.run { client.isHandshakeConfirmed && (net.server.accepted.first?.isHandshakeComplete ?? false) })
        return (net, client, try XCTUnwrap(net.server.accepted.first))
    }

    /// `size` bytes each way on one bidirectional stream; returns virtual time taken.
    func transfer(size: Int, seed: UInt64, link: SimLink) throws {
        let (net, client, server) = try connectedPair(seed: seed, link: link)
        let up = pattern(size, seed: 1), down = pattern(size, seed: 2)
        let start = net.now
        let id = try client.openStream(bidirectional: true)
        try client.send(stream: id, bytes: up, fin: true)
        let clientSink = StreamSink(), serverSink = StreamSink()
        clientSink.seen.insert(id)
        var answered = false
        let ok = net.run(for: 600_000_000) {
            serverSink.pump(server, events: net.server.events(server))
            clientSink.pump(client, events: net.client.events(client))
            if !answered, serverSink.seen.contains(id) {
                answered = true
                try? server.send(stream: id, bytes: down, fin: true)
            }
            return serverSink.fin.contains(id) && clientSink.fin.contains(id)
        }
        XCTAssertTrue(ok, "transfer did not finish (seed \(seed))")
        print("transfer \(size) B each way, loss \(link.loss): \(net.now - start) µs virtual, \(net.datagramsSent) datagrams, srtt \(client.smoothedRTT) µs")
        XCTAssertEqual(serverSink.data[id]?.count, size)
        XCTAssertTrue(serverSink.data[id] == up, "upload corrupted")
        XCTAssertTrue(clientSink.data[id] == down, "download corrupted")
    }

    func testSmallTransfer() throws {
        try transfer(size: 10_000, seed: 1, link: SimLink())
    }

    func testOneMegabyteBothWaysWithTenPercentLoss() throws {
        var link = SimLink()
        link.loss = 0.10
        link.delay = 20_000
        try transfer(size: 1 << 20, seed: 7, link: link)
    }

    func testTransferWithReorderDuplicationCorruption() throws {
        var link = SimLink()
        link.loss = 0.05
        link.jitter = 15_000
        link.duplication = 0.05
        link.corruption = 0.02
        for seed in UInt64(1)...3 { try transfer(size: 200_000, seed: seed, link: link) }
    }
}
