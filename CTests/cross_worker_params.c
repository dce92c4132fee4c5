/*
 * cross_worker_params.c - GetParam/SetParam on a connection of one worker, called from a
 * callback running on another worker. MsQuic's GetParam and SetParam wait for the owning
 * worker from any thread but that worker itself (api.c); so do ours: the call returns the
 * value, not INVALID_STATE. Two client connections are opened in partitions 0 and 1 (one
 * worker each when the pool has two or more workers); a callback of the first reads
 * statistics and the version of the second and sets its close reason phrase.
 */
#include "testutil.h"

#define ALPN "cross-worker"

static const QUIC_API_TABLE* Api;
static HQUIC ServerConfiguration;

typedef struct CLIENT {
    HQUIC Handle;
    pthread_t Thread;
    TU_EVENT Connected;
} CLIENT;

static CLIENT Clients[2];

typedef struct PROBE {
    TU_EVENT Done;
    pthread_t Thread;
    QUIC_STATUS StatsStatus, VersionStatus, SetStatus, GetPhraseStatus;
    uint32_t Version;
    uint64_t SentPackets;
    char Phrase[32];
} PROBE;

static QUIC_STATUS QUIC_API ServerConnCallback(HQUIC Connection, void* Context, QUIC_CONNECTION_EVENT* Event)
{
    (void)Context;
    if (Event->Type == QUIC_CONNECTION_EVENT_PEER_STREAM_STARTED) {
        Api->StreamClose(Event->PEER_STREAM_STARTED.Stream);
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
    CLIENT* C = (CLIENT*)Context;
    if (Event->Type == QUIC_CONNECTION_EVENT_CONNECTED) {
        C->Thread = pthread_self();
        tu_event_signal(&C->Connected, Connection, C, QUIC_STATUS_SUCCESS);
    }
    return QUIC_STATUS_SUCCESS;
}

/* Runs on the first connection's worker: synchronous calls on the second connection. */
static QUIC_STATUS QUIC_API ProbeStreamCallback(HQUIC Stream, void* Context, QUIC_STREAM_EVENT* Event)
{
    PROBE* P = (PROBE*)Context;
    (void)Stream;
    if (Event->Type == QUIC_STREAM_EVENT_START_COMPLETE) {
        HQUIC Other = Clients[1].Handle;
        QUIC_STATISTICS_V2 Stats;
        uint32_t Length = sizeof(Stats);
        const char* Phrase = "cross-worker";
        P->Thread = pthread_self();
        memset(&Stats, 0, sizeof(Stats));
        P->StatsStatus = Api->GetParam(Other, QUIC_PARAM_CONN_STATISTICS_V2, &Length, &Stats);
        P->SentPackets = Stats.SendTotalPackets;
        Length = sizeof(P->Version);
        P->VersionStatus = Api->GetParam(Other, QUIC_PARAM_CONN_QUIC_VERSION, &Length, &P->Version);
        P->SetStatus = Api->SetParam(Other, QUIC_PARAM_CONN_CLOSE_REASON_PHRASE, (uint32_t)strlen(Phrase) + 1, Phrase);
        Length = sizeof(P->Phrase);
        P->GetPhraseStatus = Api->GetParam(Other, QUIC_PARAM_CONN_CLOSE_REASON_PHRASE, &Length, P->Phrase);
        tu_event_signal(&P->Done, Stream, P, QUIC_STATUS_SUCCESS);
    }
    return QUIC_STATUS_SUCCESS;
}

int main(void)
{
    HQUIC Registration = NULL, ClientConfiguration = NULL, Listener = NULL, Stream = NULL;
    QUIC_BUFFER Alpn = tu_alpn(ALPN);
    QUIC_SETTINGS Settings;
    uint16_t Port = 0;
    PROBE Probe;

    tu_start_watchdog(60);
    if (tu_cert_dir() == NULL) {
        CHECK(0, "certificates available");
        return tu_finish();
    }
    if (QUIC_FAILED(MsQuicOpen2(&Api))) {
        CHECK(0, "MsQuicOpen2");
        return tu_finish();
    }
    CHECK_SUCCEEDED(Api->RegistrationOpen(NULL, &Registration), "RegistrationOpen");
    memset(&Settings, 0, sizeof(Settings));
    Settings.IsSet.PeerBidiStreamCount = 1;
    Settings.PeerBidiStreamCount = 4;
    ServerConfiguration = tu_server_configuration(Api, Registration, &Alpn, &Settings);
    ClientConfiguration = tu_insecure_client_configuration(Api, Registration, &Alpn);
    Listener = tu_loopback_listener(Api, Registration, ListenerCallback, NULL, &Alpn, &Port);
    for (int i = 0; i < 2; i++) {
        tu_event_init(&Clients[i].Connected);
        CHECK_SUCCEEDED(Api->ConnectionOpenInPartition(Registration, (uint16_t)i, ClientConnCallback, &Clients[i],
                                                       &Clients[i].Handle), "ConnectionOpenInPartition %d", i);
        if (Clients[i].Handle != NULL) {
            CHECK(QUIC_SUCCEEDED(Api->ConnectionStart(Clients[i].Handle, ClientConfiguration, QUIC_ADDRESS_FAMILY_INET,
                                                      "127.0.0.1", Port)), "ConnectionStart %d", i);
            CHECK(tu_event_wait(&Clients[i].Connected, 1, 5000) == 1, "client %d CONNECTED", i);
        }
    }
    if (Clients[0].Connected.Count == 1 && Clients[1].Connected.Count == 1) {
        if (pthread_equal(Clients[0].Thread, Clients[1].Thread)) {
            SKIP("both connections run on one worker (a single-worker pool): nothing crosses workers");
        } else {
            memset(&Probe, 0, sizeof(Probe));
            tu_event_init(&Probe.Done);
            CHECK_SUCCEEDED(Api->StreamOpen(Clients[0].Handle, QUIC_STREAM_OPEN_FLAG_NONE, ProbeStreamCallback, &Probe,
                                            &Stream), "StreamOpen on the first connection");
            if (Stream != NULL) {
                CHECK(QUIC_SUCCEEDED(Api->StreamStart(Stream, QUIC_STREAM_START_FLAG_IMMEDIATE)), "StreamStart");
                CHECK(tu_event_wait(&Probe.Done, 1, 5000) == 1, "the callback on the first worker returned");
                CHECK(pthread_equal(Probe.Thread, Clients[0].Thread) && !pthread_equal(Probe.Thread, Clients[1].Thread),
                      "the callback ran on the first connection's worker, not the second's");
                CHECK(Probe.StatsStatus == QUIC_STATUS_SUCCESS && Probe.SentPackets > 0,
                      "GetParam(STATISTICS_V2) of the other worker's connection: %s, %llu packets sent",
                      tu_status_name(Probe.StatsStatus), (unsigned long long)Probe.SentPackets);
                CHECK(Probe.VersionStatus == QUIC_STATUS_SUCCESS && Probe.Version == 1,
                      "GetParam(QUIC_VERSION): %s, 0x%x", tu_status_name(Probe.VersionStatus), Probe.Version);
                CHECK(Probe.SetStatus == QUIC_STATUS_SUCCESS, "SetParam(CLOSE_REASON_PHRASE): %s",
                      tu_status_name(Probe.SetStatus));
                CHECK(Probe.GetPhraseStatus == QUIC_STATUS_SUCCESS && strcmp(Probe.Phrase, "cross-worker") == 0,
                      "GetParam(CLOSE_REASON_PHRASE) reads it back: %s, \"%s\"", tu_status_name(Probe.GetPhraseStatus),
                      Probe.Phrase);
                Api->StreamClose(Stream);
            }
        }
    }
    for (int i = 0; i < 2; i++) {
        if (Clients[i].Handle != NULL) {
            Api->ConnectionShutdown(Clients[i].Handle, QUIC_CONNECTION_SHUTDOWN_FLAG_NONE, 0);
            Api->ConnectionClose(Clients[i].Handle);
        }
    }
    if (Listener != NULL) Api->ListenerClose(Listener);
    if (ClientConfiguration != NULL) Api->ConfigurationClose(ClientConfiguration);
    if (ServerConfiguration != NULL) Api->ConfigurationClose(ServerConfiguration);
    Api->RegistrationClose(Registration);
    MsQuicClose(Api);
    return tu_finish();
}
