// QUIC_PARAM_GLOBAL_*, the size protocol and the prefix rules of GetParam/SetParam.

import CMsQuic
import XCTest

final class GlobalParamTests: XCTestCase {
    var quic: Quic!
    override func setUp() { quic = Quic() }
    override func tearDown() { quic.close(); quic = nil }

    func testSupportedVersionsInNetworkOrder() {
        var length: UInt32 = 0
        XCTAssertEqual(quic.get(nil, QUIC_PARAM_GLOBAL_SUPPORTED_VERSIONS, &length, nil), S.bufferTooSmall)
        XCTAssertEqual(length, 8)
        XCTAssertEqual(quic.get(nil, QUIC_PARAM_GLOBAL_SUPPORTED_VERSIONS, &length, nil), S.invalidParameter,
                       "room enough but no buffer")
        var versions = [UInt32](repeating: 0, count: 2)
        XCTAssertEqual(quic.get(nil, QUIC_PARAM_GLOBAL_SUPPORTED_VERSIONS, &length, &versions), S.success)
        XCTAssertEqual(versions.map { UInt32(bigEndian: $0) }, [0x0000_0001, 0x6B33_43CF])
        XCTAssertEqual(quic.set(nil, QUIC_PARAM_GLOBAL_SUPPORTED_VERSIONS, versions[0]), S.invalidParameter, "get-only")
    }

