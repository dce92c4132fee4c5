/*
 * perf_counters.c - QUIC_PARAM_GLOBAL_PERF_COUNTERS count what happens: a client and a server
 * connection in this process (created, active, connected), a stream (active while it lives),
 * the application's bytes each way, UDP datagrams and bytes each way, a connection the server
 * application refuses (APP_REJECT, and a failed handshake), and the connection counts back to
 * where they were once everything is closed. The counters are process-wide, so each check is
 * on the difference from a snapshot taken before.
 */
#include "testutil.h"

#define ALPN "perf-counters"
#define PAYLOAD 5000

static const QUIC_API_TABLE* Api;
static HQUIC ServerConfiguration;
static volatile int RefuseNext;
static uint8_t Data[PAYLOAD];
static TU_EVENT ServerReceivedAll, ClientConnected, ClientShutdown, ServerClosed;
static volatile uint64_t ServerReceived;

static void snapshot(uint64_t* Counters)
{
    uint32_t Length = sizeof(uint64_t) * QUIC_PERF_COUNTER_MAX;
    memset(Counters, 0, Length);
    CHECK_SUCCEEDED(Api->GetParam(NULL, QUIC_PARAM_GLOBAL_PERF_COUNTERS, &Length, Counters), "GetParam(PERF_COUNTERS)");
}

