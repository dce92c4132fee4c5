/*
 * version_settings.c - QUIC_VERSION_SETTINGS through the public API with MsQuic 2.6's rules
 * (docs/Versions.md, src/core/settings.c and connection.c):
 *
 *  - GLOBAL / CONFIGURATION / CONN VERSION_SETTINGS take every version MsQuic supports,
 *    draft-29 (0xff00001d) and MS-1 (0xabcd0000) included, and reserved versions; any other
 *    value is INVALID_PARAMETER;
 *  - QUIC_PARAM_CONN_VERSION_SETTINGS: set before ConnectionStart, read back (the
 *    connection's own lists, else the configuration's); INVALID_STATE once started;
 *  - a client whose first FullyDeployedVersion is draft-29 cannot start here: we do not speak
 *    draft-29, and say so with QUIC_STATUS_NOT_SUPPORTED instead of starting in another version.
 *
 * The v1 -> v2 upgrade itself runs over loopback in the interop CTest
 * interop_msquic_to_msquic_compatible_upgrade_v2 (msquic_peer against itself).
 */
#define QUIC_API_ENABLE_PREVIEW_FEATURES 1
#include "testutil.h"

#define DRAFT_29 0xff00001du
#define MS_1 0xabcd0000u
#define V1 0x00000001u
#define V2 0x6b3343cfu

static const QUIC_API_TABLE* Api;

static QUIC_STATUS QUIC_API connection_callback(HQUIC Connection, void* Context, QUIC_CONNECTION_EVENT* Event)
{
    (void)Context;
    if (Event->Type == QUIC_CONNECTION_EVENT_SHUTDOWN_COMPLETE) {
        (void)Connection;
    }
    return QUIC_STATUS_SUCCESS;
}

static QUIC_VERSION_SETTINGS all_lists(const uint32_t* Versions, uint32_t Count)
{
    QUIC_VERSION_SETTINGS S;
    memset(&S, 0, sizeof(S));
    S.AcceptableVersions = Versions;
    S.OfferedVersions = Versions;
    S.FullyDeployedVersions = Versions;
    S.AcceptableVersionsLength = Count;
    S.OfferedVersionsLength = Count;
    S.FullyDeployedVersionsLength = Count;
    return S;
}

/* What MsQuic accepts in each list (QuicIsVersionSupported or reserved). */
static void test_accepted_values(HQUIC Handle, uint32_t Param, const char* Where)
{
    const uint32_t Legacy[] = {V1, DRAFT_29, MS_1, 0x1a2a3a4au};
    const uint32_t Bogus[] = {V1, 0xff000020u};   /* draft-32: MsQuic refuses it */
    QUIC_VERSION_SETTINGS S = all_lists(Legacy, 4);
    CHECK_STATUS(Api->SetParam(Handle, Param, sizeof(S), &S), QUIC_STATUS_SUCCESS,
                 "%s: draft-29, MS-1 and a reserved version are accepted as MsQuic does", Where);
    S = all_lists(Bogus, 2);
    CHECK_STATUS(Api->SetParam(Handle, Param, sizeof(S), &S), QUIC_STATUS_INVALID_PARAMETER,
                 "%s: draft-32 is refused", Where);
}