    func testLibraryVersionGitHashAndTlsProvider() {
        var version = [UInt32](repeating: 9, count: 4)
        var length: UInt32 = 16
        XCTAssertEqual(quic.get(nil, QUIC_PARAM_GLOBAL_LIBRARY_VERSION, &length, &version), S.success)
        XCTAssertEqual(version, [2, 6, 0, 0])
        length = 0
        XCTAssertEqual(quic.get(nil, QUIC_PARAM_GLOBAL_LIBRARY_GIT_HASH, &length, nil), S.bufferTooSmall)
        var hash = [CChar](repeating: 0, count: Int(length))
        XCTAssertEqual(quic.get(nil, QUIC_PARAM_GLOBAL_LIBRARY_GIT_HASH, &length, &hash), S.success)
        let text = String(decoding: hash.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        XCTAssertEqual(Int(length), text.utf8.count + 1)
        XCTAssertTrue(text == "unknown" || (text.count == 40 && text.allSatisfy(\.isHexDigit)), text)
        let (status, provider) = quic.get(nil, QUIC_PARAM_GLOBAL_TLS_PROVIDER, as: UInt32.self)
        XCTAssertEqual(status, S.success)
        XCTAssertEqual(provider, QUIC_TLS_PROVIDER_OPENSSL.rawValue)
    }

    func testPerfCountersAndStatisticsSizes() {
        var length: UInt32 = 4
        XCTAssertEqual(quic.get(nil, QUIC_PARAM_GLOBAL_PERF_COUNTERS, &length, nil), S.bufferTooSmall)
        XCTAssertEqual(length, UInt32(8 * QUIC_PERF_COUNTER_MAX.rawValue))
        var counters = [UInt64](repeating: 0xFF, count: Int(QUIC_PERF_COUNTER_MAX.rawValue))
        length = 8 * 3 + 5                                  // three whole counters fit
        XCTAssertEqual(quic.get(nil, QUIC_PARAM_GLOBAL_PERF_COUNTERS, &length, &counters), S.success)
        XCTAssertEqual(length, 24)
        // The counters are live (other tests in this process made connections): CONN_CREATED
        // at least counts the rejected ones' attempts; only three are written.
        XCTAssertNotEqual(counters[0], 0xFF)
        XCTAssertGreaterThanOrEqual(counters[0], counters[1], "created >= failed handshakes")
        XCTAssertEqual(counters[3], 0xFF, "the fourth counter is not written")
        length = 0
        XCTAssertEqual(quic.get(nil, QUIC_PARAM_GLOBAL_STATISTICS_V2_SIZES, &length, nil), S.bufferTooSmall)
        XCTAssertEqual(length, 20)
        var sizes = [UInt32](repeating: 0, count: 5)
        XCTAssertEqual(quic.get(nil, QUIC_PARAM_GLOBAL_STATISTICS_V2_SIZES, &length, &sizes), S.success)
        XCTAssertEqual(sizes.last, UInt32(MemoryLayout<QUIC_STATISTICS_V2>.size))
        XCTAssertEqual(sizes, sizes.sorted())
        XCTAssertEqual(Set(sizes).count, 5)
    }

    func testGlobalSettingsRoundTrip() {
        var settings = QUIC_SETTINGS()
        settings.IsSet.IdleTimeoutMs = 1
        settings.IdleTimeoutMs = 60_000
        settings.IsSet.MinimumMtu = 1
        settings.MinimumMtu = 1000                          // clamped to 1248
        XCTAssertEqual(quic.set(nil, QUIC_PARAM_GLOBAL_SETTINGS, settings), S.success)
        let (status, read) = quic.get(nil, QUIC_PARAM_GLOBAL_SETTINGS, as: QUIC_SETTINGS.self)
        XCTAssertEqual(status, S.success)
        XCTAssertEqual(read?.IdleTimeoutMs, 60_000)
        XCTAssertEqual(read?.IsSet.IdleTimeoutMs, 1)
        XCTAssertEqual(read?.MinimumMtu, 1248)
        XCTAssertEqual(read?.HandshakeIdleTimeoutMs, 10_000)
        settings.IsSet.InitialRttMs = 1
        settings.InitialRttMs = 0
        XCTAssertEqual(quic.set(nil, QUIC_PARAM_GLOBAL_SETTINGS, settings), S.invalidParameter)
        XCTAssertEqual(quic.api.SetParam!(nil, UInt32(QUIC_PARAM_GLOBAL_SETTINGS), 144, nil), S.invalidParameter)
    }

    func testGlobalOnlySettingsAndRetryMemoryAndLoadBalancing() {
        var global = QUIC_GLOBAL_SETTINGS()
        global.IsSet.RetryMemoryLimit = 1
        global.RetryMemoryLimit = 100
        XCTAssertEqual(quic.set(nil, QUIC_PARAM_GLOBAL_GLOBAL_SETTINGS, global), S.success)
        XCTAssertEqual(quic.get(nil, QUIC_PARAM_GLOBAL_RETRY_MEMORY_PERCENT, as: UInt16.self).1, 100)
        XCTAssertEqual(quic.set(nil, QUIC_PARAM_GLOBAL_RETRY_MEMORY_PERCENT, UInt16(200)), S.success)
        XCTAssertEqual(quic.set(nil, QUIC_PARAM_GLOBAL_RETRY_MEMORY_PERCENT, UInt32(200)), S.invalidParameter, "wrong size")
        let read = quic.get(nil, QUIC_PARAM_GLOBAL_GLOBAL_SETTINGS, as: QUIC_GLOBAL_SETTINGS.self).1
        XCTAssertEqual(read?.RetryMemoryLimit, 200)
        XCTAssertEqual(read?.IsSet.RetryMemoryLimit, 1)
        XCTAssertEqual(read?.IsSet.LoadBalancingMode, 0)
        var length: UInt32 = 4
        XCTAssertEqual(quic.get(nil, QUIC_PARAM_GLOBAL_GLOBAL_SETTINGS, &length, nil), S.bufferTooSmall)
        XCTAssertEqual(length, 12)
        global.IsSet.LoadBalancingMode = 1
        global.LoadBalancingMode = 3                        // >= QUIC_LOAD_BALANCING_COUNT
        XCTAssertEqual(quic.set(nil, QUIC_PARAM_GLOBAL_GLOBAL_SETTINGS, global), S.invalidParameter)

        XCTAssertEqual(quic.set(nil, QUIC_PARAM_GLOBAL_LOAD_BALACING_MODE, UInt16(2)), S.invalidParameter)
        XCTAssertEqual(quic.set(nil, QUIC_PARAM_GLOBAL_LOAD_BALACING_MODE, UInt16(1)), S.success)
        XCTAssertEqual(quic.get(nil, QUIC_PARAM_GLOBAL_LOAD_BALACING_MODE, as: UInt16.self).1, 1)
        // As in MsQuic, the mode is fixed only once the first UDP binding exists (MsQuicLib.InUse),
        // not by a registration: it can still change here.
        let registration = quic.registration()
        XCTAssertEqual(quic.set(nil, QUIC_PARAM_GLOBAL_LOAD_BALACING_MODE, UInt16(0)), S.success)
        XCTAssertEqual(quic.set(nil, QUIC_PARAM_GLOBAL_LOAD_BALACING_MODE, UInt16(1)), S.success)
        quic.api.RegistrationClose!(registration)
    }

    func testVersionSettings() {
        let acceptable: [UInt32] = [0x6B33_43CF, 1]
        var offered: [UInt32] = [1]
        let deployed: [UInt32] = [1, 0x6B33_43CF, 0x1A2A_3A4A]     // the last is a reserved version
        var settings = QUIC_VERSION_SETTINGS()
        let status = acceptable.withUnsafeBufferPointer { a in
            offered.withUnsafeBufferPointer { o in
                deployed.withUnsafeBufferPointer { d in
                    settings.AcceptableVersions = a.baseAddress; settings.AcceptableVersionsLength = 2
                    settings.OfferedVersions = o.baseAddress; settings.OfferedVersionsLength = 1
                    settings.FullyDeployedVersions = d.baseAddress; settings.FullyDeployedVersionsLength = 3
                    return quic.set(nil, QUIC_PARAM_GLOBAL_VERSION_SETTINGS, settings)
                }
            }
        }
        XCTAssertEqual(status, S.success)
        var length: UInt32 = 0
        XCTAssertEqual(quic.get(nil, QUIC_PARAM_GLOBAL_VERSION_SETTINGS, &length, nil), S.bufferTooSmall)
        XCTAssertEqual(Int(length), MemoryLayout<QUIC_VERSION_SETTINGS>.size + 4 * 6)
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: Int(length), alignment: 8)
        defer { buffer.deallocate() }
        XCTAssertEqual(quic.get(nil, QUIC_PARAM_GLOBAL_VERSION_SETTINGS, &length, buffer), S.success)
        let read = buffer.load(as: QUIC_VERSION_SETTINGS.self)
        // MsQuic 2.6 returns the lists in network byte order (ValidateVersionSettings checks it).
        XCTAssertEqual(Array(UnsafeBufferPointer(start: read.AcceptableVersions, count: Int(read.AcceptableVersionsLength))),
                       acceptable.map(\.byteSwapped))
        XCTAssertEqual(Array(UnsafeBufferPointer(start: read.FullyDeployedVersions, count: Int(read.FullyDeployedVersionsLength))),
                       deployed.map(\.byteSwapped))
        // Draft-29 and MS-1 are accepted as MsQuic accepts them (never spoken on the wire) ...
        offered[0] = 0xFF00_001D
        let legacy = offered.withUnsafeBufferPointer { o -> UInt32 in
            var s = QUIC_VERSION_SETTINGS()
            s.OfferedVersions = o.baseAddress; s.OfferedVersionsLength = 1
            return quic.set(nil, QUIC_PARAM_GLOBAL_VERSION_SETTINGS, s)
        }
        XCTAssertEqual(legacy, S.success)
        // ... a version MsQuic does not know (draft-32) is refused.
        offered[0] = 0xFF00_0020
        let refused = offered.withUnsafeBufferPointer { o -> UInt32 in
            var bad = QUIC_VERSION_SETTINGS()
            bad.OfferedVersions = o.baseAddress; bad.OfferedVersionsLength = 1
            return quic.set(nil, QUIC_PARAM_GLOBAL_VERSION_SETTINGS, bad)
        }
        XCTAssertEqual(refused, S.invalidParameter)
        XCTAssertEqual(quic.api.SetParam!(nil, UInt32(QUIC_PARAM_GLOBAL_VERSION_SETTINGS), 8, &offered), S.invalidParameter, "short")
        // Back to the lists read above for what follows.
        _ = acceptable.withUnsafeBufferPointer { a in
            [UInt32(1)].withUnsafeBufferPointer { o in
                deployed.withUnsafeBufferPointer { d -> UInt32 in
                    var s = QUIC_VERSION_SETTINGS()
                    s.AcceptableVersions = a.baseAddress; s.AcceptableVersionsLength = 2
                    s.OfferedVersions = o.baseAddress; s.OfferedVersionsLength = 1
                    s.FullyDeployedVersions = d.baseAddress; s.FullyDeployedVersionsLength = 3
                    return quic.set(nil, QUIC_PARAM_GLOBAL_VERSION_SETTINGS, s)
                }
            }
        }
        // Configurations follow the global version settings.
        let registration = quic.registration()
        let configuration = quic.configuration(registration)
        length = 0
        XCTAssertEqual(quic.get(configuration, QUIC_PARAM_CONFIGURATION_VERSION_SETTINGS, &length, nil), S.bufferTooSmall)
        XCTAssertEqual(Int(length), MemoryLayout<QUIC_VERSION_SETTINGS>.size + 4 * 6)
        quic.api.RegistrationClose!(registration)
    }

