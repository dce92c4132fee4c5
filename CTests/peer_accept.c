/*
 * peer_accept.c - streams started while the peer's stream limit holds them back, as MsQuic
 * handles them: StreamStart completes at once (START_COMPLETE with SUCCESS, the stream's ID and
 * PeerAccepted FALSE); once the peer's MAX_STREAMS lets the stream open, a stream started with
 * QUIC_STREAM_START_FLAG_INDICATE_PEER_ACCEPT gets QUIC_STREAM_EVENT_PEER_ACCEPTED, one started
 * without it gets nothing. The server allows one unidirectional stream at a time
 * (PeerUnidiStreamCount 1): A opens, B and C wait; A's FIN frees a slot for B, B's for C.
 */
#include "testutil.h"

#define ALPN "peer-accept"

typedef struct CLIENT_STREAM {
    const char* Name;
    TU_EVENT StartComplete;
    TU_EVENT PeerAccepted;
    QUIC_STATUS StartStatus;
    QUIC_UINT62 StartId;
    int StartPeerAccepted;
    int AcceptedBeforeStart;
} CLIENT_STREAM;

static const QUIC_API_TABLE* Api;
static HQUIC ServerConfiguration;
static TU_EVENT ServerStreamDone, ClientConnected;

static QUIC_STATUS QUIC_API ServerStreamCallback(HQUIC Stream, void* Context, QUIC_STREAM_EVENT* Event)
{
    (void)Context;
    if (Event->Type == QUIC_STREAM_EVENT_SHUTDOWN_COMPLETE) {
        /* Closing the finished stream lets the server raise its MAX_STREAMS (RFC 9000 §4.6). */
        tu_event_signal(&ServerStreamDone, Stream, NULL, QUIC_STATUS_SUCCESS);
        Api->StreamClose(Stream);
    }
    return QUIC_STATUS_SUCCESS;
}

static QUIC_STATUS QUIC_API ServerConnCallback(HQUIC Connection, void* Context, QUIC_CONNECTION_EVENT* Event)
{
    (void)Context;
    if (Event->Type == QUIC_CONNECTION_EVENT_PEER_STREAM_STARTED) {
        Api->SetCallbackHandler(Event->PEER_STREAM_STARTED.Stream, (void*)ServerStreamCallback, NULL);
    } else if (Event->Type == QUIC_CONNECTION_EVENT_SHUTDOWN_COMPLETE) {
        Api->ConnectionClose(Connection);
    }
    return QUIC_STATUS_SUCCESS;
}

static QUIC_STATUS QUIC_API ListenerCallback(HQUIC Listener, void* Context, QUIC_LISTENER_EVENT* Event)
{
    (void)Listener;
    (void)Context;
    if (Event->Type != QUIC_LISTENER_EVENT_NEW_CONNECTION) {
        return QUIC_STATUS_SUCCESS;
    }
    Api->SetCallbackHandler(Event->NEW_CONNECTION.Connection, (void*)ServerConnCallback, NULL);
    return Api->ConnectionSetConfiguration(Event->NEW_CONNECTION.Connection, ServerConfiguration);
}

static QUIC_STATUS QUIC_API ClientConnCallback(HQUIC Connection, void* Context, QUIC_CONNECTION_EVENT* Event)
{
    (void)Context;
    if (Event->Type == QUIC_CONNECTION_EVENT_CONNECTED) {
        tu_event_signal(&ClientConnected, Connection, NULL, QUIC_STATUS_SUCCESS);
    }
    return QUIC_STATUS_SUCCESS;
}

static QUIC_STATUS QUIC_API ClientStreamCallback(HQUIC Stream, void* Context, QUIC_STREAM_EVENT* Event)
{
    CLIENT_STREAM* S = (CLIENT_STREAM*)Context;
    switch (Event->Type) {
    case QUIC_STREAM_EVENT_START_COMPLETE:
        S->StartStatus = Event->START_COMPLETE.Status;
        S->StartId = Event->START_COMPLETE.ID;
        S->StartPeerAccepted = Event->START_COMPLETE.PeerAccepted;
        tu_event_signal(&S->StartComplete, Stream, S, Event->START_COMPLETE.Status);
        break;
    case QUIC_STREAM_EVENT_PEER_ACCEPTED:
        if (S->StartComplete.Count == 0) {
            S->AcceptedBeforeStart = 1;
        }
        tu_event_signal(&S->PeerAccepted, Stream, S, QUIC_STATUS_SUCCESS);
        break;
    default:
        break;
    }
    return QUIC_STATUS_SUCCESS;
}

static HQUIC start_stream(HQUIC Client, CLIENT_STREAM* S, const char* Name, QUIC_STREAM_START_FLAGS Flags)
{
    HQUIC Stream = NULL;
    memset(S, 0, sizeof(*S));
    S->Name = Name;
    tu_event_init(&S->StartComplete);
    tu_event_init(&S->PeerAccepted);
    CHECK_SUCCEEDED(Api->StreamOpen(Client, QUIC_STREAM_OPEN_FLAG_UNIDIRECTIONAL, ClientStreamCallback, S, &Stream),
                    "StreamOpen %s", Name);
    if (Stream != NULL) {
        QUIC_STATUS Status = Api->StreamStart(Stream, Flags);
        CHECK(QUIC_SUCCEEDED(Status), "StreamStart %s (0x%x)", Name, (unsigned)Status);
    }
    return Stream;
}

static void finish_stream(HQUIC Stream, const char* Name)
{
    static uint8_t Byte = 'x';
    static QUIC_BUFFER One = {1, &Byte};
    QUIC_STATUS Status = Api->StreamSend(Stream, &One, 1, QUIC_SEND_FLAG_FIN, NULL);
    CHECK(QUIC_SUCCEEDED(Status), "StreamSend(FIN) on %s (0x%x)", Name, (unsigned)Status);
}

