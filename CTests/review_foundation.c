/*
 * review_foundation.c - checks added by the review of issue 2 (the foundation): behaviours of
 * MsQuic 2.6 that the other C tests did not pin down.
 *
 *  - ConfigurationOpen looks at a non-NULL QUIC_SETTINGS through its IsSetFlags: fields marked
 *    set with a SettingsSize below the oldest layout (0 included) are INVALID_PARAMETER, all
 *    clear flags are ignored whatever the size.
 *  - QUIC_PARAM_GLOBAL_EXECUTION_CONFIG must be set before the first RegistrationOpen; after it
 *    only the polling idle timeout of an existing one may change (else INVALID_STATE).
 *  - global parameters with QUIC_PARAM_HIGH_PRIORITY are still global parameters.
 *  - QUIC_PARAM_GLOBAL_LOAD_BALACING_MODE stays settable after RegistrationOpen: MsQuic fixes it
 *    only once the first UDP binding exists.
 *  - MaxOperationsPerDrain 0 is refused (MsQuic's QuicSettingApply), 255 accepted.
 *  - revocation flags are INVALID_PARAMETER even without USE_TLS_BUILTIN_CERTIFICATE_VALIDATION:
 *    MsQuic on Linux always adds that flag (CX_PLATFORM_USES_TLS_BUILTIN_CERTIFICATE).
 *  - the last MsQuicClose releases open handles, the next open starts with default state.
 */
/* QUIC_GLOBAL_EXECUTION_CONFIG is a preview declaration of the 2.6 header. */
#define QUIC_API_ENABLE_PREVIEW_FEATURES 1
#include "testutil.h"

static const QUIC_API_TABLE* Api;

static void test_settings_size(HQUIC Registration)
{
    QUIC_BUFFER Alpn = { 4, (uint8_t*)"test" };
    QUIC_SETTINGS Settings;
    HQUIC Configuration = NULL;

    memset(&Settings, 0, sizeof(Settings));
    CHECK_STATUS(Api->ConfigurationOpen(Registration, &Alpn, 1, &Settings, 0, NULL, &Configuration),
                 QUIC_STATUS_SUCCESS, "ConfigurationOpen: no field set, SettingsSize 0");
    Api->ConfigurationClose(Configuration);
    Configuration = NULL;
    CHECK_STATUS(Api->ConfigurationOpen(Registration, &Alpn, 1, &Settings, 4, NULL, &Configuration),
                 QUIC_STATUS_SUCCESS, "ConfigurationOpen: no field set, SettingsSize 4");
    Api->ConfigurationClose(Configuration);
    Configuration = NULL;

    Settings.IsSet.IdleTimeoutMs = 1;
    Settings.IdleTimeoutMs = 5000;
    CHECK_STATUS(Api->ConfigurationOpen(Registration, &Alpn, 1, &Settings, 0, NULL, &Configuration),
                 QUIC_STATUS_INVALID_PARAMETER, "ConfigurationOpen: a field set, SettingsSize 0");
    CHECK(Configuration == NULL, "no configuration handed out");
    CHECK_STATUS(Api->ConfigurationOpen(Registration, &Alpn, 1, &Settings, 8, NULL, &Configuration),
                 QUIC_STATUS_INVALID_PARAMETER, "ConfigurationOpen: a field set, SettingsSize 8");
    CHECK_STATUS(Api->ConfigurationOpen(Registration, &Alpn, 1, &Settings, sizeof(Settings), NULL,
                                        &Configuration),
                 QUIC_STATUS_SUCCESS, "ConfigurationOpen: a field set, full size");
    if (Configuration != NULL) {
        QUIC_SETTINGS Read;
        uint32_t Length = sizeof(Read);
        CHECK_STATUS(Api->GetParam(Configuration, QUIC_PARAM_CONFIGURATION_SETTINGS, &Length, &Read),
                     QUIC_STATUS_SUCCESS, "GetParam(CONFIGURATION_SETTINGS)");
        CHECK(Read.IsSet.IdleTimeoutMs && Read.IdleTimeoutMs == 5000, "the set field is kept");
        Api->ConfigurationClose(Configuration);
    }
}

