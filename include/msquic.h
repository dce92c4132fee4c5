/*
 * msquic.h - the C API of swiftquic, source and binary compatible with
 * Microsoft MsQuic 2.6.
 *
 * A program gets the function table with MsQuicOpen2 (or MsQuicOpenVersion),
 * calls everything through it, and returns it with MsQuicClose. Objects are
 * opaque HQUIC handles: registration -> configuration, listener, connection
 * -> stream. Events arrive on the callback given when a handle is opened.
 *
 * Declarations inside QUIC_API_ENABLE_PREVIEW_FEATURES are MsQuic's preview
 * API: define that macro before including this header to see them.
 *
 * Every name, value, size and offset here equals MsQuic 2.6's on Linux x86-64
 * (checked by ../shared/abi/abi-check). Comments are swiftquic's own.
 */

#ifndef SWIFTQUIC_MSQUIC_H
#define SWIFTQUIC_MSQUIC_H

#if defined(__linux__) || defined(__APPLE__) || defined(__FreeBSD__)
#include "msquic_posix.h"
#else
#error "swiftquic supports POSIX platforms only"
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------ */
/* Handles and limits                                                        */
/* ------------------------------------------------------------------------ */

/* An opaque object of the API (registration, configuration, listener, ...). */
typedef struct QUIC_HANDLE* HQUIC;

/* Largest value of a QUIC variable-length integer (RFC 9000 §16). */
#define QUIC_UINT62_MAX 0x3FFFFFFFFFFFFFFFULL   /* 2^62 - 1 */

/* An application error code or other value that must fit in 62 bits. */
typedef uint64_t QUIC_UINT62;

/* An ALPN is 1 to 255 bytes long (RFC 7301 §3.1). */
#define QUIC_MAX_ALPN_LENGTH            255

/* Longest server name (SNI) accepted by ConnectionStart. */
#define QUIC_MAX_SNI_LENGTH             65535

/* Most bytes of application data a server may put in a resumption ticket. */
#define QUIC_MAX_RESUMPTION_APP_DATA_LENGTH     1000

/* Size of the key that derives stateless reset tokens (RFC 9000 §10.3). */
#define QUIC_STATELESS_RESET_KEY_LENGTH       32

/* ------------------------------------------------------------------------ */
/* Enumerations                                                              */
/* ------------------------------------------------------------------------ */

/* TLS implementation behind the library (QUIC_PARAM_GLOBAL_TLS_PROVIDER). */
typedef enum QUIC_TLS_PROVIDER {
    QUIC_TLS_PROVIDER_SCHANNEL                  = 0x0000,
    QUIC_TLS_PROVIDER_OPENSSL                   = 0x0001,
} QUIC_TLS_PROVIDER;

/* How a registration's work is scheduled. */
typedef enum QUIC_EXECUTION_PROFILE {
    QUIC_EXECUTION_PROFILE_LOW_LATENCY,         /* default */
    QUIC_EXECUTION_PROFILE_TYPE_MAX_THROUGHPUT,
    QUIC_EXECUTION_PROFILE_TYPE_SCAVENGER,
    QUIC_EXECUTION_PROFILE_TYPE_REAL_TIME,
} QUIC_EXECUTION_PROFILE;

/* What a server encodes in the connection IDs it issues. */
typedef enum QUIC_LOAD_BALANCING_MODE {
    QUIC_LOAD_BALANCING_DISABLED,               /* default: random CIDs */
    QUIC_LOAD_BALANCING_SERVER_ID_IP,           /* the server's IP address */
    QUIC_LOAD_BALANCING_SERVER_ID_FIXED,        /* QUIC_GLOBAL_SETTINGS.FixedServerID */
    QUIC_LOAD_BALANCING_COUNT,                  /* number of modes */
} QUIC_LOAD_BALANCING_MODE;

/* TLS alert codes (RFC 8446 §6) used to reject a certificate or handshake. */
typedef enum QUIC_TLS_ALERT_CODES {
    QUIC_TLS_ALERT_CODE_SUCCESS                 = 0xFFFF, /* no alert: accept */
    QUIC_TLS_ALERT_CODE_UNEXPECTED_MESSAGE      = 10,
    QUIC_TLS_ALERT_CODE_BAD_CERTIFICATE         = 42,
    QUIC_TLS_ALERT_CODE_UNSUPPORTED_CERTIFICATE = 43,
    QUIC_TLS_ALERT_CODE_CERTIFICATE_REVOKED     = 44,
    QUIC_TLS_ALERT_CODE_CERTIFICATE_EXPIRED     = 45,
    QUIC_TLS_ALERT_CODE_CERTIFICATE_UNKNOWN     = 46,
    QUIC_TLS_ALERT_CODE_ILLEGAL_PARAMETER       = 47,
    QUIC_TLS_ALERT_CODE_UNKNOWN_CA              = 48,
    QUIC_TLS_ALERT_CODE_ACCESS_DENIED           = 49,
    QUIC_TLS_ALERT_CODE_INSUFFICIENT_SECURITY   = 71,
    QUIC_TLS_ALERT_CODE_INTERNAL_ERROR          = 80,
    QUIC_TLS_ALERT_CODE_USER_CANCELED           = 90,
    QUIC_TLS_ALERT_CODE_CERTIFICATE_REQUIRED    = 116,
    QUIC_TLS_ALERT_CODE_MAX                     = 255,
} QUIC_TLS_ALERT_CODES;

/* Which member of QUIC_CREDENTIAL_CONFIG's union describes the certificate. */
typedef enum QUIC_CREDENTIAL_TYPE {
    QUIC_CREDENTIAL_TYPE_NONE,                          /* no certificate (clients) */
    QUIC_CREDENTIAL_TYPE_CERTIFICATE_HASH,              /* Windows store lookups */
    QUIC_CREDENTIAL_TYPE_CERTIFICATE_HASH_STORE,
    QUIC_CREDENTIAL_TYPE_CERTIFICATE_CONTEXT,           /* platform certificate object */
    QUIC_CREDENTIAL_TYPE_CERTIFICATE_FILE,              /* PEM certificate + key files */
    QUIC_CREDENTIAL_TYPE_CERTIFICATE_FILE_PROTECTED,    /* same, key encrypted */
    QUIC_CREDENTIAL_TYPE_CERTIFICATE_PKCS12,            /* PKCS#12 blob in memory */
} QUIC_CREDENTIAL_TYPE;

/* Options of a credential (client/server, validation, loading). */
typedef enum QUIC_CREDENTIAL_FLAGS {
    QUIC_CREDENTIAL_FLAG_NONE                                   = 0x00000000, /* server */
    QUIC_CREDENTIAL_FLAG_CLIENT                                 = 0x00000001,
    QUIC_CREDENTIAL_FLAG_LOAD_ASYNCHRONOUS                      = 0x00000002, /* completes via AsyncHandler */
    QUIC_CREDENTIAL_FLAG_NO_CERTIFICATE_VALIDATION              = 0x00000004,
    QUIC_CREDENTIAL_FLAG_ENABLE_OCSP                            = 0x00000008,
    QUIC_CREDENTIAL_FLAG_INDICATE_CERTIFICATE_RECEIVED          = 0x00000010, /* PEER_CERTIFICATE_RECEIVED event */
    QUIC_CREDENTIAL_FLAG_DEFER_CERTIFICATE_VALIDATION           = 0x00000020,
    QUIC_CREDENTIAL_FLAG_REQUIRE_CLIENT_AUTHENTICATION          = 0x00000040,
    QUIC_CREDENTIAL_FLAG_USE_TLS_BUILTIN_CERTIFICATE_VALIDATION = 0x00000080,
    QUIC_CREDENTIAL_FLAG_REVOCATION_CHECK_END_CERT              = 0x00000100,
    QUIC_CREDENTIAL_FLAG_REVOCATION_CHECK_CHAIN                 = 0x00000200,
    QUIC_CREDENTIAL_FLAG_REVOCATION_CHECK_CHAIN_EXCLUDE_ROOT    = 0x00000400,
    QUIC_CREDENTIAL_FLAG_IGNORE_NO_REVOCATION_CHECK             = 0x00000800,
    QUIC_CREDENTIAL_FLAG_IGNORE_REVOCATION_OFFLINE              = 0x00001000,
    QUIC_CREDENTIAL_FLAG_SET_ALLOWED_CIPHER_SUITES              = 0x00002000, /* AllowedCipherSuites is set */
    QUIC_CREDENTIAL_FLAG_USE_PORTABLE_CERTIFICATES              = 0x00004000, /* certificates as DER buffers */
    QUIC_CREDENTIAL_FLAG_USE_SUPPLIED_CREDENTIALS               = 0x00008000,
    QUIC_CREDENTIAL_FLAG_USE_SYSTEM_MAPPER                      = 0x00010000,
    QUIC_CREDENTIAL_FLAG_CACHE_ONLY_URL_RETRIEVAL               = 0x00020000,
    QUIC_CREDENTIAL_FLAG_REVOCATION_CHECK_CACHE_ONLY            = 0x00040000,
    QUIC_CREDENTIAL_FLAG_INPROC_PEER_CERTIFICATE                = 0x00080000,
    QUIC_CREDENTIAL_FLAG_SET_CA_CERTIFICATE_FILE                = 0x00100000, /* CaCertificateFile is set */
    QUIC_CREDENTIAL_FLAG_DISABLE_AIA                            = 0x00200000,
} QUIC_CREDENTIAL_FLAGS;

DEFINE_ENUM_FLAG_OPERATORS(QUIC_CREDENTIAL_FLAGS)

/* TLS 1.3 cipher suites a credential may restrict itself to. */
typedef enum QUIC_ALLOWED_CIPHER_SUITE_FLAGS {
    QUIC_ALLOWED_CIPHER_SUITE_NONE                      = 0x0,
    QUIC_ALLOWED_CIPHER_SUITE_AES_128_GCM_SHA256        = 0x1,
    QUIC_ALLOWED_CIPHER_SUITE_AES_256_GCM_SHA384        = 0x2,
    QUIC_ALLOWED_CIPHER_SUITE_CHACHA20_POLY1305_SHA256  = 0x4,
} QUIC_ALLOWED_CIPHER_SUITE_FLAGS;

DEFINE_ENUM_FLAG_OPERATORS(QUIC_ALLOWED_CIPHER_SUITE_FLAGS)

/* Which Windows certificate store to search (CERTIFICATE_HASH_STORE). */
typedef enum QUIC_CERTIFICATE_HASH_STORE_FLAGS {
    QUIC_CERTIFICATE_HASH_STORE_FLAG_NONE           = 0x0000,
    QUIC_CERTIFICATE_HASH_STORE_FLAG_MACHINE_STORE  = 0x0001,
} QUIC_CERTIFICATE_HASH_STORE_FLAGS;

DEFINE_ENUM_FLAG_OPERATORS(QUIC_CERTIFICATE_HASH_STORE_FLAGS)

/* Options of ConnectionShutdown / RegistrationShutdown. */
typedef enum QUIC_CONNECTION_SHUTDOWN_FLAGS {
    QUIC_CONNECTION_SHUTDOWN_FLAG_NONE      = 0x0000,
    QUIC_CONNECTION_SHUTDOWN_FLAG_SILENT    = 0x0001,   /* close without sending CONNECTION_CLOSE */
} QUIC_CONNECTION_SHUTDOWN_FLAGS;

DEFINE_ENUM_FLAG_OPERATORS(QUIC_CONNECTION_SHUTDOWN_FLAGS)

/* How far a server goes with session resumption (QUIC_SETTINGS.ServerResumptionLevel). */
typedef enum QUIC_SERVER_RESUMPTION_LEVEL {
    QUIC_SERVER_NO_RESUME,
    QUIC_SERVER_RESUME_ONLY,
    QUIC_SERVER_RESUME_AND_ZERORTT,
} QUIC_SERVER_RESUMPTION_LEVEL;

