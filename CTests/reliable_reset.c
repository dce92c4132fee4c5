/*
 * reliable_reset.c - reliable stream reset through the public API over 127.0.0.1
 * (draft-ietf-quic-reliable-stream-reset as MsQuic 2.6 exposes it, preview features):
 *  1. both sides set QUIC_SETTINGS.ReliableResetEnabled: each gets
 *     QUIC_CONNECTION_EVENT_RELIABLE_RESET_NEGOTIATED with IsNegotiated TRUE; the client queues
 *     100,000 bytes on a unidirectional stream, sets QUIC_PARAM_STREAM_RELIABLE_OFFSET to
 *     60,000 (and reads it back), then StreamShutdown(ABORT_SEND, 77): the server receives
 *     exactly the first 60,000 bytes, intact, then PEER_SEND_ABORTED with 77, and
 *     QUIC_PARAM_STREAM_RELIABLE_OFFSET_RECV (msquicp.h) reads 60,000;
 *  2. the client leaves the setting off: only the server gets the event, with IsNegotiated
 *     FALSE, and setting a reliable offset on the client's stream is INVALID_STATE.
 */
#define QUIC_API_ENABLE_PREVIEW_FEATURES 1
#include "testutil.h"

#ifndef QUIC_PARAM_STREAM_RELIABLE_OFFSET_RECV
#define QUIC_PARAM_STREAM_RELIABLE_OFFSET_RECV 0x88000000  /* msquicp.h (private, test-only) */
#endif

#define ALPN "rreset"
#define TOTAL 100000
#define RELIABLE 60000
#define ERROR_CODE 77
#define WAIT_MS 20000

static const QUIC_API_TABLE* Api;
static HQUIC Registration;
static HQUIC ServerConfiguration;

static uint8_t pattern(uint64_t Offset) { return (uint8_t)((Offset * 13 + 5) % 251); }

/* ---- server ------------------------------------------------------------- */

static int ServerNegotiatedEvents;
static int ServerIsNegotiated = -1;
static uint64_t ServerReceived;
static int ServerBad;
static uint64_t ServerReceivedAtAbort;
static uint64_t ServerAbortCode;
static QUIC_STATUS RecvOffsetStatus;
static uint64_t RecvOffset;
static TU_EVENT ServerAborted;
static TU_EVENT ServerConnectionDone;

static QUIC_STATUS QUIC_API server_stream(HQUIC Stream, void* Context, QUIC_STREAM_EVENT* Event)
{
    (void)Context;
    switch (Event->Type) {
    case QUIC_STREAM_EVENT_RECEIVE: {
        uint64_t Offset = Event->RECEIVE.AbsoluteOffset;
        if (Offset != ServerReceived) ServerBad = 1;
        for (uint32_t i = 0; i < Event->RECEIVE.BufferCount; i++) {
            const QUIC_BUFFER* B = &Event->RECEIVE.Buffers[i];
            for (uint32_t j = 0; j < B->Length; j++) {
                if (B->Buffer[j] != pattern(Offset)) ServerBad = 1;
                Offset++;
            }
        }
        ServerReceived = Offset;
        break;
    }
    case QUIC_STREAM_EVENT_PEER_SEND_ABORTED: {
        uint32_t Length = sizeof(RecvOffset);
        ServerReceivedAtAbort = ServerReceived;
        ServerAbortCode = Event->PEER_SEND_ABORTED.ErrorCode;
        RecvOffsetStatus = Api->GetParam(Stream, QUIC_PARAM_STREAM_RELIABLE_OFFSET_RECV, &Length, &RecvOffset);
        tu_event_signal(&ServerAborted, Stream, NULL, QUIC_STATUS_SUCCESS);
        break;
    }
    case QUIC_STREAM_EVENT_SHUTDOWN_COMPLETE:
        Api->StreamClose(Stream);
        break;
    default:
        break;
    }
    return QUIC_STATUS_SUCCESS;
}

