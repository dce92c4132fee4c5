/*
 * early_streams_refusal.c - stream IDs and start failures before ConnectionStart, and what a
 * client hears when the server application turns a connection away (MsQuic 2.6 behaviour, as
 * its msquictest cases OwnershipValidation.ConnectionCloseBeforeStreamClose,
 * ParameterValidation/WithBool.ValidateStream/0, RejectConnection/0,
 * Basic/WithFamilyArgs.ServerRejected and ParameterValidation.CloseConnBeforeStreamFlush
 * expect):
 *  1. a client stream started before ConnectionStart has its ID at once (0, then 4; a
 *     unidirectional one 2), a stream never started has none (INVALID_STATE);
 *  2. StreamStart with FAIL_BLOCKED before ConnectionStart: PENDING, then START_COMPLETE with
 *     STREAM_LIMIT_REACHED (the server's limits are unknown) and no ID consumed;
 *  3. after a FAIL_BLOCKED failure, the next stream still gets the next ID, and once the
 *     connection runs, data sent on a stream started before it arrives on that very ID;
 *  4. StreamShutdown of a never-started stream on a connection not started: SUCCESS;
 *  5. a listener that returns a failure from NEW_CONNECTION: the client's
 *     SHUTDOWN_INITIATED_BY_TRANSPORT says CONNECTION_REFUSED (no wait for a timeout);
 *  6. a listener that calls ConnectionShutdown inside NEW_CONNECTION and then
 *     ConnectionSetConfiguration (SUCCESS): the client hears USER_CANCELED (APPLICATION_ERROR
 *     in an Initial packet) and never gets CONNECTED;
 *  7. ConnectionStart with a name that does not resolve: PENDING, then
 *     SHUTDOWN_INITIATED_BY_TRANSPORT and SHUTDOWN_COMPLETE;
 *  (and, after the start in 3, LOCAL_ADDRESS is the route's 127.0.0.1, not 0.0.0.0;)
 *  8. LOCAL_ADDRESS IPv4 and REMOTE_ADDRESS IPv6: the start is accepted, then the connection
 *     ends with INVALID_ADDRESS (HandshakeTest.InvalidAddress).
 */
#include "testutil.h"

#include <arpa/inet.h>

#define ALPN "early"

static const QUIC_API_TABLE* Api;
static HQUIC ServerConfiguration;

/* ---- client side -------------------------------------------------------- */

typedef struct CLIENT {
    TU_EVENT Connected;
    TU_EVENT TransportShutdown; /* LastStatus: the transport's status */
    TU_EVENT ShutdownComplete;
} CLIENT;

static QUIC_STATUS QUIC_API ClientCallback(HQUIC Connection, void* Context, QUIC_CONNECTION_EVENT* Event)
{
    CLIENT* C = (CLIENT*)Context;
    switch (Event->Type) {
    case QUIC_CONNECTION_EVENT_CONNECTED:
        tu_event_signal(&C->Connected, Connection, Context, QUIC_STATUS_SUCCESS);
        break;
    case QUIC_CONNECTION_EVENT_SHUTDOWN_INITIATED_BY_TRANSPORT:
        tu_event_signal(&C->TransportShutdown, Connection, Context, Event->SHUTDOWN_INITIATED_BY_TRANSPORT.Status);
        break;
    case QUIC_CONNECTION_EVENT_SHUTDOWN_COMPLETE:
        tu_event_signal(&C->ShutdownComplete, Connection, Context, QUIC_STATUS_SUCCESS);
        break;
    default:
        break;
    }
    return QUIC_STATUS_SUCCESS;
}

typedef struct STREAM {
    TU_EVENT StartComplete; /* LastStatus: START_COMPLETE's Status */
    uint64_t StartCompleteId;
    TU_EVENT ShutdownComplete;
    TU_EVENT SendComplete;
} STREAM;

