/*
 * receive_disabled_fin.c - a FIN that arrives while the receiver has disabled receives
 * (StreamReceiveSetEnabled(FALSE)) is held, as MsQuic holds it (msquictest
 * Misc/WithReceiveResumeNoDataArgs.ReceiveResumeNoData/0): the client opens a unidirectional
 * stream with IMMEDIATE and no data, the server disables receives on it, the client shuts its
 * send side down gracefully; for 500 ms the server sees neither PEER_SEND_SHUTDOWN nor
 * SHUTDOWN_COMPLETE; after StreamReceiveSetEnabled(TRUE) it sees PEER_SEND_SHUTDOWN, then
 * SHUTDOWN_COMPLETE, in that order.
 */
#include "testutil.h"

#define ALPN "fin-held"

static const QUIC_API_TABLE* Api;
static HQUIC ServerConfiguration;
static HQUIC ServerStream;
static TU_EVENT ServerStreamStarted, ServerPeerSendShutdown, ServerShutdownComplete, ClientConnected;
static int ShutdownCompleteBeforeFin;

static QUIC_STATUS QUIC_API ServerStreamCallback(HQUIC Stream, void* Context, QUIC_STREAM_EVENT* Event)
{
    (void)Context;
    switch (Event->Type) {
    case QUIC_STREAM_EVENT_PEER_SEND_SHUTDOWN:
        tu_event_signal(&ServerPeerSendShutdown, Stream, NULL, QUIC_STATUS_SUCCESS);
        break;
    case QUIC_STREAM_EVENT_SHUTDOWN_COMPLETE:
        if (ServerPeerSendShutdown.Count == 0) {
            ShutdownCompleteBeforeFin = 1;
        }
        tu_event_signal(&ServerShutdownComplete, Stream, NULL, QUIC_STATUS_SUCCESS);
        break;
    default:
        break;
    }
    return QUIC_STATUS_SUCCESS;
}

static QUIC_STATUS QUIC_API ServerConnCallback(HQUIC Connection, void* Context, QUIC_CONNECTION_EVENT* Event)
{
    (void)Context;
    if (Event->Type == QUIC_CONNECTION_EVENT_PEER_STREAM_STARTED) {
        ServerStream = Event->PEER_STREAM_STARTED.Stream;
        Api->SetCallbackHandler(ServerStream, (void*)ServerStreamCallback, NULL);
        tu_event_signal(&ServerStreamStarted, Connection, NULL, QUIC_STATUS_SUCCESS);
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
    (void)Stream;
    (void)Context;
    (void)Event;
    return QUIC_STATUS_SUCCESS;
}

int main(void)
{
    HQUIC Registration = NULL, ClientConfiguration = NULL, Listener = NULL, Client = NULL, Stream = NULL;
    QUIC_BUFFER Alpn = tu_alpn(ALPN);
    QUIC_SETTINGS Settings;
    uint16_t Port = 0;

    tu_start_watchdog(60);
    if (tu_cert_dir() == NULL) {
        CHECK(0, "certificates available");
        return tu_finish();
    }
    tu_event_init(&ServerStreamStarted);
    tu_event_init(&ServerPeerSendShutdown);
    tu_event_init(&ServerShutdownComplete);
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
    CHECK_SUCCEEDED(Api->StreamOpen(Client, QUIC_STREAM_OPEN_FLAG_UNIDIRECTIONAL, ClientStreamCallback, NULL, &Stream),
                    "StreamOpen (unidirectional)");
    CHECK_SUCCEEDED(Api->StreamStart(Stream, QUIC_STREAM_START_FLAG_IMMEDIATE), "StreamStart(IMMEDIATE)");
    CHECK(tu_event_wait(&ServerStreamStarted, 1, 5000) == 1, "the server sees the stream");
    if (ServerStream != NULL) {
        CHECK(QUIC_SUCCEEDED(Api->StreamReceiveSetEnabled(ServerStream, FALSE)), "server: StreamReceiveSetEnabled(FALSE)");
        CHECK_SUCCEEDED(Api->StreamShutdown(Stream, QUIC_STREAM_SHUTDOWN_FLAG_GRACEFUL, 0), "client: graceful shutdown (FIN only)");
        CHECK(tu_event_wait(&ServerPeerSendShutdown, 1, 500) == 0, "server: no PEER_SEND_SHUTDOWN while receives are off");
        CHECK(ServerShutdownComplete.Count == 0, "server: no SHUTDOWN_COMPLETE while the FIN is held");
        CHECK(QUIC_SUCCEEDED(Api->StreamReceiveSetEnabled(ServerStream, TRUE)), "server: StreamReceiveSetEnabled(TRUE)");
        CHECK(tu_event_wait(&ServerPeerSendShutdown, 1, 2000) == 1, "server: PEER_SEND_SHUTDOWN once receives are on");
        CHECK(tu_event_wait(&ServerShutdownComplete, 1, 2000) == 1, "server: then SHUTDOWN_COMPLETE");
        CHECK(!ShutdownCompleteBeforeFin, "SHUTDOWN_COMPLETE did not come before PEER_SEND_SHUTDOWN");
        Api->StreamClose(ServerStream);
    }
    Api->StreamClose(Stream);
    Api->ConnectionShutdown(Client, QUIC_CONNECTION_SHUTDOWN_FLAG_NONE, 0);
    Api->ConnectionClose(Client);
    Api->ListenerClose(Listener);
    Api->ConfigurationClose(ClientConfiguration);
    Api->ConfigurationClose(ServerConfiguration);
    Api->RegistrationClose(Registration);
    MsQuicClose(Api);
    return tu_finish();
}
