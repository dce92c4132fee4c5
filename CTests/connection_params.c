/*
 * connection_params.c - connection parameters on a client connection that has
 * not been started (MsQuic 2.6, docs/Settings.md "Connection Parameters"):
 * sizes, NULL buffers, get-only/set-only rules, value checks and round trips.
 * No packet is sent.
 */
#define QUIC_API_ENABLE_PREVIEW_FEATURES 1
#include "testutil.h"

static const QUIC_API_TABLE* Api;

static QUIC_STATUS QUIC_API connection_callback(HQUIC Connection, void* Context, QUIC_CONNECTION_EVENT* Event)
{
    (void)Connection;
    (void)Context;
    (void)Event;
    return QUIC_STATUS_SUCCESS;
}

static void test_addresses(HQUIC C)
{
    QUIC_ADDR Addr;
    QUIC_ADDR Got;
    uint32_t Length;
    uint8_t Short[8] = {0};

    memset(&Addr, 0, sizeof(Addr));
    QuicAddrSetFamily(&Addr, QUIC_ADDRESS_FAMILY_INET);
    QuicAddrSetPort(&Addr, 4433);
    CHECK_STATUS(Api->SetParam(C, QUIC_PARAM_CONN_REMOTE_ADDRESS, sizeof(Addr), &Addr), QUIC_STATUS_INVALID_PARAMETER,
                 "SetParam(CONN_REMOTE_ADDRESS, wildcard 0.0.0.0)");
    QuicAddrSetToLoopback(&Addr);
    CHECK_STATUS(Api->SetParam(C, QUIC_PARAM_CONN_REMOTE_ADDRESS, sizeof(Short), Short), QUIC_STATUS_INVALID_PARAMETER,
                 "SetParam(CONN_REMOTE_ADDRESS, 8 bytes)");
    CHECK_STATUS(Api->SetParam(C, QUIC_PARAM_CONN_REMOTE_ADDRESS, sizeof(Addr), &Addr), QUIC_STATUS_SUCCESS,
                 "SetParam(CONN_REMOTE_ADDRESS, 127.0.0.1:4433) before start");
    Length = 0;
    CHECK_STATUS(Api->GetParam(C, QUIC_PARAM_CONN_REMOTE_ADDRESS, &Length, NULL), QUIC_STATUS_BUFFER_TOO_SMALL,
                 "GetParam(CONN_REMOTE_ADDRESS, length 0)");
    CHECK(Length == sizeof(QUIC_ADDR), "CONN_REMOTE_ADDRESS needs %u bytes (%u)", (unsigned)sizeof(QUIC_ADDR), Length);
    memset(&Got, 0, sizeof(Got));
    Length = sizeof(Got);
    CHECK_STATUS(Api->GetParam(C, QUIC_PARAM_CONN_REMOTE_ADDRESS, &Length, &Got), QUIC_STATUS_SUCCESS,
                 "GetParam(CONN_REMOTE_ADDRESS)");
    CHECK(QuicAddrCompare(&Got, &Addr), "CONN_REMOTE_ADDRESS round trip");

    memset(&Addr, 0, sizeof(Addr));
    Addr.Ip.sa_family = AF_UNIX;
    CHECK_STATUS(Api->SetParam(C, QUIC_PARAM_CONN_LOCAL_ADDRESS, sizeof(Addr), &Addr), QUIC_STATUS_INVALID_PARAMETER,
                 "SetParam(CONN_LOCAL_ADDRESS, family AF_UNIX)");
    CHECK_STATUS(Api->SetParam(C, QUIC_PARAM_CONN_LOCAL_ADDRESS, sizeof(Short), Short), QUIC_STATUS_INVALID_PARAMETER,
                 "SetParam(CONN_LOCAL_ADDRESS, 8 bytes)");
    memset(&Addr, 0, sizeof(Addr));
    QuicAddrSetFamily(&Addr, QUIC_ADDRESS_FAMILY_INET);
    QuicAddrSetToLoopback(&Addr);
    CHECK_STATUS(Api->SetParam(C, QUIC_PARAM_CONN_LOCAL_ADDRESS, sizeof(Addr), &Addr), QUIC_STATUS_SUCCESS,
                 "SetParam(CONN_LOCAL_ADDRESS, 127.0.0.1:0) before start");
}