/* Options of ConnectionSendResumptionTicket. */
typedef enum QUIC_SEND_RESUMPTION_FLAGS {
    QUIC_SEND_RESUMPTION_FLAG_NONE          = 0x0000,
    QUIC_SEND_RESUMPTION_FLAG_FINAL         = 0x0001,   /* last ticket: TLS state may be freed */
} QUIC_SEND_RESUMPTION_FLAGS;

DEFINE_ENUM_FLAG_OPERATORS(QUIC_SEND_RESUMPTION_FLAGS)

/* Order in which streams with data get to send (QUIC_PARAM_CONN_STREAM_SCHEDULING_SCHEME). */
typedef enum QUIC_STREAM_SCHEDULING_SCHEME {
    QUIC_STREAM_SCHEDULING_SCHEME_FIFO          = 0x0000,   /* default */
    QUIC_STREAM_SCHEDULING_SCHEME_ROUND_ROBIN   = 0x0001,
    QUIC_STREAM_SCHEDULING_SCHEME_COUNT,                    /* number of schemes */
} QUIC_STREAM_SCHEDULING_SCHEME;

/* Options of StreamOpen (also reported in PEER_STREAM_STARTED). */
typedef enum QUIC_STREAM_OPEN_FLAGS {
    QUIC_STREAM_OPEN_FLAG_NONE                  = 0x0000,   /* bidirectional */
    QUIC_STREAM_OPEN_FLAG_UNIDIRECTIONAL        = 0x0001,
    QUIC_STREAM_OPEN_FLAG_0_RTT                 = 0x0002,   /* opened in 0-RTT */
    QUIC_STREAM_OPEN_FLAG_DELAY_ID_FC_UPDATES   = 0x0004,   /* MAX_STREAMS credit returned at StreamClose */
#ifdef QUIC_API_ENABLE_PREVIEW_FEATURES
    QUIC_STREAM_OPEN_FLAG_APP_OWNED_BUFFERS     = 0x0008,   /* receive into StreamProvideReceiveBuffers memory */
#endif
} QUIC_STREAM_OPEN_FLAGS;

DEFINE_ENUM_FLAG_OPERATORS(QUIC_STREAM_OPEN_FLAGS)

/* Options of StreamStart. */
typedef enum QUIC_STREAM_START_FLAGS {
    QUIC_STREAM_START_FLAG_NONE                 = 0x0000,
    QUIC_STREAM_START_FLAG_IMMEDIATE            = 0x0001,   /* tell the peer now, even without data */
    QUIC_STREAM_START_FLAG_FAIL_BLOCKED         = 0x0002,   /* fail if the stream limit blocks it */
    QUIC_STREAM_START_FLAG_SHUTDOWN_ON_FAIL     = 0x0004,   /* shut the stream down if start fails */
    QUIC_STREAM_START_FLAG_INDICATE_PEER_ACCEPT = 0x0008,   /* raise PEER_ACCEPTED later if blocked */
    QUIC_STREAM_START_FLAG_PRIORITY_WORK        = 0x0010,   /* ahead of other connection work */
} QUIC_STREAM_START_FLAGS;

DEFINE_ENUM_FLAG_OPERATORS(QUIC_STREAM_START_FLAGS)

/* Options of StreamShutdown. */
typedef enum QUIC_STREAM_SHUTDOWN_FLAGS {
    QUIC_STREAM_SHUTDOWN_FLAG_NONE          = 0x0000,
    QUIC_STREAM_SHUTDOWN_FLAG_GRACEFUL      = 0x0001,   /* send FIN after queued data */
    QUIC_STREAM_SHUTDOWN_FLAG_ABORT_SEND    = 0x0002,   /* RESET_STREAM */
    QUIC_STREAM_SHUTDOWN_FLAG_ABORT_RECEIVE = 0x0004,   /* STOP_SENDING */
    QUIC_STREAM_SHUTDOWN_FLAG_ABORT         = 0x0006,   /* both directions */
    QUIC_STREAM_SHUTDOWN_FLAG_IMMEDIATE     = 0x0008,   /* complete without waiting for the peer */
    QUIC_STREAM_SHUTDOWN_FLAG_INLINE        = 0x0010,   /* run inside the current callback */
} QUIC_STREAM_SHUTDOWN_FLAGS;

DEFINE_ENUM_FLAG_OPERATORS(QUIC_STREAM_SHUTDOWN_FLAGS)

/* Properties of received stream data or datagrams. */
typedef enum QUIC_RECEIVE_FLAGS {
    QUIC_RECEIVE_FLAG_NONE                  = 0x0000,
    QUIC_RECEIVE_FLAG_0_RTT                 = 0x0001,   /* arrived in 0-RTT packets */
    QUIC_RECEIVE_FLAG_FIN                   = 0x0002,   /* the data ends the stream */
} QUIC_RECEIVE_FLAGS;

DEFINE_ENUM_FLAG_OPERATORS(QUIC_RECEIVE_FLAGS)

/* Options of StreamSend and DatagramSend. */
typedef enum QUIC_SEND_FLAGS {
    QUIC_SEND_FLAG_NONE                     = 0x0000,
    QUIC_SEND_FLAG_ALLOW_0_RTT              = 0x0001,   /* may go out in 0-RTT */
    QUIC_SEND_FLAG_START                    = 0x0002,   /* start the stream if not started */
    QUIC_SEND_FLAG_FIN                      = 0x0004,   /* last data of the stream */
    QUIC_SEND_FLAG_DGRAM_PRIORITY           = 0x0008,   /* datagram ahead of others */
    QUIC_SEND_FLAG_DELAY_SEND               = 0x0010,   /* more data follows soon */
    QUIC_SEND_FLAG_CANCEL_ON_LOSS           = 0x0020,   /* abort the stream if data is lost */
    QUIC_SEND_FLAG_PRIORITY_WORK            = 0x0040,   /* ahead of other connection work */
    QUIC_SEND_FLAG_CANCEL_ON_BLOCKED        = 0x0080,   /* drop if it cannot go out now */
} QUIC_SEND_FLAGS;

DEFINE_ENUM_FLAG_OPERATORS(QUIC_SEND_FLAGS)

/* Progress of a datagram handed to DatagramSend. */
typedef enum QUIC_DATAGRAM_SEND_STATE {
    QUIC_DATAGRAM_SEND_UNKNOWN,                 /* not sent yet */
    QUIC_DATAGRAM_SEND_SENT,                    /* in flight */
    QUIC_DATAGRAM_SEND_LOST_SUSPECT,            /* probably lost, still tracked */
    QUIC_DATAGRAM_SEND_LOST_DISCARDED,          /* lost, no longer tracked (final) */
    QUIC_DATAGRAM_SEND_ACKNOWLEDGED,            /* acknowledged (final) */
    QUIC_DATAGRAM_SEND_ACKNOWLEDGED_SPURIOUS,   /* acknowledged after a loss suspicion (final) */
    QUIC_DATAGRAM_SEND_CANCELED,                /* dropped before sending (final) */
} QUIC_DATAGRAM_SEND_STATE;

/* TRUE for the states after which the library forgets the datagram. */
#define QUIC_DATAGRAM_SEND_STATE_IS_FINAL(State) \
    ((State) >= QUIC_DATAGRAM_SEND_LOST_DISCARDED)

/* ------------------------------------------------------------------------ */
/* Execution (preview): the application runs the library's work itself      */
/* ------------------------------------------------------------------------ */

#ifdef QUIC_API_ENABLE_PREVIEW_FEATURES

/* Options for the library's worker threads. */
typedef enum QUIC_GLOBAL_EXECUTION_CONFIG_FLAGS {
    QUIC_GLOBAL_EXECUTION_CONFIG_FLAG_NONE             = 0x0000,
    QUIC_GLOBAL_EXECUTION_CONFIG_FLAG_NO_IDEAL_PROC    = 0x0008,
    QUIC_GLOBAL_EXECUTION_CONFIG_FLAG_HIGH_PRIORITY    = 0x0010,
    QUIC_GLOBAL_EXECUTION_CONFIG_FLAG_AFFINITIZE       = 0x0020,
} QUIC_GLOBAL_EXECUTION_CONFIG_FLAGS;

DEFINE_ENUM_FLAG_OPERATORS(QUIC_GLOBAL_EXECUTION_CONFIG_FLAGS)

/* QUIC_PARAM_GLOBAL_EXECUTION_CONFIG: threads, polling and processors. */
typedef struct QUIC_GLOBAL_EXECUTION_CONFIG {
    QUIC_GLOBAL_EXECUTION_CONFIG_FLAGS Flags;
    uint32_t PollingIdleTimeoutUs;      /* busy-poll time before an idle worker sleeps */
    uint32_t ProcessorCount;            /* entries in ProcessorList */
    uint16_t ProcessorList[1];          /* variable length: ProcessorCount entries */
} QUIC_GLOBAL_EXECUTION_CONFIG;

/* Size of QUIC_GLOBAL_EXECUTION_CONFIG with an empty processor list. */
#define QUIC_GLOBAL_EXECUTION_CONFIG_MIN_SIZE \
    ((uint32_t)FIELD_OFFSET(QUIC_GLOBAL_EXECUTION_CONFIG, ProcessorList))

/* One application-driven execution context: its processor and event queue. */
typedef struct QUIC_EXECUTION_CONFIG {
    uint32_t IdealProcessor;
    QUIC_EVENTQ* EventQ;
} QUIC_EXECUTION_CONFIG;

/* An execution context created by ExecutionCreate. */
typedef struct QUIC_EXECUTION QUIC_EXECUTION;

/* Creates Count execution contexts, one per QUIC_EXECUTION_CONFIG. */
typedef QUIC_STATUS (QUIC_API * QUIC_EXECUTION_CREATE_FN)(
    QUIC_GLOBAL_EXECUTION_CONFIG_FLAGS Flags,
    uint32_t PollingIdleTimeoutUs,
    uint32_t Count,
    QUIC_EXECUTION_CONFIG* Configs,
    QUIC_EXECUTION** Executions
    );

/* Deletes execution contexts made by ExecutionCreate. */
typedef void (QUIC_API * QUIC_EXECUTION_DELETE_FN)(
    uint32_t Count,
    QUIC_EXECUTION** Executions
    );

/* Runs pending work of one context; returns milliseconds until its next timer. */
typedef uint32_t (QUIC_API * QUIC_EXECUTION_POLL_FN)(
    QUIC_EXECUTION* Execution
    );

#endif /* QUIC_API_ENABLE_PREVIEW_FEATURES */

/* ------------------------------------------------------------------------ */
/* Registration and credentials                                              */
/* ------------------------------------------------------------------------ */

/* Arguments of RegistrationOpen; the whole struct may be NULL. */
typedef struct QUIC_REGISTRATION_CONFIG {
    const char* AppName;                        /* optional, for diagnostics */
    QUIC_EXECUTION_PROFILE ExecutionProfile;
} QUIC_REGISTRATION_CONFIG;

/* Called when a QUIC_CREDENTIAL_FLAG_LOAD_ASYNCHRONOUS load finishes. */
typedef void (QUIC_API QUIC_CREDENTIAL_LOAD_COMPLETE)(
    HQUIC Configuration,
    void* Context,
    QUIC_STATUS Status
    );

typedef QUIC_CREDENTIAL_LOAD_COMPLETE* QUIC_CREDENTIAL_LOAD_COMPLETE_HANDLER;

/* SHA-1 thumbprint of a certificate in the Windows store. */
typedef struct QUIC_CERTIFICATE_HASH {
    uint8_t ShaHash[20];
} QUIC_CERTIFICATE_HASH;

