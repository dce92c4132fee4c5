/*
 * api_table.c - the library entry points and the function table (MsQuic 2.6).
 *
 * MsQuicOpenVersion accepts only QUIC_API_VERSION_2 (others: NOT_SUPPORTED,
 * checked before the output pointer), refuses a NULL output pointer with
 * INVALID_PARAMETER, and hands out a table whose entries are all set. Every
 * open takes a reference on the library; MsQuicClose drops one and ignores
 * NULL. Objects opened through one table stay usable while any table is open.
 */
#define QUIC_API_ENABLE_PREVIEW_FEATURES 1
#include "testutil.h"

/* Names of the 39 table entries, in table order. */
static const char* const EntryNames[] = {
    "SetContext", "GetContext", "SetCallbackHandler", "SetParam", "GetParam",
    "RegistrationOpen", "RegistrationClose", "RegistrationShutdown",
    "ConfigurationOpen", "ConfigurationClose", "ConfigurationLoadCredential",
    "ListenerOpen", "ListenerClose", "ListenerStart", "ListenerStop",
    "ConnectionOpen", "ConnectionClose", "ConnectionShutdown", "ConnectionStart",
    "ConnectionSetConfiguration", "ConnectionSendResumptionTicket",
    "StreamOpen", "StreamClose", "StreamStart", "StreamShutdown", "StreamSend",
    "StreamReceiveComplete", "StreamReceiveSetEnabled", "DatagramSend",
    "ConnectionResumptionTicketValidationComplete",
    "ConnectionCertificateValidationComplete", "ConnectionOpenInPartition",
    "StreamProvideReceiveBuffers", "ConnectionPoolCreate", "ExecutionCreate",
    "ExecutionDelete", "ExecutionPoll", "RegistrationClose2",
    "ConnectionExportKeyingMaterial",
};

#define ENTRY_COUNT (sizeof(QUIC_API_TABLE) / sizeof(void (*)(void)))

static void check_table_entries(const QUIC_API_TABLE* Api, const char* Which)
{
    void (*Entries[ENTRY_COUNT])(void);
    size_t i;
    int Missing = 0;
    memcpy(Entries, Api, sizeof(Entries));
    for (i = 0; i < ENTRY_COUNT; i++) {
        if (Entries[i] == NULL) {
            CHECK(0, "%s: table entry %zu (%s) is set", Which, i, EntryNames[i]);
            Missing++;
        }
    }
    CHECK(Missing == 0, "%s: all %zu table entries are set", Which, (size_t)ENTRY_COUNT);
}

int main(void)
{
    const void* Raw;
    const QUIC_API_TABLE* First = NULL;
    const QUIC_API_TABLE* Second = NULL;
    const QUIC_API_TABLE* Again = NULL;
    HQUIC Registration = NULL;
    uint32_t Versions[] = {0, 1, 3, 4, 0x100, 0xFFFFFFFFu};
    size_t i;

    tu_start_watchdog(60);

    CHECK(ENTRY_COUNT == 39, "QUIC_API_TABLE has 39 entries with the preview features (%zu)",
          (size_t)ENTRY_COUNT);
    CHECK(sizeof(EntryNames) / sizeof(EntryNames[0]) == ENTRY_COUNT, "entry name list matches the table");

    /* Versions other than 2 are refused and the output is left alone. */
    for (i = 0; i < sizeof(Versions) / sizeof(Versions[0]); i++) {
        Raw = &Raw;
        CHECK_STATUS(MsQuicOpenVersion(Versions[i], &Raw), QUIC_STATUS_NOT_SUPPORTED,
                     "MsQuicOpenVersion(%u)", Versions[i]);
        CHECK(Raw == (const void*)&Raw, "MsQuicOpenVersion(%u) leaves the output untouched", Versions[i]);
    }
    CHECK_STATUS(MsQuicOpenVersion(QUIC_API_VERSION_1, NULL), QUIC_STATUS_NOT_SUPPORTED,
                 "MsQuicOpenVersion(1, NULL): version is checked first");
    CHECK_STATUS(MsQuicOpenVersion(QUIC_API_VERSION_2, NULL), QUIC_STATUS_INVALID_PARAMETER,
                 "MsQuicOpenVersion(2, NULL)");

    /* Version 2. */
    CHECK_STATUS(MsQuicOpenVersion(QUIC_API_VERSION_2, (const void**)&First), QUIC_STATUS_SUCCESS,
                 "MsQuicOpenVersion(2)");
    CHECK(First != NULL, "MsQuicOpenVersion(2) returns a table");
    if (First == NULL) {
        return tu_finish();
    }
    check_table_entries(First, "MsQuicOpenVersion(2)");

    /* MsQuicOpen2 is MsQuicOpenVersion(2): a second reference. */
    CHECK_STATUS(MsQuicOpen2(&Second), QUIC_STATUS_SUCCESS, "MsQuicOpen2 while open");
    CHECK(Second != NULL, "MsQuicOpen2 returns a table");
    if (Second == NULL) {
        MsQuicClose(First);
        return tu_finish();
    }
    check_table_entries(Second, "MsQuicOpen2");
    CHECK(memcmp(First, Second, sizeof(QUIC_API_TABLE)) == 0,
          "both tables hold the same functions");

    /* The library stays up while one table is still open. */
    CHECK_STATUS(Second->RegistrationOpen(NULL, &Registration), QUIC_STATUS_SUCCESS,
                 "RegistrationOpen through the second table");
    MsQuicClose(First);
    CHECK(1, "MsQuicClose(first table) returns");
    if (Registration != NULL) {
        QUIC_BUFFER Alpn = tu_alpn("test");
        HQUIC Configuration = NULL;
        CHECK_STATUS(Second->ConfigurationOpen(Registration, &Alpn, 1, NULL, 0, NULL, &Configuration),
                     QUIC_STATUS_SUCCESS, "ConfigurationOpen after closing the other table");
        if (Configuration != NULL) {
            Second->ConfigurationClose(Configuration);
        }
        Second->RegistrationClose(Registration);
        CHECK(1, "RegistrationClose after closing the other table returns");
    }
    MsQuicClose(Second);
    CHECK(1, "MsQuicClose(second table) returns");

    /* Closing NULL does nothing. */
    MsQuicClose(NULL);
    CHECK(1, "MsQuicClose(NULL) returns");

    /* After the last close the library can be opened again. */
    CHECK_STATUS(MsQuicOpen2(&Again), QUIC_STATUS_SUCCESS, "MsQuicOpen2 after full close");
    if (Again != NULL) {
        check_table_entries(Again, "reopened table");
        Registration = NULL;
        CHECK_STATUS(Again->RegistrationOpen(NULL, &Registration), QUIC_STATUS_SUCCESS,
                     "RegistrationOpen after reopening");
        if (Registration != NULL) {
            Again->RegistrationClose(Registration);
        }
        MsQuicClose(Again);
    }

    /* Many balanced opens and closes. */
    {
        const QUIC_API_TABLE* Tables[16];
        int Opened = 0;
        for (i = 0; i < 16; i++) {
            Tables[i] = NULL;
            if (MsQuicOpen2(&Tables[i]) == QUIC_STATUS_SUCCESS && Tables[i] != NULL) {
                Opened++;
            }
        }
        CHECK(Opened == 16, "16 nested opens succeed (%d)", Opened);
        for (i = 16; i-- > 0;) {
            if (Tables[i] != NULL) {
                MsQuicClose(Tables[i]);
            }
        }
        CHECK(1, "16 closes return");
    }

    return tu_finish();
}
