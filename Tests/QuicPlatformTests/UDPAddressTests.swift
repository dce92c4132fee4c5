import Glibc
import XCTest
@testable import QuicPlatform

final class UDPAddressTests: XCTestCase {
    func testParseAndPrintIPv4() throws {
        let a = try XCTUnwrap(UDPAddress("127.0.0.1:4433"))
        XCTAssertEqual(a.family, .ipv4)
        XCTAssertEqual(a.port, 4433)
        XCTAssertEqual(a.bytes, [127, 0, 0, 1])
        XCTAssertEqual(a, UDPAddress(ipv4: 127, 0, 0, 1, port: 4433))
        XCTAssertEqual(a.description, "127.0.0.1:4433")
        XCTAssertEqual(UDPAddress("10.1.2.3")?.port, 0)
    }

    func testParseAndPrintIPv6() throws {
        let a = try XCTUnwrap(UDPAddress("[::1]:443"))
        XCTAssertEqual(a.family, .ipv6)
        XCTAssertEqual(a, .loopbackIPv6(port: 443))
        XCTAssertEqual(a.description, "[::1]:443")
        let b = try XCTUnwrap(UDPAddress("[2001:db8::1:2]:9"))
        XCTAssertEqual(b.bytes, [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 2])
        XCTAssertEqual(b.description, "[2001:db8::1:2]:9")
        let scoped = try XCTUnwrap(UDPAddress("[fe80::1%7]:1"))
        XCTAssertEqual(scoped.scopeID, 7)
        XCTAssertEqual(scoped.description, "[fe80::1%7]:1")
        XCTAssertEqual(UDPAddress("::1")?.family, .ipv6)
    }

    func testRejectsGarbage() {
        for text in ["", "1.2.3", "1.2.3.4:", "1.2.3.4:70000", "[::1", "[::1]x", "[::1]:", "host:1", "1.2.3.4.5", "[::1]:-1", "[fe80::1%nosuchif0]:1"] {
            XCTAssertNil(UDPAddress(text), text)
        }
        XCTAssertNil(UDPAddress(bytes: [1, 2, 3], port: 1))
    }

    func testSockaddrRoundTrip() throws {
        for text in ["127.0.0.1:1", "192.168.200.3:65535", "[::1]:2", "[fe80::abcd%3]:4", "[::ffff:10.0.0.1]:5"] {
            let a = try XCTUnwrap(UDPAddress(text))
            var storage = sockaddr_storage()
            let length = a.write(to: &storage)
            XCTAssertEqual(UDPAddress(storage: storage, length: length), a, text)
            XCTAssertNil(UDPAddress(storage: storage, length: 1))
        }
        var unix = sockaddr_storage()
        unix.ss_family = sa_family_t(AF_UNIX)
        XCTAssertNil(UDPAddress(storage: unix, length: socklen_t(MemoryLayout<sockaddr_storage>.size)))
    }

    func testMappedAddresses() throws {
        let v4 = UDPAddress(ipv4: 10, 0, 0, 1, port: 5)
        let mapped = v4.mappedToIPv6
        XCTAssertEqual(mapped, UDPAddress("[::ffff:10.0.0.1]:5"))
        XCTAssertTrue(mapped.isIPv4Mapped)
        XCTAssertEqual(mapped.unmapped, v4)
        XCTAssertEqual(UDPAddress.loopbackIPv6().unmapped, .loopbackIPv6())
        XCTAssertTrue(UDPAddress.anyIPv6().isWildcard)
        XCTAssertFalse(UDPAddress.loopbackIPv4().isWildcard)
    }

    func testMonotonicClockAdvances() {
        let a = MonotonicClock.now()
        usleep(2000)
        let b = MonotonicClock.now()
        XCTAssertGreaterThanOrEqual(b - a, 2000)
    }
}
