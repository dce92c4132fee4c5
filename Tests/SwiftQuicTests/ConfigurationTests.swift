// RegistrationOpen/Close/Shutdown/Close2, context and callback handler, ConfigurationOpen with
// ALPNs and settings, and QUIC_PARAM_CONFIGURATION_SETTINGS.

import CMsQuic
import XCTest

final class ConfigurationTests: XCTestCase {
    var quic: Quic!
    override func setUp() { quic = Quic() }
    override func tearDown() { quic.close(); quic = nil }

    func testRegistrationOpenChecks() {
        var handle: HQUIC?
        XCTAssertEqual(quic.api.RegistrationOpen!(nil, nil), S.invalidParameter)
        XCTAssertEqual(quic.api.RegistrationOpen!(nil, &handle), S.success)
        quic.api.RegistrationClose!(handle)
        // MsQuic keeps the app name with a one-byte length: 254 characters fit, 255 do not.
        for (length, expected) in [(254, S.success), (255, S.invalidParameter)] {
            let name = String(repeating: "a", count: length)
            let status = name.withCString { cName -> UInt32 in
                var config = QUIC_REGISTRATION_CONFIG(AppName: cName, ExecutionProfile: QUIC_EXECUTION_PROFILE_TYPE_MAX_THROUGHPUT)
                handle = nil
                return quic.api.RegistrationOpen!(&config, &handle)
            }
            XCTAssertEqual(status, expected, "app name of \(length)")
            if status == S.success { quic.api.RegistrationClose!(handle) }
        }
    }

    func testContextAndCallbackHandler() {
        let registration = quic.registration("ctx")
        XCTAssertNil(quic.api.GetContext!(registration))
        let context = UnsafeMutableRawPointer(bitPattern: 0xC0FFEE)
        quic.api.SetContext!(registration, context)
        XCTAssertEqual(quic.api.GetContext!(registration), context)
        // Registrations and configurations take no callback: nothing changes, not even the context.
        quic.api.SetCallbackHandler!(registration, UnsafeMutableRawPointer(bitPattern: 0x10), nil)
        XCTAssertEqual(quic.api.GetContext!(registration), context)
        let configurationContext = UnsafeMutableRawPointer(bitPattern: 0xABC)
        let (status, configuration) = quic.openConfiguration(registration, context: configurationContext)
        XCTAssertEqual(status, S.success)
        XCTAssertEqual(quic.api.GetContext!(configuration), configurationContext)
        quic.api.SetContext!(configuration, nil)
        XCTAssertNil(quic.api.GetContext!(configuration))
        quic.api.ConfigurationClose!(configuration)
        quic.api.RegistrationClose!(registration)
    }

    func testRegistrationShutdownAndClose2() {
        let registration = quic.registration()
        quic.api.RegistrationShutdown!(registration, QUIC_CONNECTION_SHUTDOWN_FLAG_SILENT, 42)
        quic.api.RegistrationShutdown!(registration, QUIC_CONNECTION_SHUTDOWN_FLAG_NONE, UInt64.max) // ignored
        let configuration = quic.configuration(registration)
        // Close2 closes the registration (and, here, the configurations it owns) and reports it.
        final class Flag { var calls = 0 }
        let flag = Flag()
        quic.api.RegistrationClose2!(registration, { context in
            Unmanaged<Flag>.fromOpaque(context!).takeUnretainedValue().calls += 1
        }, Unmanaged.passUnretained(flag).toOpaque())
        XCTAssertEqual(flag.calls, 1)
        XCTAssertEqual(quic.openConfiguration(registration).0, S.invalidParameter)
        var length: UInt32 = 0
        XCTAssertEqual(quic.get(configuration, QUIC_PARAM_CONFIGURATION_SETTINGS, &length, nil), S.invalidParameter)
    }