static QUIC_STATUS QUIC_API server_connection(HQUIC Connection, void* Context, QUIC_CONNECTION_EVENT* Event)
{
    (void)Context;
    switch (Event->Type) {
    case QUIC_CONNECTION_EVENT_RELIABLE_RESET_NEGOTIATED:
        ServerNegotiatedEvents++;
        ServerIsNegotiated = Event->RELIABLE_RESET_NEGOTIATED.IsNegotiated ? 1 : 0;
        break;
    case QUIC_CONNECTION_EVENT_PEER_STREAM_STARTED:
        Api->SetCallbackHandler(Event->PEER_STREAM_STARTED.Stream, (void*)server_stream, NULL);
        break;
    case QUIC_CONNECTION_EVENT_SHUTDOWN_COMPLETE:
        Api->ConnectionClose(Connection);
        tu_event_signal(&ServerConnectionDone, NULL, NULL, QUIC_STATUS_SUCCESS);
        break;
    default:
        break;
    }
    return QUIC_STATUS_SUCCESS;
}

static QUIC_STATUS QUIC_API listener_callback(HQUIC Listener, void* Context, QUIC_LISTENER_EVENT* Event)
{
    (void)Listener;
    (void)Context;
    if (Event->Type == QUIC_LISTENER_EVENT_NEW_CONNECTION) {
        Api->SetCallbackHandler(Event->NEW_CONNECTION.Connection, (void*)server_connection, NULL);
        return Api->ConnectionSetConfiguration(Event->NEW_CONNECTION.Connection, ServerConfiguration);
    }
    return QUIC_STATUS_SUCCESS;
}

/* ---- client ------------------------------------------------------------- */

static int ClientNegotiatedEvents;
static int ClientIsNegotiated = -1;
static int ClientNegotiatedBeforeConnected;
static int ClientConnectedSeen;
static TU_EVENT ClientConnected;
static TU_EVENT ClientShutdown;
static TU_EVENT ClientStreamDone;
static int SendCompletes;
static int SendCanceled;

static QUIC_STATUS QUIC_API client_stream(HQUIC Stream, void* Context, QUIC_STREAM_EVENT* Event)
{
    (void)Context;
    if (Event->Type == QUIC_STREAM_EVENT_SEND_COMPLETE) {
        SendCompletes++;
        if (Event->SEND_COMPLETE.Canceled) SendCanceled++;
    }
    if (Event->Type == QUIC_STREAM_EVENT_SHUTDOWN_COMPLETE) tu_event_signal(&ClientStreamDone, Stream, NULL, 0);
    return QUIC_STATUS_SUCCESS;
}

static QUIC_STATUS QUIC_API client_connection(HQUIC Connection, void* Context, QUIC_CONNECTION_EVENT* Event)
{
    (void)Context;
    switch (Event->Type) {
    case QUIC_CONNECTION_EVENT_RELIABLE_RESET_NEGOTIATED:
        ClientNegotiatedEvents++;
        ClientIsNegotiated = Event->RELIABLE_RESET_NEGOTIATED.IsNegotiated ? 1 : 0;
        if (!ClientConnectedSeen) ClientNegotiatedBeforeConnected = 1;
        break;
    case QUIC_CONNECTION_EVENT_CONNECTED:
        ClientConnectedSeen = 1;
        tu_event_signal(&ClientConnected, Connection, NULL, 0);
        break;
    case QUIC_CONNECTION_EVENT_SHUTDOWN_COMPLETE:
        tu_event_signal(&ClientShutdown, Connection, NULL, 0);
        break;
    default:
        break;
    }
    return QUIC_STATUS_SUCCESS;
}

