/*
 * params.c - global and configuration parameters of MsQuic 2.6: values,
 * round trips and the size protocol of GetParam:
 *
 *  - a buffer smaller than the value (BufferLength 0, Buffer NULL) gives
 *    QUIC_STATUS_BUFFER_TOO_SMALL and the needed size in *BufferLength;
 *  - a large enough length with Buffer NULL gives INVALID_PARAMETER;
 *  - on success *BufferLength is the size written;
 *  - get-only parameters refuse SetParam and set-only ones refuse GetParam
 *    (INVALID_PARAMETER); fixed-size values refuse other sizes.
 *
 * Defaults are those of docs/Settings.md.
 */
#define QUIC_API_ENABLE_PREVIEW_FEATURES 1
#include "testutil.h"

static const QUIC_API_TABLE* Api;

#define QUIC_VERSION_1_H 0x00000001u
#define QUIC_VERSION_2_H 0x6b3343cfu

/* Checks the "length 0 -> BUFFER_TOO_SMALL + size" step of a parameter; returns the size. */
static uint32_t query_size(HQUIC Handle, uint32_t Param, const char* Name)
{
    uint32_t Length = 0;
    CHECK_STATUS(Api->GetParam(Handle, Param, &Length, NULL), QUIC_STATUS_BUFFER_TOO_SMALL,
                 "GetParam(%s, length 0)", Name);
    return Length;
}

/* A fixed-size value: size query, NULL buffer, exact and larger buffers. */
static void check_fixed_get(HQUIC Handle, uint32_t Param, const char* Name, uint32_t Size, void* Out)
{
    uint8_t Big[512];
    uint32_t Length = query_size(Handle, Param, Name);
    CHECK(Length == Size, "GetParam(%s) needs %u bytes (%u)", Name, Size, Length);
    if (Size > 1) {
        Length = Size - 1;
        CHECK_STATUS(Api->GetParam(Handle, Param, &Length, Out), QUIC_STATUS_BUFFER_TOO_SMALL,
                     "GetParam(%s, one byte short)", Name);
        CHECK(Length == Size, "GetParam(%s, one byte short) reports %u (%u)", Name, Size, Length);
    }
    Length = Size;
    CHECK_STATUS(Api->GetParam(Handle, Param, &Length, NULL), QUIC_STATUS_INVALID_PARAMETER,
                 "GetParam(%s, buffer NULL)", Name);
    Length = sizeof(Big);
    CHECK_STATUS(Api->GetParam(Handle, Param, &Length, Big), QUIC_STATUS_SUCCESS,
                 "GetParam(%s, larger buffer)", Name);
    CHECK(Length == Size, "GetParam(%s, larger buffer) writes %u bytes (%u)", Name, Size, Length);
    Length = Size;
    CHECK_STATUS(Api->GetParam(Handle, Param, &Length, Out), QUIC_STATUS_SUCCESS, "GetParam(%s)", Name);
    CHECK(Length == Size, "GetParam(%s) writes %u bytes (%u)", Name, Size, Length);
}

/* ---- global parameters -------------------------------------------------- */

static void test_retry_memory(void)
{
    uint16_t Value = 0;
    uint16_t Original;
    uint32_t Length = 0;
    check_fixed_get(NULL, QUIC_PARAM_GLOBAL_RETRY_MEMORY_PERCENT, "RETRY_MEMORY_PERCENT", 2, &Value);
    CHECK(Value == 65, "RETRY_MEMORY_PERCENT default is 65 (%u)", Value);
    Original = Value;
    Value = 100;
    CHECK_STATUS(Api->SetParam(NULL, QUIC_PARAM_GLOBAL_RETRY_MEMORY_PERCENT, 1, &Value), QUIC_STATUS_INVALID_PARAMETER,
                 "SetParam(RETRY_MEMORY_PERCENT, 1 byte)");
    CHECK_STATUS(Api->SetParam(NULL, QUIC_PARAM_GLOBAL_RETRY_MEMORY_PERCENT, 4, &Length),
                 QUIC_STATUS_INVALID_PARAMETER, "SetParam(RETRY_MEMORY_PERCENT, 4 bytes)");
    CHECK_STATUS(Api->SetParam(NULL, QUIC_PARAM_GLOBAL_RETRY_MEMORY_PERCENT, sizeof(Value), &Value),
                 QUIC_STATUS_SUCCESS, "SetParam(RETRY_MEMORY_PERCENT, 100)");
    Value = 0;
    Length = sizeof(Value);
    CHECK_STATUS(Api->GetParam(NULL, QUIC_PARAM_GLOBAL_RETRY_MEMORY_PERCENT, &Length, &Value), QUIC_STATUS_SUCCESS,
                 "GetParam(RETRY_MEMORY_PERCENT) after set");
    CHECK(Value == 100, "RETRY_MEMORY_PERCENT round trip (%u)", Value);
    CHECK_STATUS(Api->SetParam(NULL, QUIC_PARAM_GLOBAL_RETRY_MEMORY_PERCENT, sizeof(Original), &Original),
                 QUIC_STATUS_SUCCESS, "SetParam(RETRY_MEMORY_PERCENT) restore");
}

static void test_supported_versions(void)
{
    uint32_t Versions[16];
    uint32_t Length = query_size(NULL, QUIC_PARAM_GLOBAL_SUPPORTED_VERSIONS, "SUPPORTED_VERSIONS");
    uint32_t i;
    int HasV1 = 0;
    int HasV2 = 0;
    CHECK(Length >= 8 && Length % 4 == 0 && Length <= sizeof(Versions),
          "SUPPORTED_VERSIONS needs a whole number of versions, at least 2 (%u bytes)", Length);
    if (Length > sizeof(Versions)) {
        return;
    }
    CHECK_STATUS(Api->GetParam(NULL, QUIC_PARAM_GLOBAL_SUPPORTED_VERSIONS, &Length, Versions), QUIC_STATUS_SUCCESS,
                 "GetParam(SUPPORTED_VERSIONS)");
    for (i = 0; i < Length / 4; i++) {
        /* Network byte order. */
        if (ntohl(Versions[i]) == QUIC_VERSION_1_H) HasV1 = 1;
        if (ntohl(Versions[i]) == QUIC_VERSION_2_H) HasV2 = 1;
    }
    CHECK(HasV1, "SUPPORTED_VERSIONS lists QUIC v1 (00000001, network order)");
    CHECK(HasV2, "SUPPORTED_VERSIONS lists QUIC v2 (6b3343cf, network order)");
    CHECK_STATUS(Api->SetParam(NULL, QUIC_PARAM_GLOBAL_SUPPORTED_VERSIONS, Length, Versions),
                 QUIC_STATUS_INVALID_PARAMETER, "SetParam(SUPPORTED_VERSIONS) is refused (get-only)");
}

