// QUIC_STATUS values and the other numeric facts of the MsQuic 2.6 ABI that the C ABI layer
// needs. The public header spells most status codes as casts of errno macros (and two as
// negative casts), which Swift does not import reliably, so the values are restated here from
// msquic_posix.h / msquic.h 2.6.0; the C tests (CTests/*.c) see the header's own definitions.

/// `QUIC_STATUS` (`unsigned int` on POSIX).
typealias QuicStatus = UInt32

enum Status {
    static let success: QuicStatus = 0                    // QUIC_STATUS_SUCCESS
    static let pending: QuicStatus = 0xFFFF_FFFE          // QUIC_STATUS_PENDING ((QUIC_STATUS)-2)
    static let `continue`: QuicStatus = 0xFFFF_FFFF       // QUIC_STATUS_CONTINUE ((QUIC_STATUS)-1)
    static let outOfMemory: QuicStatus = 12               // ENOMEM
    static let invalidParameter: QuicStatus = 22          // EINVAL
    static let invalidState: QuicStatus = 1               // EPERM
    static let notSupported: QuicStatus = 95              // EOPNOTSUPP
    static let notFound: QuicStatus = 2                   // ENOENT
    static let fileNotFound: QuicStatus = 2               // ENOENT
    static let bufferTooSmall: QuicStatus = 75            // EOVERFLOW
    static let handshakeFailure: QuicStatus = 103         // ECONNABORTED
    static let aborted: QuicStatus = 125                  // ECANCELED
    static let addressInUse: QuicStatus = 98              // EADDRINUSE
    static let invalidAddress: QuicStatus = 97            // EAFNOSUPPORT
    static let connectionTimeout: QuicStatus = 110        // ETIMEDOUT
    static let connectionIdle: QuicStatus = 62            // ETIME
    static let internalError: QuicStatus = 5              // EIO
    static let connectionRefused: QuicStatus = 111        // ECONNREFUSED
    static let protocolError: QuicStatus = 71             // EPROTO
    static let verNegError: QuicStatus = 93               // EPROTONOSUPPORT
    static let unreachable: QuicStatus = 113              // EHOSTUNREACH
    static let tlsError: QuicStatus = 126                 // ENOKEY
    static let userCanceled: QuicStatus = 130             // EOWNERDEAD
    static let alpnNegFailure: QuicStatus = 92            // ENOPROTOOPT
    static let streamLimitReached: QuicStatus = 86        // ESTRPIPE
    static let alpnInUse: QuicStatus = 91                 // EPROTOTYPE
    static let addressNotAvailable: QuicStatus = 99       // EADDRNOTAVAIL
}

/// The type tag MsQuic keeps in the first field of every handle (QUIC_HANDLE_TYPE, from
/// MsQuic's core/api definitions). We keep the same values in the same place.
enum HandleType: UInt32 {
    case registration = 0
    case configuration = 1
    case listener = 2
    case connectionClient = 3
    case connectionServer = 4
    case stream = 5
}

/// QUIC_PARAM_* prefixes and parameter identifiers (msquic.h 2.6.0).
enum Param {
    static let prefixMask: UInt32 = 0x7F00_0000
    static let highPriority: UInt32 = 0x4000_0000         // QUIC_PARAM_HIGH_PRIORITY

    static let prefixGlobal: UInt32 = 0x0100_0000
    static let prefixRegistration: UInt32 = 0x0200_0000
    static let prefixConfiguration: UInt32 = 0x0300_0000
    static let prefixListener: UInt32 = 0x0400_0000
    static let prefixConnection: UInt32 = 0x0500_0000
    static let prefixTLS: UInt32 = 0x0600_0000
    static let prefixTLSSchannel: UInt32 = 0x0700_0000
    static let prefixStream: UInt32 = 0x0800_0000

    static let globalRetryMemoryPercent: UInt32 = 0x0100_0000
    static let globalSupportedVersions: UInt32 = 0x0100_0001
    static let globalLoadBalancingMode: UInt32 = 0x0100_0002
    static let globalPerfCounters: UInt32 = 0x0100_0003
    static let globalLibraryVersion: UInt32 = 0x0100_0004
    static let globalSettings: UInt32 = 0x0100_0005
    static let globalGlobalSettings: UInt32 = 0x0100_0006
    static let globalVersionSettings: UInt32 = 0x0100_0007
    static let globalLibraryGitHash: UInt32 = 0x0100_0008
    static let globalExecutionConfig: UInt32 = 0x0100_0009
    static let globalTLSProvider: UInt32 = 0x0100_000A
    static let globalStatelessResetKey: UInt32 = 0x0100_000B
    static let globalStatisticsV2Sizes: UInt32 = 0x0100_000C
    static let globalStatelessRetryConfig: UInt32 = 0x0100_000D
    static let globalXdpMapConfig: UInt32 = 0x0100_000E

    static let configurationSettings: UInt32 = 0x0300_0000
    static let configurationTicketKeys: UInt32 = 0x0300_0001
    static let configurationVersionSettings: UInt32 = 0x0300_0002
    static let configurationSchannelCredentialAttributeW: UInt32 = 0x0300_0003

    // MsQuic's private test parameters (msquicp.h; our include/msquicp.h). Test-only.
    static let globalTestDatapathHooks: UInt32 = 0x8100_0000           // not supported
    static let globalAllocFailDenominator: UInt32 = 0x8100_0001        // not supported
    static let globalAllocFailCycle: UInt32 = 0x8100_0002              // not supported
    static let globalPlatformWorkerPool: UInt32 = 0x8100_0006          // not supported
    static let globalVersionNegotiationEnabled: UInt32 = 0x8100_0003   // BOOLEAN
    static let globalInUse: UInt32 = 0x8100_0004                       // BOOLEAN, get-only
    static let globalDatapathFeatures: UInt32 = 0x8100_0005            // uint32_t, get-only
    static let globalDatapathDscpRecvEnabled: UInt32 = 0x8100_0007     // BOOLEAN
    static let configurationVersionNegEnabled: UInt32 = 0x8300_0001    // BOOLEAN

    /// QUIC_PARAM_IS_GLOBAL
    static func isGlobal(_ param: UInt32) -> Bool { (param & 0x3F00_0000) == prefixGlobal }
}

/// Other numeric facts of the API used in validation.
enum Limits {
    static let maxAlpnLength: UInt32 = 255                 // QUIC_MAX_ALPN_LENGTH
    static let maxSniLength = 65535                        // QUIC_MAX_SNI_LENGTH
    static let maxResumptionAppDataLength: UInt16 = 1000   // QUIC_MAX_RESUMPTION_APP_DATA_LENGTH
    static let maxTicketKeyCount = 16                      // QUIC_MAX_TICKET_KEY_COUNT
    static let statelessResetKeyLength = 32                // QUIC_STATELESS_RESET_KEY_LENGTH
    static let uint62Max: UInt64 = (1 << 62) - 1           // QUIC_UINT62_MAX, RFC 9000 §16
    static let perfCounterMax = 35                         // QUIC_PERF_COUNTER_MAX
    static let apiVersion2: UInt32 = 2                     // QUIC_API_VERSION_2
    static let globalExecutionConfigMinSize = 12           // QUIC_GLOBAL_EXECUTION_CONFIG_MIN_SIZE
    static let addressFamilyUnspec: UInt16 = 0             // QUIC_ADDRESS_FAMILY_UNSPEC
    static let addressFamilyInet: UInt16 = 2               // QUIC_ADDRESS_FAMILY_INET
    static let addressFamilyInet6: UInt16 = 10             // QUIC_ADDRESS_FAMILY_INET6
}
