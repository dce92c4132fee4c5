/*
 * resumption_async.c - asynchronous resumption-ticket validation through the public API over
 * 127.0.0.1, as MsQuic 2.6 offers it (docs/api/ConnectionResumptionTicketValidationComplete.md):
 * the server's QUIC_CONNECTION_EVENT_RESUMED handler returns QUIC_STATUS_PENDING and another
 * thread later calls ConnectionResumptionTicketValidationComplete(Connection, Result).
 *  1. a first connection gets a ticket (server: QUIC_SERVER_RESUME_AND_ZERORTT, ResumptionData);
 *  2. a resuming client sends stream data marked ALLOW_0_RTT; the server's RESUMED sees the
 *     ResumptionData and answers PENDING; the handshake then stalls (no CONNECTED on either
 *     side for 300 ms); a helper thread completes with TRUE, which answers PENDING (queued, as
 *     MsQuic's api.c); both sides then see CONNECTED with SessionResumed = 1 and the stream's
 *     QUIC_PARAM_STREAM_0RTT_LENGTH counts its bytes (0-RTT accepted);
 *  3. the same with FALSE: a full handshake (SessionResumed = 0 on both sides), 0-RTT rejected
 *     (0RTT_LENGTH 0), the data still arrives intact (sent again in 1-RTT);
 *  and in both rounds a completion made after the handshake finds nothing to complete
 *  (INVALID_STATE), as does one on a client connection (INVALID_PARAMETER);
 *  4. the client closes while the server validates: the server's SHUTDOWN_COMPLETE comes within
 *     2 s (no RTT sample yet: MsQuic's max(15 ms, 2 x SRTT) draining), and completing afterwards
 *     (TRUE, then FALSE on another connection) answers PENDING and does nothing.
 */
#include "testutil.h"

#define ALPN "rasync"
#define WAIT_MS 20000
#define STALL_MS 300

static const QUIC_API_TABLE* Api;
static HQUIC Registration;
static HQUIC ServerConfiguration;

static const uint8_t TicketData[] = { 0x00, 'a', 's', 'y', 'n', 'c', 0xff, 0x00 };
static const char Message[] = "sent before the handshake, allowed in 0-RTT";

/* ---- server ------------------------------------------------------------- */

static int ResumedEvents;
static int ResumedDataMatches;
static HQUIC PendingConnection;
static int ServerConnectedSeen;
static int ServerSessionResumed = -1;
static QUIC_STATUS ServerLateCompleteStatus;
static uint8_t ServerReceived[sizeof(Message)];
static uint32_t ServerReceivedLength;
static int ServerReceivedTooMuch;
static TU_EVENT ServerResumed;
static TU_EVENT ServerConnected;
static TU_EVENT ServerStreamDone;
static TU_EVENT ServerConnectionDone;
/* Leave the server connection open after SHUTDOWN_COMPLETE (the test closes it). */
static int KeepServerHandle;