int main(void)
{
    HQUIC Registration = NULL, ClientConfiguration = NULL, Listener = NULL, Client = NULL;
    HQUIC A = NULL, B = NULL, C = NULL;
    CLIENT_STREAM SA, SB, SC;
    QUIC_BUFFER Alpn = tu_alpn(ALPN);
    QUIC_SETTINGS Settings;
    uint16_t Port = 0;

    tu_start_watchdog(60);
    if (tu_cert_dir() == NULL) {
        CHECK(0, "certificates available");
        return tu_finish();
    }
    tu_event_init(&ServerStreamDone);
    tu_event_init(&ClientConnected);
    if (QUIC_FAILED(MsQuicOpen2(&Api))) {
        CHECK(0, "MsQuicOpen2");
        return tu_finish();
    }
    CHECK_SUCCEEDED(Api->RegistrationOpen(NULL, &Registration), "RegistrationOpen");
    memset(&Settings, 0, sizeof(Settings));
    Settings.IsSet.PeerUnidiStreamCount = 1;
    Settings.PeerUnidiStreamCount = 1;
    ServerConfiguration = tu_server_configuration(Api, Registration, &Alpn, &Settings);
    ClientConfiguration = tu_insecure_client_configuration(Api, Registration, &Alpn);
    Listener = tu_loopback_listener(Api, Registration, ListenerCallback, NULL, &Alpn, &Port);

    CHECK_SUCCEEDED(Api->ConnectionOpen(Registration, ClientConnCallback, NULL, &Client), "ConnectionOpen");
    CHECK_SUCCEEDED(Api->ConnectionStart(Client, ClientConfiguration, QUIC_ADDRESS_FAMILY_INET, "127.0.0.1", Port),
                    "ConnectionStart");
    CHECK(tu_event_wait(&ClientConnected, 1, 5000) == 1, "CONNECTED");

    /* A fits the peer's limit: accepted at start, so no PEER_ACCEPTED later. */
    A = start_stream(Client, &SA, "A", QUIC_STREAM_START_FLAG_INDICATE_PEER_ACCEPT);
    CHECK(tu_event_wait(&SA.StartComplete, 1, 2000) == 1, "A: START_COMPLETE");
    CHECK(SA.StartStatus == QUIC_STATUS_SUCCESS && SA.StartPeerAccepted, "A: SUCCESS, PeerAccepted (0x%x, %d)",
          (unsigned)SA.StartStatus, SA.StartPeerAccepted);
    CHECK(SA.StartId == 2, "A: the client's first unidirectional stream ID, 2 (%llu)", (unsigned long long)SA.StartId);

    /* B and C are held back by the limit: their starts complete at once all the same. */
    B = start_stream(Client, &SB, "B", QUIC_STREAM_START_FLAG_INDICATE_PEER_ACCEPT);
    C = start_stream(Client, &SC, "C", QUIC_STREAM_START_FLAG_NONE);
    CHECK(tu_event_wait(&SB.StartComplete, 1, 2000) == 1, "B: START_COMPLETE while the peer's limit holds it back");
    CHECK(SB.StartStatus == QUIC_STATUS_SUCCESS && !SB.StartPeerAccepted, "B: SUCCESS, not PeerAccepted (0x%x, %d)",
          (unsigned)SB.StartStatus, SB.StartPeerAccepted);
    CHECK(SB.StartId == 6, "B: stream ID 6 (%llu)", (unsigned long long)SB.StartId);
    CHECK(tu_event_wait(&SC.StartComplete, 1, 2000) == 1, "C: START_COMPLETE while held back");
    CHECK(SC.StartStatus == QUIC_STATUS_SUCCESS && !SC.StartPeerAccepted && SC.StartId == 10,
          "C: SUCCESS, not PeerAccepted, ID 10 (0x%x, %d, %llu)", (unsigned)SC.StartStatus, SC.StartPeerAccepted,
          (unsigned long long)SC.StartId);
    CHECK(tu_event_wait(&SB.PeerAccepted, 1, 300) == 0, "B: no PEER_ACCEPTED while A holds the only slot");

    /* B's data waits with it; A's FIN frees the slot. */
    if (B != NULL) {
        finish_stream(B, "B");
    }
    if (A != NULL) {
        finish_stream(A, "A");
    }
    CHECK(tu_event_wait(&SB.PeerAccepted, 1, 5000) == 1, "B: PEER_ACCEPTED once the server allows another stream");
    CHECK(!SB.AcceptedBeforeStart, "B: PEER_ACCEPTED came after START_COMPLETE");
    CHECK(SA.PeerAccepted.Count == 0, "A: no PEER_ACCEPTED (accepted at start)");
    if (C != NULL) {
        finish_stream(C, "C");
    }
    CHECK(tu_event_wait(&ServerStreamDone, 3, 5000) == 3, "the server received A, B and C to their FINs");
    CHECK(SC.PeerAccepted.Count == 0, "C: no PEER_ACCEPTED without INDICATE_PEER_ACCEPT");

    if (A != NULL) Api->StreamClose(A);
    if (B != NULL) Api->StreamClose(B);
    if (C != NULL) Api->StreamClose(C);
    Api->ConnectionShutdown(Client, QUIC_CONNECTION_SHUTDOWN_FLAG_NONE, 0);
    Api->ConnectionClose(Client);
    Api->ListenerClose(Listener);
    Api->ConfigurationClose(ClientConfiguration);
    Api->ConfigurationClose(ServerConfiguration);
    Api->RegistrationClose(Registration);
    MsQuicClose(Api);
    return tu_finish();
}