static void test_execution_config(void)
{
    /* One processor in the list: QUIC_GLOBAL_EXECUTION_CONFIG_MIN_SIZE + 2 bytes. */
    const uint32_t ConfigLength = QUIC_GLOBAL_EXECUTION_CONFIG_MIN_SIZE + sizeof(uint16_t);
    union { QUIC_GLOBAL_EXECUTION_CONFIG Config; uint8_t Bytes[32]; } In, Out;
    QUIC_GLOBAL_EXECUTION_CONFIG* Config = &In.Config;
    QUIC_GLOBAL_EXECUTION_CONFIG* Read = &Out.Config;
    uint8_t* Buffer = In.Bytes;
    uint8_t* ReadBuffer = Out.Bytes;
    uint32_t Length;
    HQUIC Registration = NULL;

    memset(&In, 0, sizeof(In));
    Config->ProcessorCount = 1;
    Config->ProcessorList[0] = 0;
    Config->PollingIdleTimeoutUs = 10;
    CHECK_STATUS(Api->SetParam(NULL, QUIC_PARAM_GLOBAL_EXECUTION_CONFIG, ConfigLength, Buffer),
                 QUIC_STATUS_SUCCESS, "EXECUTION_CONFIG before the first registration");
    CHECK_STATUS(Api->RegistrationOpen(NULL, &Registration), QUIC_STATUS_SUCCESS, "RegistrationOpen");

    Config->PollingIdleTimeoutUs = 1234;
    Config->ProcessorCount = 0;   /* only the polling idle timeout is taken from here on */
    CHECK_STATUS(Api->SetParam(NULL, QUIC_PARAM_GLOBAL_EXECUTION_CONFIG, QUIC_GLOBAL_EXECUTION_CONFIG_MIN_SIZE,
                               Buffer),
                 QUIC_STATUS_SUCCESS, "EXECUTION_CONFIG after it: updates the polling idle timeout");
    Length = sizeof(Out.Bytes);
    CHECK_STATUS(Api->GetParam(NULL, QUIC_PARAM_GLOBAL_EXECUTION_CONFIG, &Length, ReadBuffer),
                 QUIC_STATUS_SUCCESS, "GetParam(EXECUTION_CONFIG)");
    CHECK(Length == ConfigLength && Read->ProcessorCount == 1 && Read->PollingIdleTimeoutUs == 1234,
          "the processor list stays, the timeout changed (length %u, count %u, timeout %u)", Length,
          Read->ProcessorCount, Read->PollingIdleTimeoutUs);

    CHECK_STATUS(Api->SetParam(NULL, QUIC_PARAM_GLOBAL_EXECUTION_CONFIG, 0, NULL), QUIC_STATUS_SUCCESS,
                 "EXECUTION_CONFIG cleared");
    Config->ProcessorCount = 1;
    CHECK_STATUS(Api->SetParam(NULL, QUIC_PARAM_GLOBAL_EXECUTION_CONFIG, ConfigLength, Buffer),
                 QUIC_STATUS_INVALID_STATE, "EXECUTION_CONFIG first set after RegistrationOpen");
    Length = 7;
    CHECK_STATUS(Api->GetParam(NULL, QUIC_PARAM_GLOBAL_EXECUTION_CONFIG, &Length, NULL), QUIC_STATUS_SUCCESS,
                 "GetParam(EXECUTION_CONFIG) with none set");
    CHECK(Length == 0, "length 0 when none is set (%u)", Length);
    Api->RegistrationClose(Registration);
}

static void test_high_priority_global(void)
{
    uint32_t Version[4];
    uint32_t Length = sizeof(Version);
    CHECK_STATUS(Api->GetParam(NULL, QUIC_PARAM_GLOBAL_LIBRARY_VERSION | QUIC_PARAM_HIGH_PRIORITY, &Length,
                               Version),
                 QUIC_STATUS_SUCCESS, "GetParam(LIBRARY_VERSION | HIGH_PRIORITY)");
    CHECK(Length == sizeof(Version) && Version[0] == 2, "version %u.%u", Version[0], Version[1]);
}

static void test_load_balancing_and_settings_ranges(HQUIC Registration)
{
    QUIC_SETTINGS Settings;
    uint16_t Mode = QUIC_LOAD_BALANCING_SERVER_ID_IP;
    uint32_t Length = sizeof(Mode);

    (void)Registration; /* open: the library is initialised, but no socket exists */
    CHECK_STATUS(Api->SetParam(NULL, QUIC_PARAM_GLOBAL_LOAD_BALACING_MODE, sizeof(Mode), &Mode),
                 QUIC_STATUS_SUCCESS, "LOAD_BALACING_MODE after RegistrationOpen, before any binding");
    Mode = 0;
    CHECK_STATUS(Api->GetParam(NULL, QUIC_PARAM_GLOBAL_LOAD_BALACING_MODE, &Length, &Mode), QUIC_STATUS_SUCCESS,
                 "GetParam(LOAD_BALACING_MODE)");
    CHECK(Mode == QUIC_LOAD_BALANCING_SERVER_ID_IP, "the mode was taken (%u)", Mode);
    Mode = QUIC_LOAD_BALANCING_DISABLED;
    CHECK_STATUS(Api->SetParam(NULL, QUIC_PARAM_GLOBAL_LOAD_BALACING_MODE, sizeof(Mode), &Mode),
                 QUIC_STATUS_SUCCESS, "LOAD_BALACING_MODE back to DISABLED");

    memset(&Settings, 0, sizeof(Settings));
    Settings.IsSet.MaxOperationsPerDrain = 1;
    Settings.MaxOperationsPerDrain = 0;
    CHECK_STATUS(Api->SetParam(NULL, QUIC_PARAM_GLOBAL_SETTINGS, sizeof(Settings), &Settings),
                 QUIC_STATUS_INVALID_PARAMETER, "MaxOperationsPerDrain 0");
    Settings.MaxOperationsPerDrain = 255;
    CHECK_STATUS(Api->SetParam(NULL, QUIC_PARAM_GLOBAL_SETTINGS, sizeof(Settings), &Settings),
                 QUIC_STATUS_SUCCESS, "MaxOperationsPerDrain 255");
}