    func testStatelessResetKeyRetryConfigAndExecutionConfig() {
        var key = [UInt8](repeating: 7, count: 32)
        let param = UInt32(QUIC_PARAM_GLOBAL_STATELESS_RESET_KEY)
        XCTAssertEqual(quic.api.SetParam!(nil, param, 32, &key), S.invalidState, "before the first registration")
        let registration = quic.registration()
        defer { quic.api.RegistrationClose!(registration) }
        XCTAssertEqual(quic.api.SetParam!(nil, param, 31, &key), S.invalidParameter)
        XCTAssertEqual(quic.api.SetParam!(nil, param, 32, &key), S.success)
        var length: UInt32 = 32
        XCTAssertEqual(quic.api.GetParam!(nil, param, &length, &key), S.invalidParameter, "set-only")

        let secret = [UInt8](repeating: 1, count: 32)
        let retry = UInt32(QUIC_PARAM_GLOBAL_STATELESS_RETRY_CONFIG)
        func setRetry(_ algorithm: QUIC_AEAD_ALGORITHM_TYPE, _ rotation: UInt32, _ secretLength: UInt32) -> UInt32 {
            secret.withUnsafeBufferPointer { s in
                var config = QUIC_STATELESS_RETRY_CONFIG(Algorithm: algorithm, RotationMs: rotation,
                                                         SecretLength: secretLength, Secret: s.baseAddress)
                return quic.api.SetParam!(nil, retry, UInt32(MemoryLayout<QUIC_STATELESS_RETRY_CONFIG>.size), &config)
            }
        }
        XCTAssertEqual(setRetry(QUIC_AEAD_ALGORITHM_AES_256_GCM, 30_000, 32), S.success)
        XCTAssertEqual(setRetry(QUIC_AEAD_ALGORITHM_AES_128_GCM, 30_000, 16), S.success)
        XCTAssertEqual(setRetry(QUIC_AEAD_ALGORITHM_AES_128_GCM, 30_000, 32), S.invalidParameter)
        XCTAssertEqual(setRetry(QUIC_AEAD_ALGORITHM_AES_256_GCM, 0, 32), S.invalidParameter)
        XCTAssertEqual(setRetry(QUIC_AEAD_ALGORITHM_TYPE(rawValue: 2), 30_000, 32), S.invalidParameter)
    }