static void test_settings(HQUIC C)
{
    QUIC_SETTINGS S;
    uint32_t Length = 0;
    CHECK_STATUS(Api->GetParam(C, QUIC_PARAM_CONN_SETTINGS, &Length, NULL), QUIC_STATUS_BUFFER_TOO_SMALL,
                 "GetParam(CONN_SETTINGS, length 0)");
    CHECK(Length == sizeof(QUIC_SETTINGS), "CONN_SETTINGS needs %u bytes (%u)", (unsigned)sizeof(QUIC_SETTINGS), Length);

    memset(&S, 0, sizeof(S));
    S.IsSet.IdleTimeoutMs = 1;
    S.IdleTimeoutMs = 12345;
    S.IsSet.KeepAliveIntervalMs = 1;
    S.KeepAliveIntervalMs = 1000;
    CHECK_STATUS(Api->SetParam(C, QUIC_PARAM_CONN_SETTINGS, sizeof(S), NULL), QUIC_STATUS_INVALID_PARAMETER,
                 "SetParam(CONN_SETTINGS, NULL)");
    CHECK_STATUS(Api->SetParam(C, QUIC_PARAM_CONN_SETTINGS, 108, &S), QUIC_STATUS_INVALID_PARAMETER,
                 "SetParam(CONN_SETTINGS, 108 bytes)");
    CHECK_STATUS(Api->SetParam(C, QUIC_PARAM_CONN_SETTINGS, sizeof(S), &S), QUIC_STATUS_SUCCESS,
                 "SetParam(CONN_SETTINGS, IdleTimeoutMs and KeepAliveIntervalMs)");
    memset(&S, 0, sizeof(S));
    Length = sizeof(S);
    CHECK_STATUS(Api->GetParam(C, QUIC_PARAM_CONN_SETTINGS, &Length, &S), QUIC_STATUS_SUCCESS,
                 "GetParam(CONN_SETTINGS)");
    CHECK(S.IdleTimeoutMs == 12345 && S.KeepAliveIntervalMs == 1000, "CONN_SETTINGS round trip");
    CHECK(S.MaxAckDelayMs == 25 && S.InitialRttMs == 333, "CONN_SETTINGS keeps the defaults of other fields");

    memset(&S, 0, sizeof(S));
    S.IsSet.MaxAckDelayMs = 1;
    S.MaxAckDelayMs = 1u << 14;     /* RFC 9000 §18.2 */
    CHECK_STATUS(Api->SetParam(C, QUIC_PARAM_CONN_SETTINGS, sizeof(S), &S), QUIC_STATUS_INVALID_PARAMETER,
                 "SetParam(CONN_SETTINGS, MaxAckDelayMs 16384)");

    /* Before the start, MTU bounds and ECN may still change (after it: INVALID_PARAMETER,
     * checked in early_streams_refusal.c). */
    memset(&S, 0, sizeof(S));
    S.IsSet.MinimumMtu = 1;
    S.IsSet.MaximumMtu = 1;
    S.MinimumMtu = 1300;
    S.MaximumMtu = 1400;
    S.IsSet.EcnEnabled = 1;
    S.EcnEnabled = 1;
    CHECK_STATUS(Api->SetParam(C, QUIC_PARAM_CONN_SETTINGS, sizeof(S), &S), QUIC_STATUS_SUCCESS,
                 "SetParam(CONN_SETTINGS, MTU bounds and ECN) before start");
}