/* SHA-1 thumbprint plus the name of the Windows store holding it. */
typedef struct QUIC_CERTIFICATE_HASH_STORE {
    QUIC_CERTIFICATE_HASH_STORE_FLAGS Flags;
    uint8_t ShaHash[20];
    char StoreName[128];
} QUIC_CERTIFICATE_HASH_STORE;

/* Paths of a PEM private key and certificate (chain). */
typedef struct QUIC_CERTIFICATE_FILE {
    const char* PrivateKeyFile;
    const char* CertificateFile;
} QUIC_CERTIFICATE_FILE;

/* Same as QUIC_CERTIFICATE_FILE for an encrypted private key. */
typedef struct QUIC_CERTIFICATE_FILE_PROTECTED {
    const char* PrivateKeyFile;
    const char* CertificateFile;
    const char* PrivateKeyPassword;
} QUIC_CERTIFICATE_FILE_PROTECTED;

/* A PKCS#12 (PFX) blob in memory; the password may be NULL. */
typedef struct QUIC_CERTIFICATE_PKCS12 {
    const uint8_t* Asn1Blob;
    uint32_t Asn1BlobLength;
    const char* PrivateKeyPassword;
} QUIC_CERTIFICATE_PKCS12;

/* Platform certificate objects, passed around as opaque pointers. */
typedef void QUIC_CERTIFICATE;
typedef void QUIC_CERTIFICATE_CHAIN;

/* Argument of ConfigurationLoadCredential: what certificate and how to use it. */
typedef struct QUIC_CREDENTIAL_CONFIG {
    QUIC_CREDENTIAL_TYPE Type;
    QUIC_CREDENTIAL_FLAGS Flags;
    union {                                     /* selected by Type */
        QUIC_CERTIFICATE_HASH* CertificateHash;
        QUIC_CERTIFICATE_HASH_STORE* CertificateHashStore;
        QUIC_CERTIFICATE* CertificateContext;
        QUIC_CERTIFICATE_FILE* CertificateFile;
        QUIC_CERTIFICATE_FILE_PROTECTED* CertificateFileProtected;
        QUIC_CERTIFICATE_PKCS12* CertificatePkcs12;
    };
    const char* Principal;                      /* Windows only */
    void* Reserved;                             /* must be NULL */
    QUIC_CREDENTIAL_LOAD_COMPLETE_HANDLER AsyncHandler; /* with LOAD_ASYNCHRONOUS */
    QUIC_ALLOWED_CIPHER_SUITE_FLAGS AllowedCipherSuites; /* with SET_ALLOWED_CIPHER_SUITES */
    const char* CaCertificateFile;              /* with SET_CA_CERTIFICATE_FILE */
} QUIC_CREDENTIAL_CONFIG;

/* Most session ticket keys a configuration holds at once. */
#define QUIC_MAX_TICKET_KEY_COUNT 16

/* A key that encrypts TLS session tickets (QUIC_PARAM_CONFIGURATION_TICKET_KEYS). */
typedef struct QUIC_TICKET_KEY_CONFIG {
    uint8_t Id[16];
    uint8_t Material[64];
    uint8_t MaterialLength;
} QUIC_TICKET_KEY_CONFIG;

/* A contiguous byte range. */
typedef struct QUIC_BUFFER {
    uint32_t Length;
    uint8_t* Buffer;
} QUIC_BUFFER;

/* What a listener knows about an incoming connection (NEW_CONNECTION event). */
typedef struct QUIC_NEW_CONNECTION_INFO {
    uint32_t QuicVersion;
    const QUIC_ADDR* LocalAddress;
    const QUIC_ADDR* RemoteAddress;
    uint32_t CryptoBufferLength;
    uint16_t ClientAlpnListLength;
    uint16_t ServerNameLength;
    uint8_t NegotiatedAlpnLength;
    const uint8_t* CryptoBuffer;                /* the client's Initial CRYPTO data */
    const uint8_t* ClientAlpnList;              /* ALPN extension body: length-prefixed names */
    const uint8_t* NegotiatedAlpn;              /* the chosen ALPN */
    const char* ServerName;                     /* SNI, not NUL terminated; may be NULL */
} QUIC_NEW_CONNECTION_INFO;

/* ------------------------------------------------------------------------ */
/* Handshake information                                                     */
/* ------------------------------------------------------------------------ */

/* TLS protocol version of a handshake. */
typedef enum QUIC_TLS_PROTOCOL_VERSION {
    QUIC_TLS_PROTOCOL_UNKNOWN   = 0,
    QUIC_TLS_PROTOCOL_1_3       = 0x3000,
} QUIC_TLS_PROTOCOL_VERSION;

/* Bulk cipher of the negotiated suite. */
typedef enum QUIC_CIPHER_ALGORITHM {
    QUIC_CIPHER_ALGORITHM_NONE        = 0,
    QUIC_CIPHER_ALGORITHM_AES_128     = 0x660E,
    QUIC_CIPHER_ALGORITHM_AES_256     = 0x6610,
    QUIC_CIPHER_ALGORITHM_CHACHA20    = 0x6612,
} QUIC_CIPHER_ALGORITHM;

/* Hash of the negotiated suite. */
typedef enum QUIC_HASH_ALGORITHM {
    QUIC_HASH_ALGORITHM_NONE        = 0,
    QUIC_HASH_ALGORITHM_SHA_256     = 0x800C,
    QUIC_HASH_ALGORITHM_SHA_384     = 0x800D,
} QUIC_HASH_ALGORITHM;

/* Key exchange algorithm (TLS 1.3 reports the group in TlsGroup instead). */
typedef enum QUIC_KEY_EXCHANGE_ALGORITHM {
    QUIC_KEY_EXCHANGE_ALGORITHM_NONE  = 0,
} QUIC_KEY_EXCHANGE_ALGORITHM;

/* Key exchange group, by its IANA TLS supported-groups code point. */
typedef enum QUIC_TLS_GROUP {
    QUIC_TLS_GROUP_UNKNOWN              = 0,
    QUIC_TLS_GROUP_SECP256R1            = 23,
    QUIC_TLS_GROUP_SECP384R1            = 24,
    QUIC_TLS_GROUP_X25519               = 29,
    QUIC_TLS_GROUP_MLKEM512             = 512,
    QUIC_TLS_GROUP_MLKEM768             = 513,
    QUIC_TLS_GROUP_MLKEM1024            = 514,
    QUIC_TLS_GROUP_SECP256R1MLKEM768    = 4587,
    QUIC_TLS_GROUP_X25519MLKEM768       = 4588,
    QUIC_TLS_GROUP_SECP384R1MLKEM1024   = 4589,
} QUIC_TLS_GROUP;

/* TLS 1.3 cipher suite code points (RFC 8446 §B.4). */
typedef enum QUIC_CIPHER_SUITE {
    QUIC_CIPHER_SUITE_TLS_AES_128_GCM_SHA256        = 0x1301,
    QUIC_CIPHER_SUITE_TLS_AES_256_GCM_SHA384        = 0x1302,
    QUIC_CIPHER_SUITE_TLS_CHACHA20_POLY1305_SHA256  = 0x1303,
} QUIC_CIPHER_SUITE;

/* Congestion controller of a connection (QUIC_SETTINGS.CongestionControlAlgorithm). */
typedef enum QUIC_CONGESTION_CONTROL_ALGORITHM {
    QUIC_CONGESTION_CONTROL_ALGORITHM_CUBIC,
#ifdef QUIC_API_ENABLE_PREVIEW_FEATURES
    QUIC_CONGESTION_CONTROL_ALGORITHM_BBR,
#endif
    QUIC_CONGESTION_CONTROL_ALGORITHM_MAX,
} QUIC_CONGESTION_CONTROL_ALGORITHM;

/* QUIC_PARAM_TLS_HANDSHAKE_INFO: what the handshake negotiated. */
typedef struct QUIC_HANDSHAKE_INFO {
    QUIC_TLS_PROTOCOL_VERSION TlsProtocolVersion;
    QUIC_CIPHER_ALGORITHM CipherAlgorithm;
    int32_t CipherStrength;                     /* key bits */
    QUIC_HASH_ALGORITHM Hash;
    int32_t HashStrength;
    QUIC_KEY_EXCHANGE_ALGORITHM KeyExchangeAlgorithm;
    int32_t KeyExchangeStrength;
    QUIC_CIPHER_SUITE CipherSuite;
    QUIC_TLS_GROUP TlsGroup;
} QUIC_HANDSHAKE_INFO;

/* ------------------------------------------------------------------------ */
/* Statistics                                                                */
/* ------------------------------------------------------------------------ */

/* QUIC_PARAM_CONN_STATISTICS(_PLAT): the original connection statistics. */
typedef struct QUIC_STATISTICS {
    uint64_t CorrelationId;
    uint32_t VersionNegotiation     : 1;
    uint32_t StatelessRetry         : 1;
    uint32_t ResumptionAttempted    : 1;
    uint32_t ResumptionSucceeded    : 1;
    uint32_t Rtt;                               /* microseconds */
    uint32_t MinRtt;                            /* microseconds */
    uint32_t MaxRtt;                            /* microseconds */
    struct {
        uint64_t Start;
        uint64_t InitialFlightEnd;              /* peer's Initial packets done */
        uint64_t HandshakeFlightEnd;            /* peer's Handshake packets done */
    } Timing;
    struct {
        uint32_t ClientFlight1Bytes;            /* TLS bytes */
        uint32_t ServerFlight1Bytes;
        uint32_t ClientFlight2Bytes;
    } Handshake;
    struct {
        uint16_t PathMtu;
        uint64_t TotalPackets;                  /* QUIC packets */
        uint64_t RetransmittablePackets;
        uint64_t SuspectedLostPackets;
        uint64_t SpuriousLostPackets;           /* suspected lost, then acknowledged */
        uint64_t TotalBytes;                    /* UDP payload bytes */
        uint64_t TotalStreamBytes;
        uint32_t CongestionCount;
        uint32_t PersistentCongestionCount;
    } Send;
    struct {
        uint64_t TotalPackets;
        uint64_t ReorderedPackets;
        uint64_t DroppedPackets;                /* duplicates included */
        uint64_t DuplicatePackets;
        uint64_t TotalBytes;
        uint64_t TotalStreamBytes;
        uint64_t DecryptionFailures;
        uint64_t ValidAckFrames;
    } Recv;
    struct {
        uint32_t KeyUpdateCount;
    } Misc;
} QUIC_STATISTICS;

/*
 * QUIC_PARAM_CONN_STATISTICS_V2(_PLAT): flat, versioned statistics. New fields
 * are only ever appended; a caller passes the size it knows (one of
 * QUIC_STATISTICS_V2_SIZE_*) and gets that prefix filled.
 */