static HQUIC connect_client(HQUIC ClientConfiguration, const QUIC_ADDR* Address)
{
    HQUIC Connection = NULL;
    ClientNegotiatedEvents = 0;
    ClientIsNegotiated = -1;
    ClientNegotiatedBeforeConnected = 0;
    ClientConnectedSeen = 0;
    tu_event_init(&ClientConnected);
    tu_event_init(&ClientShutdown);
    CHECK_STATUS(Api->ConnectionOpen(Registration, client_connection, NULL, &Connection), QUIC_STATUS_SUCCESS,
                 "ConnectionOpen");
    CHECK_SUCCEEDED(Api->ConnectionStart(Connection, ClientConfiguration, QUIC_ADDRESS_FAMILY_INET, "localhost",
                                         QuicAddrGetPort(Address)), "ConnectionStart");
    CHECK(tu_event_wait(&ClientConnected, 1, WAIT_MS) == 1, "CONNECTED");
    return Connection;
}

static void close_client(HQUIC Connection)
{
    Api->ConnectionShutdown(Connection, QUIC_CONNECTION_SHUTDOWN_FLAG_NONE, 0);
    CHECK(tu_event_wait(&ClientShutdown, 1, WAIT_MS) == 1, "client SHUTDOWN_COMPLETE");
    CHECK(tu_event_wait(&ServerConnectionDone, 1, WAIT_MS) == 1, "server SHUTDOWN_COMPLETE");
    Api->ConnectionClose(Connection);
}

static HQUIC client_configuration(const QUIC_BUFFER* Alpn, int ReliableReset)
{
    HQUIC Configuration = NULL;
    QUIC_SETTINGS Settings;
    QUIC_CREDENTIAL_CONFIG Cred;
    memset(&Settings, 0, sizeof(Settings));
    Settings.IsSet.ReliableResetEnabled = 1;
    Settings.ReliableResetEnabled = ReliableReset ? 1 : 0;
    CHECK_STATUS(Api->ConfigurationOpen(Registration, Alpn, 1, &Settings, sizeof(Settings), NULL, &Configuration),
                 QUIC_STATUS_SUCCESS, "client ConfigurationOpen (ReliableResetEnabled=%d)", ReliableReset);
    memset(&Cred, 0, sizeof(Cred));
    Cred.Type = QUIC_CREDENTIAL_TYPE_NONE;
    Cred.Flags = (QUIC_CREDENTIAL_FLAGS)(QUIC_CREDENTIAL_FLAG_CLIENT | QUIC_CREDENTIAL_FLAG_SET_CA_CERTIFICATE_FILE);
    Cred.CaCertificateFile = tu_cert("ca.crt");
    CHECK_STATUS(Api->ConfigurationLoadCredential(Configuration, &Cred), QUIC_STATUS_SUCCESS, "client credential");
    return Configuration;
}