static void test_load_balancing(void)
{
    uint16_t Mode = 0xFFFF;
    uint32_t Length;
    uint8_t Three[3] = {0, 0, 0};
    check_fixed_get(NULL, QUIC_PARAM_GLOBAL_LOAD_BALACING_MODE, "LOAD_BALACING_MODE", 2, &Mode);
    CHECK(Mode == QUIC_LOAD_BALANCING_DISABLED, "LOAD_BALACING_MODE default is DISABLED (%u)", Mode);
    CHECK_STATUS(Api->SetParam(NULL, QUIC_PARAM_GLOBAL_LOAD_BALACING_MODE, sizeof(Three), Three),
                 QUIC_STATUS_INVALID_PARAMETER, "SetParam(LOAD_BALACING_MODE, 3 bytes)");
    Mode = QUIC_LOAD_BALANCING_COUNT;
    CHECK_STATUS(Api->SetParam(NULL, QUIC_PARAM_GLOBAL_LOAD_BALACING_MODE, sizeof(Mode), &Mode),
                 QUIC_STATUS_INVALID_PARAMETER, "SetParam(LOAD_BALACING_MODE, QUIC_LOAD_BALANCING_COUNT)");
    Mode = QUIC_LOAD_BALANCING_SERVER_ID_IP;
    CHECK_STATUS(Api->SetParam(NULL, QUIC_PARAM_GLOBAL_LOAD_BALACING_MODE, sizeof(Mode), &Mode),
                 QUIC_STATUS_SUCCESS, "SetParam(LOAD_BALACING_MODE, SERVER_ID_IP) before any socket");
    Mode = 0;
    Length = sizeof(Mode);
    CHECK_STATUS(Api->GetParam(NULL, QUIC_PARAM_GLOBAL_LOAD_BALACING_MODE, &Length, &Mode), QUIC_STATUS_SUCCESS,
                 "GetParam(LOAD_BALACING_MODE) after set");
    CHECK(Mode == QUIC_LOAD_BALANCING_SERVER_ID_IP, "LOAD_BALACING_MODE round trip (%u)", Mode);
    Mode = QUIC_LOAD_BALANCING_DISABLED;
    CHECK_STATUS(Api->SetParam(NULL, QUIC_PARAM_GLOBAL_LOAD_BALACING_MODE, sizeof(Mode), &Mode),
                 QUIC_STATUS_SUCCESS, "SetParam(LOAD_BALACING_MODE) restore");
}

static void test_perf_counters(void)
{
    uint64_t Counters[QUIC_PERF_COUNTER_MAX + 4];
    uint32_t Length = query_size(NULL, QUIC_PARAM_GLOBAL_PERF_COUNTERS, "PERF_COUNTERS");
    CHECK(Length == sizeof(uint64_t) * QUIC_PERF_COUNTER_MAX, "PERF_COUNTERS needs %u bytes (%u)",
          (unsigned)(sizeof(uint64_t) * QUIC_PERF_COUNTER_MAX), Length);
    Length = sizeof(Counters);
    CHECK_STATUS(Api->GetParam(NULL, QUIC_PARAM_GLOBAL_PERF_COUNTERS, &Length, Counters), QUIC_STATUS_SUCCESS,
                 "GetParam(PERF_COUNTERS, larger buffer)");
    CHECK(Length == sizeof(uint64_t) * QUIC_PERF_COUNTER_MAX, "PERF_COUNTERS writes all %d counters (%u bytes)",
          QUIC_PERF_COUNTER_MAX, Length);
    /* A shorter buffer gets as many whole counters as fit. */
    Length = 2 * sizeof(uint64_t) + 3;
    CHECK_STATUS(Api->GetParam(NULL, QUIC_PARAM_GLOBAL_PERF_COUNTERS, &Length, Counters), QUIC_STATUS_SUCCESS,
                 "GetParam(PERF_COUNTERS, room for 2.4 counters)");
    CHECK(Length == 2 * sizeof(uint64_t), "PERF_COUNTERS returns 2 whole counters (%u bytes)", Length);
    CHECK_STATUS(Api->SetParam(NULL, QUIC_PARAM_GLOBAL_PERF_COUNTERS, 8, Counters), QUIC_STATUS_INVALID_PARAMETER,
                 "SetParam(PERF_COUNTERS) is refused (get-only)");
}

static void test_library_version(void)
{
    uint32_t Version[4] = {0, 0, 0, 0};
    check_fixed_get(NULL, QUIC_PARAM_GLOBAL_LIBRARY_VERSION, "LIBRARY_VERSION", 16, Version);
    CHECK(Version[0] == 2 && Version[1] == 6, "LIBRARY_VERSION is 2.6.x (%u.%u.%u)", Version[0], Version[1], Version[2]);
    CHECK_STATUS(Api->SetParam(NULL, QUIC_PARAM_GLOBAL_LIBRARY_VERSION, sizeof(Version), Version),
                 QUIC_STATUS_INVALID_PARAMETER, "SetParam(LIBRARY_VERSION) is refused (get-only)");
}

static void test_git_hash(void)
{
    char Hash[256];
    uint32_t Length = query_size(NULL, QUIC_PARAM_GLOBAL_LIBRARY_GIT_HASH, "LIBRARY_GIT_HASH");
    CHECK(Length >= 1 && Length <= sizeof(Hash), "LIBRARY_GIT_HASH needs 1..256 bytes (%u)", Length);
    if (Length < 1 || Length > sizeof(Hash)) {
        return;
    }
    memset(Hash, 'x', sizeof(Hash));
    CHECK_STATUS(Api->GetParam(NULL, QUIC_PARAM_GLOBAL_LIBRARY_GIT_HASH, &Length, Hash), QUIC_STATUS_SUCCESS,
                 "GetParam(LIBRARY_GIT_HASH)");
    CHECK(Hash[Length - 1] == '\0' && strlen(Hash) + 1 == Length,
          "LIBRARY_GIT_HASH is a NUL-terminated string of the reported length");
    CHECK_STATUS(Api->SetParam(NULL, QUIC_PARAM_GLOBAL_LIBRARY_GIT_HASH, Length, Hash), QUIC_STATUS_INVALID_PARAMETER,
                 "SetParam(LIBRARY_GIT_HASH) is refused (get-only)");
}

static void test_tls_provider(void)
{
    QUIC_TLS_PROVIDER Provider = QUIC_TLS_PROVIDER_SCHANNEL;
    check_fixed_get(NULL, QUIC_PARAM_GLOBAL_TLS_PROVIDER, "TLS_PROVIDER", sizeof(QUIC_TLS_PROVIDER), &Provider);
    CHECK(Provider == QUIC_TLS_PROVIDER_OPENSSL, "TLS_PROVIDER on Linux is OPENSSL (%d)", (int)Provider);
    CHECK_STATUS(Api->SetParam(NULL, QUIC_PARAM_GLOBAL_TLS_PROVIDER, sizeof(Provider), &Provider),
                 QUIC_STATUS_INVALID_PARAMETER, "SetParam(TLS_PROVIDER) is refused (get-only)");
}