typedef struct QUIC_STATISTICS_V2 {
    uint64_t CorrelationId;
    uint32_t VersionNegotiation     : 1;
    uint32_t StatelessRetry         : 1;
    uint32_t ResumptionAttempted    : 1;
    uint32_t ResumptionSucceeded    : 1;
    uint32_t GreaseBitNegotiated    : 1;        /* RFC 9287 */
    uint32_t EcnCapable             : 1;
    uint32_t EncryptionOffloaded    : 1;
    uint32_t RESERVED               : 25;
    uint32_t Rtt;                               /* microseconds */
    uint32_t MinRtt;
    uint32_t MaxRtt;

    uint64_t TimingStart;
    uint64_t TimingInitialFlightEnd;
    uint64_t TimingHandshakeFlightEnd;

    uint32_t HandshakeClientFlight1Bytes;
    uint32_t HandshakeServerFlight1Bytes;
    uint32_t HandshakeClientFlight2Bytes;

    uint16_t SendPathMtu;
    uint64_t SendTotalPackets;
    uint64_t SendRetransmittablePackets;
    uint64_t SendSuspectedLostPackets;
    uint64_t SendSpuriousLostPackets;
    uint64_t SendTotalBytes;
    uint64_t SendTotalStreamBytes;
    uint32_t SendCongestionCount;
    uint32_t SendPersistentCongestionCount;

    uint64_t RecvTotalPackets;
    uint64_t RecvReorderedPackets;
    uint64_t RecvDroppedPackets;
    uint64_t RecvDuplicatePackets;
    uint64_t RecvTotalBytes;
    uint64_t RecvTotalStreamBytes;
    uint64_t RecvDecryptionFailures;
    uint64_t RecvValidAckFrames;

    uint32_t KeyUpdateCount;                    /* end of version 1 */

    uint32_t SendCongestionWindow;
    uint32_t DestCidUpdateCount;                /* end of version 2 */

    uint32_t SendEcnCongestionCount;            /* end of version 3 */

    uint8_t  HandshakeHopLimitTTL;
    uint32_t RttVariance;                       /* end of version 4 */

    uint32_t ConnectionQueueDelayAvgUs;
    uint32_t ConnectionQueueDelayMaxUs;
    uint32_t SendQueueDelayAvgUs;
    uint32_t SendQueueDelayMaxUs;
    uint32_t ReceiveQueueDelayAvgUs;
    uint32_t ReceiveQueueDelayMaxUs;            /* end of version 5 */
} QUIC_STATISTICS_V2;

/* QUIC_PARAM_CONN_NETWORK_STATISTICS and the NETWORK_STATISTICS event. */
typedef struct QUIC_NETWORK_STATISTICS {
    uint32_t BytesInFlight;                     /* sent, not yet acknowledged */
    uint64_t PostedBytes;                       /* queued by the app, not yet acknowledged */
    uint64_t IdealBytes;                        /* queue depth that keeps the path busy */
    uint64_t SmoothedRTT;                       /* microseconds */
    uint32_t CongestionWindow;
    uint64_t Bandwidth;                         /* estimate */
} QUIC_NETWORK_STATISTICS;

/* Bytes of Struct up to and including Field. */
#define QUIC_STRUCT_SIZE_THRU_FIELD(Struct, Field) \
    (FIELD_OFFSET(Struct, Field) + sizeof(((Struct*)0)->Field))

/* The sizes of QUIC_STATISTICS_V2 in successive library versions. */
#define QUIC_STATISTICS_V2_SIZE_1   QUIC_STRUCT_SIZE_THRU_FIELD(QUIC_STATISTICS_V2, KeyUpdateCount)
#define QUIC_STATISTICS_V2_SIZE_2   QUIC_STRUCT_SIZE_THRU_FIELD(QUIC_STATISTICS_V2, DestCidUpdateCount)
#define QUIC_STATISTICS_V2_SIZE_3   QUIC_STRUCT_SIZE_THRU_FIELD(QUIC_STATISTICS_V2, SendEcnCongestionCount)
#define QUIC_STATISTICS_V2_SIZE_4   QUIC_STRUCT_SIZE_THRU_FIELD(QUIC_STATISTICS_V2, RttVariance)
#define QUIC_STATISTICS_V2_SIZE_5   QUIC_STRUCT_SIZE_THRU_FIELD(QUIC_STATISTICS_V2, ReceiveQueueDelayMaxUs)

/* QUIC_PARAM_LISTENER_STATS. */
typedef struct QUIC_LISTENER_STATISTICS {
    uint64_t TotalAcceptedConnections;
    uint64_t TotalRejectedConnections;
    uint64_t BindingRecvDroppedPackets;
} QUIC_LISTENER_STATISTICS;

/* Indexes into the QUIC_PARAM_GLOBAL_PERF_COUNTERS array of uint64_t. */
typedef enum QUIC_PERFORMANCE_COUNTERS {
    QUIC_PERF_COUNTER_CONN_CREATED,             /* connections ever created */
    QUIC_PERF_COUNTER_CONN_HANDSHAKE_FAIL,      /* handshakes that failed */
    QUIC_PERF_COUNTER_CONN_APP_REJECT,          /* refused by the application */
    QUIC_PERF_COUNTER_CONN_RESUMED,             /* resumed sessions */
    QUIC_PERF_COUNTER_CONN_ACTIVE,              /* connections alive now */
    QUIC_PERF_COUNTER_CONN_CONNECTED,           /* connections connected now */
    QUIC_PERF_COUNTER_CONN_PROTOCOL_ERRORS,     /* closed for a protocol error */
    QUIC_PERF_COUNTER_CONN_NO_ALPN,             /* no common ALPN */
    QUIC_PERF_COUNTER_STRM_ACTIVE,              /* streams alive now */
    QUIC_PERF_COUNTER_PKTS_SUSPECTED_LOST,
    QUIC_PERF_COUNTER_PKTS_DROPPED,
    QUIC_PERF_COUNTER_PKTS_DECRYPTION_FAIL,
    QUIC_PERF_COUNTER_UDP_RECV,                 /* datagrams */
    QUIC_PERF_COUNTER_UDP_SEND,
    QUIC_PERF_COUNTER_UDP_RECV_BYTES,
    QUIC_PERF_COUNTER_UDP_SEND_BYTES,
    QUIC_PERF_COUNTER_UDP_RECV_EVENTS,          /* receive system calls */
    QUIC_PERF_COUNTER_UDP_SEND_CALLS,           /* send system calls */
    QUIC_PERF_COUNTER_APP_SEND_BYTES,
    QUIC_PERF_COUNTER_APP_RECV_BYTES,
    QUIC_PERF_COUNTER_CONN_QUEUE_DEPTH,         /* connections waiting for a worker */
    QUIC_PERF_COUNTER_CONN_OPER_QUEUE_DEPTH,
    QUIC_PERF_COUNTER_CONN_OPER_QUEUED,
    QUIC_PERF_COUNTER_CONN_OPER_COMPLETED,
    QUIC_PERF_COUNTER_WORK_OPER_QUEUE_DEPTH,
    QUIC_PERF_COUNTER_WORK_OPER_QUEUED,
    QUIC_PERF_COUNTER_WORK_OPER_COMPLETED,
    QUIC_PERF_COUNTER_PATH_VALIDATED,
    QUIC_PERF_COUNTER_PATH_FAILURE,
    QUIC_PERF_COUNTER_SEND_STATELESS_RESET,
    QUIC_PERF_COUNTER_SEND_STATELESS_RETRY,
    QUIC_PERF_COUNTER_CONN_LOAD_REJECT,         /* refused because workers are overloaded */
    QUIC_PERF_COUNTER_LISTEN_QUEUE_DEPTH,       /* connections waiting to be accepted */
    QUIC_PERF_COUNTER_ENCRYPT_DURATION_US,      /* time spent encrypting */
    QUIC_PERF_COUNTER_DECRYPT_DURATION_US,      /* time spent decrypting */
    QUIC_PERF_COUNTER_MAX,                      /* number of counters */
} QUIC_PERFORMANCE_COUNTERS;

/* ------------------------------------------------------------------------ */
/* Settings                                                                  */
/* ------------------------------------------------------------------------ */

#ifdef QUIC_API_ENABLE_PREVIEW_FEATURES
/* QUIC versions to accept, offer and treat as deployed (RFC 9368 negotiation). */
typedef struct QUIC_VERSION_SETTINGS {
    const uint32_t* AcceptableVersions;
    const uint32_t* OfferedVersions;
    const uint32_t* FullyDeployedVersions;
    uint32_t AcceptableVersionsLength;
    uint32_t OfferedVersionsLength;
    uint32_t FullyDeployedVersionsLength;
} QUIC_VERSION_SETTINGS;
#endif

/* QUIC_PARAM_GLOBAL_GLOBAL_SETTINGS: process-wide knobs; IsSet says which apply. */
typedef struct QUIC_GLOBAL_SETTINGS {
    union {
        uint64_t IsSetFlags;
        struct {
            uint64_t RetryMemoryLimit                       : 1;
            uint64_t LoadBalancingMode                      : 1;
            uint64_t FixedServerID                          : 1;
            uint64_t RESERVED                               : 61;
        } IsSet;
    };
    uint16_t RetryMemoryLimit;                  /* share of memory (of 65535) before Retry */
    uint16_t LoadBalancingMode;                 /* QUIC_LOAD_BALANCING_MODE */
    uint32_t FixedServerID;
} QUIC_GLOBAL_SETTINGS;

/*
 * Connection settings, at global, configuration or connection level. Only
 * the fields whose IsSet bit is 1 are applied; the others keep their value.
 */
typedef struct QUIC_SETTINGS {
    union {
        uint64_t IsSetFlags;
        struct {
            uint64_t MaxBytesPerKey                         : 1;
            uint64_t HandshakeIdleTimeoutMs                 : 1;
            uint64_t IdleTimeoutMs                          : 1;
            uint64_t MtuDiscoverySearchCompleteTimeoutUs    : 1;
            uint64_t TlsClientMaxSendBuffer                 : 1;
            uint64_t TlsServerMaxSendBuffer                 : 1;
            uint64_t StreamRecvWindowDefault                : 1;
            uint64_t StreamRecvBufferDefault                : 1;
            uint64_t ConnFlowControlWindow                  : 1;
            uint64_t MaxWorkerQueueDelayUs                  : 1;
            uint64_t MaxStatelessOperations                 : 1;
            uint64_t InitialWindowPackets                   : 1;
            uint64_t SendIdleTimeoutMs                      : 1;
            uint64_t InitialRttMs                           : 1;
            uint64_t MaxAckDelayMs                          : 1;
            uint64_t DisconnectTimeoutMs                    : 1;
            uint64_t KeepAliveIntervalMs                    : 1;
            uint64_t CongestionControlAlgorithm             : 1;
            uint64_t PeerBidiStreamCount                    : 1;
            uint64_t PeerUnidiStreamCount                   : 1;
            uint64_t MaxBindingStatelessOperations          : 1;
            uint64_t StatelessOperationExpirationMs         : 1;
            uint64_t MinimumMtu                             : 1;
            uint64_t MaximumMtu                             : 1;
            uint64_t SendBufferingEnabled                   : 1;
            uint64_t PacingEnabled                          : 1;
            uint64_t MigrationEnabled                       : 1;
            uint64_t DatagramReceiveEnabled                 : 1;
            uint64_t ServerResumptionLevel                  : 1;
            uint64_t MaxOperationsPerDrain                  : 1;
            uint64_t MtuDiscoveryMissingProbeCount          : 1;
            uint64_t DestCidUpdateIdleTimeoutMs             : 1;
            uint64_t GreaseQuicBitEnabled                   : 1;
            uint64_t EcnEnabled                             : 1;
            uint64_t HyStartEnabled                         : 1;
            uint64_t StreamRecvWindowBidiLocalDefault       : 1;
            uint64_t StreamRecvWindowBidiRemoteDefault      : 1;
            uint64_t StreamRecvWindowUnidiDefault           : 1;
#ifdef QUIC_API_ENABLE_PREVIEW_FEATURES
            uint64_t EncryptionOffloadAllowed               : 1;
            uint64_t ReliableResetEnabled                   : 1;
            uint64_t OneWayDelayEnabled                     : 1;
            uint64_t NetStatsEventEnabled                   : 1;
            uint64_t StreamMultiReceiveEnabled              : 1;
            uint64_t XdpEnabled                             : 1;
            uint64_t QTIPEnabled                            : 1;
            uint64_t ReservedRioEnabled                     : 1;
            uint64_t RESERVED                               : 18;
#else
            uint64_t RESERVED                               : 26;
#endif
        } IsSet;
    };

    uint64_t MaxBytesPerKey;                    /* bytes before a key update */
    uint64_t HandshakeIdleTimeoutMs;
    uint64_t IdleTimeoutMs;                     /* max_idle_timeout (RFC 9000 §10.1) */
    uint64_t MtuDiscoverySearchCompleteTimeoutUs;
    uint32_t TlsClientMaxSendBuffer;
    uint32_t TlsServerMaxSendBuffer;
    uint32_t StreamRecvWindowDefault;           /* initial stream flow control window */
    uint32_t StreamRecvBufferDefault;
    uint32_t ConnFlowControlWindow;             /* initial_max_data */
    uint32_t MaxWorkerQueueDelayUs;
    uint32_t MaxStatelessOperations;
    uint32_t InitialWindowPackets;              /* initial congestion window, in packets */
    uint32_t SendIdleTimeoutMs;                 /* reset the congestion window after idle */
    uint32_t InitialRttMs;                      /* kInitialRtt (RFC 9002 §6.2.2) */
    uint32_t MaxAckDelayMs;                     /* max_ack_delay */
    uint32_t DisconnectTimeoutMs;               /* give up on an unresponsive peer */
    uint32_t KeepAliveIntervalMs;               /* 0: no keep-alive */
    uint16_t CongestionControlAlgorithm;        /* QUIC_CONGESTION_CONTROL_ALGORITHM */
    uint16_t PeerBidiStreamCount;               /* initial_max_streams_bidi */
    uint16_t PeerUnidiStreamCount;              /* initial_max_streams_uni */
    uint16_t MaxBindingStatelessOperations;
    uint16_t StatelessOperationExpirationMs;
    uint16_t MinimumMtu;
    uint16_t MaximumMtu;
    uint8_t SendBufferingEnabled            : 1;
    uint8_t PacingEnabled                   : 1;
    uint8_t MigrationEnabled                : 1;
    uint8_t DatagramReceiveEnabled          : 1; /* RFC 9221 */
    uint8_t ServerResumptionLevel           : 2; /* QUIC_SERVER_RESUMPTION_LEVEL */
    uint8_t GreaseQuicBitEnabled            : 1; /* RFC 9287 */
    uint8_t EcnEnabled                      : 1;
    uint8_t MaxOperationsPerDrain;
    uint8_t MtuDiscoveryMissingProbeCount;
    uint32_t DestCidUpdateIdleTimeoutMs;
    union {
        uint64_t Flags;
        struct {
            uint64_t HyStartEnabled            : 1;
#ifdef QUIC_API_ENABLE_PREVIEW_FEATURES
            uint64_t EncryptionOffloadAllowed  : 1;
            uint64_t ReliableResetEnabled      : 1;
            uint64_t OneWayDelayEnabled        : 1;
            uint64_t NetStatsEventEnabled      : 1;
            uint64_t StreamMultiReceiveEnabled : 1;
            uint64_t XdpEnabled                : 1;
            uint64_t QTIPEnabled               : 1;
            uint64_t ReservedRioEnabled        : 1;
            uint64_t ReservedFlags             : 55;
#else
            uint64_t ReservedFlags             : 63;
#endif
        };
    };
    uint32_t StreamRecvWindowBidiLocalDefault;
    uint32_t StreamRecvWindowBidiRemoteDefault;
    uint32_t StreamRecvWindowUnidiDefault;
} QUIC_SETTINGS;