static void test_connection_param(HQUIC Configuration, HQUIC Registration)
{
    const uint32_t Mine[] = {V2, V1};
    const uint32_t FromConfig[] = {V2, V1};
    uint8_t Storage[256];
    QUIC_VERSION_SETTINGS* Got = (QUIC_VERSION_SETTINGS*)(void*)Storage;
    uint32_t Length;
    HQUIC C = NULL;
    QUIC_VERSION_SETTINGS S;

    CHECK_STATUS(Api->ConnectionOpen(Registration, connection_callback, NULL, &C), QUIC_STATUS_SUCCESS, "ConnectionOpen");
    if (C == NULL) {
        return;
    }
    test_accepted_values(C, QUIC_PARAM_CONN_VERSION_SETTINGS, "CONN_VERSION_SETTINGS");

    S = all_lists(Mine, 2);
    CHECK_STATUS(Api->SetParam(C, QUIC_PARAM_CONN_VERSION_SETTINGS, sizeof(S) - 1, &S), QUIC_STATUS_INVALID_PARAMETER,
                 "CONN_VERSION_SETTINGS: short buffer");
    CHECK_STATUS(Api->SetParam(C, QUIC_PARAM_CONN_VERSION_SETTINGS, sizeof(S), NULL), QUIC_STATUS_INVALID_PARAMETER,
                 "CONN_VERSION_SETTINGS: NULL buffer");
    CHECK_STATUS(Api->SetParam(C, QUIC_PARAM_CONN_VERSION_SETTINGS, sizeof(S), &S), QUIC_STATUS_SUCCESS,
                 "CONN_VERSION_SETTINGS: v2, v1 before start");
    Length = 0;
    CHECK_STATUS(Api->GetParam(C, QUIC_PARAM_CONN_VERSION_SETTINGS, &Length, NULL), QUIC_STATUS_BUFFER_TOO_SMALL,
                 "CONN_VERSION_SETTINGS: get, length 0");
    CHECK(Length == sizeof(QUIC_VERSION_SETTINGS) + 3 * sizeof(Mine), "CONN_VERSION_SETTINGS needs %u bytes",
          Length);
    memset(Storage, 0, sizeof(Storage));
    Length = sizeof(Storage);
    CHECK_STATUS(Api->GetParam(C, QUIC_PARAM_CONN_VERSION_SETTINGS, &Length, Storage), QUIC_STATUS_SUCCESS,
                 "CONN_VERSION_SETTINGS: get");
    CHECK(Got->FullyDeployedVersionsLength == 2 && Got->FullyDeployedVersions != NULL &&
          Got->FullyDeployedVersions[0] == __builtin_bswap32(V2) && Got->FullyDeployedVersions[1] == __builtin_bswap32(V1),
          "CONN_VERSION_SETTINGS: the connection's own lists come back (network byte order, as MsQuic returns them)");
    Api->ConnectionClose(C);

    /* A connection without its own lists takes the configuration's at start. */
    S = all_lists(FromConfig, 2);
    CHECK_STATUS(Api->SetParam(Configuration, QUIC_PARAM_CONFIGURATION_VERSION_SETTINGS, sizeof(S), &S),
                 QUIC_STATUS_SUCCESS, "CONFIGURATION_VERSION_SETTINGS: v2, v1");
    C = NULL;
    CHECK_STATUS(Api->ConnectionOpen(Registration, connection_callback, NULL, &C), QUIC_STATUS_SUCCESS, "ConnectionOpen");
    if (C == NULL) {
        return;
    }
    /* Not started yet: the configuration is only known at ConnectionStart, so the lists are
       the global ones until then (none set: an empty struct). */
    memset(Storage, 0, sizeof(Storage));
    Length = sizeof(Storage);
    CHECK_STATUS(Api->GetParam(C, QUIC_PARAM_CONN_VERSION_SETTINGS, &Length, Storage), QUIC_STATUS_SUCCESS,
                 "CONN_VERSION_SETTINGS: get before start without own lists");

    /* Starting in draft-29 is something we cannot do: NOT_SUPPORTED, nothing sent. */
    {
        const uint32_t Draft[] = {DRAFT_29, V1};
        HQUIC D = NULL;
        S = all_lists(Draft, 2);
        CHECK_STATUS(Api->ConnectionOpen(Registration, connection_callback, NULL, &D), QUIC_STATUS_SUCCESS,
                     "ConnectionOpen (draft-29)");
        if (D != NULL) {
            CHECK_STATUS(Api->SetParam(D, QUIC_PARAM_CONN_VERSION_SETTINGS, sizeof(S), &S), QUIC_STATUS_SUCCESS,
                         "CONN_VERSION_SETTINGS: draft-29 first");
            CHECK_STATUS(Api->ConnectionStart(D, Configuration, QUIC_ADDRESS_FAMILY_INET, "127.0.0.1", 9),
                         QUIC_STATUS_NOT_SUPPORTED, "ConnectionStart with draft-29 as the initial version");
            Api->ConnectionClose(D);
        }
    }

    /* Once started (to the discard port; nothing needs to answer), the lists are fixed. */
    CHECK_STATUS(Api->ConnectionStart(C, Configuration, QUIC_ADDRESS_FAMILY_INET, "127.0.0.1", 9),
                 QUIC_STATUS_SUCCESS, "ConnectionStart (v2, v1 from the configuration)");
    {
        uint32_t Version = 0;
        Length = sizeof(Version);
        CHECK_STATUS(Api->GetParam(C, QUIC_PARAM_CONN_QUIC_VERSION, &Length, &Version), QUIC_STATUS_SUCCESS,
                     "CONN_QUIC_VERSION after start");
        CHECK(Version == V2, "the client starts in the first FullyDeployedVersion (0x%08x)", Version);
    }
    S = all_lists(Mine, 2);
    CHECK_STATUS(Api->SetParam(C, QUIC_PARAM_CONN_VERSION_SETTINGS, sizeof(S), &S), QUIC_STATUS_INVALID_STATE,
                 "CONN_VERSION_SETTINGS after start");
    Api->ConnectionShutdown(C, QUIC_CONNECTION_SHUTDOWN_FLAG_SILENT, 0);
    Api->ConnectionClose(C);
}

