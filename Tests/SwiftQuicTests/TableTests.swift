// MsQuicOpenVersion / MsQuicClose, the table's entries and the handle checks.

import CMsQuic
import XCTest

final class TableTests: XCTestCase {
    func testOpenVersionRefusesOtherVersionsAndNullOut() {
        var raw: UnsafeRawPointer?
        XCTAssertEqual(MsQuicOpenVersion(1, &raw), S.notSupported)
        XCTAssertEqual(MsQuicOpenVersion(3, &raw), S.notSupported)
        XCTAssertNil(raw)
        XCTAssertEqual(MsQuicOpenVersion(2, nil), S.invalidParameter)
        // The version is checked before the out-pointer, as in MsQuic.
        XCTAssertEqual(MsQuicOpenVersion(0, nil), S.notSupported)
        MsQuicClose(nil)                                     // ignored
    }

    func testTableHasAll39EntriesInHeaderOrder() {
        let quic = Quic()
        defer { quic.close() }
        XCTAssertEqual(MemoryLayout<QUIC_API_TABLE>.size, 312)
        let words = UnsafeRawBufferPointer(start: quic.table, count: 312).bindMemory(to: UInt.self)
        XCTAssertEqual(words.count, 39)
        for (i, word) in words.enumerated() { XCTAssertNotEqual(word, 0, "entry \(i) is NULL") }
        XCTAssertEqual(Set(words).count, 39, "every entry is its own function")
        XCTAssertEqual(MemoryLayout<QUIC_API_TABLE>.offset(of: \.RegistrationClose2), 296)
        XCTAssertEqual(MemoryLayout<QUIC_API_TABLE>.offset(of: \.ConnectionExportKeyingMaterial), 304)
    }

    func testOpensAreReferenceCounted() {
        let first = Quic()
        let second = Quic()
        XCTAssertNotEqual(first.table, second.table)
        let registration = first.registration()
        // Closing one reference keeps the library and its handles.
        second.close()
        let context = UnsafeMutableRawPointer(bitPattern: 0x1234)
        first.api.SetContext!(registration, context)
        XCTAssertEqual(first.api.GetContext!(registration), context)
        let (status, configuration) = first.openConfiguration(registration)
        XCTAssertEqual(status, S.success)
        first.api.ConfigurationClose!(configuration)
        first.api.RegistrationClose!(registration)
        first.close()
    }

    func testLastCloseReleasesEverythingAndNextOpenStartsFresh() {
        var quic = Quic()
        var value: UInt16 = 1234
        XCTAssertEqual(quic.api.SetParam!(nil, UInt32(QUIC_PARAM_GLOBAL_RETRY_MEMORY_PERCENT), 2, &value), S.success)
        let registration = quic.registration()
        _ = quic.configuration(registration)
        quic.close()                                   // registration and configuration left open
        quic = Quic()
        defer { quic.close() }
        // The old handle died with the library; the global settings are back to MsQuic's.
        var handle: HQUIC?
        XCTAssertEqual(quic.api.ConfigurationOpen!(registration, nil, 0, nil, 0, nil, &handle), S.invalidParameter)
        let (status, retry) = quic.get(nil, QUIC_PARAM_GLOBAL_RETRY_MEMORY_PERCENT, as: UInt16.self)
        XCTAssertEqual(status, S.success)
        XCTAssertEqual(retry, 65)
    }

    func testGarbageNullAndWrongTypeHandlesNeverCrash() {
        let quic = Quic()
        defer { quic.close() }
        let registration = quic.registration()
        let configuration = quic.configuration(registration)
        let stackWord = UnsafeMutablePointer<UInt64>.allocate(capacity: 4)
        stackWord.initialize(repeating: 0, count: 4)
        defer { stackWord.deallocate() }
        let garbage: [HQUIC?] = [nil, HQUIC(bitPattern: 0x1), HQUIC(bitPattern: 0xdead_beef),
                                 OpaquePointer(stackWord)]
        for handle in garbage {
            var out: HQUIC?
            let (status, _) = quic.openConfiguration(handle)
            XCTAssertEqual(status, S.invalidParameter)
            XCTAssertNil(quic.api.GetContext!(handle))
            quic.api.SetContext!(handle, &out)
            quic.api.SetCallbackHandler!(handle, nil, nil)
            quic.api.RegistrationClose!(handle)
            quic.api.ConfigurationClose!(handle)
            quic.api.RegistrationShutdown!(handle, QUIC_CONNECTION_SHUTDOWN_FLAG_NONE, 0)
            XCTAssertEqual(quic.api.ConfigurationLoadCredential!(handle, nil), S.invalidParameter)
            var length: UInt32 = 0
            XCTAssertEqual(quic.api.GetParam!(handle, UInt32(QUIC_PARAM_CONFIGURATION_SETTINGS), &length, nil),
                           S.invalidParameter)
        }
        XCTAssertEqual(stackWord[0] | stackWord[1] | stackWord[2] | stackWord[3], 0,
                       "a non-handle is never written through")
        // Wrong types: a configuration is not a registration and vice versa.
        let (status, _) = quic.openConfiguration(configuration)
        XCTAssertEqual(status, S.invalidParameter)
        var credential = QUIC_CREDENTIAL_CONFIG()
        credential.Type = QUIC_CREDENTIAL_TYPE_NONE
        credential.Flags = QUIC_CREDENTIAL_FLAG_CLIENT
        XCTAssertEqual(quic.api.ConfigurationLoadCredential!(registration, &credential), S.invalidParameter)
        quic.api.ConfigurationClose!(registration)        // ignored: wrong type
        XCTAssertEqual(quic.openConfiguration(registration).0, S.success, "registration still open")
        // A closed handle is refused afterwards.
        quic.api.ConfigurationClose!(configuration)
        XCTAssertEqual(quic.api.ConfigurationLoadCredential!(configuration, &credential), S.invalidParameter)
        quic.api.ConfigurationClose!(configuration)        // closing twice is ignored
        quic.api.RegistrationClose!(registration)
        XCTAssertEqual(quic.openConfiguration(registration).0, S.invalidParameter)
    }
}