/* QUIC_PARAM_CONN_TLS_SECRETS: handshake secrets for SSLKEYLOGFILE-style debugging. */
#define QUIC_TLS_SECRETS_MAX_SECRET_LEN 64
typedef struct QUIC_TLS_SECRETS {
    uint8_t SecretLength;
    struct {
        uint8_t ClientRandom : 1;
        uint8_t ClientEarlyTrafficSecret : 1;
        uint8_t ClientHandshakeTrafficSecret : 1;
        uint8_t ServerHandshakeTrafficSecret : 1;
        uint8_t ClientTrafficSecret0 : 1;
        uint8_t ServerTrafficSecret0 : 1;
    } IsSet;
    uint8_t ClientRandom[32];
    uint8_t ClientEarlyTrafficSecret[QUIC_TLS_SECRETS_MAX_SECRET_LEN];
    uint8_t ClientHandshakeTrafficSecret[QUIC_TLS_SECRETS_MAX_SECRET_LEN];
    uint8_t ServerHandshakeTrafficSecret[QUIC_TLS_SECRETS_MAX_SECRET_LEN];
    uint8_t ClientTrafficSecret0[QUIC_TLS_SECRETS_MAX_SECRET_LEN];
    uint8_t ServerTrafficSecret0[QUIC_TLS_SECRETS_MAX_SECRET_LEN];
} QUIC_TLS_SECRETS;

/* QUIC_PARAM_STREAM_STATISTICS: time a stream spent blocked, by cause. */
typedef struct QUIC_STREAM_STATISTICS {
    uint64_t ConnBlockedBySchedulingUs;
    uint64_t ConnBlockedByPacingUs;
    uint64_t ConnBlockedByAmplificationProtUs;
    uint64_t ConnBlockedByCongestionControlUs;
    uint64_t ConnBlockedByFlowControlUs;
    uint64_t StreamBlockedByIdFlowControlUs;
    uint64_t StreamBlockedByFlowControlUs;
    uint64_t StreamBlockedByAppUs;
} QUIC_STREAM_STATISTICS;

/* AEAD that protects Retry tokens. */
typedef enum QUIC_AEAD_ALGORITHM_TYPE {
    QUIC_AEAD_ALGORITHM_AES_128_GCM = 0,
    QUIC_AEAD_ALGORITHM_AES_256_GCM = 1,
} QUIC_AEAD_ALGORITHM_TYPE;

/* QUIC_PARAM_GLOBAL_STATELESS_RETRY_CONFIG: the Retry token key and its rotation. */
typedef struct QUIC_STATELESS_RETRY_CONFIG {
    QUIC_AEAD_ALGORITHM_TYPE Algorithm;
    uint32_t RotationMs;
    uint32_t SecretLength;                      /* must equal the AEAD key length */
    const uint8_t* Secret;
} QUIC_STATELESS_RETRY_CONFIG;

#ifdef QUIC_API_ENABLE_PREVIEW_FEATURES
/* QUIC_PARAM_GLOBAL_XDP_MAP_CONFIG entry: an XDP socket map for one interface. */
typedef struct QUIC_XDP_MAP_CONFIG {
    uint32_t InterfaceIndex;
    QUIC_XDP_MAP_HANDLE MapHandle;
} QUIC_XDP_MAP_CONFIG;
#endif

/* ------------------------------------------------------------------------ */
/* Handle context and callback                                               */
/* ------------------------------------------------------------------------ */

/* Stores an application pointer on a handle. */
typedef void (QUIC_API * QUIC_SET_CONTEXT_FN)(
    HQUIC Handle,
    void* Context
    );

/* Returns the application pointer stored on a handle. */
typedef void* (QUIC_API * QUIC_GET_CONTEXT_FN)(
    HQUIC Handle
    );

/* Replaces a handle's event callback (of the handle's own kind) and context. */
typedef void (QUIC_API * QUIC_SET_CALLBACK_HANDLER_FN)(
    HQUIC Handle,
    void* Handler,
    void* Context
    );

/* ------------------------------------------------------------------------ */
/* Parameters (GetParam / SetParam)                                          */
/* ------------------------------------------------------------------------ */

/* The top byte of a parameter says what kind of handle it belongs to. */
#define QUIC_PARAM_PREFIX_GLOBAL                        0x01000000
#define QUIC_PARAM_PREFIX_REGISTRATION                  0x02000000
#define QUIC_PARAM_PREFIX_CONFIGURATION                 0x03000000
#define QUIC_PARAM_PREFIX_LISTENER                      0x04000000
#define QUIC_PARAM_PREFIX_CONNECTION                    0x05000000
#define QUIC_PARAM_PREFIX_TLS                           0x06000000
#define QUIC_PARAM_PREFIX_TLS_SCHANNEL                  0x07000000
#define QUIC_PARAM_PREFIX_STREAM                        0x08000000

/* Or-ed into a parameter: process the request ahead of queued work. */
#define QUIC_PARAM_HIGH_PRIORITY                        0x40000000

/* TRUE for global parameters (their handle argument is ignored, pass NULL). */
#define QUIC_PARAM_IS_GLOBAL(Param) (((Param) & 0x3F000000) == QUIC_PARAM_PREFIX_GLOBAL)

/* Global parameters: value type in the comment. */
#define QUIC_PARAM_GLOBAL_RETRY_MEMORY_PERCENT          0x01000000  /* uint16_t */
#define QUIC_PARAM_GLOBAL_SUPPORTED_VERSIONS            0x01000001  /* uint32_t[], get only */
#define QUIC_PARAM_GLOBAL_LOAD_BALACING_MODE            0x01000002  /* uint16_t (QUIC_LOAD_BALANCING_MODE) */
#define QUIC_PARAM_GLOBAL_PERF_COUNTERS                 0x01000003  /* uint64_t[QUIC_PERF_COUNTER_MAX], get only */
#define QUIC_PARAM_GLOBAL_LIBRARY_VERSION               0x01000004  /* uint32_t[4], get only */
#define QUIC_PARAM_GLOBAL_SETTINGS                      0x01000005  /* QUIC_SETTINGS */
#define QUIC_PARAM_GLOBAL_GLOBAL_SETTINGS               0x01000006  /* QUIC_GLOBAL_SETTINGS */
#ifdef QUIC_API_ENABLE_PREVIEW_FEATURES
#define QUIC_PARAM_GLOBAL_VERSION_SETTINGS              0x01000007  /* QUIC_VERSION_SETTINGS */
#endif
#define QUIC_PARAM_GLOBAL_LIBRARY_GIT_HASH              0x01000008  /* char[], get only */
#ifdef QUIC_API_ENABLE_PREVIEW_FEATURES
#define QUIC_PARAM_GLOBAL_EXECUTION_CONFIG              0x01000009  /* QUIC_GLOBAL_EXECUTION_CONFIG */
#endif
#define QUIC_PARAM_GLOBAL_TLS_PROVIDER                  0x0100000A  /* QUIC_TLS_PROVIDER, get only */
#define QUIC_PARAM_GLOBAL_STATELESS_RESET_KEY           0x0100000B  /* uint8_t[QUIC_STATELESS_RESET_KEY_LENGTH], set only */
#define QUIC_PARAM_GLOBAL_STATISTICS_V2_SIZES           0x0100000C  /* uint32_t[], get only */
#define QUIC_PARAM_GLOBAL_STATELESS_RETRY_CONFIG        0x0100000D  /* QUIC_STATELESS_RETRY_CONFIG, set only */
#ifdef QUIC_API_ENABLE_PREVIEW_FEATURES
#define QUIC_PARAM_GLOBAL_XDP_MAP_CONFIG                0x0100000E  /* QUIC_XDP_MAP_CONFIG[] */
#endif

/* Registration parameters: none defined. */

/* Configuration parameters. */
#define QUIC_PARAM_CONFIGURATION_SETTINGS               0x03000000  /* QUIC_SETTINGS */
#define QUIC_PARAM_CONFIGURATION_TICKET_KEYS            0x03000001  /* QUIC_TICKET_KEY_CONFIG[], set only */
#ifdef QUIC_API_ENABLE_PREVIEW_FEATURES
#define QUIC_PARAM_CONFIGURATION_VERSION_SETTINGS       0x03000002  /* QUIC_VERSION_SETTINGS */
#endif

/* A Schannel credential attribute (Windows only; accepted here for source compatibility). */
typedef struct QUIC_SCHANNEL_CREDENTIAL_ATTRIBUTE_W {
    unsigned long Attribute;
    unsigned long BufferLength;
    void* Buffer;
} QUIC_SCHANNEL_CREDENTIAL_ATTRIBUTE_W;
#define QUIC_PARAM_CONFIGURATION_SCHANNEL_CREDENTIAL_ATTRIBUTE_W  0x03000003