int main(void)
{
    HQUIC Registration = NULL;
    HQUIC Configuration = NULL;
    QUIC_BUFFER Alpn = tu_alpn("swiftquic-test");
    QUIC_CREDENTIAL_CONFIG Cred;

    tu_start_watchdog(60);
    if (MsQuicOpen2(&Api) != QUIC_STATUS_SUCCESS || QUIC_FAILED(Api->RegistrationOpen(NULL, &Registration))) {
        CHECK(0, "MsQuicOpen2 and RegistrationOpen");
        return tu_finish();
    }
    test_accepted_values(NULL, QUIC_PARAM_GLOBAL_VERSION_SETTINGS, "GLOBAL_VERSION_SETTINGS");
    /* Back to the defaults: an empty struct clears the global lists. */
    {
        QUIC_VERSION_SETTINGS Empty;
        memset(&Empty, 0, sizeof(Empty));
        CHECK_STATUS(Api->SetParam(NULL, QUIC_PARAM_GLOBAL_VERSION_SETTINGS, sizeof(Empty), &Empty), QUIC_STATUS_SUCCESS,
                     "GLOBAL_VERSION_SETTINGS: cleared");
    }
    CHECK_STATUS(Api->ConfigurationOpen(Registration, &Alpn, 1, NULL, 0, NULL, &Configuration), QUIC_STATUS_SUCCESS,
                 "ConfigurationOpen");
    if (Configuration != NULL) {
        test_accepted_values(Configuration, QUIC_PARAM_CONFIGURATION_VERSION_SETTINGS, "CONFIGURATION_VERSION_SETTINGS");
        memset(&Cred, 0, sizeof(Cred));
        Cred.Type = QUIC_CREDENTIAL_TYPE_NONE;
        Cred.Flags = QUIC_CREDENTIAL_FLAG_CLIENT | QUIC_CREDENTIAL_FLAG_NO_CERTIFICATE_VALIDATION;
        CHECK_STATUS(Api->ConfigurationLoadCredential(Configuration, &Cred), QUIC_STATUS_SUCCESS,
                     "ConfigurationLoadCredential (client)");
        test_connection_param(Configuration, Registration);
        Api->ConfigurationClose(Configuration);
    }
    Api->RegistrationClose(Registration);
    MsQuicClose(Api);
    return tu_finish();
}
