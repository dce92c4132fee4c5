// Which QUIC versions a listener's sockets accept: QUIC_PARAM_GLOBAL_VERSION_SETTINGS'
// AcceptableVersions (others get Version Negotiation, RFC 9000 §6.1).

import QuicWire
import XCTest
@testable import SwiftQuic

final class ListenerVersionTests: XCTestCase {
    func testAcceptableVersionsDecideWhatTheListenerAccepts() {
        let v1 = Versions.version1, v2 = Versions.version2
        // MsQuic's default preference: v2, then v1 (its DefaultSupportedVersionsList).
        XCTAssertEqual(ListenerObject.acceptedVersions(nil), [.v2, .v1])
        XCTAssertEqual(ListenerObject.acceptedVersions(VersionSettings(acceptable: [v1], offered: [v1], fullyDeployed: [v1])), [.v1])
        XCTAssertEqual(ListenerObject.acceptedVersions(VersionSettings(acceptable: [v2], offered: [], fullyDeployed: [])), [.v2])
        // Order of preference follows the setting; versions we do not speak are left out.
        XCTAssertEqual(ListenerObject.acceptedVersions(VersionSettings(acceptable: [0x1A2A_3A4A, v2, v1], offered: [], fullyDeployed: [])),
                       [.v2, .v1])
        // No acceptable list: every version we implement, MsQuic's default order.
        XCTAssertEqual(ListenerObject.acceptedVersions(VersionSettings(acceptable: [], offered: [v2], fullyDeployed: [])), [.v2, .v1])
    }
}