/* Listener parameters. */
#define QUIC_PARAM_LISTENER_LOCAL_ADDRESS               0x04000000  /* QUIC_ADDR, get only */
#define QUIC_PARAM_LISTENER_STATS                       0x04000001  /* QUIC_LISTENER_STATISTICS, get only */
#ifdef QUIC_API_ENABLE_PREVIEW_FEATURES
#define QUIC_PARAM_LISTENER_CIBIR_ID                    0x04000002  /* uint8_t[]: offset, then ID bytes */
#endif
#define QUIC_PARAM_DOS_MODE_EVENTS                      0x04000004  /* BOOLEAN */
#ifdef QUIC_API_ENABLE_PREVIEW_FEATURES
#define QUIC_PARAM_LISTENER_PARTITION_INDEX             0x04000005  /* uint16_t */
#endif

/* Connection parameters. */
#define QUIC_PARAM_CONN_QUIC_VERSION                    0x05000000  /* uint32_t */
#define QUIC_PARAM_CONN_LOCAL_ADDRESS                   0x05000001  /* QUIC_ADDR */
#define QUIC_PARAM_CONN_REMOTE_ADDRESS                  0x05000002  /* QUIC_ADDR */
#define QUIC_PARAM_CONN_IDEAL_PROCESSOR                 0x05000003  /* uint16_t */
#define QUIC_PARAM_CONN_SETTINGS                        0x05000004  /* QUIC_SETTINGS */
#define QUIC_PARAM_CONN_STATISTICS                      0x05000005  /* QUIC_STATISTICS */
#define QUIC_PARAM_CONN_STATISTICS_PLAT                 0x05000006  /* QUIC_STATISTICS */
#define QUIC_PARAM_CONN_SHARE_UDP_BINDING               0x05000007  /* BOOLEAN */
#define QUIC_PARAM_CONN_LOCAL_BIDI_STREAM_COUNT         0x05000008  /* uint16_t */
#define QUIC_PARAM_CONN_LOCAL_UNIDI_STREAM_COUNT        0x05000009  /* uint16_t */
#define QUIC_PARAM_CONN_MAX_STREAM_IDS                  0x0500000A  /* uint64_t[4] */
#define QUIC_PARAM_CONN_CLOSE_REASON_PHRASE             0x0500000B  /* char[] */
#define QUIC_PARAM_CONN_STREAM_SCHEDULING_SCHEME        0x0500000C  /* QUIC_STREAM_SCHEDULING_SCHEME */
#define QUIC_PARAM_CONN_DATAGRAM_RECEIVE_ENABLED        0x0500000D  /* BOOLEAN */
#define QUIC_PARAM_CONN_DATAGRAM_SEND_ENABLED           0x0500000E  /* BOOLEAN */
#define QUIC_PARAM_CONN_RESUMPTION_TICKET               0x05000010  /* uint8_t[] */
#define QUIC_PARAM_CONN_PEER_CERTIFICATE_VALID          0x05000011  /* BOOLEAN */
#define QUIC_PARAM_CONN_LOCAL_INTERFACE                 0x05000012  /* uint32_t */
#define QUIC_PARAM_CONN_TLS_SECRETS                     0x05000013  /* QUIC_TLS_SECRETS */
#ifdef QUIC_API_ENABLE_PREVIEW_FEATURES
#define QUIC_PARAM_CONN_VERSION_SETTINGS                0x05000014  /* QUIC_VERSION_SETTINGS */
#define QUIC_PARAM_CONN_CIBIR_ID                        0x05000015  /* uint8_t[]: offset, then ID bytes */
#endif
#define QUIC_PARAM_CONN_STATISTICS_V2                   0x05000016  /* QUIC_STATISTICS_V2 */
#define QUIC_PARAM_CONN_STATISTICS_V2_PLAT              0x05000017  /* QUIC_STATISTICS_V2 */
#define QUIC_PARAM_CONN_ORIG_DEST_CID                   0x05000018  /* uint8_t[] */
#define QUIC_PARAM_CONN_SEND_DSCP                       0x05000019  /* uint8_t */
#ifdef QUIC_API_ENABLE_PREVIEW_FEATURES
#define QUIC_PARAM_CONN_CLOSE_ASYNC                     0x0500001A  /* BOOLEAN */
#define QUIC_PARAM_CONN_NETWORK_STATISTICS              0x05000020  /* QUIC_NETWORK_STATISTICS */
#endif

/* TLS parameters (on a connection handle). */
#define QUIC_PARAM_TLS_HANDSHAKE_INFO                   0x06000000  /* QUIC_HANDSHAKE_INFO */
#define QUIC_PARAM_TLS_NEGOTIATED_ALPN                  0x06000001  /* uint8_t[] (up to 255) */

/* Stream parameters. */
#define QUIC_PARAM_STREAM_ID                            0x08000000  /* QUIC_UINT62 */
#define QUIC_PARAM_STREAM_0RTT_LENGTH                   0x08000001  /* uint64_t */
#define QUIC_PARAM_STREAM_IDEAL_SEND_BUFFER_SIZE        0x08000002  /* uint64_t */
#define QUIC_PARAM_STREAM_PRIORITY                      0x08000003  /* uint16_t, default 0x7FFF */
#define QUIC_PARAM_STREAM_STATISTICS                    0x08000004  /* QUIC_STREAM_STATISTICS */
#ifdef QUIC_API_ENABLE_PREVIEW_FEATURES
#define QUIC_PARAM_STREAM_RELIABLE_OFFSET               0x08000005  /* uint64_t */
#endif

/* Sets a parameter; Handle is ignored (NULL) for global parameters. */
typedef QUIC_STATUS (QUIC_API * QUIC_SET_PARAM_FN)(
    HQUIC Handle,
    uint32_t Param,
    uint32_t BufferLength,
    const void* Buffer
    );

/*
 * Reads a parameter. *BufferLength is the buffer size on input and the value
 * size on output; too small (or Buffer NULL) gives QUIC_STATUS_BUFFER_TOO_SMALL
 * with the needed size in *BufferLength.
 */
typedef QUIC_STATUS (QUIC_API * QUIC_GET_PARAM_FN)(
    HQUIC Handle,
    uint32_t Param,
    uint32_t* BufferLength,
    void* Buffer
    );

/* ------------------------------------------------------------------------ */
/* Registration                                                              */
/* ------------------------------------------------------------------------ */

/* Opens a registration, the root of an application's objects. */
typedef QUIC_STATUS (QUIC_API * QUIC_REGISTRATION_OPEN_FN)(
    const QUIC_REGISTRATION_CONFIG* Config,
    HQUIC* Registration
    );

/* Closes a registration, waiting until all its children are closed. Not from a callback. */
typedef void (QUIC_API * QUIC_REGISTRATION_CLOSE_FN)(
    HQUIC Registration
    );

/* Shuts down every connection of the registration. */
typedef void (QUIC_API * QUIC_REGISTRATION_SHUTDOWN_FN)(
    HQUIC Registration,
    QUIC_CONNECTION_SHUTDOWN_FLAGS Flags,
    QUIC_UINT62 ErrorCode
    );

#ifdef QUIC_API_ENABLE_PREVIEW_FEATURES
/* Called once a RegistrationClose2 has finished. */
typedef void (QUIC_API QUIC_REGISTRATION_CLOSE_CALLBACK)(
    void* Context
    );

typedef QUIC_REGISTRATION_CLOSE_CALLBACK* QUIC_REGISTRATION_CLOSE_CALLBACK_HANDLER;

/* Closes a registration without blocking; Handler runs when the children are gone. */
typedef void (QUIC_API * QUIC_REGISTRATION_CLOSE2_FN)(
    HQUIC Registration,
    QUIC_REGISTRATION_CLOSE_CALLBACK_HANDLER Handler,
    void* Context
    );
#endif

/* ------------------------------------------------------------------------ */
/* Configuration                                                             */
/* ------------------------------------------------------------------------ */

/* Opens a configuration: ALPN list (1..n entries of 1..255 bytes) and optional settings. */
typedef QUIC_STATUS (QUIC_API * QUIC_CONFIGURATION_OPEN_FN)(
    HQUIC Registration,
    const QUIC_BUFFER* const AlpnBuffers,
    uint32_t AlpnBufferCount,
    const QUIC_SETTINGS* Settings,
    uint32_t SettingsSize,
    void* Context,
    HQUIC* Configuration
    );

/* Closes a configuration (connections using it keep their own reference). */
typedef void (QUIC_API * QUIC_CONFIGURATION_CLOSE_FN)(
    HQUIC Configuration
    );

/* Loads the TLS credential of a configuration. */
typedef QUIC_STATUS (QUIC_API * QUIC_CONFIGURATION_LOAD_CREDENTIAL_FN)(
    HQUIC Configuration,
    const QUIC_CREDENTIAL_CONFIG* CredConfig
    );

/* ------------------------------------------------------------------------ */
/* Listener                                                                  */
/* ------------------------------------------------------------------------ */

/* Kinds of listener event. */
typedef enum QUIC_LISTENER_EVENT_TYPE {
    QUIC_LISTENER_EVENT_NEW_CONNECTION      = 0,    /* accept (set a configuration) or refuse */
    QUIC_LISTENER_EVENT_STOP_COMPLETE       = 1,    /* ListenerStop has finished */
    QUIC_LISTENER_EVENT_DOS_MODE_CHANGED    = 2,    /* with QUIC_PARAM_DOS_MODE_EVENTS */
} QUIC_LISTENER_EVENT_TYPE;

/* A listener event; the member named after Type is valid. */
typedef struct QUIC_LISTENER_EVENT {
    QUIC_LISTENER_EVENT_TYPE Type;
    union {
        struct {
            const QUIC_NEW_CONNECTION_INFO* Info;
            HQUIC Connection;                   /* owned by the app once accepted */
        } NEW_CONNECTION;
        struct {
            BOOLEAN AppCloseInProgress  : 1;
            BOOLEAN RESERVED            : 7;
        } STOP_COMPLETE;
        struct {
            BOOLEAN DosModeEnabled : 1;
            BOOLEAN RESERVED       : 7;
        } DOS_MODE_CHANGED;
    };
} QUIC_LISTENER_EVENT;

/* The listener event callback. */
typedef QUIC_STATUS (QUIC_API QUIC_LISTENER_CALLBACK)(
    HQUIC Listener,
    void* Context,
    QUIC_LISTENER_EVENT* Event
    );

typedef QUIC_LISTENER_CALLBACK* QUIC_LISTENER_CALLBACK_HANDLER;

/* Opens a listener on a registration. */
typedef QUIC_STATUS (QUIC_API * QUIC_LISTENER_OPEN_FN)(
    HQUIC Registration,
    QUIC_LISTENER_CALLBACK_HANDLER Handler,
    void* Context,
    HQUIC* Listener
    );

/* Closes a listener, stopping it first if needed. */
typedef void (QUIC_API * QUIC_LISTENER_CLOSE_FN)(
    HQUIC Listener
    );

/* Starts accepting connections for the given ALPNs on LocalAddress (NULL: any). */
typedef QUIC_STATUS (QUIC_API * QUIC_LISTENER_START_FN)(
    HQUIC Listener,
    const QUIC_BUFFER* const AlpnBuffers,
    uint32_t AlpnBufferCount,
    const QUIC_ADDR* LocalAddress
    );

/* Stops accepting; STOP_COMPLETE follows. */
typedef void (QUIC_API * QUIC_LISTENER_STOP_FN)(
    HQUIC Listener
    );

/* ------------------------------------------------------------------------ */
/* Connection                                                                */
/* ------------------------------------------------------------------------ */