    func testConfigurationOpenAlpnChecks() {
        let registration = quic.registration()
        defer { quic.api.RegistrationClose!(registration) }
        var handle: HQUIC?
        XCTAssertEqual(quic.api.ConfigurationOpen!(registration, nil, 1, nil, 0, nil, &handle), S.invalidParameter)
        withBuffers([Array("h3".utf8)]) { buffers in
            XCTAssertEqual(quic.api.ConfigurationOpen!(registration, buffers.baseAddress, 0, nil, 0, nil, &handle),
                           S.invalidParameter, "AlpnBufferCount 0")
            XCTAssertEqual(quic.api.ConfigurationOpen!(registration, buffers.baseAddress, 1, nil, 0, nil, nil),
                           S.invalidParameter, "NULL out-pointer")
        }
        XCTAssertEqual(quic.openConfiguration(registration, alpns: [""]).0, S.invalidParameter)
        XCTAssertEqual(quic.openConfiguration(registration, alpns: ["h3", ""]).0, S.invalidParameter)
        XCTAssertEqual(quic.openConfiguration(registration, alpns: [String(repeating: "x", count: 256)]).0,
                       S.invalidParameter)
        let (status, configuration) = quic.openConfiguration(
            registration, alpns: [String(repeating: "x", count: 255), "h3", "hq-interop"])
        XCTAssertEqual(status, S.success)
        quic.api.ConfigurationClose!(configuration)
    }

    private func settingsWith(_ body: (inout QUIC_SETTINGS) -> Void) -> QUIC_SETTINGS {
        var settings = QUIC_SETTINGS()
        body(&settings)
        return settings
    }

    private func open(_ registration: HQUIC, _ settings: QUIC_SETTINGS,
                      size: Int = MemoryLayout<QUIC_SETTINGS>.size) -> (UInt32, HQUIC?) {
        var settings = settings
        return quic.openConfiguration(registration, settings: &settings, settingsSize: UInt32(size))
    }

    func testConfigurationSettingsValidation() {
        let registration = quic.registration()
        defer { quic.api.RegistrationClose!(registration) }
        let bad: [(String, (inout QUIC_SETTINGS) -> Void)] = [
            ("InitialRttMs 0", { $0.IsSet.InitialRttMs = 1; $0.InitialRttMs = 0 }),
            ("MaxAckDelayMs 2^14", { $0.IsSet.MaxAckDelayMs = 1; $0.MaxAckDelayMs = 1 << 14 }),
            ("DisconnectTimeoutMs 0", { $0.IsSet.DisconnectTimeoutMs = 1; $0.DisconnectTimeoutMs = 0 }),
            ("DisconnectTimeoutMs > 600000", { $0.IsSet.DisconnectTimeoutMs = 1; $0.DisconnectTimeoutMs = 600_001 }),
            ("IdleTimeoutMs > varint", { $0.IsSet.IdleTimeoutMs = 1; $0.IdleTimeoutMs = 1 << 62 }),
            ("HandshakeIdleTimeoutMs > varint", { $0.IsSet.HandshakeIdleTimeoutMs = 1; $0.HandshakeIdleTimeoutMs = 1 << 62 }),
            ("StreamRecvWindowDefault not 2^n", { $0.IsSet.StreamRecvWindowDefault = 1; $0.StreamRecvWindowDefault = 65_535 }),
            ("StreamRecvWindowDefault 0", { $0.IsSet.StreamRecvWindowDefault = 1; $0.StreamRecvWindowDefault = 0 }),
            ("StreamRecvWindowUnidiDefault not 2^n", { $0.IsSet.StreamRecvWindowUnidiDefault = 1; $0.StreamRecvWindowUnidiDefault = 3 }),
            ("StreamRecvBufferDefault < 4096", { $0.IsSet.StreamRecvBufferDefault = 1; $0.StreamRecvBufferDefault = 4095 }),
            ("MaxBytesPerKey > 2^38", { $0.IsSet.MaxBytesPerKey = 1; $0.MaxBytesPerKey = (1 << 38) + 1 }),
            ("ServerResumptionLevel 3", { $0.IsSet.ServerResumptionLevel = 1; $0.ServerResumptionLevel = 3 }),
            ("MinimumMtu > MaximumMtu", { $0.IsSet.MinimumMtu = 1; $0.IsSet.MaximumMtu = 1; $0.MinimumMtu = 1400; $0.MaximumMtu = 1300 }),
        ]
        for (name, body) in bad {
            XCTAssertEqual(open(registration, settingsWith(body)).0, S.invalidParameter, name)
        }
        // Values outside the set bits are not looked at.
        let ignored = settingsWith { $0.InitialRttMs = 0; $0.IsSet.IdleTimeoutMs = 1; $0.IdleTimeoutMs = 1000 }
        let (status, configuration) = open(registration, ignored)
        XCTAssertEqual(status, S.success)
        quic.api.ConfigurationClose!(configuration)
    }