static void test_revocation_flags(HQUIC Registration)
{
    static const QUIC_CREDENTIAL_FLAGS Revocation[] = {
        QUIC_CREDENTIAL_FLAG_REVOCATION_CHECK_END_CERT, QUIC_CREDENTIAL_FLAG_REVOCATION_CHECK_CHAIN,
        QUIC_CREDENTIAL_FLAG_REVOCATION_CHECK_CHAIN_EXCLUDE_ROOT, QUIC_CREDENTIAL_FLAG_IGNORE_NO_REVOCATION_CHECK,
        QUIC_CREDENTIAL_FLAG_IGNORE_REVOCATION_OFFLINE, QUIC_CREDENTIAL_FLAG_CACHE_ONLY_URL_RETRIEVAL,
        QUIC_CREDENTIAL_FLAG_REVOCATION_CHECK_CACHE_ONLY, QUIC_CREDENTIAL_FLAG_DISABLE_AIA,
    };
    QUIC_BUFFER Alpn = { 2, (uint8_t*)"h3" };
    QUIC_CREDENTIAL_CONFIG Cred;
    HQUIC Configuration = NULL;

    if (QUIC_FAILED(Api->ConfigurationOpen(Registration, &Alpn, 1, NULL, 0, NULL, &Configuration))) {
        CHECK(0, "ConfigurationOpen for the revocation checks");
        return;
    }
    for (size_t i = 0; i < sizeof(Revocation) / sizeof(Revocation[0]); ++i) {
        memset(&Cred, 0, sizeof(Cred));
        Cred.Type = QUIC_CREDENTIAL_TYPE_NONE;
        Cred.Flags = (QUIC_CREDENTIAL_FLAGS)(QUIC_CREDENTIAL_FLAG_CLIENT | Revocation[i]);
        CHECK_STATUS(Api->ConfigurationLoadCredential(Configuration, &Cred), QUIC_STATUS_INVALID_PARAMETER,
                     "client credential with revocation flag 0x%x", (unsigned)Revocation[i]);
    }
    memset(&Cred, 0, sizeof(Cred));
    Cred.Type = QUIC_CREDENTIAL_TYPE_NONE;
    Cred.Flags = QUIC_CREDENTIAL_FLAG_CLIENT;
    CHECK_STATUS(Api->ConfigurationLoadCredential(Configuration, &Cred), QUIC_STATUS_SUCCESS,
                 "the same client credential without one");
    Api->ConfigurationClose(Configuration);
}

int main(void)
{
    HQUIC Registration = NULL;
    HQUIC Leftover = NULL;
    QUIC_SETTINGS Settings;
    uint32_t Length;
    QUIC_BUFFER Alpn = { 2, (uint8_t*)"h3" };

    tu_start_watchdog(60);
    if (QUIC_FAILED(MsQuicOpen2(&Api))) {
        CHECK(0, "MsQuicOpen2");
        return tu_finish();
    }
    test_execution_config();
    test_high_priority_global();
    CHECK_STATUS(Api->RegistrationOpen(NULL, &Registration), QUIC_STATUS_SUCCESS, "RegistrationOpen");
    test_settings_size(Registration);
    test_load_balancing_and_settings_ranges(Registration);
    test_revocation_flags(Registration);

    /* Leave handles open and change a global setting: the last MsQuicClose releases them. */
    CHECK_STATUS(Api->ConfigurationOpen(Registration, &Alpn, 1, NULL, 0, NULL, &Leftover), QUIC_STATUS_SUCCESS,
                 "a configuration left open");
    memset(&Settings, 0, sizeof(Settings));
    Settings.IsSet.KeepAliveIntervalMs = 1;
    Settings.KeepAliveIntervalMs = 777;
    CHECK_STATUS(Api->SetParam(NULL, QUIC_PARAM_GLOBAL_SETTINGS, sizeof(Settings), &Settings),
                 QUIC_STATUS_SUCCESS, "SetParam(GLOBAL_SETTINGS)");
    MsQuicClose(Api);

    if (QUIC_FAILED(MsQuicOpen2(&Api))) {
        CHECK(0, "MsQuicOpen2 after the last MsQuicClose");
        return tu_finish();
    }
    Length = sizeof(Settings);
    CHECK_STATUS(Api->GetParam(NULL, QUIC_PARAM_GLOBAL_SETTINGS, &Length, &Settings), QUIC_STATUS_SUCCESS,
                 "GetParam(GLOBAL_SETTINGS) after reopening");
    CHECK(Settings.IsSetFlags == 0 && Settings.KeepAliveIntervalMs == 0, "the new library starts from the defaults");
    Length = sizeof(Settings);
    CHECK_STATUS(Api->GetParam(Leftover, QUIC_PARAM_CONFIGURATION_SETTINGS, &Length, &Settings),
                 QUIC_STATUS_INVALID_PARAMETER, "a handle of the previous library is no longer valid");
    /* The new library is not in use yet: an execution config may be set again. */
    test_execution_config();
    MsQuicClose(Api);
    return tu_finish();
}
