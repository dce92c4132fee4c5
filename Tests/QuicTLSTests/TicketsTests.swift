import QuicTLS
import XCTest

final class TicketsTests: XCTestCase {
    private func key(_ idByte: UInt8, _ material: [UInt8] = [UInt8](repeating: 0x42, count: 64)) throws -> TicketKey {
        try TicketKey(id: [UInt8](repeating: idByte, count: 16), material: material)
    }

    private let state: [UInt8] = Array("resumption state: psk, age_add, alpn, transport parameters".utf8)

    func testSealOpenRoundTrip() throws {
        let ring = try TicketKeyRing(keys: [key(1)])
        let ticket = try ring.seal(state)
        XCTAssertEqual(ticket.count, state.count + TicketKeyRing.overhead)
        XCTAssertEqual(Array(ticket[0..<16]), [UInt8](repeating: 1, count: 16)) // key id in the clear
        XCTAssertEqual(ring.open(ticket), state)
        // The state itself never appears in the clear.
        XCTAssertNil(ticket.firstRange(of: Array(state[0..<16])))
        // Empty state is allowed.
        XCTAssertEqual(ring.open(try ring.seal([])), [])
    }

    func testFreshNonceEveryTime() throws {
        let ring = try TicketKeyRing(keys: [key(1)])
        let a = try ring.seal(state), b = try ring.seal(state)
        XCTAssertNotEqual(a, b)
        XCTAssertEqual(ring.open(a), state)
        XCTAssertEqual(ring.open(b), state)
    }

    func testRotation() throws {
        let old = try key(1, [UInt8](repeating: 0x11, count: 32))
        let new = try key(2, [UInt8](repeating: 0x22, count: 32))
        let before = try TicketKeyRing(keys: [old])
        let during = try TicketKeyRing(keys: [new, old])
        let after = try TicketKeyRing(keys: [new])

        let oldTicket = try before.seal(state)
        XCTAssertEqual(during.open(oldTicket), state, "every key opens")
        let newTicket = try during.seal(state)
        XCTAssertEqual(Array(newTicket[0..<16]), new.id, "the first key seals")
        XCTAssertEqual(during.sealingKeyID, new.id)
        XCTAssertNil(before.open(newTicket), "unknown key id")
        XCTAssertEqual(after.open(newTicket), state)
        XCTAssertNil(after.open(oldTicket), "retired key")
    }

    func testSameIdDifferentMaterialDoesNotOpen() throws {
        let a = try TicketKeyRing(keys: [key(1, [1, 2, 3])])
        let b = try TicketKeyRing(keys: [key(1, [1, 2, 4])])
        XCTAssertNil(b.open(try a.seal(state)))
    }

    func testTamperedOrTruncatedTicketsDoNotOpen() throws {
        let ring = try TicketKeyRing(keys: [key(7)])
        let ticket = try ring.seal(state)
        for i in ticket.indices {
            var t = ticket
            t[i] ^= 0x01
            XCTAssertNil(ring.open(t), "flipped byte \(i)")
        }
        for n in [0, 1, 15, 16, 27, 28, 43, ticket.count - 1] {
            XCTAssertNil(ring.open(Array(ticket.prefix(n))), "truncated to \(n)")
        }
        XCTAssertNil(ring.open(ticket + [0]))
        XCTAssertNil(ring.open([UInt8](repeating: 0, count: 200)))
    }

    func testKeyValidation() throws {
        XCTAssertThrowsError(try TicketKey(id: [1, 2, 3], material: [1])) {
            XCTAssertEqual($0 as? TicketKeyError, .badIdentifierLength(3))
        }
        XCTAssertThrowsError(try TicketKey(id: [UInt8](repeating: 0, count: 16), material: [])) {
            XCTAssertEqual($0 as? TicketKeyError, .badMaterialLength(0))
        }
        XCTAssertThrowsError(try TicketKey(id: [UInt8](repeating: 0, count: 16), material: [UInt8](repeating: 0, count: 65))) {
            XCTAssertEqual($0 as? TicketKeyError, .badMaterialLength(65))
        }
        XCTAssertThrowsError(try TicketKeyRing(keys: [])) { XCTAssertEqual($0 as? TicketKeyError, .noKeys) }
        XCTAssertThrowsError(try TicketKeyRing(keys: [key(1), key(2), key(1, [9])])) {
            XCTAssertEqual($0 as? TicketKeyError, .duplicateIdentifier)
        }
    }

    func testDefaultRingHasRandomKey() throws {
        let a = try TicketKeyRing.makeDefault(), b = try TicketKeyRing.makeDefault()
        XCTAssertNotEqual(a.sealingKeyID, b.sealingKeyID)
        let ticket = try a.seal(state)
        XCTAssertEqual(a.open(ticket), state)
        XCTAssertNil(b.open(ticket))
    }
}