/* Kinds of connection event. */
typedef enum QUIC_CONNECTION_EVENT_TYPE {
    QUIC_CONNECTION_EVENT_CONNECTED                         = 0,
    QUIC_CONNECTION_EVENT_SHUTDOWN_INITIATED_BY_TRANSPORT   = 1,    /* error, idle timeout, ... */
    QUIC_CONNECTION_EVENT_SHUTDOWN_INITIATED_BY_PEER        = 2,    /* peer's application closed */
    QUIC_CONNECTION_EVENT_SHUTDOWN_COMPLETE                 = 3,    /* the handle may now be closed */
    QUIC_CONNECTION_EVENT_LOCAL_ADDRESS_CHANGED             = 4,
    QUIC_CONNECTION_EVENT_PEER_ADDRESS_CHANGED              = 5,
    QUIC_CONNECTION_EVENT_PEER_STREAM_STARTED               = 6,
    QUIC_CONNECTION_EVENT_STREAMS_AVAILABLE                 = 7,
    QUIC_CONNECTION_EVENT_PEER_NEEDS_STREAMS                = 8,
    QUIC_CONNECTION_EVENT_IDEAL_PROCESSOR_CHANGED           = 9,
    QUIC_CONNECTION_EVENT_DATAGRAM_STATE_CHANGED            = 10,
    QUIC_CONNECTION_EVENT_DATAGRAM_RECEIVED                 = 11,
    QUIC_CONNECTION_EVENT_DATAGRAM_SEND_STATE_CHANGED       = 12,
    QUIC_CONNECTION_EVENT_RESUMED                           = 13,   /* server: resumption state */
    QUIC_CONNECTION_EVENT_RESUMPTION_TICKET_RECEIVED        = 14,   /* client: ticket to store */
    QUIC_CONNECTION_EVENT_PEER_CERTIFICATE_RECEIVED         = 15,   /* with INDICATE_CERTIFICATE_RECEIVED */
#ifdef QUIC_API_ENABLE_PREVIEW_FEATURES
    QUIC_CONNECTION_EVENT_RELIABLE_RESET_NEGOTIATED         = 16,
    QUIC_CONNECTION_EVENT_ONE_WAY_DELAY_NEGOTIATED          = 17,
    QUIC_CONNECTION_EVENT_NETWORK_STATISTICS                = 18,
#endif
} QUIC_CONNECTION_EVENT_TYPE;

/* A connection event; the member named after Type is valid. */
typedef struct QUIC_CONNECTION_EVENT {
    QUIC_CONNECTION_EVENT_TYPE Type;
    union {
        struct {
            BOOLEAN SessionResumed;
            uint8_t NegotiatedAlpnLength;
            const uint8_t* NegotiatedAlpn;
        } CONNECTED;
        struct {
            QUIC_STATUS Status;
            QUIC_UINT62 ErrorCode;              /* the transport error code on the wire */
        } SHUTDOWN_INITIATED_BY_TRANSPORT;
        struct {
            QUIC_UINT62 ErrorCode;              /* the peer application's error code */
        } SHUTDOWN_INITIATED_BY_PEER;
        struct {
            BOOLEAN HandshakeCompleted          : 1;
            BOOLEAN PeerAcknowledgedShutdown    : 1;
            BOOLEAN AppCloseInProgress          : 1;
        } SHUTDOWN_COMPLETE;
        struct {
            const QUIC_ADDR* Address;
        } LOCAL_ADDRESS_CHANGED;
        struct {
            const QUIC_ADDR* Address;
        } PEER_ADDRESS_CHANGED;
        struct {
            HQUIC Stream;                       /* owned by the app */
            QUIC_STREAM_OPEN_FLAGS Flags;
        } PEER_STREAM_STARTED;
        struct {
            uint16_t BidirectionalCount;
            uint16_t UnidirectionalCount;
        } STREAMS_AVAILABLE;
        struct {
            BOOLEAN Bidirectional;
        } PEER_NEEDS_STREAMS;
        struct {
            uint16_t IdealProcessor;
            uint16_t PartitionIndex;
        } IDEAL_PROCESSOR_CHANGED;
        struct {
            BOOLEAN SendEnabled;
            uint16_t MaxSendLength;
        } DATAGRAM_STATE_CHANGED;
        struct {
            const QUIC_BUFFER* Buffer;
            QUIC_RECEIVE_FLAGS Flags;
        } DATAGRAM_RECEIVED;
        struct {
            void* ClientContext;                /* the DatagramSend context */
            QUIC_DATAGRAM_SEND_STATE State;
        } DATAGRAM_SEND_STATE_CHANGED;
        struct {
            uint16_t ResumptionStateLength;
            const uint8_t* ResumptionState;
        } RESUMED;
        struct {
            uint32_t ResumptionTicketLength;
            const uint8_t* ResumptionTicket;
        } RESUMPTION_TICKET_RECEIVED;
        struct {
            QUIC_CERTIFICATE* Certificate;      /* valid during the callback only */
            uint32_t DeferredErrorFlags;        /* QUIC_CERTIFICATE_FLAG_* */
            QUIC_STATUS DeferredStatus;
            QUIC_CERTIFICATE_CHAIN* Chain;      /* valid during the callback only */
        } PEER_CERTIFICATE_RECEIVED;
#ifdef QUIC_API_ENABLE_PREVIEW_FEATURES
        struct {
            BOOLEAN IsNegotiated;
        } RELIABLE_RESET_NEGOTIATED;
        struct {
            BOOLEAN SendNegotiated;
            BOOLEAN ReceiveNegotiated;
        } ONE_WAY_DELAY_NEGOTIATED;
        QUIC_NETWORK_STATISTICS NETWORK_STATISTICS;
#endif
    };
} QUIC_CONNECTION_EVENT;

/* The connection event callback. */
typedef QUIC_STATUS (QUIC_API QUIC_CONNECTION_CALLBACK)(
    HQUIC Connection,
    void* Context,
    QUIC_CONNECTION_EVENT* Event
    );

typedef QUIC_CONNECTION_CALLBACK* QUIC_CONNECTION_CALLBACK_HANDLER;

/* Opens a (client) connection. */
typedef QUIC_STATUS (QUIC_API * QUIC_CONNECTION_OPEN_FN)(
    HQUIC Registration,
    QUIC_CONNECTION_CALLBACK_HANDLER Handler,
    void* Context,
    HQUIC* Connection
    );

/* Opens a connection bound to one partition (worker) of the registration. */
typedef QUIC_STATUS (QUIC_API * QUIC_CONNECTION_OPEN_IN_PARTITION_FN)(
    HQUIC Registration,
    uint16_t PartitionIndex,
    QUIC_CONNECTION_CALLBACK_HANDLER Handler,
    void* Context,
    HQUIC* Connection
    );

/* Closes a connection handle, shutting the connection down silently if needed. */
typedef void (QUIC_API * QUIC_CONNECTION_CLOSE_FN)(
    HQUIC Connection
    );

/* Starts closing the connection with an application error code. */
typedef void (QUIC_API * QUIC_CONNECTION_SHUTDOWN_FN)(
    HQUIC Connection,
    QUIC_CONNECTION_SHUTDOWN_FLAGS Flags,
    QUIC_UINT62 ErrorCode
    );

/* Starts a client handshake to ServerName:ServerPort (host order). */
typedef QUIC_STATUS (QUIC_API * QUIC_CONNECTION_START_FN)(
    HQUIC Connection,
    HQUIC Configuration,
    QUIC_ADDRESS_FAMILY Family,
    const char* ServerName,
    uint16_t ServerPort
    );

/* Gives an accepted (server) connection its configuration. */
typedef QUIC_STATUS (QUIC_API * QUIC_CONNECTION_SET_CONFIGURATION_FN)(
    HQUIC Connection,
    HQUIC Configuration
    );

/* Server: sends a session ticket, optionally with application data. */
typedef QUIC_STATUS (QUIC_API * QUIC_CONNECTION_SEND_RESUMPTION_FN)(
    HQUIC Connection,
    QUIC_SEND_RESUMPTION_FLAGS Flags,
    uint16_t DataLength,
    const uint8_t* ResumptionData
    );

/* Server: finishes a ticket check the app left PENDING in the RESUMED event. */
typedef QUIC_STATUS (QUIC_API * QUIC_CONNECTION_COMP_RESUMPTION_FN)(
    HQUIC Connection,
    BOOLEAN Result
    );

/* Finishes a certificate check the app left PENDING in PEER_CERTIFICATE_RECEIVED. */
typedef QUIC_STATUS (QUIC_API * QUIC_CONNECTION_COMP_CERT_FN)(
    HQUIC Connection,
    BOOLEAN Result,
    QUIC_TLS_ALERT_CODES TlsAlert
    );

#ifdef QUIC_API_ENABLE_PREVIEW_FEATURES
/* Arguments of ConnectionExportKeyingMaterial (RFC 8446 §7.5 exporter). */
typedef struct QUIC_KEYING_MATERIAL_CONFIG {
    const char* Label;                          /* NUL-terminated */
    uint32_t ContextLength;
    const uint8_t* Context;                     /* optional */
    uint32_t OutputLength;
} QUIC_KEYING_MATERIAL_CONFIG;

/* Exports keying material from a connected connection's TLS session. */
typedef QUIC_STATUS (QUIC_API * QUIC_CONNECTION_EXPORT_KEYING_MATERIAL_FN)(
    HQUIC Connection,
    const QUIC_KEYING_MATERIAL_CONFIG* Config,
    uint8_t* Output
    );
#endif

/* ------------------------------------------------------------------------ */
/* Stream                                                                    */
/* ------------------------------------------------------------------------ */

/* Kinds of stream event. */
typedef enum QUIC_STREAM_EVENT_TYPE {
    QUIC_STREAM_EVENT_START_COMPLETE            = 0,
    QUIC_STREAM_EVENT_RECEIVE                   = 1,
    QUIC_STREAM_EVENT_SEND_COMPLETE             = 2,
    QUIC_STREAM_EVENT_PEER_SEND_SHUTDOWN        = 3,    /* FIN received */
    QUIC_STREAM_EVENT_PEER_SEND_ABORTED         = 4,    /* RESET_STREAM received */
    QUIC_STREAM_EVENT_PEER_RECEIVE_ABORTED      = 5,    /* STOP_SENDING received */
    QUIC_STREAM_EVENT_SEND_SHUTDOWN_COMPLETE    = 6,
    QUIC_STREAM_EVENT_SHUTDOWN_COMPLETE         = 7,    /* the handle may now be closed */
    QUIC_STREAM_EVENT_IDEAL_SEND_BUFFER_SIZE    = 8,
    QUIC_STREAM_EVENT_PEER_ACCEPTED             = 9,
    QUIC_STREAM_EVENT_CANCEL_ON_LOSS            = 10,
#ifdef QUIC_API_ENABLE_PREVIEW_FEATURES
    QUIC_STREAM_EVENT_RECEIVE_BUFFER_NEEDED     = 11,   /* app-owned buffers ran out */
#endif
} QUIC_STREAM_EVENT_TYPE;