static QUIC_STATUS QUIC_API StreamCallback(HQUIC Stream, void* Context, QUIC_STREAM_EVENT* Event)
{
    STREAM* S = (STREAM*)Context;
    switch (Event->Type) {
    case QUIC_STREAM_EVENT_START_COMPLETE:
        S->StartCompleteId = Event->START_COMPLETE.ID;
        tu_event_signal(&S->StartComplete, Stream, Context, Event->START_COMPLETE.Status);
        break;
    case QUIC_STREAM_EVENT_SEND_COMPLETE:
        tu_event_signal(&S->SendComplete, Stream, Context, QUIC_STATUS_SUCCESS);
        break;
    case QUIC_STREAM_EVENT_SHUTDOWN_COMPLETE:
        tu_event_signal(&S->ShutdownComplete, Stream, Context, QUIC_STATUS_SUCCESS);
        break;
    default:
        break;
    }
    return QUIC_STATUS_SUCCESS;
}

static void StreamInit(STREAM* S)
{
    memset(S, 0, sizeof(*S));
    tu_event_init(&S->StartComplete);
    tu_event_init(&S->ShutdownComplete);
    tu_event_init(&S->SendComplete);
}

static void ClientInit(CLIENT* C)
{
    tu_event_init(&C->Connected);
    tu_event_init(&C->TransportShutdown);
    tu_event_init(&C->ShutdownComplete);
}

static QUIC_STATUS StreamId(HQUIC Stream, uint64_t* Id)
{
    uint32_t Length = sizeof(*Id);
    return Api->GetParam(Stream, QUIC_PARAM_STREAM_ID, &Length, Id);
}

/* ---- server side -------------------------------------------------------- */

enum { SERVER_ACCEPT, SERVER_REFUSE, SERVER_SHUTDOWN_THEN_CONFIGURE };
static int ServerMode;
static QUIC_STATUS ServerSetConfigurationStatus;
static TU_EVENT ServerData; /* the server received stream data; ServerDataStreamId: on which */
static uint64_t ServerDataStreamId = UINT64_MAX;

static QUIC_STATUS QUIC_API ServerStreamCallback(HQUIC Stream, void* Context, QUIC_STREAM_EVENT* Event)
{
    (void)Context;
    if (Event->Type == QUIC_STREAM_EVENT_RECEIVE && Event->RECEIVE.TotalBufferLength > 0) {
        uint64_t Id = UINT64_MAX;
        StreamId(Stream, &Id);
        ServerDataStreamId = Id;
        tu_event_signal(&ServerData, Stream, NULL, QUIC_STATUS_SUCCESS);
    } else if (Event->Type == QUIC_STREAM_EVENT_SHUTDOWN_COMPLETE) {
        Api->StreamClose(Stream);
    }
    return QUIC_STATUS_SUCCESS;
}