/* Before the first registration the per-partition keys do not exist yet. */
static void test_stateless_reset_key_early(void)
{
    uint8_t Key[QUIC_STATELESS_RESET_KEY_LENGTH];
    memset(Key, 0x42, sizeof(Key));
    CHECK_STATUS(Api->SetParam(NULL, QUIC_PARAM_GLOBAL_STATELESS_RESET_KEY, sizeof(Key), Key),
                 QUIC_STATUS_INVALID_STATE, "SetParam(STATELESS_RESET_KEY) before any registration");
}

static void test_stateless_reset_key(void)
{
    uint8_t Key[QUIC_STATELESS_RESET_KEY_LENGTH + 1];
    uint32_t Length = sizeof(Key);
    memset(Key, 0x42, sizeof(Key));
    CHECK_STATUS(Api->SetParam(NULL, QUIC_PARAM_GLOBAL_STATELESS_RESET_KEY, QUIC_STATELESS_RESET_KEY_LENGTH, Key),
                 QUIC_STATUS_SUCCESS, "SetParam(STATELESS_RESET_KEY, 32 bytes)");
    CHECK_STATUS(Api->SetParam(NULL, QUIC_PARAM_GLOBAL_STATELESS_RESET_KEY, QUIC_STATELESS_RESET_KEY_LENGTH - 1, Key),
                 QUIC_STATUS_INVALID_PARAMETER, "SetParam(STATELESS_RESET_KEY, 31 bytes)");
    CHECK_STATUS(Api->SetParam(NULL, QUIC_PARAM_GLOBAL_STATELESS_RESET_KEY, QUIC_STATELESS_RESET_KEY_LENGTH + 1, Key),
                 QUIC_STATUS_INVALID_PARAMETER, "SetParam(STATELESS_RESET_KEY, 33 bytes)");
    CHECK_STATUS(Api->SetParam(NULL, QUIC_PARAM_GLOBAL_STATELESS_RESET_KEY, QUIC_STATELESS_RESET_KEY_LENGTH, NULL),
                 QUIC_STATUS_INVALID_PARAMETER, "SetParam(STATELESS_RESET_KEY, buffer NULL)");
    CHECK_STATUS(Api->GetParam(NULL, QUIC_PARAM_GLOBAL_STATELESS_RESET_KEY, &Length, Key),
                 QUIC_STATUS_INVALID_PARAMETER, "GetParam(STATELESS_RESET_KEY) is refused (set-only)");
}

static void test_statistics_v2_sizes(void)
{
    uint32_t Sizes[16];
    const uint32_t Expected[] = {
        (uint32_t)QUIC_STATISTICS_V2_SIZE_1, (uint32_t)QUIC_STATISTICS_V2_SIZE_2, (uint32_t)QUIC_STATISTICS_V2_SIZE_3,
        (uint32_t)QUIC_STATISTICS_V2_SIZE_4, (uint32_t)QUIC_STATISTICS_V2_SIZE_5,
    };
    uint32_t Length = query_size(NULL, QUIC_PARAM_GLOBAL_STATISTICS_V2_SIZES, "STATISTICS_V2_SIZES");
    CHECK(Length >= 4 && Length % 4 == 0, "STATISTICS_V2_SIZES needs whole uint32_t entries (%u bytes)", Length);
    Length = sizeof(Sizes);
    CHECK_STATUS(Api->GetParam(NULL, QUIC_PARAM_GLOBAL_STATISTICS_V2_SIZES, &Length, Sizes), QUIC_STATUS_SUCCESS,
                 "GetParam(STATISTICS_V2_SIZES, 16 entries of room)");
    CHECK(Length == sizeof(Expected), "STATISTICS_V2_SIZES returns 5 sizes (%u bytes)", Length);
    if (Length == sizeof(Expected)) {
        CHECK(memcmp(Sizes, Expected, sizeof(Expected)) == 0,
              "STATISTICS_V2_SIZES = {188, 196, 200, 208, 232} ({%u, %u, %u, %u, %u})",
              Sizes[0], Sizes[1], Sizes[2], Sizes[3], Sizes[4]);
    }
    Length = 2 * sizeof(uint32_t);
    CHECK_STATUS(Api->GetParam(NULL, QUIC_PARAM_GLOBAL_STATISTICS_V2_SIZES, &Length, Sizes), QUIC_STATUS_SUCCESS,
                 "GetParam(STATISTICS_V2_SIZES, room for 2)");
    CHECK(Length == 8 && Sizes[0] == 188 && Sizes[1] == 196, "STATISTICS_V2_SIZES with room for 2 gives the first 2");
    CHECK_STATUS(Api->SetParam(NULL, QUIC_PARAM_GLOBAL_STATISTICS_V2_SIZES, 4, Sizes), QUIC_STATUS_INVALID_PARAMETER,
                 "SetParam(STATISTICS_V2_SIZES) is refused (get-only)");
}

static void test_stateless_retry_config(void)
{
    uint8_t Secret[32];
    QUIC_STATELESS_RETRY_CONFIG Config;
    uint32_t Length = sizeof(Config);
    memset(Secret, 0x17, sizeof(Secret));
    Config.Algorithm = QUIC_AEAD_ALGORITHM_AES_128_GCM;
    Config.RotationMs = 30000;
    Config.SecretLength = 16;
    Config.Secret = Secret;
    CHECK_STATUS(Api->SetParam(NULL, QUIC_PARAM_GLOBAL_STATELESS_RETRY_CONFIG, sizeof(Config), &Config),
                 QUIC_STATUS_SUCCESS, "SetParam(STATELESS_RETRY_CONFIG, AES-128-GCM, 16-byte secret)");
    Config.Algorithm = QUIC_AEAD_ALGORITHM_AES_256_GCM;
    Config.SecretLength = 32;
    CHECK_STATUS(Api->SetParam(NULL, QUIC_PARAM_GLOBAL_STATELESS_RETRY_CONFIG, sizeof(Config), &Config),
                 QUIC_STATUS_SUCCESS, "SetParam(STATELESS_RETRY_CONFIG, AES-256-GCM, 32-byte secret)");
    Config.SecretLength = 16;
    CHECK_STATUS(Api->SetParam(NULL, QUIC_PARAM_GLOBAL_STATELESS_RETRY_CONFIG, sizeof(Config), &Config),
                 QUIC_STATUS_INVALID_PARAMETER, "SetParam(STATELESS_RETRY_CONFIG, AES-256-GCM, 16-byte secret)");
    Config.Algorithm = QUIC_AEAD_ALGORITHM_AES_128_GCM;
    Config.Secret = NULL;
    CHECK_STATUS(Api->SetParam(NULL, QUIC_PARAM_GLOBAL_STATELESS_RETRY_CONFIG, sizeof(Config), &Config),
                 QUIC_STATUS_INVALID_PARAMETER, "SetParam(STATELESS_RETRY_CONFIG, secret NULL)");
    Config.Secret = Secret;
    CHECK_STATUS(Api->SetParam(NULL, QUIC_PARAM_GLOBAL_STATELESS_RETRY_CONFIG, sizeof(Config) - 1, &Config),
                 QUIC_STATUS_INVALID_PARAMETER, "SetParam(STATELESS_RETRY_CONFIG, short buffer)");
    CHECK_STATUS(Api->GetParam(NULL, QUIC_PARAM_GLOBAL_STATELESS_RETRY_CONFIG, &Length, &Config),
                 QUIC_STATUS_INVALID_PARAMETER, "GetParam(STATELESS_RETRY_CONFIG) is refused (set-only)");
}

