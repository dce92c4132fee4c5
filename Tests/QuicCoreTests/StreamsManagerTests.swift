// StreamManager end to end: two managers exchanging frames through the wire codec.

import XCTest
@testable import QuicCore
import QuicWire

final class StreamsManagerTests: XCTestCase {
    func testBidirectionalRoundTripWithFin() throws {
        let pair = StreamsPair()
        let id = try pair.client.openStream(bidirectional: true)
        XCTAssertEqual(id.rawValue, 0)
        let data = patternBytes(5000)
        try pair.client.send(id, data: .owned(data), fin: true, context: 7)
        try pair.runLossless()
        let events = pair.server.drainEvents()
        XCTAssertEqual(events.first, .peerStreamStarted(id))
        XCTAssertTrue(events.contains(.dataAvailable(id)))
        let got = try pair.server.readAll(id)
        XCTAssertEqual(got, data)
        XCTAssertEqual(pair.server.drainEvents(), [.peerSendShutdown(id)])
        let clientEvents = pair.client.drainEvents()
        XCTAssertTrue(clientEvents.contains(.sendComplete(id, context: 7, canceled: false)))
        XCTAssertTrue(clientEvents.contains(.sendShutdownComplete(id, graceful: true)))
    }
}