static void test_flags_and_values(HQUIC C)
{
    uint32_t Length;
    uint8_t Bool = 1;
    uint32_t Wide = 1;
    QUIC_STREAM_SCHEDULING_SCHEME Scheme;
    char Reason[600];
    uint8_t Cibir[3] = {0, 1, 2};

    /* CIBIR needs a shared binding (checked before SHARE_UDP_BINDING is set). */
    CHECK_STATUS(Api->SetParam(C, QUIC_PARAM_CONN_CIBIR_ID, sizeof(Cibir), Cibir), QUIC_STATUS_INVALID_STATE,
                 "SetParam(CONN_CIBIR_ID) without a shared binding");

    CHECK_STATUS(Api->SetParam(C, QUIC_PARAM_CONN_SHARE_UDP_BINDING, sizeof(Wide), &Wide), QUIC_STATUS_INVALID_PARAMETER,
                 "SetParam(CONN_SHARE_UDP_BINDING, 4 bytes)");
    CHECK_STATUS(Api->SetParam(C, QUIC_PARAM_CONN_SHARE_UDP_BINDING, sizeof(Bool), &Bool), QUIC_STATUS_SUCCESS,
                 "SetParam(CONN_SHARE_UDP_BINDING, TRUE) before start");
    Bool = 0;
    Length = sizeof(Bool);
    CHECK_STATUS(Api->GetParam(C, QUIC_PARAM_CONN_SHARE_UDP_BINDING, &Length, &Bool), QUIC_STATUS_SUCCESS,
                 "GetParam(CONN_SHARE_UDP_BINDING)");
    CHECK(Bool == 1, "CONN_SHARE_UDP_BINDING round trip");

    Length = sizeof(Scheme);
    Scheme = QUIC_STREAM_SCHEDULING_SCHEME_COUNT;
    CHECK_STATUS(Api->GetParam(C, QUIC_PARAM_CONN_STREAM_SCHEDULING_SCHEME, &Length, &Scheme), QUIC_STATUS_SUCCESS,
                 "GetParam(CONN_STREAM_SCHEDULING_SCHEME)");
    CHECK(Scheme == QUIC_STREAM_SCHEDULING_SCHEME_FIFO, "the default stream scheduling is FIFO (%d)", (int)Scheme);
    Scheme = QUIC_STREAM_SCHEDULING_SCHEME_COUNT;
    CHECK_STATUS(Api->SetParam(C, QUIC_PARAM_CONN_STREAM_SCHEDULING_SCHEME, sizeof(Scheme), &Scheme),
                 QUIC_STATUS_INVALID_PARAMETER, "SetParam(CONN_STREAM_SCHEDULING_SCHEME, COUNT)");
    CHECK_STATUS(Api->SetParam(C, QUIC_PARAM_CONN_STREAM_SCHEDULING_SCHEME, 1, &Scheme), QUIC_STATUS_INVALID_PARAMETER,
                 "SetParam(CONN_STREAM_SCHEDULING_SCHEME, 1 byte)");
    Scheme = QUIC_STREAM_SCHEDULING_SCHEME_ROUND_ROBIN;
    CHECK_STATUS(Api->SetParam(C, QUIC_PARAM_CONN_STREAM_SCHEDULING_SCHEME, sizeof(Scheme), &Scheme),
                 QUIC_STATUS_SUCCESS, "SetParam(CONN_STREAM_SCHEDULING_SCHEME, ROUND_ROBIN)");
    Scheme = QUIC_STREAM_SCHEDULING_SCHEME_FIFO;
    Length = sizeof(Scheme);
    CHECK_STATUS(Api->GetParam(C, QUIC_PARAM_CONN_STREAM_SCHEDULING_SCHEME, &Length, &Scheme), QUIC_STATUS_SUCCESS,
                 "GetParam(CONN_STREAM_SCHEDULING_SCHEME) after set");
    CHECK(Scheme == QUIC_STREAM_SCHEDULING_SCHEME_ROUND_ROBIN, "CONN_STREAM_SCHEDULING_SCHEME round trip");

    Bool = 1;
    CHECK_STATUS(Api->SetParam(C, QUIC_PARAM_CONN_DATAGRAM_RECEIVE_ENABLED, sizeof(Wide), &Wide),
                 QUIC_STATUS_INVALID_PARAMETER, "SetParam(CONN_DATAGRAM_RECEIVE_ENABLED, 4 bytes)");
    CHECK_STATUS(Api->SetParam(C, QUIC_PARAM_CONN_DATAGRAM_RECEIVE_ENABLED, sizeof(Bool), &Bool), QUIC_STATUS_SUCCESS,
                 "SetParam(CONN_DATAGRAM_RECEIVE_ENABLED, TRUE) before start");
    Bool = 0;
    Length = sizeof(Bool);
    CHECK_STATUS(Api->GetParam(C, QUIC_PARAM_CONN_DATAGRAM_RECEIVE_ENABLED, &Length, &Bool), QUIC_STATUS_SUCCESS,
                 "GetParam(CONN_DATAGRAM_RECEIVE_ENABLED)");
    CHECK(Bool == 1, "CONN_DATAGRAM_RECEIVE_ENABLED round trip");
    Bool = 1;
    Length = sizeof(Bool);
    CHECK_STATUS(Api->GetParam(C, QUIC_PARAM_CONN_DATAGRAM_SEND_ENABLED, &Length, &Bool), QUIC_STATUS_SUCCESS,
                 "GetParam(CONN_DATAGRAM_SEND_ENABLED)");
    /* As MsQuic: TRUE until the peer's transport parameters say otherwise (sends made before
     * the handshake are queued, then sent or canceled). */
    CHECK(Bool == 1, "DATAGRAM_SEND_ENABLED starts TRUE before the handshake");
    CHECK_STATUS(Api->SetParam(C, QUIC_PARAM_CONN_DATAGRAM_SEND_ENABLED, sizeof(Bool), &Bool),
                 QUIC_STATUS_INVALID_PARAMETER, "SetParam(CONN_DATAGRAM_SEND_ENABLED) is refused (get-only)");

    /* Close reason: at most 512 bytes, NUL-terminated. */
    memset(Reason, 'r', sizeof(Reason));
    Reason[sizeof(Reason) - 1] = '\0';
    CHECK_STATUS(Api->SetParam(C, QUIC_PARAM_CONN_CLOSE_REASON_PHRASE, 513, Reason), QUIC_STATUS_INVALID_PARAMETER,
                 "SetParam(CONN_CLOSE_REASON_PHRASE, 513 bytes)");
    CHECK_STATUS(Api->SetParam(C, QUIC_PARAM_CONN_CLOSE_REASON_PHRASE, 3, "bye"), QUIC_STATUS_INVALID_PARAMETER,
                 "SetParam(CONN_CLOSE_REASON_PHRASE, not NUL-terminated)");
    CHECK_STATUS(Api->SetParam(C, QUIC_PARAM_CONN_CLOSE_REASON_PHRASE, 4, "bye"), QUIC_STATUS_SUCCESS,
                 "SetParam(CONN_CLOSE_REASON_PHRASE, \"bye\")");
    Length = 0;
    CHECK_STATUS(Api->GetParam(C, QUIC_PARAM_CONN_CLOSE_REASON_PHRASE, &Length, NULL), QUIC_STATUS_BUFFER_TOO_SMALL,
                 "GetParam(CONN_CLOSE_REASON_PHRASE, length 0)");
    CHECK(Length == 4, "CONN_CLOSE_REASON_PHRASE needs 4 bytes (%u)", Length);
    memset(Reason, 0, sizeof(Reason));
    Length = sizeof(Reason);
    CHECK_STATUS(Api->GetParam(C, QUIC_PARAM_CONN_CLOSE_REASON_PHRASE, &Length, Reason), QUIC_STATUS_SUCCESS,
                 "GetParam(CONN_CLOSE_REASON_PHRASE)");
    CHECK(strcmp(Reason, "bye") == 0, "CONN_CLOSE_REASON_PHRASE round trip (\"%s\")", Reason);

    /* Values of other sizes. */
    CHECK_STATUS(Api->SetParam(C, QUIC_PARAM_CONN_LOCAL_INTERFACE, 2, &Wide), QUIC_STATUS_INVALID_PARAMETER,
                 "SetParam(CONN_LOCAL_INTERFACE, 2 bytes)");
    CHECK_STATUS(Api->SetParam(C, QUIC_PARAM_CONN_PEER_CERTIFICATE_VALID, sizeof(Wide), &Wide),
                 QUIC_STATUS_INVALID_PARAMETER, "SetParam(CONN_PEER_CERTIFICATE_VALID, 4 bytes)");
    CHECK_STATUS(Api->SetParam(C, QUIC_PARAM_CONN_RESUMPTION_TICKET, 0, Reason), QUIC_STATUS_INVALID_PARAMETER,
                 "SetParam(CONN_RESUMPTION_TICKET, 0 bytes)");
    memset(Reason, 0x5A, 64);
    CHECK_FAILED(Api->SetParam(C, QUIC_PARAM_CONN_RESUMPTION_TICKET, 64, Reason),
                 "SetParam(CONN_RESUMPTION_TICKET, 64 bytes of garbage)");
    {
        static QUIC_TLS_SECRETS Secrets;
        CHECK_STATUS(Api->SetParam(C, QUIC_PARAM_CONN_TLS_SECRETS, sizeof(Secrets) - 1, &Secrets),
                     QUIC_STATUS_INVALID_PARAMETER, "SetParam(CONN_TLS_SECRETS, short)");
        CHECK_STATUS(Api->SetParam(C, QUIC_PARAM_CONN_TLS_SECRETS, sizeof(Secrets), &Secrets), QUIC_STATUS_SUCCESS,
                     "SetParam(CONN_TLS_SECRETS) before start");
    }
    Wide = 1;
    CHECK_STATUS(Api->SetParam(C, QUIC_PARAM_CONN_QUIC_VERSION, sizeof(Wide), &Wide), QUIC_STATUS_INVALID_PARAMETER,
                 "SetParam(CONN_QUIC_VERSION) is refused (get-only)");
}