static void test_execution_config(void)
{
    uint8_t Storage[64];
    QUIC_GLOBAL_EXECUTION_CONFIG* Config = (QUIC_GLOBAL_EXECUTION_CONFIG*)(void*)Storage;
    uint32_t Length;
    uint32_t Needed = QUIC_GLOBAL_EXECUTION_CONFIG_MIN_SIZE + sizeof(uint16_t);

    /* Nothing set: an empty value. */
    Length = sizeof(Storage);
    CHECK_STATUS(Api->GetParam(NULL, QUIC_PARAM_GLOBAL_EXECUTION_CONFIG, &Length, Storage), QUIC_STATUS_SUCCESS,
                 "GetParam(EXECUTION_CONFIG) when unset");
    CHECK(Length == 0, "EXECUTION_CONFIG when unset is empty (%u bytes)", Length);

    memset(Storage, 0, sizeof(Storage));
    Config->Flags = QUIC_GLOBAL_EXECUTION_CONFIG_FLAG_NONE;
    Config->PollingIdleTimeoutUs = 0;
    Config->ProcessorCount = 1;
    Config->ProcessorList[0] = 0;
    CHECK_STATUS(Api->SetParam(NULL, QUIC_PARAM_GLOBAL_EXECUTION_CONFIG, QUIC_GLOBAL_EXECUTION_CONFIG_MIN_SIZE - 1,
                               Config),
                 QUIC_STATUS_INVALID_PARAMETER, "SetParam(EXECUTION_CONFIG, shorter than the minimum)");
    CHECK_STATUS(Api->SetParam(NULL, QUIC_PARAM_GLOBAL_EXECUTION_CONFIG, QUIC_GLOBAL_EXECUTION_CONFIG_MIN_SIZE, Config),
                 QUIC_STATUS_INVALID_PARAMETER, "SetParam(EXECUTION_CONFIG, ProcessorCount 1 without its entry)");
    Config->ProcessorList[0] = 60000;
    CHECK_STATUS(Api->SetParam(NULL, QUIC_PARAM_GLOBAL_EXECUTION_CONFIG, Needed, Config),
                 QUIC_STATUS_INVALID_PARAMETER, "SetParam(EXECUTION_CONFIG, processor 60000)");
    Config->ProcessorList[0] = 0;
    CHECK_STATUS(Api->SetParam(NULL, QUIC_PARAM_GLOBAL_EXECUTION_CONFIG, Needed, Config), QUIC_STATUS_SUCCESS,
                 "SetParam(EXECUTION_CONFIG, processor 0) before any registration");
    Length = query_size(NULL, QUIC_PARAM_GLOBAL_EXECUTION_CONFIG, "EXECUTION_CONFIG");
    CHECK(Length == Needed, "EXECUTION_CONFIG needs %u bytes (%u)", Needed, Length);
    memset(Storage, 0xEE, sizeof(Storage));
    Length = sizeof(Storage);
    CHECK_STATUS(Api->GetParam(NULL, QUIC_PARAM_GLOBAL_EXECUTION_CONFIG, &Length, Storage), QUIC_STATUS_SUCCESS,
                 "GetParam(EXECUTION_CONFIG)");
    CHECK(Length == Needed && Config->ProcessorCount == 1 && Config->ProcessorList[0] == 0,
          "EXECUTION_CONFIG round trip");
    CHECK_STATUS(Api->SetParam(NULL, QUIC_PARAM_GLOBAL_EXECUTION_CONFIG, 0, NULL), QUIC_STATUS_SUCCESS,
                 "SetParam(EXECUTION_CONFIG, length 0) clears it");
    Length = sizeof(Storage);
    CHECK_STATUS(Api->GetParam(NULL, QUIC_PARAM_GLOBAL_EXECUTION_CONFIG, &Length, Storage), QUIC_STATUS_SUCCESS,
                 "GetParam(EXECUTION_CONFIG) after clearing");
    CHECK(Length == 0, "EXECUTION_CONFIG is empty again (%u bytes)", Length);
}

/* Documented defaults (docs/Settings.md) of the global QUIC_SETTINGS. */
static void check_default_settings(const QUIC_SETTINGS* S)
{
    CHECK(S->MaxBytesPerKey == 274877906944ull, "default MaxBytesPerKey 274877906944 (%llu)",
          (unsigned long long)S->MaxBytesPerKey);
    CHECK(S->HandshakeIdleTimeoutMs == 10000, "default HandshakeIdleTimeoutMs 10000 (%llu)",
          (unsigned long long)S->HandshakeIdleTimeoutMs);
    CHECK(S->IdleTimeoutMs == 30000, "default IdleTimeoutMs 30000 (%llu)", (unsigned long long)S->IdleTimeoutMs);
    CHECK(S->MtuDiscoverySearchCompleteTimeoutUs == 600000000ull, "default MtuDiscoverySearchCompleteTimeoutUs 600000000");
    CHECK(S->TlsClientMaxSendBuffer == 4096, "default TlsClientMaxSendBuffer 4096 (%u)", S->TlsClientMaxSendBuffer);
    CHECK(S->TlsServerMaxSendBuffer == 8192, "default TlsServerMaxSendBuffer 8192 (%u)", S->TlsServerMaxSendBuffer);
    CHECK(S->StreamRecvWindowDefault == 65536, "default StreamRecvWindowDefault 65536 (%u)", S->StreamRecvWindowDefault);
    CHECK(S->StreamRecvBufferDefault == 4096, "default StreamRecvBufferDefault 4096 (%u)", S->StreamRecvBufferDefault);
    CHECK(S->ConnFlowControlWindow == 16777216, "default ConnFlowControlWindow 16777216 (%u)", S->ConnFlowControlWindow);
    CHECK(S->MaxStatelessOperations == 16, "default MaxStatelessOperations 16 (%u)", S->MaxStatelessOperations);
    CHECK(S->InitialWindowPackets == 10, "default InitialWindowPackets 10 (%u)", S->InitialWindowPackets);
    CHECK(S->SendIdleTimeoutMs == 1000, "default SendIdleTimeoutMs 1000 (%u)", S->SendIdleTimeoutMs);
    CHECK(S->InitialRttMs == 333, "default InitialRttMs 333 (%u)", S->InitialRttMs);
    CHECK(S->MaxAckDelayMs == 25, "default MaxAckDelayMs 25 (%u)", S->MaxAckDelayMs);
    CHECK(S->DisconnectTimeoutMs == 16000, "default DisconnectTimeoutMs 16000 (%u)", S->DisconnectTimeoutMs);
    CHECK(S->KeepAliveIntervalMs == 0, "default KeepAliveIntervalMs 0 (%u)", S->KeepAliveIntervalMs);
    CHECK(S->CongestionControlAlgorithm == QUIC_CONGESTION_CONTROL_ALGORITHM_CUBIC,
          "default CongestionControlAlgorithm CUBIC (%u)", S->CongestionControlAlgorithm);
    CHECK(S->PeerBidiStreamCount == 0, "default PeerBidiStreamCount 0 (%u)", S->PeerBidiStreamCount);
    CHECK(S->PeerUnidiStreamCount == 0, "default PeerUnidiStreamCount 0 (%u)", S->PeerUnidiStreamCount);
    CHECK(S->MaxBindingStatelessOperations == 100, "default MaxBindingStatelessOperations 100 (%u)",
          S->MaxBindingStatelessOperations);
    CHECK(S->StatelessOperationExpirationMs == 100, "default StatelessOperationExpirationMs 100 (%u)",
          S->StatelessOperationExpirationMs);
    CHECK(S->MinimumMtu == 1288, "default MinimumMtu 1288 (%u)", S->MinimumMtu);
    CHECK(S->MaximumMtu == 1500, "default MaximumMtu 1500 (%u)", S->MaximumMtu);
    CHECK(S->SendBufferingEnabled == 1, "default SendBufferingEnabled 1");
    CHECK(S->PacingEnabled == 1, "default PacingEnabled 1");
    CHECK(S->MigrationEnabled == 1, "default MigrationEnabled 1");
    CHECK(S->DatagramReceiveEnabled == 0, "default DatagramReceiveEnabled 0");
    CHECK(S->ServerResumptionLevel == QUIC_SERVER_NO_RESUME, "default ServerResumptionLevel NO_RESUME");
    CHECK(S->GreaseQuicBitEnabled == 0, "default GreaseQuicBitEnabled 0");
    CHECK(S->EcnEnabled == 0, "default EcnEnabled 0");
    CHECK(S->MaxOperationsPerDrain == 16, "default MaxOperationsPerDrain 16 (%u)", S->MaxOperationsPerDrain);
    CHECK(S->MtuDiscoveryMissingProbeCount == 3, "default MtuDiscoveryMissingProbeCount 3 (%u)",
          S->MtuDiscoveryMissingProbeCount);
    CHECK(S->DestCidUpdateIdleTimeoutMs == 20000, "default DestCidUpdateIdleTimeoutMs 20000 (%u)",
          S->DestCidUpdateIdleTimeoutMs);
}