    /// QUIC_PARAM_GLOBAL_EXECUTION_CONFIG is set before the first registration; afterwards only
    /// the polling idle timeout of a configuration set before can change (MsQuic library.c).
    func testExecutionConfigBeforeAndAfterTheFirstRegistration() {
        let exec = UInt32(QUIC_PARAM_GLOBAL_EXECUTION_CONFIG)
        var length: UInt32 = 99
        XCTAssertEqual(quic.api.GetParam!(nil, exec, &length, nil), S.success)
        XCTAssertEqual(length, 0, "none set")
        var config = QUIC_GLOBAL_EXECUTION_CONFIG()
        config.ProcessorCount = 1
        config.ProcessorList = 0
        XCTAssertEqual(quic.api.SetParam!(nil, exec, 11, &config), S.invalidParameter)
        XCTAssertEqual(quic.api.SetParam!(nil, exec, 14, &config), S.success)
        config.ProcessorList = 60_000
        XCTAssertEqual(quic.api.SetParam!(nil, exec, 14, &config), S.invalidParameter, "no such processor")
        config.ProcessorCount = 2
        XCTAssertEqual(quic.api.SetParam!(nil, exec, 14, &config), S.invalidParameter, "list shorter than its count")
        length = 0
        XCTAssertEqual(quic.api.GetParam!(nil, exec, &length, nil), S.bufferTooSmall)
        XCTAssertEqual(length, 14)

        // After the first registration: only PollingIdleTimeoutUs of the existing one changes.
        let registration = quic.registration()
        config.ProcessorCount = 1
        config.ProcessorList = 0
        config.PollingIdleTimeoutUs = 1234
        config.Flags = QUIC_GLOBAL_EXECUTION_CONFIG_FLAG_NONE
        XCTAssertEqual(quic.api.SetParam!(nil, exec, 14, &config), S.success)
        var read = QUIC_GLOBAL_EXECUTION_CONFIG()
        length = 14
        XCTAssertEqual(quic.api.GetParam!(nil, exec, &length, &read), S.success)
        XCTAssertEqual(read.PollingIdleTimeoutUs, 1234)
        // Cleared, there is nothing left to update: INVALID_STATE.
        XCTAssertEqual(quic.api.SetParam!(nil, exec, 0, nil), S.success)
        XCTAssertEqual(quic.api.SetParam!(nil, exec, 14, &config), S.invalidState)
        quic.api.RegistrationClose!(registration)
    }