/* A stream event; the member named after Type is valid. */
typedef struct QUIC_STREAM_EVENT {
    QUIC_STREAM_EVENT_TYPE Type;
    union {
        struct {
            QUIC_STATUS Status;
            QUIC_UINT62 ID;
            BOOLEAN PeerAccepted : 1;
            BOOLEAN RESERVED : 7;
        } START_COMPLETE;
        struct {
            uint64_t AbsoluteOffset;
            uint64_t TotalBufferLength;         /* in: bytes given; out: bytes consumed */
            const QUIC_BUFFER* Buffers;
            uint32_t BufferCount;
            QUIC_RECEIVE_FLAGS Flags;
        } RECEIVE;
        struct {
            BOOLEAN Canceled;
            void* ClientContext;                /* the StreamSend context */
        } SEND_COMPLETE;
        struct {
            QUIC_UINT62 ErrorCode;
        } PEER_SEND_ABORTED;
        struct {
            QUIC_UINT62 ErrorCode;
        } PEER_RECEIVE_ABORTED;
        struct {
            BOOLEAN Graceful;
        } SEND_SHUTDOWN_COMPLETE;
        struct {
            BOOLEAN ConnectionShutdown;
            BOOLEAN AppCloseInProgress       : 1;
            BOOLEAN ConnectionShutdownByApp  : 1;
            BOOLEAN ConnectionClosedRemotely : 1;
            BOOLEAN RESERVED                 : 5;
            QUIC_UINT62 ConnectionErrorCode;
            QUIC_STATUS ConnectionCloseStatus;
        } SHUTDOWN_COMPLETE;
        struct {
            uint64_t ByteCount;
        } IDEAL_SEND_BUFFER_SIZE;
        struct {
            QUIC_UINT62 ErrorCode;              /* out: code for the abort */
        } CANCEL_ON_LOSS;
#ifdef QUIC_API_ENABLE_PREVIEW_FEATURES
        struct {
            uint64_t BufferLengthNeeded;
        } RECEIVE_BUFFER_NEEDED;
#endif
    };
} QUIC_STREAM_EVENT;

/* The stream event callback. */
typedef QUIC_STATUS (QUIC_API QUIC_STREAM_CALLBACK)(
    HQUIC Stream,
    void* Context,
    QUIC_STREAM_EVENT* Event
    );

typedef QUIC_STREAM_CALLBACK* QUIC_STREAM_CALLBACK_HANDLER;

/* Opens a stream on a connection (it gets an ID when started). */
typedef QUIC_STATUS (QUIC_API * QUIC_STREAM_OPEN_FN)(
    HQUIC Connection,
    QUIC_STREAM_OPEN_FLAGS Flags,
    QUIC_STREAM_CALLBACK_HANDLER Handler,
    void* Context,
    HQUIC* Stream
    );

/* Closes a stream handle. */
typedef void (QUIC_API * QUIC_STREAM_CLOSE_FN)(
    HQUIC Stream
    );

/* Starts a stream; START_COMPLETE follows. */
typedef QUIC_STATUS (QUIC_API * QUIC_STREAM_START_FN)(
    HQUIC Stream,
    QUIC_STREAM_START_FLAGS Flags
    );

/* Shuts down one or both directions of a stream. */
typedef QUIC_STATUS (QUIC_API * QUIC_STREAM_SHUTDOWN_FN)(
    HQUIC Stream,
    QUIC_STREAM_SHUTDOWN_FLAGS Flags,
    QUIC_UINT62 ErrorCode
    );

/* Queues data; the buffers must stay valid until SEND_COMPLETE. */
typedef QUIC_STATUS (QUIC_API * QUIC_STREAM_SEND_FN)(
    HQUIC Stream,
    const QUIC_BUFFER* const Buffers,
    uint32_t BufferCount,
    QUIC_SEND_FLAGS Flags,
    void* ClientSendContext
    );

/* Reports how many bytes of a pending RECEIVE the app consumed. */
typedef void (QUIC_API * QUIC_STREAM_RECEIVE_COMPLETE_FN)(
    HQUIC Stream,
    uint64_t BufferLength
    );

/* Pauses or resumes RECEIVE events. */
typedef QUIC_STATUS (QUIC_API * QUIC_STREAM_RECEIVE_SET_ENABLED_FN)(
    HQUIC Stream,
    BOOLEAN IsEnabled
    );

#ifdef QUIC_API_ENABLE_PREVIEW_FEATURES
/* Gives an APP_OWNED_BUFFERS stream memory to receive into. */
typedef QUIC_STATUS (QUIC_API * QUIC_STREAM_PROVIDE_RECEIVE_BUFFERS_FN)(
    HQUIC Stream,
    uint32_t BufferCount,
    const QUIC_BUFFER* Buffers
    );
#endif

/* ------------------------------------------------------------------------ */
/* Datagrams (RFC 9221)                                                      */
/* ------------------------------------------------------------------------ */

/* Sends an unreliable datagram; it must fit in one packet. */
typedef QUIC_STATUS (QUIC_API * QUIC_DATAGRAM_SEND_FN)(
    HQUIC Connection,
    const QUIC_BUFFER* const Buffers,
    uint32_t BufferCount,
    QUIC_SEND_FLAGS Flags,
    void* ClientSendContext
    );

/* ------------------------------------------------------------------------ */
/* Connection pools (preview)                                                */
/* ------------------------------------------------------------------------ */

#ifdef QUIC_API_ENABLE_PREVIEW_FEATURES

/* Options of ConnectionPoolCreate. */
typedef enum QUIC_CONNECTION_POOL_FLAGS {
    QUIC_CONNECTION_POOL_FLAG_NONE              = 0x00000000,
    QUIC_CONNECTION_POOL_FLAG_CLOSE_ON_FAILURE  = 0x00000001, /* close all if one fails */
} QUIC_CONNECTION_POOL_FLAGS;

DEFINE_ENUM_FLAG_OPERATORS(QUIC_CONNECTION_POOL_FLAGS)

/* Arguments of ConnectionPoolCreate: many connections to one server. */
typedef struct QUIC_CONNECTION_POOL_CONFIG {
    HQUIC Registration;
    HQUIC Configuration;
    QUIC_CONNECTION_CALLBACK_HANDLER Handler;
    void** Context;                             /* optional, one per connection */
    const char* ServerName;
    const QUIC_ADDR* ServerAddress;             /* optional */
    QUIC_ADDRESS_FAMILY Family;
    uint16_t ServerPort;
    uint16_t NumberOfConnections;
    uint8_t** CibirIds;                         /* optional, one per connection */
    uint8_t CibirIdLength;                      /* 0 when CIBIR is not used */
    QUIC_CONNECTION_POOL_FLAGS Flags;
} QUIC_CONNECTION_POOL_CONFIG;

/* Opens and starts NumberOfConnections connections, spread over the workers. */
typedef QUIC_STATUS (QUIC_API * QUIC_CONN_POOL_CREATE_FN)(
    QUIC_CONNECTION_POOL_CONFIG* Config,
    HQUIC* ConnectionPool
    );

#endif /* QUIC_API_ENABLE_PREVIEW_FEATURES */

/* ------------------------------------------------------------------------ */
/* The function table                                                        */
/* ------------------------------------------------------------------------ */

/* What MsQuicOpenVersion(QUIC_API_VERSION_2, ...) returns. */
typedef struct QUIC_API_TABLE {
    QUIC_SET_CONTEXT_FN                     SetContext;
    QUIC_GET_CONTEXT_FN                     GetContext;
    QUIC_SET_CALLBACK_HANDLER_FN            SetCallbackHandler;

    QUIC_SET_PARAM_FN                       SetParam;
    QUIC_GET_PARAM_FN                       GetParam;

    QUIC_REGISTRATION_OPEN_FN               RegistrationOpen;
    QUIC_REGISTRATION_CLOSE_FN              RegistrationClose;
    QUIC_REGISTRATION_SHUTDOWN_FN           RegistrationShutdown;

    QUIC_CONFIGURATION_OPEN_FN              ConfigurationOpen;
    QUIC_CONFIGURATION_CLOSE_FN             ConfigurationClose;
    QUIC_CONFIGURATION_LOAD_CREDENTIAL_FN   ConfigurationLoadCredential;

    QUIC_LISTENER_OPEN_FN                   ListenerOpen;
    QUIC_LISTENER_CLOSE_FN                  ListenerClose;
    QUIC_LISTENER_START_FN                  ListenerStart;
    QUIC_LISTENER_STOP_FN                   ListenerStop;

    QUIC_CONNECTION_OPEN_FN                 ConnectionOpen;
    QUIC_CONNECTION_CLOSE_FN                ConnectionClose;
    QUIC_CONNECTION_SHUTDOWN_FN             ConnectionShutdown;
    QUIC_CONNECTION_START_FN                ConnectionStart;
    QUIC_CONNECTION_SET_CONFIGURATION_FN    ConnectionSetConfiguration;
    QUIC_CONNECTION_SEND_RESUMPTION_FN      ConnectionSendResumptionTicket;

    QUIC_STREAM_OPEN_FN                     StreamOpen;
    QUIC_STREAM_CLOSE_FN                    StreamClose;
    QUIC_STREAM_START_FN                    StreamStart;
    QUIC_STREAM_SHUTDOWN_FN                 StreamShutdown;
    QUIC_STREAM_SEND_FN                     StreamSend;
    QUIC_STREAM_RECEIVE_COMPLETE_FN         StreamReceiveComplete;
    QUIC_STREAM_RECEIVE_SET_ENABLED_FN      StreamReceiveSetEnabled;

    QUIC_DATAGRAM_SEND_FN                   DatagramSend;

    QUIC_CONNECTION_COMP_RESUMPTION_FN      ConnectionResumptionTicketValidationComplete;
    QUIC_CONNECTION_COMP_CERT_FN            ConnectionCertificateValidationComplete;

    QUIC_CONNECTION_OPEN_IN_PARTITION_FN    ConnectionOpenInPartition;

#ifdef QUIC_API_ENABLE_PREVIEW_FEATURES
    QUIC_STREAM_PROVIDE_RECEIVE_BUFFERS_FN  StreamProvideReceiveBuffers;
    QUIC_CONN_POOL_CREATE_FN                ConnectionPoolCreate;
    QUIC_EXECUTION_CREATE_FN                ExecutionCreate;
    QUIC_EXECUTION_DELETE_FN                ExecutionDelete;
    QUIC_EXECUTION_POLL_FN                  ExecutionPoll;
    QUIC_REGISTRATION_CLOSE2_FN             RegistrationClose2;
    QUIC_CONNECTION_EXPORT_KEYING_MATERIAL_FN ConnectionExportKeyingMaterial;
#endif
} QUIC_API_TABLE;

/* Versions of the function table. */
#define QUIC_API_VERSION_1      1   /* retired: MsQuicOpenVersion refuses it */
#define QUIC_API_VERSION_2      2   /* QUIC_API_TABLE above */

/* ------------------------------------------------------------------------ */
/* Library entry points                                                      */
/* ------------------------------------------------------------------------ */

/*
 * Takes a reference on the library (initialising it on the first one) and
 * returns the function table of the requested version in *QuicApi.
 */
#if defined(__cplusplus) && __cplusplus >= 201703L
[[nodiscard]]
#endif
QUIC_STATUS
QUIC_API
MsQuicOpenVersion(
    uint32_t Version,
    const void** QuicApi
    );

/* Returns a table from MsQuicOpenVersion and drops its library reference. */
void
QUIC_API
MsQuicClose(
    const void* QuicApi
    );

/* Pointer types of the two entry points, for dlsym users. */
typedef QUIC_STATUS (QUIC_API * MsQuicOpenVersionFn)(
    uint32_t Version,
    const void** QuicApi
    );

typedef void (QUIC_API * MsQuicCloseFn)(
    const void* QuicApi
    );

/* Opens the version 2 table: MsQuicOpen2(&Api) with const QUIC_API_TABLE* Api. */
#if defined(__cplusplus)
#if __cplusplus >= 201703L
[[nodiscard]]
#endif
__attribute__((always_inline)) QUIC_INLINE
QUIC_STATUS
MsQuicOpen2(
    const QUIC_API_TABLE** QuicApi
    )
{
    return MsQuicOpenVersion(QUIC_API_VERSION_2, (const void**)QuicApi);
}
#else
#define MsQuicOpen2(QuicApi) MsQuicOpenVersion(QUIC_API_VERSION_2, (const void**)(QuicApi))
#endif

#ifdef __cplusplus
}
#endif

#endif /* SWIFTQUIC_MSQUIC_H */