/* SetParam of settings with one invalid field is refused (RFC 9000 §18.2 limits and enum ranges). */
static void check_invalid_settings(HQUIC Handle, uint32_t Param, const char* Where)
{
    QUIC_SETTINGS S;

    memset(&S, 0, sizeof(S));
    S.IsSet.MaxAckDelayMs = 1;
    S.MaxAckDelayMs = 1u << 14;    /* RFC 9000 §18.2: max_ack_delay < 2^14 */
    CHECK_STATUS(Api->SetParam(Handle, Param, sizeof(S), &S), QUIC_STATUS_INVALID_PARAMETER,
                 "%s: MaxAckDelayMs 16384", Where);

    memset(&S, 0, sizeof(S));
    S.IsSet.IdleTimeoutMs = 1;
    S.IdleTimeoutMs = QUIC_UINT62_MAX + 1;  /* not a varint (RFC 9000 §16) */
    CHECK_STATUS(Api->SetParam(Handle, Param, sizeof(S), &S), QUIC_STATUS_INVALID_PARAMETER,
                 "%s: IdleTimeoutMs 2^62", Where);

    memset(&S, 0, sizeof(S));
    S.IsSet.CongestionControlAlgorithm = 1;
    S.CongestionControlAlgorithm = QUIC_CONGESTION_CONTROL_ALGORITHM_MAX;
    CHECK_STATUS(Api->SetParam(Handle, Param, sizeof(S), &S), QUIC_STATUS_INVALID_PARAMETER,
                 "%s: CongestionControlAlgorithm MAX", Where);

    memset(&S, 0, sizeof(S));
    S.IsSet.ServerResumptionLevel = 1;
    S.ServerResumptionLevel = 3;
    CHECK_STATUS(Api->SetParam(Handle, Param, sizeof(S), &S), QUIC_STATUS_INVALID_PARAMETER,
                 "%s: ServerResumptionLevel 3", Where);

    memset(&S, 0, sizeof(S));
    S.IsSet.MinimumMtu = 1;
    S.IsSet.MaximumMtu = 1;
    S.MinimumMtu = 1400;
    S.MaximumMtu = 1300;
    CHECK_STATUS(Api->SetParam(Handle, Param, sizeof(S), &S), QUIC_STATUS_INVALID_PARAMETER,
                 "%s: MinimumMtu 1400 > MaximumMtu 1300", Where);

    memset(&S, 0, sizeof(S));
    CHECK_STATUS(Api->SetParam(Handle, Param, 7, &S), QUIC_STATUS_INVALID_PARAMETER,
                 "%s: 7-byte settings", Where);
    CHECK_STATUS(Api->SetParam(Handle, Param, sizeof(S), NULL), QUIC_STATUS_INVALID_PARAMETER,
                 "%s: settings NULL", Where);
}

