// UDPAddress (QuicPlatform) <-> SocketAddress (QuicCore) field by field, as the datapath
// converts them for every datagram: the same result as going through the address bytes.

import XCTest
import QuicCore
import QuicPlatform
@testable import SwiftQuic

final class AddressConversionTests: XCTestCase {
    func testMatchesTheByteWiseConversion() {
        var g = SystemRandomNumberGenerator()
        for i in 0..<2_000 {
            let v6 = i % 2 == 1
            let bytes = (0..<(v6 ? 16 : 4)).map { _ in UInt8.random(in: 0...255, using: &g) }
            let port = UInt16.random(in: 0...UInt16.max, using: &g)
            let udp = UDPAddress(bytes: bytes, port: port)!
            let viaBytes = SocketAddress(bytes: udp.unmapped.bytes, port: port)!
            XCTAssertEqual(udp.socketAddress, viaBytes)
            XCTAssertEqual(UDPAddress(viaBytes), UDPAddress(bytes: viaBytes.bytes, port: port))
            XCTAssertEqual(UDPAddress(udp.socketAddress), udp.unmapped)
        }
        // An IPv4-mapped IPv6 peer is IPv4 to the engine.
        let mapped = UDPAddress.loopbackIPv4(port: 443).mappedToIPv6
        XCTAssertEqual(mapped.socketAddress, SocketAddress(ipv4: 127, 0, 0, 1, port: 443))
        XCTAssertNil(UDPAddress(SocketAddress()))
    }
}