    func testParamPrefixRules() {
        let registration = quic.registration()
        let configuration = quic.configuration(registration)
        defer { quic.api.RegistrationClose!(registration) }
        var length: UInt32 = 144
        var settings = QUIC_SETTINGS()
        // A global parameter wants no handle; any other wants one.
        XCTAssertEqual(quic.get(registration, QUIC_PARAM_GLOBAL_SETTINGS, &length, &settings), S.invalidParameter)
        XCTAssertEqual(quic.get(nil, QUIC_PARAM_CONFIGURATION_SETTINGS, &length, &settings), S.invalidParameter)
        // The prefix must fit the handle.
        XCTAssertEqual(quic.get(registration, QUIC_PARAM_CONFIGURATION_SETTINGS, &length, &settings), S.invalidParameter)
        XCTAssertEqual(quic.get(configuration, QUIC_PARAM_CONN_SETTINGS, &length, &settings), S.invalidParameter)
        XCTAssertEqual(quic.get(configuration, QUIC_PARAM_STREAM_ID, &length, &settings), S.invalidParameter)
        XCTAssertEqual(quic.get(configuration, QUIC_PARAM_LISTENER_STATS, &length, &settings), S.invalidParameter)
        XCTAssertEqual(quic.get(configuration, QUIC_PARAM_TLS_HANDSHAKE_INFO, &length, &settings), S.invalidParameter)
        XCTAssertEqual(quic.get(registration, Int32(QUIC_PARAM_PREFIX_REGISTRATION), &length, &settings), S.invalidParameter)
        // Unknown parameters of a known prefix.
        XCTAssertEqual(quic.get(nil, 0x0100_00FF, &length, &settings), S.invalidParameter)
        XCTAssertEqual(quic.get(configuration, 0x0300_00FF, &length, &settings), S.invalidParameter)
        XCTAssertEqual(quic.set(nil, 0x0100_00FF, UInt32(0)), S.invalidParameter)
        XCTAssertEqual(quic.api.GetParam!(nil, UInt32(QUIC_PARAM_GLOBAL_SETTINGS), nil, &settings), S.invalidParameter)
        // The high-priority bit does not change which parameter is meant.
        XCTAssertEqual(quic.get(configuration, QUIC_PARAM_CONFIGURATION_SETTINGS | Int32(QUIC_PARAM_HIGH_PRIORITY),
                                &length, &settings), S.success)
        // Schannel attributes do not exist here.
        var attribute = QUIC_SCHANNEL_CREDENTIAL_ATTRIBUTE_W()
        XCTAssertEqual(quic.set(configuration, QUIC_PARAM_CONFIGURATION_SCHANNEL_CREDENTIAL_ATTRIBUTE_W, attribute), S.notSupported)
        _ = withUnsafeMutablePointer(to: &attribute) { $0 }
        // XDP maps are not available either.
        var xdp = QUIC_XDP_MAP_CONFIG()
        XCTAssertEqual(quic.set(nil, QUIC_PARAM_GLOBAL_XDP_MAP_CONFIG, xdp), S.notSupported)
        XCTAssertEqual(quic.api.SetParam!(nil, UInt32(QUIC_PARAM_GLOBAL_XDP_MAP_CONFIG), 7, &xdp), S.invalidParameter)
    }
}