static void test_global_settings(void)
{
    QUIC_SETTINGS Settings;
    QUIC_SETTINGS Original;
    QUIC_SETTINGS Changed;
    uint32_t Length = query_size(NULL, QUIC_PARAM_GLOBAL_SETTINGS, "SETTINGS");
    uint8_t Big[sizeof(QUIC_SETTINGS) + 32];

    CHECK(Length == sizeof(QUIC_SETTINGS), "SETTINGS needs %u bytes (%u)", (unsigned)sizeof(QUIC_SETTINGS), Length);
    Length = sizeof(Settings);
    CHECK_STATUS(Api->GetParam(NULL, QUIC_PARAM_GLOBAL_SETTINGS, &Length, NULL), QUIC_STATUS_INVALID_PARAMETER,
                 "GetParam(SETTINGS, buffer NULL)");
    Length = 50;
    CHECK_STATUS(Api->GetParam(NULL, QUIC_PARAM_GLOBAL_SETTINGS, &Length, &Settings), QUIC_STATUS_BUFFER_TOO_SMALL,
                 "GetParam(SETTINGS, 50 bytes)");
    CHECK(Length == 109, "GetParam(SETTINGS, 50 bytes) reports the minimum, through MtuDiscoveryMissingProbeCount (109: %u)",
          Length);
    Length = 120;
    CHECK_STATUS(Api->GetParam(NULL, QUIC_PARAM_GLOBAL_SETTINGS, &Length, Big), QUIC_STATUS_SUCCESS,
                 "GetParam(SETTINGS, 120 bytes: an older, shorter QUIC_SETTINGS)");
    CHECK(Length == 120, "GetParam(SETTINGS, 120 bytes) writes 120 bytes (%u)", Length);
    Length = sizeof(Big);
    CHECK_STATUS(Api->GetParam(NULL, QUIC_PARAM_GLOBAL_SETTINGS, &Length, Big), QUIC_STATUS_SUCCESS,
                 "GetParam(SETTINGS, larger buffer)");
    CHECK(Length == sizeof(QUIC_SETTINGS), "GetParam(SETTINGS, larger buffer) writes %u bytes (%u)",
          (unsigned)sizeof(QUIC_SETTINGS), Length);
    memset(&Settings, 0, sizeof(Settings));
    Length = sizeof(Settings);
    CHECK_STATUS(Api->GetParam(NULL, QUIC_PARAM_GLOBAL_SETTINGS, &Length, &Settings), QUIC_STATUS_SUCCESS,
                 "GetParam(SETTINGS)");
    check_default_settings(&Settings);
    Original = Settings;

    /* Round trip of a few fields. */
    memset(&Changed, 0, sizeof(Changed));
    Changed.IsSet.IdleTimeoutMs = 1;
    Changed.IdleTimeoutMs = 45000;
    Changed.IsSet.PeerBidiStreamCount = 1;
    Changed.PeerBidiStreamCount = 77;
    Changed.IsSet.DatagramReceiveEnabled = 1;
    Changed.DatagramReceiveEnabled = 1;
    Changed.IsSet.KeepAliveIntervalMs = 1;
    Changed.KeepAliveIntervalMs = 1234;
    CHECK_STATUS(Api->SetParam(NULL, QUIC_PARAM_GLOBAL_SETTINGS, sizeof(Changed), &Changed), QUIC_STATUS_SUCCESS,
                 "SetParam(SETTINGS, 4 fields)");
    memset(&Settings, 0, sizeof(Settings));
    Length = sizeof(Settings);
    CHECK_STATUS(Api->GetParam(NULL, QUIC_PARAM_GLOBAL_SETTINGS, &Length, &Settings), QUIC_STATUS_SUCCESS,
                 "GetParam(SETTINGS) after set");
    CHECK(Settings.IdleTimeoutMs == 45000 && Settings.PeerBidiStreamCount == 77 &&
          Settings.DatagramReceiveEnabled == 1 && Settings.KeepAliveIntervalMs == 1234,
          "SETTINGS round trip of the set fields");
    CHECK(Settings.MaxAckDelayMs == Original.MaxAckDelayMs && Settings.InitialRttMs == Original.InitialRttMs,
          "SETTINGS fields without IsSet keep their value");

    check_invalid_settings(NULL, QUIC_PARAM_GLOBAL_SETTINGS, "global SETTINGS");

    /* Restore. */
    Changed.IdleTimeoutMs = Original.IdleTimeoutMs;
    Changed.PeerBidiStreamCount = Original.PeerBidiStreamCount;
    Changed.DatagramReceiveEnabled = Original.DatagramReceiveEnabled;
    Changed.KeepAliveIntervalMs = Original.KeepAliveIntervalMs;
    CHECK_STATUS(Api->SetParam(NULL, QUIC_PARAM_GLOBAL_SETTINGS, sizeof(Changed), &Changed), QUIC_STATUS_SUCCESS,
                 "SetParam(SETTINGS) restore");
}

static void test_global_only_settings(void)
{
    QUIC_GLOBAL_SETTINGS Settings;
    uint16_t Retry = 0;
    uint32_t Length = query_size(NULL, QUIC_PARAM_GLOBAL_GLOBAL_SETTINGS, "GLOBAL_SETTINGS");
    CHECK(Length == sizeof(QUIC_GLOBAL_SETTINGS), "GLOBAL_SETTINGS needs %u bytes (%u)",
          (unsigned)sizeof(QUIC_GLOBAL_SETTINGS), Length);
    Length = 4;
    CHECK_STATUS(Api->GetParam(NULL, QUIC_PARAM_GLOBAL_GLOBAL_SETTINGS, &Length, &Settings),
                 QUIC_STATUS_BUFFER_TOO_SMALL, "GetParam(GLOBAL_SETTINGS, 4 bytes)");
    CHECK(Length == 12, "GetParam(GLOBAL_SETTINGS, 4 bytes) reports the minimum, through LoadBalancingMode (12: %u)",
          Length);
    memset(&Settings, 0, sizeof(Settings));
    Length = sizeof(Settings);
    CHECK_STATUS(Api->GetParam(NULL, QUIC_PARAM_GLOBAL_GLOBAL_SETTINGS, &Length, &Settings), QUIC_STATUS_SUCCESS,
                 "GetParam(GLOBAL_SETTINGS)");
    CHECK(Settings.RetryMemoryLimit == 65 && Settings.LoadBalancingMode == QUIC_LOAD_BALANCING_DISABLED,
          "GLOBAL_SETTINGS defaults: RetryMemoryLimit 65, LoadBalancingMode DISABLED (%u, %u)",
          Settings.RetryMemoryLimit, Settings.LoadBalancingMode);

    memset(&Settings, 0, sizeof(Settings));
    Settings.IsSet.RetryMemoryLimit = 1;
    Settings.RetryMemoryLimit = 99;
    CHECK_STATUS(Api->SetParam(NULL, QUIC_PARAM_GLOBAL_GLOBAL_SETTINGS, sizeof(Settings), &Settings),
                 QUIC_STATUS_SUCCESS, "SetParam(GLOBAL_SETTINGS, RetryMemoryLimit 99)");
    Length = sizeof(Retry);
    CHECK_STATUS(Api->GetParam(NULL, QUIC_PARAM_GLOBAL_RETRY_MEMORY_PERCENT, &Length, &Retry), QUIC_STATUS_SUCCESS,
                 "GetParam(RETRY_MEMORY_PERCENT)");
    CHECK(Retry == 99, "GLOBAL_SETTINGS.RetryMemoryLimit is RETRY_MEMORY_PERCENT (%u)", Retry);
    CHECK_STATUS(Api->SetParam(NULL, QUIC_PARAM_GLOBAL_GLOBAL_SETTINGS, 4, &Settings), QUIC_STATUS_INVALID_PARAMETER,
                 "SetParam(GLOBAL_SETTINGS, 4 bytes)");
    CHECK_STATUS(Api->SetParam(NULL, QUIC_PARAM_GLOBAL_GLOBAL_SETTINGS, sizeof(Settings), NULL),
                 QUIC_STATUS_INVALID_PARAMETER, "SetParam(GLOBAL_SETTINGS, NULL)");
    Settings.RetryMemoryLimit = 65;
    CHECK_STATUS(Api->SetParam(NULL, QUIC_PARAM_GLOBAL_GLOBAL_SETTINGS, sizeof(Settings), &Settings),
                 QUIC_STATUS_SUCCESS, "SetParam(GLOBAL_SETTINGS) restore");
}