static QUIC_STATUS QUIC_API ServerConnCallback(HQUIC Connection, void* Context, QUIC_CONNECTION_EVENT* Event)
{
    (void)Context;
    switch (Event->Type) {
    case QUIC_CONNECTION_EVENT_PEER_STREAM_STARTED:
        Api->SetCallbackHandler(Event->PEER_STREAM_STARTED.Stream, (void*)ServerStreamCallback, NULL);
        break;
    case QUIC_CONNECTION_EVENT_SHUTDOWN_COMPLETE:
        Api->ConnectionClose(Connection);
        break;
    default:
        break;
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
    HQUIC Connection = Event->NEW_CONNECTION.Connection;
    switch (ServerMode) {
    case SERVER_REFUSE:
        return QUIC_STATUS_ABORTED;
    case SERVER_SHUTDOWN_THEN_CONFIGURE:
        Api->SetCallbackHandler(Connection, (void*)ServerConnCallback, NULL);
        Api->ConnectionShutdown(Connection, QUIC_CONNECTION_SHUTDOWN_FLAG_NONE, 0x1234);
        ServerSetConfigurationStatus = Api->ConnectionSetConfiguration(Connection, ServerConfiguration);
        return QUIC_STATUS_SUCCESS;
    default:
        Api->SetCallbackHandler(Connection, (void*)ServerConnCallback, NULL);
        return Api->ConnectionSetConfiguration(Connection, ServerConfiguration);
    }
}

/* A client towards the listener that expects the handshake to fail with `Expected`. */
static void TurnedAway(HQUIC Registration, HQUIC ClientConfiguration, uint16_t Port, QUIC_STATUS Expected,
                       const char* What)
{
    CLIENT C;
    HQUIC Connection = NULL;
    ClientInit(&C);
    CHECK_SUCCEEDED(Api->ConnectionOpen(Registration, ClientCallback, &C, &Connection), "%s: ConnectionOpen", What);
    if (Connection == NULL) {
        return;
    }
    CHECK_SUCCEEDED(Api->ConnectionStart(Connection, ClientConfiguration, QUIC_ADDRESS_FAMILY_INET, "127.0.0.1", Port),
                    "%s: ConnectionStart", What);
    /* Well inside the 10 s handshake idle timeout: the server's answer ends it. */
    CHECK(tu_event_wait(&C.ShutdownComplete, 1, 3000) == 1, "%s: the client ends within 3 s", What);
    CHECK(C.Connected.Count == 0, "%s: never CONNECTED", What);
    CHECK(C.TransportShutdown.Count == 1, "%s: SHUTDOWN_INITIATED_BY_TRANSPORT", What);
    CHECK_STATUS(C.TransportShutdown.LastStatus, Expected, "%s: the transport's status", What);
    Api->ConnectionClose(Connection);
}

int main(void)
{
    HQUIC Registration = NULL, ClientConfiguration = NULL, Listener = NULL;
    QUIC_BUFFER Alpn = tu_alpn(ALPN);
    QUIC_CREDENTIAL_CONFIG Cred;
    QUIC_CERTIFICATE_FILE Files;
    QUIC_ADDR Address;
    uint32_t Length;
    uint16_t Port = 0;
    QUIC_SETTINGS Settings;

    tu_start_watchdog(90);
    if (tu_cert_dir() == NULL) {
        CHECK(0, "certificates available");
        return tu_finish();
    }
    tu_event_init(&ServerData);
    if (QUIC_FAILED(MsQuicOpen2(&Api))) {
        CHECK(0, "MsQuicOpen2");
        return tu_finish();
    }
    CHECK_SUCCEEDED(Api->RegistrationOpen(NULL, &Registration), "RegistrationOpen");

    memset(&Settings, 0, sizeof(Settings));
    Settings.IsSet.PeerBidiStreamCount = 1;
    Settings.PeerBidiStreamCount = 8;
    CHECK_SUCCEEDED(Api->ConfigurationOpen(Registration, &Alpn, 1, &Settings, sizeof(Settings), NULL, &ServerConfiguration),
                    "server ConfigurationOpen");
    memset(&Cred, 0, sizeof(Cred));
    Files.CertificateFile = tu_cert("server.crt");
    Files.PrivateKeyFile = tu_cert("server.key");
    Cred.Type = QUIC_CREDENTIAL_TYPE_CERTIFICATE_FILE;
    Cred.CertificateFile = &Files;
    CHECK_SUCCEEDED(Api->ConfigurationLoadCredential(ServerConfiguration, &Cred), "server credential");

    CHECK_SUCCEEDED(Api->ConfigurationOpen(Registration, &Alpn, 1, NULL, 0, NULL, &ClientConfiguration),
                    "client ConfigurationOpen");
    memset(&Cred, 0, sizeof(Cred));
    Cred.Type = QUIC_CREDENTIAL_TYPE_NONE;
    Cred.Flags = QUIC_CREDENTIAL_FLAG_CLIENT | QUIC_CREDENTIAL_FLAG_NO_CERTIFICATE_VALIDATION;
    CHECK_SUCCEEDED(Api->ConfigurationLoadCredential(ClientConfiguration, &Cred), "client credential");

    CHECK_SUCCEEDED(Api->ListenerOpen(Registration, ListenerCallback, NULL, &Listener), "ListenerOpen");
    memset(&Address, 0, sizeof(Address));
    QuicAddrSetFamily(&Address, QUIC_ADDRESS_FAMILY_INET);
    QuicAddrSetToLoopback(&Address);
    CHECK_SUCCEEDED(Api->ListenerStart(Listener, &Alpn, 1, &Address), "ListenerStart(127.0.0.1:0)");
    Length = sizeof(Address);
    if (QUIC_SUCCEEDED(Api->GetParam(Listener, QUIC_PARAM_LISTENER_LOCAL_ADDRESS, &Length, &Address))) {
        Port = QuicAddrGetPort(&Address);
    }
    CHECK(Port != 0, "the listener has a port");

    /* 1-4: streams on a client connection not started yet. */
    {
        CLIENT C;
        HQUIC Connection = NULL, First = NULL, Second = NULL, Uni = NULL, Blocked = NULL, Never = NULL;
        STREAM SFirst, SSecond, SUni, SBlocked, SNever;
        uint64_t Id = 0;
        uint8_t Payload[5] = {'h', 'e', 'l', 'l', 'o'};
        QUIC_BUFFER Buffer = {sizeof(Payload), Payload};
        ClientInit(&C);
        StreamInit(&SFirst);
        StreamInit(&SSecond);
        StreamInit(&SUni);
        StreamInit(&SBlocked);
        StreamInit(&SNever);
        CHECK_SUCCEEDED(Api->ConnectionOpen(Registration, ClientCallback, &C, &Connection), "ConnectionOpen");
        CHECK_SUCCEEDED(Api->StreamOpen(Connection, QUIC_STREAM_OPEN_FLAG_NONE, StreamCallback, &SBlocked, &Blocked),
                        "StreamOpen (FAIL_BLOCKED)");
        CHECK_STATUS(Api->StreamStart(Blocked, QUIC_STREAM_START_FLAG_FAIL_BLOCKED), QUIC_STATUS_PENDING,
                     "StreamStart(FAIL_BLOCKED) before ConnectionStart");
        CHECK(tu_event_wait(&SBlocked.StartComplete, 1, 2000) == 1, "FAIL_BLOCKED: START_COMPLETE");
        CHECK_STATUS(SBlocked.StartComplete.LastStatus, QUIC_STATUS_STREAM_LIMIT_REACHED, "FAIL_BLOCKED: its status");
        CHECK(SBlocked.ShutdownComplete.Count == 0, "FAIL_BLOCKED without SHUTDOWN_ON_FAIL: no SHUTDOWN_COMPLETE");

        CHECK_SUCCEEDED(Api->StreamOpen(Connection, QUIC_STREAM_OPEN_FLAG_NONE, StreamCallback, &SFirst, &First), "StreamOpen 1");
        CHECK_SUCCEEDED(Api->StreamOpen(Connection, QUIC_STREAM_OPEN_FLAG_NONE, StreamCallback, &SSecond, &Second), "StreamOpen 2");
        CHECK_SUCCEEDED(Api->StreamOpen(Connection, QUIC_STREAM_OPEN_FLAG_UNIDIRECTIONAL, StreamCallback, &SUni, &Uni),
                        "StreamOpen (unidirectional)");
        CHECK_SUCCEEDED(Api->StreamOpen(Connection, QUIC_STREAM_OPEN_FLAG_NONE, StreamCallback, &SNever, &Never), "StreamOpen (never started)");
        CHECK_STATUS(StreamId(First, &Id), QUIC_STATUS_INVALID_STATE, "STREAM_ID before StreamStart");
        CHECK_SUCCEEDED(Api->StreamStart(First, QUIC_STREAM_START_FLAG_NONE), "StreamStart 1 before ConnectionStart");
        CHECK_SUCCEEDED(Api->StreamStart(Second, QUIC_STREAM_START_FLAG_NONE), "StreamStart 2 before ConnectionStart");
        CHECK_SUCCEEDED(Api->StreamStart(Uni, QUIC_STREAM_START_FLAG_NONE), "StreamStart (unidirectional) before ConnectionStart");
        Id = 99;
        CHECK_SUCCEEDED(StreamId(First, &Id), "STREAM_ID of a stream started before ConnectionStart");
        CHECK(Id == 0, "the first stream is 0, the FAIL_BLOCKED failure took no ID (%llu)", (unsigned long long)Id);
        CHECK_SUCCEEDED(StreamId(Second, &Id), "STREAM_ID of the second");
        CHECK(Id == 4, "the second is 4 (%llu)", (unsigned long long)Id);
        CHECK_SUCCEEDED(StreamId(Uni, &Id), "STREAM_ID of the unidirectional one");
        CHECK(Id == 2, "the unidirectional one is 2 (%llu)", (unsigned long long)Id);
        CHECK_STATUS(StreamId(Never, &Id), QUIC_STATUS_INVALID_STATE, "STREAM_ID of a stream never started");
        CHECK_SUCCEEDED(Api->StreamShutdown(Never, QUIC_STREAM_SHUTDOWN_FLAG_GRACEFUL, 0),
                        "StreamShutdown(GRACEFUL) of a never-started stream, connection not started");

        /* 3: the IDs hold on the wire. The second stream carries data; the server sees 4 first. */
        CHECK_SUCCEEDED(Api->StreamSend(Second, &Buffer, 1, QUIC_SEND_FLAG_FIN, NULL), "StreamSend on stream 4");
        ServerMode = SERVER_ACCEPT;
        CHECK_SUCCEEDED(Api->ConnectionStart(Connection, ClientConfiguration, QUIC_ADDRESS_FAMILY_INET, "127.0.0.1", Port),
                        "ConnectionStart");
        {
            /* No LOCAL_ADDRESS was set: the connection reports the address its route to the
             * server uses (127.0.0.1 here), not the wildcard its socket is bound to (MsQuic
             * reports its connected socket's address). */
            QUIC_ADDR Local;
            uint32_t LocalLength = sizeof(Local);
            memset(&Local, 0, sizeof(Local));
            CHECK_SUCCEEDED(Api->GetParam(Connection, QUIC_PARAM_CONN_LOCAL_ADDRESS, &LocalLength, &Local),
                            "LOCAL_ADDRESS right after ConnectionStart");
            CHECK(QuicAddrGetFamily(&Local) == QUIC_ADDRESS_FAMILY_INET && ntohl(Local.Ipv4.sin_addr.s_addr) == 0x7f000001 &&
                      QuicAddrGetPort(&Local) != 0,
                  "LOCAL_ADDRESS is 127.0.0.1 with the socket's port (0x%08x:%u)", ntohl(Local.Ipv4.sin_addr.s_addr),
                  QuicAddrGetPort(&Local));
        }
        CHECK(tu_event_wait(&C.Connected, 1, 5000) == 1, "CONNECTED");
        {
            /* MsQuic fixes MTU bounds and ECN once a connection started; other settings still apply. */
            QUIC_SETTINGS S;
            memset(&S, 0, sizeof(S));
            S.IsSet.MinimumMtu = 1;
            S.IsSet.MaximumMtu = 1;
            S.MinimumMtu = 1300;
            S.MaximumMtu = 1400;
            CHECK_STATUS(Api->SetParam(Connection, QUIC_PARAM_CONN_SETTINGS, sizeof(S), &S), QUIC_STATUS_INVALID_PARAMETER,
                         "CONN_SETTINGS MTU bounds on a started connection");
            memset(&S, 0, sizeof(S));
            S.IsSet.EcnEnabled = 1;
            S.EcnEnabled = 1;
            CHECK_STATUS(Api->SetParam(Connection, QUIC_PARAM_CONN_SETTINGS, sizeof(S), &S), QUIC_STATUS_INVALID_PARAMETER,
                         "CONN_SETTINGS EcnEnabled on a started connection");
            memset(&S, 0, sizeof(S));
            S.IsSet.KeepAliveIntervalMs = 1;
            S.KeepAliveIntervalMs = 1000;
            CHECK_STATUS(Api->SetParam(Connection, QUIC_PARAM_CONN_SETTINGS, sizeof(S), &S), QUIC_STATUS_SUCCESS,
                         "CONN_SETTINGS KeepAliveIntervalMs on a started connection");
        }
        CHECK(tu_event_wait(&SSecond.StartComplete, 1, 5000) == 1, "stream 4: START_COMPLETE");
        CHECK_SUCCEEDED(SSecond.StartComplete.LastStatus, "stream 4: started");
        CHECK(SSecond.StartCompleteId == 4, "START_COMPLETE carries ID 4 (%llu)", (unsigned long long)SSecond.StartCompleteId);
        CHECK(tu_event_wait(&ServerData, 1, 5000) >= 1, "the server received the data");
        CHECK(ServerDataStreamId == 4, "the data came on stream 4, the ID the client reported (%llu)",
              (unsigned long long)ServerDataStreamId);
        CHECK_SUCCEEDED(StreamId(First, &Id), "STREAM_ID of stream 0 after the start");
        CHECK(Id == 0, "still 0");

        Api->ConnectionShutdown(Connection, QUIC_CONNECTION_SHUTDOWN_FLAG_NONE, 0);
        CHECK(tu_event_wait(&C.ShutdownComplete, 1, 5000) == 1, "the connection ends");
        Api->StreamClose(First);
        Api->StreamClose(Second);
        Api->StreamClose(Uni);
        Api->StreamClose(Blocked);
        Api->StreamClose(Never);
        Api->ConnectionClose(Connection);
    }

    /* 5, 6: the server application turns the client away. */
    ServerMode = SERVER_REFUSE;
    TurnedAway(Registration, ClientConfiguration, Port, QUIC_STATUS_CONNECTION_REFUSED, "listener refuses");
    ServerMode = SERVER_SHUTDOWN_THEN_CONFIGURE;
    ServerSetConfigurationStatus = QUIC_STATUS_INTERNAL_ERROR;
    TurnedAway(Registration, ClientConfiguration, Port, QUIC_STATUS_USER_CANCELED, "shutdown inside NEW_CONNECTION");
    CHECK(QUIC_SUCCEEDED(ServerSetConfigurationStatus), "ConnectionSetConfiguration after the shutdown: %s",
          tu_status_name(ServerSetConfigurationStatus));

    /* 7: a name that resolves to nothing. */
    {
        CLIENT C;
        HQUIC Connection = NULL;
        ClientInit(&C);
        CHECK_SUCCEEDED(Api->ConnectionOpen(Registration, ClientCallback, &C, &Connection), "ConnectionOpen (bad name)");
        CHECK_STATUS(Api->ConnectionStart(Connection, ClientConfiguration, QUIC_ADDRESS_FAMILY_UNSPEC,
                                          "no-such-host.invalid", Port),
                     QUIC_STATUS_PENDING, "ConnectionStart with a name that does not resolve");
        CHECK(tu_event_wait(&C.ShutdownComplete, 1, 5000) == 1, "bad name: SHUTDOWN_COMPLETE");
        CHECK(C.TransportShutdown.Count == 1 && QUIC_FAILED(C.TransportShutdown.LastStatus),
              "bad name: SHUTDOWN_INITIATED_BY_TRANSPORT with a failure status");
        Api->ConnectionClose(Connection);
    }

    /* 8: an IPv4 local address towards an IPv6 remote one (msquictest HandshakeTest.InvalidAddress). */
    {
        CLIENT C;
        HQUIC Connection = NULL;
        QUIC_ADDR Local, Remote;
        ClientInit(&C);
        memset(&Local, 0, sizeof(Local));
        QuicAddrSetFamily(&Local, QUIC_ADDRESS_FAMILY_INET);
        QuicAddrSetToLoopback(&Local);
        memset(&Remote, 0, sizeof(Remote));
        QuicAddrSetFamily(&Remote, QUIC_ADDRESS_FAMILY_INET6);
        QuicAddrSetToLoopback(&Remote);
        QuicAddrSetPort(&Remote, Port);
        CHECK_SUCCEEDED(Api->ConnectionOpen(Registration, ClientCallback, &C, &Connection), "ConnectionOpen (v4 to v6)");
        CHECK_SUCCEEDED(Api->SetParam(Connection, QUIC_PARAM_CONN_LOCAL_ADDRESS, sizeof(Local), &Local), "LOCAL_ADDRESS 127.0.0.1");
        CHECK_SUCCEEDED(Api->SetParam(Connection, QUIC_PARAM_CONN_REMOTE_ADDRESS, sizeof(Remote), &Remote), "REMOTE_ADDRESS ::1");
        CHECK(QUIC_SUCCEEDED(Api->ConnectionStart(Connection, ClientConfiguration, QUIC_ADDRESS_FAMILY_INET6, "::1", Port)),
              "ConnectionStart accepts the start");
        CHECK(tu_event_wait(&C.ShutdownComplete, 1, 3000) == 1, "v4 to v6: SHUTDOWN_COMPLETE at once");
        CHECK(C.TransportShutdown.Count == 1, "v4 to v6: SHUTDOWN_INITIATED_BY_TRANSPORT");
        CHECK_STATUS(C.TransportShutdown.LastStatus, QUIC_STATUS_INVALID_ADDRESS, "v4 to v6: its status");
        Api->ConnectionClose(Connection);
    }

    Api->ListenerClose(Listener);
    Api->ConfigurationClose(ClientConfiguration);
    Api->ConfigurationClose(ServerConfiguration);
    Api->RegistrationClose(Registration);
    MsQuicClose(Api);
    return tu_finish();
}