static QUIC_STATUS QUIC_API server_stream(HQUIC Stream, void* Context, QUIC_STREAM_EVENT* Event)
{
    (void)Context;
    switch (Event->Type) {
    case QUIC_STREAM_EVENT_RECEIVE:
        for (uint32_t i = 0; i < Event->RECEIVE.BufferCount; i++) {
            const QUIC_BUFFER* B = &Event->RECEIVE.Buffers[i];
            if (ServerReceivedLength + B->Length > sizeof(ServerReceived)) {
                ServerReceivedTooMuch = 1;
                continue;
            }
            memcpy(ServerReceived + ServerReceivedLength, B->Buffer, B->Length);
            ServerReceivedLength += B->Length;
        }
        break;
    case QUIC_STREAM_EVENT_PEER_SEND_SHUTDOWN:
        tu_event_signal(&ServerStreamDone, Stream, NULL, QUIC_STATUS_SUCCESS);
        break;
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
    case QUIC_CONNECTION_EVENT_RESUMED:
        ResumedEvents++;
        ResumedDataMatches = Event->RESUMED.ResumptionStateLength == sizeof(TicketData) &&
                             Event->RESUMED.ResumptionState != NULL &&
                             memcmp(Event->RESUMED.ResumptionState, TicketData, sizeof(TicketData)) == 0;
        PendingConnection = Connection;
        tu_event_signal(&ServerResumed, Connection, NULL, QUIC_STATUS_PENDING);
        return QUIC_STATUS_PENDING;            /* validated later, on another thread */
    case QUIC_CONNECTION_EVENT_CONNECTED:
        ServerConnectedSeen = 1;
        ServerSessionResumed = Event->CONNECTED.SessionResumed ? 1 : 0;
        /* Nothing is waiting for a decision any more. */
        ServerLateCompleteStatus = Api->ConnectionResumptionTicketValidationComplete(Connection, TRUE);
        Api->ConnectionSendResumptionTicket(Connection, QUIC_SEND_RESUMPTION_FLAG_NONE, sizeof(TicketData), TicketData);
        tu_event_signal(&ServerConnected, Connection, NULL, QUIC_STATUS_SUCCESS);
        break;
    case QUIC_CONNECTION_EVENT_PEER_STREAM_STARTED:
        Api->SetCallbackHandler(Event->PEER_STREAM_STARTED.Stream, (void*)server_stream, NULL);
        break;
    case QUIC_CONNECTION_EVENT_SHUTDOWN_COMPLETE:
        if (!KeepServerHandle) Api->ConnectionClose(Connection);
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

/* ---- the validating thread ---------------------------------------------- */

typedef struct VALIDATION {
    HQUIC Connection;
    BOOLEAN Result;
    QUIC_STATUS Status;
} VALIDATION;

static void* validate(void* Argument)
{
    VALIDATION* V = (VALIDATION*)Argument;
    V->Status = Api->ConnectionResumptionTicketValidationComplete(V->Connection, V->Result);
    return NULL;
}

/* ---- client ------------------------------------------------------------- */

static uint8_t Ticket[4096];
static uint32_t TicketLength;
static int ClientSessionResumed = -1;
static TU_EVENT ClientConnected;
static TU_EVENT ClientTicket;
static TU_EVENT ClientShutdown;

static QUIC_STATUS QUIC_API client_stream(HQUIC Stream, void* Context, QUIC_STREAM_EVENT* Event)
{
    (void)Stream;
    (void)Context;
    (void)Event;
    return QUIC_STATUS_SUCCESS;
}

static QUIC_STATUS QUIC_API client_connection(HQUIC Connection, void* Context, QUIC_CONNECTION_EVENT* Event)
{
    (void)Context;
    switch (Event->Type) {
    case QUIC_CONNECTION_EVENT_CONNECTED:
        ClientSessionResumed = Event->CONNECTED.SessionResumed ? 1 : 0;
        tu_event_signal(&ClientConnected, Connection, NULL, QUIC_STATUS_SUCCESS);
        break;
    case QUIC_CONNECTION_EVENT_RESUMPTION_TICKET_RECEIVED:
        if (Event->RESUMPTION_TICKET_RECEIVED.ResumptionTicketLength <= sizeof(Ticket)) {
            TicketLength = Event->RESUMPTION_TICKET_RECEIVED.ResumptionTicketLength;
            memcpy(Ticket, Event->RESUMPTION_TICKET_RECEIVED.ResumptionTicket, TicketLength);
            tu_event_signal(&ClientTicket, Connection, NULL, QUIC_STATUS_SUCCESS);
        }
        break;
    case QUIC_CONNECTION_EVENT_SHUTDOWN_COMPLETE:
        tu_event_signal(&ClientShutdown, Connection, NULL, QUIC_STATUS_SUCCESS);
        break;
    default:
        break;
    }
    return QUIC_STATUS_SUCCESS;
}

static void reset_round(void)
{
    tu_event_init(&ServerResumed);
    tu_event_init(&ServerConnected);
    tu_event_init(&ServerStreamDone);
    tu_event_init(&ServerConnectionDone);
    tu_event_init(&ClientConnected);
    tu_event_init(&ClientTicket);
    tu_event_init(&ClientShutdown);
    ResumedEvents = 0;
    ResumedDataMatches = 0;
    PendingConnection = NULL;
    ServerConnectedSeen = 0;
    ServerSessionResumed = -1;
    ServerLateCompleteStatus = QUIC_STATUS_SUCCESS;
    ServerReceivedLength = 0;
    ServerReceivedTooMuch = 0;
    ClientSessionResumed = -1;
}

static void close_client(HQUIC Connection)
{
    Api->ConnectionShutdown(Connection, QUIC_CONNECTION_SHUTDOWN_FLAG_NONE, 0);
    CHECK(tu_event_wait(&ClientShutdown, 1, WAIT_MS) == 1, "client SHUTDOWN_COMPLETE");
    CHECK(tu_event_wait(&ServerConnectionDone, 1, WAIT_MS) == 1, "server SHUTDOWN_COMPLETE");
    Api->ConnectionClose(Connection);
}

/* A first, full connection: its ticket is kept in Ticket. */
static void prime(HQUIC ClientConfiguration, uint16_t Port)
{
    HQUIC Connection = NULL;
    reset_round();
    CHECK_STATUS(Api->ConnectionOpen(Registration, client_connection, NULL, &Connection), QUIC_STATUS_SUCCESS,
                 "ConnectionOpen (first connection)");
    CHECK_STATUS(Api->ConnectionResumptionTicketValidationComplete(Connection, TRUE), QUIC_STATUS_INVALID_PARAMETER,
                 "ConnectionResumptionTicketValidationComplete on a client connection");
    CHECK_SUCCEEDED(Api->ConnectionStart(Connection, ClientConfiguration, QUIC_ADDRESS_FAMILY_INET, "localhost", Port),
                    "ConnectionStart");
    CHECK(tu_event_wait(&ClientConnected, 1, WAIT_MS) == 1, "first connection: CONNECTED");
    CHECK(ClientSessionResumed == 0, "first connection: not resumed");
    CHECK(tu_event_wait(&ClientTicket, 1, WAIT_MS) == 1, "first connection: ticket received");
    CHECK(TicketLength > 0, "first connection: ticket of %u bytes", TicketLength);
    CHECK(ResumedEvents == 0, "no RESUMED without a ticket");
    close_client(Connection);
}

/* A resuming connection whose ticket the server validates asynchronously with Accept. */
static void resume_async(HQUIC ClientConfiguration, uint16_t Port, BOOLEAN Accept)
{
    const char* Round = Accept ? "accept" : "reject";
    HQUIC Connection = NULL, Stream = NULL;
    QUIC_BUFFER Buffer = { (uint32_t)strlen(Message), (uint8_t*)(uintptr_t)Message };
    uint64_t EarlyLength = UINT64_MAX;
    uint32_t Length = sizeof(EarlyLength);
    VALIDATION V;
    pthread_t Thread;

    reset_round();
    CHECK_STATUS(Api->ConnectionOpen(Registration, client_connection, NULL, &Connection), QUIC_STATUS_SUCCESS,
                 "%s: ConnectionOpen", Round);
    CHECK_STATUS(Api->SetParam(Connection, QUIC_PARAM_CONN_RESUMPTION_TICKET, TicketLength, Ticket), QUIC_STATUS_SUCCESS,
                 "%s: SetParam CONN_RESUMPTION_TICKET", Round);
    CHECK_STATUS(Api->StreamOpen(Connection, QUIC_STREAM_OPEN_FLAG_NONE, client_stream, NULL, &Stream), QUIC_STATUS_SUCCESS,
                 "%s: StreamOpen", Round);
    CHECK_SUCCEEDED(Api->StreamStart(Stream, QUIC_STREAM_START_FLAG_NONE), "%s: StreamStart", Round);
    CHECK_SUCCEEDED(Api->StreamSend(Stream, &Buffer, 1, QUIC_SEND_FLAG_ALLOW_0_RTT | QUIC_SEND_FLAG_FIN, NULL),
                    "%s: StreamSend ALLOW_0_RTT | FIN", Round);
    CHECK_SUCCEEDED(Api->ConnectionStart(Connection, ClientConfiguration, QUIC_ADDRESS_FAMILY_INET, "localhost", Port),
                    "%s: ConnectionStart", Round);

    CHECK(tu_event_wait(&ServerResumed, 1, WAIT_MS) == 1, "%s: server RESUMED", Round);
    CHECK(ResumedDataMatches, "%s: RESUMED carries the ticket's ResumptionData", Round);
    /* The handshake waits for the application. */
    CHECK(tu_event_wait(&ClientConnected, 1, STALL_MS) == 0 && !ServerConnectedSeen,
          "%s: no CONNECTED on either side while the validation is pending (%d ms)", Round, STALL_MS);

    V.Connection = PendingConnection;
    V.Result = Accept;
    V.Status = QUIC_STATUS_SUCCESS;
    CHECK(pthread_create(&Thread, NULL, validate, &V) == 0, "%s: validating thread started", Round);
    pthread_join(Thread, NULL);
    CHECK_STATUS(V.Status, QUIC_STATUS_PENDING, "%s: ConnectionResumptionTicketValidationComplete(%s) from another thread",
                 Round, Accept ? "TRUE" : "FALSE");

    CHECK(tu_event_wait(&ClientConnected, 1, WAIT_MS) == 1, "%s: client CONNECTED", Round);
    CHECK(ClientSessionResumed == (Accept ? 1 : 0), "%s: client CONNECTED.SessionResumed = %d (%d)", Round, Accept ? 1 : 0,
          ClientSessionResumed);
    CHECK(tu_event_wait(&ServerConnected, 1, WAIT_MS) == 1, "%s: server CONNECTED", Round);
    CHECK(ServerSessionResumed == (Accept ? 1 : 0), "%s: server CONNECTED.SessionResumed = %d (%d)", Round,
          Accept ? 1 : 0, ServerSessionResumed);
    CHECK(ResumedEvents == 1, "%s: RESUMED once (%d)", Round, ResumedEvents);
    CHECK_STATUS(ServerLateCompleteStatus, QUIC_STATUS_INVALID_STATE, "%s: a completion after CONNECTED", Round);

    CHECK(tu_event_wait(&ServerStreamDone, 1, WAIT_MS) == 1, "%s: server got the stream's FIN", Round);
    CHECK(ServerReceivedLength == Buffer.Length && !ServerReceivedTooMuch &&
              memcmp(ServerReceived, Message, Buffer.Length) == 0,
          "%s: the stream data arrived intact (%u of %u bytes)", Round, ServerReceivedLength, Buffer.Length);
    CHECK_STATUS(Api->GetParam(Stream, QUIC_PARAM_STREAM_0RTT_LENGTH, &Length, &EarlyLength), QUIC_STATUS_SUCCESS,
                 "%s: GetParam STREAM_0RTT_LENGTH", Round);
    CHECK(EarlyLength == (Accept ? Buffer.Length : 0), "%s: 0-RTT %s: 0RTT_LENGTH %u (%llu)", Round,
          Accept ? "accepted" : "rejected", Accept ? Buffer.Length : 0, (unsigned long long)EarlyLength);
    if (Accept) {
        /* Keep the newest ticket for the next round. */
        CHECK(tu_event_wait(&ClientTicket, 1, WAIT_MS) == 1, "%s: new ticket received", Round);
    }
    Api->StreamClose(Stream);
    close_client(Connection);
}

static uint64_t now_ms(void)
{
    struct timespec T;
    clock_gettime(CLOCK_MONOTONIC, &T);
    return (uint64_t)T.tv_sec * 1000u + (uint64_t)T.tv_nsec / 1000000u;
}

/* The client gives up while the server still validates: both ends finish shutting down
 * promptly (the server within the 2 s MsQuic's own test allows), and the server's late
 * completion, from another thread, is accepted (PENDING, as MsQuic's api.c answers before the
 * handshake completed) and has nothing left to act on (MsQuic PR #5963 scenario,
 * Handshake/WithAcceptTicket.CustomTicketValidationAfterShutdown). */
static void shutdown_while_pending(HQUIC ClientConfiguration, uint16_t Port, BOOLEAN Accept)
{
    const char* Round = Accept ? "after shutdown, accept" : "after shutdown, reject";
    HQUIC Connection = NULL, Server;
    VALIDATION V;
    pthread_t Thread;
    uint64_t Start, ServerDone;

    reset_round();
    KeepServerHandle = 1;
    CHECK_STATUS(Api->ConnectionOpen(Registration, client_connection, NULL, &Connection), QUIC_STATUS_SUCCESS,
                 "%s: ConnectionOpen", Round);
    CHECK_STATUS(Api->SetParam(Connection, QUIC_PARAM_CONN_RESUMPTION_TICKET, TicketLength, Ticket), QUIC_STATUS_SUCCESS,
                 "%s: SetParam CONN_RESUMPTION_TICKET", Round);
    CHECK_SUCCEEDED(Api->ConnectionStart(Connection, ClientConfiguration, QUIC_ADDRESS_FAMILY_INET, "localhost", Port),
                    "%s: ConnectionStart", Round);
    CHECK(tu_event_wait(&ServerResumed, 1, WAIT_MS) == 1, "%s: server RESUMED", Round);
    Server = PendingConnection;
    Start = now_ms();
    Api->ConnectionShutdown(Connection, QUIC_CONNECTION_SHUTDOWN_FLAG_NONE, 0);
    CHECK(tu_event_wait(&ServerConnectionDone, 1, WAIT_MS) == 1, "%s: server SHUTDOWN_COMPLETE", Round);
    ServerDone = now_ms() - Start;
    CHECK(ServerDone < 2000, "%s: server done %llu ms after the client's close (< 2000)", Round,
          (unsigned long long)ServerDone);
    CHECK(tu_event_wait(&ClientShutdown, 1, WAIT_MS) == 1, "%s: client SHUTDOWN_COMPLETE", Round);
    CHECK(!ServerConnectedSeen && ClientSessionResumed == -1, "%s: neither side connected", Round);

    V.Connection = Server;
    V.Result = Accept;
    V.Status = QUIC_STATUS_SUCCESS;
    CHECK(pthread_create(&Thread, NULL, validate, &V) == 0, "%s: validating thread started", Round);
    pthread_join(Thread, NULL);
    CHECK_STATUS(V.Status, QUIC_STATUS_PENDING, "%s: late ConnectionResumptionTicketValidationComplete", Round);
    CHECK(!ServerConnectedSeen, "%s: still not connected", Round);
    KeepServerHandle = 0;
    Api->ConnectionClose(Server);
    Api->ConnectionClose(Connection);
}

int main(void)
{
    QUIC_BUFFER Alpn = tu_alpn(ALPN);
    QUIC_SETTINGS Settings;
    QUIC_CREDENTIAL_CONFIG Cred;
    QUIC_CERTIFICATE_FILE Files;
    QUIC_ADDR Address;
    HQUIC Listener = NULL, ClientConfiguration = NULL;
    uint32_t Length = sizeof(Address);

    tu_start_watchdog(100);
    if (tu_cert_dir() == NULL || MsQuicOpen2(&Api) != QUIC_STATUS_SUCCESS ||
        QUIC_FAILED(Api->RegistrationOpen(NULL, &Registration))) {
        CHECK(0, "certificates, MsQuicOpen2, RegistrationOpen");
        return tu_finish();
    }

    memset(&Settings, 0, sizeof(Settings));
    Settings.IsSet.ServerResumptionLevel = 1;
    Settings.ServerResumptionLevel = QUIC_SERVER_RESUME_AND_ZERORTT;
    Settings.IsSet.PeerBidiStreamCount = 1;
    Settings.PeerBidiStreamCount = 4;
    CHECK_STATUS(Api->ConfigurationOpen(Registration, &Alpn, 1, &Settings, sizeof(Settings), NULL, &ServerConfiguration),
                 QUIC_STATUS_SUCCESS, "server ConfigurationOpen (RESUME_AND_ZERORTT)");
    memset(&Cred, 0, sizeof(Cred));
    Files.CertificateFile = tu_cert("server.crt");
    Files.PrivateKeyFile = tu_cert("server.key");
    Cred.Type = QUIC_CREDENTIAL_TYPE_CERTIFICATE_FILE;
    Cred.CertificateFile = &Files;
    CHECK_STATUS(Api->ConfigurationLoadCredential(ServerConfiguration, &Cred), QUIC_STATUS_SUCCESS, "server credential");

    CHECK_STATUS(Api->ConfigurationOpen(Registration, &Alpn, 1, NULL, 0, NULL, &ClientConfiguration), QUIC_STATUS_SUCCESS,
                 "client ConfigurationOpen");
    memset(&Cred, 0, sizeof(Cred));
    Cred.Type = QUIC_CREDENTIAL_TYPE_NONE;
    Cred.Flags = (QUIC_CREDENTIAL_FLAGS)(QUIC_CREDENTIAL_FLAG_CLIENT | QUIC_CREDENTIAL_FLAG_SET_CA_CERTIFICATE_FILE);
    Cred.CaCertificateFile = tu_cert("ca.crt");
    CHECK_STATUS(Api->ConfigurationLoadCredential(ClientConfiguration, &Cred), QUIC_STATUS_SUCCESS, "client credential");

    CHECK_STATUS(Api->ListenerOpen(Registration, listener_callback, NULL, &Listener), QUIC_STATUS_SUCCESS, "ListenerOpen");
    memset(&Address, 0, sizeof(Address));
    QuicAddrSetFamily(&Address, QUIC_ADDRESS_FAMILY_INET);
    QuicAddrSetToLoopback(&Address);
    CHECK_STATUS(Api->ListenerStart(Listener, &Alpn, 1, &Address), QUIC_STATUS_SUCCESS, "ListenerStart");
    CHECK_STATUS(Api->GetParam(Listener, QUIC_PARAM_LISTENER_LOCAL_ADDRESS, &Length, &Address), QUIC_STATUS_SUCCESS,
                 "LISTENER_LOCAL_ADDRESS");

    prime(ClientConfiguration, QuicAddrGetPort(&Address));
    if (TicketLength > 0) {
        resume_async(ClientConfiguration, QuicAddrGetPort(&Address), TRUE);
        resume_async(ClientConfiguration, QuicAddrGetPort(&Address), FALSE);
        shutdown_while_pending(ClientConfiguration, QuicAddrGetPort(&Address), TRUE);
        shutdown_while_pending(ClientConfiguration, QuicAddrGetPort(&Address), FALSE);
    }

    Api->ListenerClose(Listener);
    Api->ConfigurationClose(ClientConfiguration);
    Api->ConfigurationClose(ServerConfiguration);
    Api->RegistrationClose(Registration);
    MsQuicClose(Api);
    return tu_finish();
}