/* VERSION_SETTINGS on a handle (NULL: global): invalid values, size protocol, round trip. */
static void test_version_settings(HQUIC Handle, uint32_t Param, const char* Where)
{
    const uint32_t Versions[] = {QUIC_VERSION_2_H, QUIC_VERSION_1_H};
    const uint32_t Bogus[] = {0x12345678u};
    QUIC_VERSION_SETTINGS Settings;
    uint8_t Storage[256];
    QUIC_VERSION_SETTINGS* Got = (QUIC_VERSION_SETTINGS*)(void*)Storage;
    uint32_t Length;
    uint32_t Needed = (uint32_t)(sizeof(QUIC_VERSION_SETTINGS) + 3 * sizeof(Versions));

    memset(&Settings, 0, sizeof(Settings));
    Settings.AcceptableVersions = Bogus;
    Settings.AcceptableVersionsLength = 1;
    Settings.OfferedVersions = Versions;
    Settings.OfferedVersionsLength = 2;
    Settings.FullyDeployedVersions = Versions;
    Settings.FullyDeployedVersionsLength = 2;
    CHECK_STATUS(Api->SetParam(Handle, Param, sizeof(Settings), &Settings), QUIC_STATUS_INVALID_PARAMETER,
                 "%s: an unsupported version", Where);
    Settings.AcceptableVersions = NULL;
    Settings.AcceptableVersionsLength = 2;
    CHECK_STATUS(Api->SetParam(Handle, Param, sizeof(Settings), &Settings), QUIC_STATUS_INVALID_PARAMETER,
                 "%s: a list NULL with a length", Where);
    Settings.AcceptableVersions = Versions;
    CHECK_STATUS(Api->SetParam(Handle, Param, sizeof(Settings) - 1, &Settings), QUIC_STATUS_INVALID_PARAMETER,
                 "%s: short buffer", Where);
    CHECK_STATUS(Api->SetParam(Handle, Param, sizeof(Settings), &Settings), QUIC_STATUS_SUCCESS,
                 "%s: v2+v1 in all lists", Where);

    Length = 0;
    CHECK_STATUS(Api->GetParam(Handle, Param, &Length, NULL), QUIC_STATUS_BUFFER_TOO_SMALL, "%s: get, length 0", Where);
    CHECK(Length == Needed, "%s: needs the struct plus the lists, %u bytes (%u)", Where, Needed, Length);
    memset(Storage, 0, sizeof(Storage));
    Length = sizeof(Storage);
    CHECK_STATUS(Api->GetParam(Handle, Param, &Length, Storage), QUIC_STATUS_SUCCESS, "%s: get", Where);
    CHECK(Length == Needed, "%s: get writes %u bytes (%u)", Where, Needed, Length);
    CHECK(Got->AcceptableVersionsLength == 2 && Got->OfferedVersionsLength == 2 &&
          Got->FullyDeployedVersionsLength == 2, "%s: round trip of the list lengths", Where);
    if (Got->AcceptableVersionsLength == 2 && Got->OfferedVersionsLength == 2 && Got->FullyDeployedVersionsLength == 2) {
        const uint8_t* Lo = Storage;
        const uint8_t* Hi = Storage + Length;
        int Inside = (const uint8_t*)Got->AcceptableVersions >= Lo && (const uint8_t*)(Got->AcceptableVersions + 2) <= Hi &&
                     (const uint8_t*)Got->OfferedVersions >= Lo && (const uint8_t*)(Got->OfferedVersions + 2) <= Hi &&
                     (const uint8_t*)Got->FullyDeployedVersions >= Lo &&
                     (const uint8_t*)(Got->FullyDeployedVersions + 2) <= Hi;
        CHECK(Inside, "%s: the returned lists point into the caller's buffer", Where);
        if (Inside) {
            /* MsQuic 2.6 returns the versions in network byte order (byte-swapped from what was
               set); its ParameterValidation.ValidateVersionSettings checks exactly that. */
            uint32_t i;
            int Same = 1;
            for (i = 0; i < 2; i++) {
                Same = Same && Got->AcceptableVersions[i] == __builtin_bswap32(Versions[i]) &&
                       Got->OfferedVersions[i] == __builtin_bswap32(Versions[i]) &&
                       Got->FullyDeployedVersions[i] == __builtin_bswap32(Versions[i]);
            }
            CHECK(Same, "%s: the versions come back byte-swapped, as MsQuic returns them", Where);
        }
    }
}

/* ---- configuration parameters ------------------------------------------- */