static QUIC_STATUS QUIC_API ServerStreamCallback(HQUIC Stream, void* Context, QUIC_STREAM_EVENT* Event)
{
    (void)Context;
    if (Event->Type == QUIC_STREAM_EVENT_RECEIVE) {
        ServerReceived += Event->RECEIVE.TotalBufferLength;
    } else if (Event->Type == QUIC_STREAM_EVENT_PEER_SEND_SHUTDOWN) {
        QUIC_BUFFER Reply = {PAYLOAD, Data};
        Api->StreamSend(Stream, &Reply, 1, QUIC_SEND_FLAG_FIN, NULL);
        tu_event_signal(&ServerReceivedAll, Stream, NULL, QUIC_STATUS_SUCCESS);
    } else if (Event->Type == QUIC_STREAM_EVENT_SHUTDOWN_COMPLETE) {
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
        tu_event_signal(&ServerClosed, Connection, NULL, QUIC_STATUS_SUCCESS);
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
    if (RefuseNext) {
        return QUIC_STATUS_CONNECTION_REFUSED;
    }
    Api->SetCallbackHandler(Event->NEW_CONNECTION.Connection, (void*)ServerConnCallback, NULL);
    return Api->ConnectionSetConfiguration(Event->NEW_CONNECTION.Connection, ServerConfiguration);
}

static uint64_t ClientReceived;

static QUIC_STATUS QUIC_API ClientStreamCallback(HQUIC Stream, void* Context, QUIC_STREAM_EVENT* Event)
{
    (void)Stream;
    (void)Context;
    if (Event->Type == QUIC_STREAM_EVENT_RECEIVE) {
        ClientReceived += Event->RECEIVE.TotalBufferLength;
    }
    return QUIC_STATUS_SUCCESS;
}

static QUIC_STATUS QUIC_API ClientConnCallback(HQUIC Connection, void* Context, QUIC_CONNECTION_EVENT* Event)
{
    (void)Context;
    if (Event->Type == QUIC_CONNECTION_EVENT_CONNECTED) {
        tu_event_signal(&ClientConnected, Connection, NULL, QUIC_STATUS_SUCCESS);
    } else if (Event->Type == QUIC_CONNECTION_EVENT_SHUTDOWN_COMPLETE) {
        tu_event_signal(&ClientShutdown, Connection, NULL, QUIC_STATUS_SUCCESS);
    }
    return QUIC_STATUS_SUCCESS;
}

#define DELTA(Name) ((int64_t)(After[QUIC_PERF_COUNTER_##Name] - Before[QUIC_PERF_COUNTER_##Name]))

int main(void)
{
    HQUIC Registration = NULL, ClientConfiguration = NULL, Listener = NULL, Client = NULL, Stream = NULL;
    QUIC_BUFFER Alpn = tu_alpn(ALPN);
    QUIC_SETTINGS Settings;
    uint16_t Port = 0;
    uint64_t Before[QUIC_PERF_COUNTER_MAX], After[QUIC_PERF_COUNTER_MAX];
    uint32_t Length = 0;

    tu_start_watchdog(60);
    if (tu_cert_dir() == NULL) {
        CHECK(0, "certificates available");
        return tu_finish();
    }
    tu_event_init(&ServerReceivedAll);
    tu_event_init(&ClientConnected);
    tu_event_init(&ClientShutdown);
    tu_event_init(&ServerClosed);
    memset(Data, 'p', sizeof(Data));
    if (QUIC_FAILED(MsQuicOpen2(&Api))) {
        CHECK(0, "MsQuicOpen2");
        return tu_finish();
    }
    CHECK_STATUS(Api->GetParam(NULL, QUIC_PARAM_GLOBAL_PERF_COUNTERS, &Length, NULL), QUIC_STATUS_BUFFER_TOO_SMALL,
                 "PERF_COUNTERS with no room");
    CHECK(Length == sizeof(uint64_t) * QUIC_PERF_COUNTER_MAX, "the size needed is all the counters (%u)", Length);
    CHECK_SUCCEEDED(Api->RegistrationOpen(NULL, &Registration), "RegistrationOpen");
    memset(&Settings, 0, sizeof(Settings));
    Settings.IsSet.PeerBidiStreamCount = 1;
    Settings.PeerBidiStreamCount = 1;
    ServerConfiguration = tu_server_configuration(Api, Registration, &Alpn, &Settings);
    ClientConfiguration = tu_insecure_client_configuration(Api, Registration, &Alpn);
    Listener = tu_loopback_listener(Api, Registration, ListenerCallback, NULL, &Alpn, &Port);

    snapshot(Before);
    CHECK_SUCCEEDED(Api->ConnectionOpen(Registration, ClientConnCallback, NULL, &Client), "ConnectionOpen");
    CHECK(QUIC_SUCCEEDED(Api->ConnectionStart(Client, ClientConfiguration, QUIC_ADDRESS_FAMILY_INET, "127.0.0.1", Port)),
          "ConnectionStart");
    CHECK(tu_event_wait(&ClientConnected, 1, 5000) == 1, "CONNECTED");
    CHECK_SUCCEEDED(Api->StreamOpen(Client, QUIC_STREAM_OPEN_FLAG_NONE, ClientStreamCallback, NULL, &Stream), "StreamOpen");
    if (Stream != NULL) {
        QUIC_BUFFER Buffer = {PAYLOAD, Data};
        CHECK(QUIC_SUCCEEDED(Api->StreamSend(Stream, &Buffer, 1, QUIC_SEND_FLAG_START | QUIC_SEND_FLAG_FIN, NULL)),
              "StreamSend");
        CHECK(tu_event_wait(&ServerReceivedAll, 1, 5000) == 1, "the server received the stream");
        usleep(200 * 1000);
    }
    snapshot(After);
    CHECK(DELTA(CONN_CREATED) == 2, "CONN_CREATED: the client and the server connection (+%lld)", (long long)DELTA(CONN_CREATED));
    CHECK(DELTA(CONN_ACTIVE) == 2, "CONN_ACTIVE: both alive (+%lld)", (long long)DELTA(CONN_ACTIVE));
    CHECK(DELTA(CONN_CONNECTED) == 2, "CONN_CONNECTED: both connected (+%lld)", (long long)DELTA(CONN_CONNECTED));
    CHECK(DELTA(STRM_ACTIVE) >= 1, "STRM_ACTIVE: the client's stream is open (+%lld)", (long long)DELTA(STRM_ACTIVE));
    CHECK(DELTA(APP_SEND_BYTES) == 2 * PAYLOAD, "APP_SEND_BYTES: both sends (+%lld)", (long long)DELTA(APP_SEND_BYTES));
    CHECK(DELTA(APP_RECV_BYTES) == (int64_t)(ServerReceived + ClientReceived),
          "APP_RECV_BYTES: what both sides' RECEIVE took (+%lld, %llu)", (long long)DELTA(APP_RECV_BYTES),
          (unsigned long long)(ServerReceived + ClientReceived));
    CHECK(DELTA(UDP_SEND) >= 4 && DELTA(UDP_RECV) >= 4, "UDP_SEND/UDP_RECV count the datagrams (+%lld/+%lld)",
          (long long)DELTA(UDP_SEND), (long long)DELTA(UDP_RECV));
    CHECK(DELTA(UDP_SEND_BYTES) >= 2 * PAYLOAD && DELTA(UDP_RECV_BYTES) >= 2 * PAYLOAD,
          "UDP_SEND_BYTES/UDP_RECV_BYTES at least the payload each way (+%lld/+%lld)",
          (long long)DELTA(UDP_SEND_BYTES), (long long)DELTA(UDP_RECV_BYTES));
    CHECK(DELTA(UDP_RECV_EVENTS) >= 1 && DELTA(UDP_RECV_EVENTS) <= DELTA(UDP_RECV),
          "UDP_RECV_EVENTS: at least one, at most one per datagram (+%lld)", (long long)DELTA(UDP_RECV_EVENTS));

    if (Stream != NULL) Api->StreamClose(Stream);
    Api->ConnectionShutdown(Client, QUIC_CONNECTION_SHUTDOWN_FLAG_NONE, 0);
    CHECK(tu_event_wait(&ClientShutdown, 1, 5000) == 1, "the client's SHUTDOWN_COMPLETE");
    Api->ConnectionClose(Client);
    CHECK(tu_event_wait(&ServerClosed, 1, 5000) == 1, "the server's connection closed");

    /* A connection the server application refuses. */
    RefuseNext = 1;
    tu_event_init(&ClientShutdown);
    CHECK_SUCCEEDED(Api->ConnectionOpen(Registration, ClientConnCallback, NULL, &Client), "ConnectionOpen (refused)");
    CHECK(QUIC_SUCCEEDED(Api->ConnectionStart(Client, ClientConfiguration, QUIC_ADDRESS_FAMILY_INET, "127.0.0.1", Port)),
          "ConnectionStart (refused)");
    CHECK(tu_event_wait(&ClientShutdown, 1, 10000) == 1, "the refused client ends");
    Api->ConnectionClose(Client);
    /* Objects are freed once their last reference goes: give the workers a moment. */
    for (int i = 0; i < 50; i++) {
        snapshot(After);
        if (DELTA(CONN_ACTIVE) == 0 && DELTA(STRM_ACTIVE) == 0) break;
        usleep(50 * 1000);
    }
    CHECK(DELTA(CONN_APP_REJECT) == 1, "CONN_APP_REJECT: the refused connection (+%lld)", (long long)DELTA(CONN_APP_REJECT));
    CHECK(DELTA(CONN_HANDSHAKE_FAIL) >= 1, "CONN_HANDSHAKE_FAIL: its handshake failed (+%lld)",
          (long long)DELTA(CONN_HANDSHAKE_FAIL));
    CHECK(DELTA(CONN_CONNECTED) == 0, "CONN_CONNECTED back where it was (%+lld)", (long long)DELTA(CONN_CONNECTED));
    CHECK(DELTA(CONN_ACTIVE) == 0, "CONN_ACTIVE back where it was once all are closed (%+lld)", (long long)DELTA(CONN_ACTIVE));
    CHECK(DELTA(STRM_ACTIVE) == 0, "STRM_ACTIVE back where it was (%+lld)", (long long)DELTA(STRM_ACTIVE));
    CHECK(DELTA(CONN_CREATED) >= 3, "CONN_CREATED counts the refused attempt's client too (+%lld)",
          (long long)DELTA(CONN_CREATED));

    if (Listener != NULL) Api->ListenerClose(Listener);
    if (ClientConfiguration != NULL) Api->ConfigurationClose(ClientConfiguration);
    if (ServerConfiguration != NULL) Api->ConfigurationClose(ServerConfiguration);
    Api->RegistrationClose(Registration);
    MsQuicClose(Api);
    return tu_finish();
}