    func testConfigurationSettingsSize() {
        let registration = quic.registration()
        defer { quic.api.RegistrationClose!(registration) }
        let settings = settingsWith { $0.IsSet.IdleTimeoutMs = 1; $0.IdleTimeoutMs = 5000 }
        // The oldest accepted layout ends at MtuDiscoveryMissingProbeCount (109 bytes).
        let minimum = MemoryLayout<QUIC_SETTINGS>.offset(of: \.MtuDiscoveryMissingProbeCount)! + 1
        XCTAssertEqual(minimum, 109)
        XCTAssertEqual(open(registration, settings, size: minimum - 1).0, S.invalidParameter)
        let (status, configuration) = open(registration, settings, size: minimum)
        XCTAssertEqual(status, S.success)
        quic.api.ConfigurationClose!(configuration)
        // No field marked set: the size is not looked at.
        XCTAssertEqual(open(registration, QUIC_SETTINGS(), size: 16).0, S.success)
        XCTAssertEqual(open(registration, QUIC_SETTINGS(), size: 0).0, S.success)
        XCTAssertEqual(open(registration, QUIC_SETTINGS(), size: 4).0, S.success)
        // A field marked set with a SettingsSize of 0 is refused, as in MsQuic.
        XCTAssertEqual(open(registration, settings, size: 0).0, S.invalidParameter)
        // Fields beyond a short size are not read even if marked set.
        var beyond = settingsWith { $0.IsSet.StreamRecvWindowUnidiDefault = 1; $0.StreamRecvWindowUnidiDefault = 3 }
        beyond.IsSet.IdleTimeoutMs = 1
        beyond.IdleTimeoutMs = 7000
        let (shortStatus, short) = open(registration, beyond, size: minimum)
        XCTAssertEqual(shortStatus, S.success)
        let (getStatus, read) = quic.get(short, QUIC_PARAM_CONFIGURATION_SETTINGS, as: QUIC_SETTINGS.self)
        XCTAssertEqual(getStatus, S.success)
        XCTAssertEqual(read?.IdleTimeoutMs, 7000)
        XCTAssertEqual(read?.IsSet.StreamRecvWindowUnidiDefault, 0)
        XCTAssertEqual(read?.StreamRecvWindowUnidiDefault, 65_536)
        quic.api.ConfigurationClose!(short)
    }

    func testConfigurationSettingsGetProtocolAndDefaults() {
        let registration = quic.registration()
        defer { quic.api.RegistrationClose!(registration) }
        let settings = settingsWith {
            $0.IsSet.IdleTimeoutMs = 1; $0.IdleTimeoutMs = 5000
            $0.IsSet.PeerBidiStreamCount = 1; $0.PeerBidiStreamCount = 100
            $0.IsSet.ServerResumptionLevel = 1; $0.ServerResumptionLevel = 2
            $0.IsSet.DatagramReceiveEnabled = 1; $0.DatagramReceiveEnabled = 1
            $0.IsSet.StreamRecvWindowDefault = 1; $0.StreamRecvWindowDefault = 1 << 20
            $0.IsSet.HyStartEnabled = 1; $0.HyStartEnabled = 1
        }
        let (status, configuration) = open(registration, settings)
        XCTAssertEqual(status, S.success)
        defer { quic.api.ConfigurationClose!(configuration) }

        var length: UInt32 = 0
        XCTAssertEqual(quic.get(configuration, QUIC_PARAM_CONFIGURATION_SETTINGS, &length, nil), S.bufferTooSmall)
        XCTAssertEqual(length, 144)
        length = 50
        XCTAssertEqual(quic.get(configuration, QUIC_PARAM_CONFIGURATION_SETTINGS, &length, nil), S.bufferTooSmall)
        XCTAssertEqual(length, 109)
        length = 144
        XCTAssertEqual(quic.get(configuration, QUIC_PARAM_CONFIGURATION_SETTINGS, &length, nil), S.invalidParameter)

        let (getStatus, read) = quic.get(configuration, QUIC_PARAM_CONFIGURATION_SETTINGS, as: QUIC_SETTINGS.self)
        XCTAssertEqual(getStatus, S.success)
        guard let read else { return }
        XCTAssertEqual(read.IsSet.IdleTimeoutMs, 1)
        XCTAssertEqual(read.IdleTimeoutMs, 5000)
        XCTAssertEqual(read.PeerBidiStreamCount, 100)
        XCTAssertEqual(read.ServerResumptionLevel, 2)
        XCTAssertEqual(read.DatagramReceiveEnabled, 1)
        XCTAssertEqual(read.HyStartEnabled, 1)
        XCTAssertEqual(read.StreamRecvWindowDefault, 1 << 20)
        // The general window also sets each stream type's window.
        XCTAssertEqual(read.StreamRecvWindowBidiLocalDefault, 1 << 20)
        XCTAssertEqual(read.StreamRecvWindowUnidiDefault, 1 << 20)
        // Unset fields carry MsQuic's defaults and no IsSet bit.
        XCTAssertEqual(read.IsSet.HandshakeIdleTimeoutMs, 0)
        XCTAssertEqual(read.HandshakeIdleTimeoutMs, 10_000)
        XCTAssertEqual(read.MaxBytesPerKey, 274_877_906_944)
        XCTAssertEqual(read.InitialRttMs, 333)
        XCTAssertEqual(read.MaxAckDelayMs, 25)
        XCTAssertEqual(read.DisconnectTimeoutMs, 16_000)
        XCTAssertEqual(read.ConnFlowControlWindow, 16_777_216)
        XCTAssertEqual(read.TlsClientMaxSendBuffer, 4096)
        XCTAssertEqual(read.TlsServerMaxSendBuffer, 8192)
        XCTAssertEqual(read.MinimumMtu, 1288)
        XCTAssertEqual(read.MaximumMtu, 1500)
        XCTAssertEqual(read.SendBufferingEnabled, 1)
        XCTAssertEqual(read.PacingEnabled, 1)
        XCTAssertEqual(read.MigrationEnabled, 1)
        XCTAssertEqual(read.DestCidUpdateIdleTimeoutMs, 20_000)
        XCTAssertEqual(read.MtuDiscoverySearchCompleteTimeoutUs, 600_000_000)
        XCTAssertEqual(read.MtuDiscoveryMissingProbeCount, 3)
        XCTAssertEqual(read.MaxOperationsPerDrain, 16)
        XCTAssertEqual(read.IsSetFlags & ~(UInt64(1) << 2 | 1 << 18 | 1 << 28 | 1 << 27 | 1 << 6 | 1 << 34), 0)
    }