int main(void)
{
    QUIC_BUFFER Alpn = tu_alpn(ALPN);
    QUIC_SETTINGS Settings;
    QUIC_CREDENTIAL_CONFIG Cred;
    QUIC_CERTIFICATE_FILE Files;
    QUIC_ADDR Address;
    HQUIC Listener = NULL, Connection = NULL, Stream = NULL;
    uint32_t Length = sizeof(Address);
    static uint8_t Data[TOTAL];
    QUIC_BUFFER Buffer = { TOTAL, Data };

    tu_start_watchdog(100);
    tu_event_init(&ServerAborted);
    tu_event_init(&ServerConnectionDone);
    tu_event_init(&ClientStreamDone);
    for (uint64_t i = 0; i < TOTAL; i++) Data[i] = pattern(i);
    if (tu_cert_dir() == NULL || MsQuicOpen2(&Api) != QUIC_STATUS_SUCCESS ||
        QUIC_FAILED(Api->RegistrationOpen(NULL, &Registration))) {
        CHECK(0, "certificates, MsQuicOpen2, RegistrationOpen");
        return tu_finish();
    }

    memset(&Settings, 0, sizeof(Settings));
    Settings.IsSet.PeerUnidiStreamCount = 1;
    Settings.PeerUnidiStreamCount = 2;
    Settings.IsSet.ReliableResetEnabled = 1;
    Settings.ReliableResetEnabled = 1;
    CHECK_STATUS(Api->ConfigurationOpen(Registration, &Alpn, 1, &Settings, sizeof(Settings), NULL, &ServerConfiguration),
                 QUIC_STATUS_SUCCESS, "server ConfigurationOpen");
    memset(&Cred, 0, sizeof(Cred));
    Files.CertificateFile = tu_cert("server.crt");
    Files.PrivateKeyFile = tu_cert("server.key");
    Cred.Type = QUIC_CREDENTIAL_TYPE_CERTIFICATE_FILE;
    Cred.CertificateFile = &Files;
    CHECK_STATUS(Api->ConfigurationLoadCredential(ServerConfiguration, &Cred), QUIC_STATUS_SUCCESS, "server credential");
    CHECK_STATUS(Api->ListenerOpen(Registration, listener_callback, NULL, &Listener), QUIC_STATUS_SUCCESS, "ListenerOpen");
    memset(&Address, 0, sizeof(Address));
    QuicAddrSetFamily(&Address, QUIC_ADDRESS_FAMILY_INET);
    QuicAddrSetToLoopback(&Address);
    CHECK_STATUS(Api->ListenerStart(Listener, &Alpn, 1, &Address), QUIC_STATUS_SUCCESS, "ListenerStart");
    CHECK_STATUS(Api->GetParam(Listener, QUIC_PARAM_LISTENER_LOCAL_ADDRESS, &Length, &Address), QUIC_STATUS_SUCCESS,
                 "LISTENER_LOCAL_ADDRESS");

    /* 1. Both enabled. */
    HQUIC Enabled = client_configuration(&Alpn, 1);
    Connection = connect_client(Enabled, &Address);
    CHECK(ClientNegotiatedEvents == 1 && ClientIsNegotiated == 1 && ClientNegotiatedBeforeConnected,
          "client: one RELIABLE_RESET_NEGOTIATED, IsNegotiated TRUE, before CONNECTED (%d events, %d)",
          ClientNegotiatedEvents, ClientIsNegotiated);
    CHECK(ServerNegotiatedEvents == 1 && ServerIsNegotiated == 1,
          "server: one RELIABLE_RESET_NEGOTIATED, IsNegotiated TRUE (%d events, %d)", ServerNegotiatedEvents,
          ServerIsNegotiated);
    CHECK_STATUS(Api->StreamOpen(Connection, QUIC_STREAM_OPEN_FLAG_UNIDIRECTIONAL, client_stream, NULL, &Stream),
                 QUIC_STATUS_SUCCESS, "StreamOpen");
    CHECK_SUCCEEDED(Api->StreamStart(Stream, QUIC_STREAM_START_FLAG_NONE), "StreamStart");
    uint64_t Offset = 0;
    Length = sizeof(Offset);
    CHECK_STATUS(Api->GetParam(Stream, QUIC_PARAM_STREAM_RELIABLE_OFFSET, &Length, &Offset), QUIC_STATUS_INVALID_STATE,
                 "STREAM_RELIABLE_OFFSET before one is set");
    CHECK_SUCCEEDED(Api->StreamSend(Stream, &Buffer, 1, QUIC_SEND_FLAG_NONE, NULL), "StreamSend %u bytes", TOTAL);
    Offset = TOTAL + 1;
    CHECK_STATUS(Api->SetParam(Stream, QUIC_PARAM_STREAM_RELIABLE_OFFSET, sizeof(Offset), &Offset),
                 QUIC_STATUS_INVALID_PARAMETER, "STREAM_RELIABLE_OFFSET beyond the data queued");
    Offset = RELIABLE;
    CHECK_STATUS(Api->SetParam(Stream, QUIC_PARAM_STREAM_RELIABLE_OFFSET, sizeof(Offset), &Offset), QUIC_STATUS_SUCCESS,
                 "SetParam STREAM_RELIABLE_OFFSET %u", RELIABLE);
    Offset = 0;
    Length = sizeof(Offset);
    CHECK(Api->GetParam(Stream, QUIC_PARAM_STREAM_RELIABLE_OFFSET, &Length, &Offset) == QUIC_STATUS_SUCCESS &&
              Offset == RELIABLE, "GetParam STREAM_RELIABLE_OFFSET reads %u back (%llu)", RELIABLE,
          (unsigned long long)Offset);
    CHECK_SUCCEEDED(Api->StreamShutdown(Stream, QUIC_STREAM_SHUTDOWN_FLAG_ABORT_SEND, ERROR_CODE), "StreamShutdown ABORT_SEND");
    CHECK(tu_event_wait(&ServerAborted, 1, WAIT_MS) == 1, "server: PEER_SEND_ABORTED");
    CHECK(ServerAbortCode == ERROR_CODE, "server: error code %u (%llu)", ERROR_CODE, (unsigned long long)ServerAbortCode);
    CHECK(ServerReceivedAtAbort == RELIABLE && !ServerBad,
          "server: exactly the first %u bytes, intact, before the reset (%llu)", RELIABLE,
          (unsigned long long)ServerReceivedAtAbort);
    CHECK(RecvOffsetStatus == QUIC_STATUS_SUCCESS && RecvOffset == RELIABLE,
          "server: STREAM_RELIABLE_OFFSET_RECV %u (%s, %llu)", RELIABLE, tu_status_name(RecvOffsetStatus),
          (unsigned long long)RecvOffset);
    CHECK(tu_event_wait(&ClientStreamDone, 1, WAIT_MS) == 1, "client stream SHUTDOWN_COMPLETE");
    CHECK(SendCompletes == 1 && SendCanceled == 1, "the send beyond the reliable offset completed canceled (%d/%d)",
          SendCanceled, SendCompletes);
    Api->StreamClose(Stream);
    close_client(Connection);

    /* 2. The client leaves it off. */
    tu_event_init(&ServerConnectionDone);
    ServerNegotiatedEvents = 0;
    ServerIsNegotiated = -1;
    HQUIC Disabled = client_configuration(&Alpn, 0);
    Connection = connect_client(Disabled, &Address);
    CHECK(ClientNegotiatedEvents == 0, "client with the setting off: no RELIABLE_RESET_NEGOTIATED (%d)",
          ClientNegotiatedEvents);
    CHECK(ServerNegotiatedEvents == 1 && ServerIsNegotiated == 0,
          "server: RELIABLE_RESET_NEGOTIATED with IsNegotiated FALSE (%d events, %d)", ServerNegotiatedEvents,
          ServerIsNegotiated);
    CHECK_STATUS(Api->StreamOpen(Connection, QUIC_STREAM_OPEN_FLAG_UNIDIRECTIONAL, client_stream, NULL, &Stream),
                 QUIC_STATUS_SUCCESS, "StreamOpen");
    CHECK_SUCCEEDED(Api->StreamStart(Stream, QUIC_STREAM_START_FLAG_NONE), "StreamStart");
    CHECK_SUCCEEDED(Api->StreamSend(Stream, &Buffer, 1, QUIC_SEND_FLAG_NONE, NULL), "StreamSend");
    Offset = 10;
    CHECK_STATUS(Api->SetParam(Stream, QUIC_PARAM_STREAM_RELIABLE_OFFSET, sizeof(Offset), &Offset),
                 QUIC_STATUS_INVALID_STATE, "STREAM_RELIABLE_OFFSET without negotiation");
    Api->StreamShutdown(Stream, QUIC_STREAM_SHUTDOWN_FLAG_ABORT | QUIC_STREAM_SHUTDOWN_FLAG_IMMEDIATE, 0);
    Api->StreamClose(Stream);
    close_client(Connection);

    Api->ListenerClose(Listener);
    Api->ConfigurationClose(Enabled);
    Api->ConfigurationClose(Disabled);
    Api->ConfigurationClose(ServerConfiguration);
    Api->RegistrationClose(Registration);
    MsQuicClose(Api);
    return tu_finish();
}