static void test_configuration(HQUIC Registration)
{
    QUIC_BUFFER Alpn = tu_alpn("swiftquic");
    HQUIC Server = NULL;
    HQUIC Client = NULL;
    QUIC_SETTINGS Settings;
    QUIC_TICKET_KEY_CONFIG Keys[QUIC_MAX_TICKET_KEY_COUNT + 1];
    uint32_t Length;
    QUIC_CREDENTIAL_CONFIG Cred;
    QUIC_CERTIFICATE_FILE Files;

    memset(&Settings, 0, sizeof(Settings));
    Settings.IsSet.IdleTimeoutMs = 1;
    Settings.IdleTimeoutMs = 7000;
    if (QUIC_FAILED(Api->ConfigurationOpen(Registration, &Alpn, 1, &Settings, sizeof(Settings), NULL, &Server)) ||
        QUIC_FAILED(Api->ConfigurationOpen(Registration, &Alpn, 1, NULL, 0, NULL, &Client))) {
        CHECK(0, "open two configurations");
        return;
    }

    /* SETTINGS. */
    Length = query_size(Server, QUIC_PARAM_CONFIGURATION_SETTINGS, "CONFIGURATION_SETTINGS");
    CHECK(Length == sizeof(QUIC_SETTINGS), "CONFIGURATION_SETTINGS needs %u bytes (%u)",
          (unsigned)sizeof(QUIC_SETTINGS), Length);
    memset(&Settings, 0, sizeof(Settings));
    Length = sizeof(Settings);
    CHECK_STATUS(Api->GetParam(Server, QUIC_PARAM_CONFIGURATION_SETTINGS, &Length, &Settings), QUIC_STATUS_SUCCESS,
                 "GetParam(CONFIGURATION_SETTINGS)");
    CHECK(Settings.IsSet.IdleTimeoutMs && Settings.IdleTimeoutMs == 7000,
          "settings given to ConfigurationOpen are read back (IdleTimeoutMs %llu)",
          (unsigned long long)Settings.IdleTimeoutMs);

    memset(&Settings, 0, sizeof(Settings));
    Settings.IsSet.PeerUnidiStreamCount = 1;
    Settings.PeerUnidiStreamCount = 3;
    Settings.IsSet.ServerResumptionLevel = 1;
    Settings.ServerResumptionLevel = QUIC_SERVER_RESUME_AND_ZERORTT;
    Settings.IsSet.HyStartEnabled = 1;
    Settings.HyStartEnabled = 1;
    CHECK_STATUS(Api->SetParam(Server, QUIC_PARAM_CONFIGURATION_SETTINGS, sizeof(Settings), &Settings),
                 QUIC_STATUS_SUCCESS, "SetParam(CONFIGURATION_SETTINGS, 3 fields)");
    memset(&Settings, 0, sizeof(Settings));
    Length = sizeof(Settings);
    CHECK_STATUS(Api->GetParam(Server, QUIC_PARAM_CONFIGURATION_SETTINGS, &Length, &Settings), QUIC_STATUS_SUCCESS,
                 "GetParam(CONFIGURATION_SETTINGS) after set");
    CHECK(Settings.IsSet.PeerUnidiStreamCount && Settings.PeerUnidiStreamCount == 3 &&
          Settings.IsSet.ServerResumptionLevel && Settings.ServerResumptionLevel == QUIC_SERVER_RESUME_AND_ZERORTT &&
          Settings.IsSet.HyStartEnabled && Settings.HyStartEnabled == 1,
          "CONFIGURATION_SETTINGS round trip of the set fields");
    CHECK(Settings.IsSet.IdleTimeoutMs && Settings.IdleTimeoutMs == 7000,
          "CONFIGURATION_SETTINGS keeps earlier fields");
    check_invalid_settings(Server, QUIC_PARAM_CONFIGURATION_SETTINGS, "CONFIGURATION_SETTINGS");

    /* VERSION_SETTINGS. */
    test_version_settings(Server, QUIC_PARAM_CONFIGURATION_VERSION_SETTINGS, "CONFIGURATION_VERSION_SETTINGS");

    /* TICKET_KEYS: set-only, needs a loaded server credential. */
    memset(Keys, 0, sizeof(Keys));
    {
        int i;
        for (i = 0; i <= QUIC_MAX_TICKET_KEY_COUNT; i++) {
            Keys[i].Id[0] = (uint8_t)i;
            Keys[i].MaterialLength = 64;
            memset(Keys[i].Material, 0x33 + i, sizeof(Keys[i].Material));
        }
    }
    Length = sizeof(Keys[0]);
    CHECK_STATUS(Api->GetParam(Server, QUIC_PARAM_CONFIGURATION_TICKET_KEYS, &Length, Keys),
                 QUIC_STATUS_INVALID_PARAMETER, "GetParam(TICKET_KEYS) is refused (set-only)");
    CHECK_STATUS(Api->SetParam(Server, QUIC_PARAM_CONFIGURATION_TICKET_KEYS, sizeof(Keys[0]), Keys),
                 QUIC_STATUS_INVALID_STATE, "SetParam(TICKET_KEYS) before a credential is loaded");
    if (tu_cert_dir() == NULL) {
        CHECK(0, "certificates available for the TICKET_KEYS checks");
    } else {
        memset(&Cred, 0, sizeof(Cred));
        Files.CertificateFile = tu_cert("ecdsa-p256.crt");
        Files.PrivateKeyFile = tu_cert("ecdsa-p256.key");
        Cred.Type = QUIC_CREDENTIAL_TYPE_CERTIFICATE_FILE;
        Cred.CertificateFile = &Files;
        CHECK_STATUS(Api->ConfigurationLoadCredential(Server, &Cred), QUIC_STATUS_SUCCESS, "load a server credential");
        CHECK_STATUS(Api->SetParam(Server, QUIC_PARAM_CONFIGURATION_TICKET_KEYS, sizeof(Keys[0]), Keys),
                     QUIC_STATUS_SUCCESS, "SetParam(TICKET_KEYS, 1 key)");
        CHECK_STATUS(Api->SetParam(Server, QUIC_PARAM_CONFIGURATION_TICKET_KEYS,
                                   QUIC_MAX_TICKET_KEY_COUNT * sizeof(Keys[0]), Keys),
                     QUIC_STATUS_SUCCESS, "SetParam(TICKET_KEYS, 16 keys)");
        CHECK_STATUS(Api->SetParam(Server, QUIC_PARAM_CONFIGURATION_TICKET_KEYS, 0, Keys),
                     QUIC_STATUS_INVALID_PARAMETER, "SetParam(TICKET_KEYS, 0 bytes)");
        CHECK_STATUS(Api->SetParam(Server, QUIC_PARAM_CONFIGURATION_TICKET_KEYS, sizeof(Keys[0]) - 1, Keys),
                     QUIC_STATUS_INVALID_PARAMETER, "SetParam(TICKET_KEYS, less than one key)");
        CHECK_STATUS(Api->SetParam(Server, QUIC_PARAM_CONFIGURATION_TICKET_KEYS, sizeof(Keys[0]), NULL),
                     QUIC_STATUS_INVALID_PARAMETER, "SetParam(TICKET_KEYS, buffer NULL)");

        memset(&Cred, 0, sizeof(Cred));
        Cred.Flags = QUIC_CREDENTIAL_FLAG_CLIENT;
        CHECK_STATUS(Api->ConfigurationLoadCredential(Client, &Cred), QUIC_STATUS_SUCCESS, "load a client credential");
        CHECK_STATUS(Api->SetParam(Client, QUIC_PARAM_CONFIGURATION_TICKET_KEYS, sizeof(Keys[0]), Keys),
                     QUIC_STATUS_NOT_SUPPORTED, "SetParam(TICKET_KEYS) on a client configuration");
    }

    /* Unknown and misplaced parameters. */
    Length = sizeof(Settings);
    CHECK_STATUS(Api->GetParam(Server, 0x030000FFu, &Length, &Settings), QUIC_STATUS_INVALID_PARAMETER,
                 "GetParam(unknown configuration parameter)");
    CHECK_STATUS(Api->SetParam(Server, 0x030000FFu, 4, &Length), QUIC_STATUS_INVALID_PARAMETER,
                 "SetParam(unknown configuration parameter)");
    Length = sizeof(Settings);
    CHECK_STATUS(Api->GetParam(Server, QUIC_PARAM_CONN_SETTINGS, &Length, &Settings), QUIC_STATUS_INVALID_PARAMETER,
                 "GetParam(connection parameter on a configuration)");

    Api->ConfigurationClose(Client);
    Api->ConfigurationClose(Server);
}

int main(void)
{
    HQUIC Registration = NULL;

    tu_start_watchdog(90);
    if (MsQuicOpen2(&Api) != QUIC_STATUS_SUCCESS || Api == NULL) {
        CHECK(0, "MsQuicOpen2");
        return tu_finish();
    }

    /* Before any registration exists. */
    test_execution_config();
    test_retry_memory();
    test_supported_versions();
    test_load_balancing();
    test_perf_counters();
    test_library_version();
    test_git_hash();
    test_tls_provider();
    test_stateless_reset_key_early();
    test_statistics_v2_sizes();
    test_stateless_retry_config();
    test_global_settings();
    test_global_only_settings();
    test_version_settings(NULL, QUIC_PARAM_GLOBAL_VERSION_SETTINGS, "GLOBAL_VERSION_SETTINGS");

    CHECK_STATUS(Api->RegistrationOpen(NULL, &Registration), QUIC_STATUS_SUCCESS, "RegistrationOpen");
    if (Registration != NULL) {
        test_stateless_reset_key();
        test_configuration(Registration);
        Api->RegistrationClose(Registration);
    }
    MsQuicClose(Api);
    return tu_finish();
}