    func testConfigurationFollowsGlobalSettingsForUnsetFields() {
        let registration = quic.registration()
        defer { quic.api.RegistrationClose!(registration) }
        let (status, configuration) = open(registration, settingsWith { $0.IsSet.IdleTimeoutMs = 1; $0.IdleTimeoutMs = 5000 })
        XCTAssertEqual(status, S.success)
        let global = settingsWith {
            $0.IsSet.IdleTimeoutMs = 1; $0.IdleTimeoutMs = 9000
            $0.IsSet.KeepAliveIntervalMs = 1; $0.KeepAliveIntervalMs = 1500
        }
        XCTAssertEqual(quic.set(nil, QUIC_PARAM_GLOBAL_SETTINGS, global), S.success)
        let read = quic.get(configuration, QUIC_PARAM_CONFIGURATION_SETTINGS, as: QUIC_SETTINGS.self).1
        XCTAssertEqual(read?.IdleTimeoutMs, 5000, "set on the configuration: kept")
        XCTAssertEqual(read?.KeepAliveIntervalMs, 1500, "unset: follows the global value")
        XCTAssertEqual(read?.IsSet.KeepAliveIntervalMs, 0)
        // SetParam on the configuration overrides and is checked like ConfigurationOpen.
        XCTAssertEqual(quic.set(configuration, QUIC_PARAM_CONFIGURATION_SETTINGS,
                                settingsWith { $0.IsSet.KeepAliveIntervalMs = 1; $0.KeepAliveIntervalMs = 2000 }), S.success)
        XCTAssertEqual(quic.set(configuration, QUIC_PARAM_CONFIGURATION_SETTINGS,
                                settingsWith { $0.IsSet.InitialRttMs = 1; $0.InitialRttMs = 0 }), S.invalidParameter)
        let again = quic.get(configuration, QUIC_PARAM_CONFIGURATION_SETTINGS, as: QUIC_SETTINGS.self).1
        XCTAssertEqual(again?.KeepAliveIntervalMs, 2000)
        XCTAssertEqual(again?.IsSet.KeepAliveIntervalMs, 1)
        XCTAssertEqual(again?.InitialRttMs, 333, "a rejected batch changes nothing")
        quic.api.ConfigurationClose!(configuration)
    }
}