static void test_get_only(HQUIC C)
{
    uint32_t Length;
    uint16_t Count = 0xFFFF;
    uint64_t Ids[4];
    uint8_t Buffer[512];

    Length = 0;
    CHECK_STATUS(Api->GetParam(C, QUIC_PARAM_CONN_LOCAL_BIDI_STREAM_COUNT, &Length, NULL), QUIC_STATUS_BUFFER_TOO_SMALL,
                 "GetParam(CONN_LOCAL_BIDI_STREAM_COUNT, length 0)");
    CHECK(Length == 2, "CONN_LOCAL_BIDI_STREAM_COUNT needs 2 bytes (%u)", Length);
    Length = sizeof(Count);
    CHECK_STATUS(Api->GetParam(C, QUIC_PARAM_CONN_LOCAL_BIDI_STREAM_COUNT, &Length, &Count), QUIC_STATUS_SUCCESS,
                 "GetParam(CONN_LOCAL_BIDI_STREAM_COUNT)");
    CHECK(Count == 0, "no bidirectional stream credit before the handshake (%u)", Count);
    Length = sizeof(Count);
    CHECK_STATUS(Api->GetParam(C, QUIC_PARAM_CONN_LOCAL_UNIDI_STREAM_COUNT, &Length, &Count), QUIC_STATUS_SUCCESS,
                 "GetParam(CONN_LOCAL_UNIDI_STREAM_COUNT)");
    Length = 0;
    CHECK_STATUS(Api->GetParam(C, QUIC_PARAM_CONN_MAX_STREAM_IDS, &Length, NULL), QUIC_STATUS_BUFFER_TOO_SMALL,
                 "GetParam(CONN_MAX_STREAM_IDS, length 0)");
    CHECK(Length == sizeof(Ids), "CONN_MAX_STREAM_IDS needs 32 bytes (%u)", Length);
    Length = sizeof(Ids);
    CHECK_STATUS(Api->GetParam(C, QUIC_PARAM_CONN_MAX_STREAM_IDS, &Length, Ids), QUIC_STATUS_SUCCESS,
                 "GetParam(CONN_MAX_STREAM_IDS)");
    Length = 0;
    CHECK_STATUS(Api->GetParam(C, QUIC_PARAM_CONN_IDEAL_PROCESSOR, &Length, NULL), QUIC_STATUS_BUFFER_TOO_SMALL,
                 "GetParam(CONN_IDEAL_PROCESSOR, length 0)");
    CHECK(Length == 2, "CONN_IDEAL_PROCESSOR needs 2 bytes (%u)", Length);
    Length = 0;
    CHECK_STATUS(Api->GetParam(C, QUIC_PARAM_CONN_STATISTICS, &Length, NULL), QUIC_STATUS_BUFFER_TOO_SMALL,
                 "GetParam(CONN_STATISTICS, length 0)");
    CHECK(Length == sizeof(QUIC_STATISTICS), "CONN_STATISTICS needs %u bytes (%u)", (unsigned)sizeof(QUIC_STATISTICS),
          Length);
    Length = 0;
    CHECK_STATUS(Api->GetParam(C, QUIC_PARAM_CONN_STATISTICS_V2, &Length, NULL), QUIC_STATUS_BUFFER_TOO_SMALL,
                 "GetParam(CONN_STATISTICS_V2, length 0)");
    CHECK(Length == sizeof(QUIC_STATISTICS_V2), "CONN_STATISTICS_V2 needs %u bytes (%u)",
          (unsigned)sizeof(QUIC_STATISTICS_V2), Length);
    Length = sizeof(QUIC_STATISTICS_V2);
    CHECK_STATUS(Api->GetParam(C, QUIC_PARAM_CONN_STATISTICS_V2, &Length, Buffer), QUIC_STATUS_SUCCESS,
                 "GetParam(CONN_STATISTICS_V2) before start");
    Length = sizeof(Buffer);
    CHECK_STATUS(Api->GetParam(C, QUIC_PARAM_TLS_HANDSHAKE_INFO, &Length, Buffer), QUIC_STATUS_INVALID_PARAMETER,
                 "GetParam(TLS_HANDSHAKE_INFO) before the TLS session exists");
    CHECK_STATUS(Api->SetParam(C, QUIC_PARAM_CONN_STATISTICS, sizeof(QUIC_STATISTICS), Buffer),
                 QUIC_STATUS_INVALID_PARAMETER, "SetParam(CONN_STATISTICS) is refused (get-only)");
}

int main(void)
{
    HQUIC Registration = NULL;
    HQUIC Connection = NULL;

    tu_start_watchdog(60);
    if (MsQuicOpen2(&Api) != QUIC_STATUS_SUCCESS || QUIC_FAILED(Api->RegistrationOpen(NULL, &Registration))) {
        CHECK(0, "MsQuicOpen2 and RegistrationOpen");
        return tu_finish();
    }
    {
        QUIC_STATUS Status = Api->ConnectionOpen(Registration, connection_callback, NULL, &Connection);
        if (TU_NOT_IMPLEMENTED(Status)) {
            Api->RegistrationClose(Registration);
            MsQuicClose(Api);
            return tu_skip_program("ConnectionOpen: NOT_SUPPORTED (connections are not implemented yet)");
        }
        CHECK_STATUS(Status, QUIC_STATUS_SUCCESS, "ConnectionOpen");
    }
    if (Connection != NULL) {
        test_addresses(Connection);
        test_settings(Connection);
        test_flags_and_values(Connection);
        test_get_only(Connection);
        Api->ConnectionClose(Connection);
    }
    Api->RegistrationClose(Registration);
    MsQuicClose(Api);
    return tu_finish();
}
