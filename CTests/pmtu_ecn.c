/*
 * pmtu_ecn.c - DPLPMTUD and ECN through the public API over 127.0.0.1 (RFC 8899, RFC 9000
 * §13.4, §14). A client uploads 2 MiB on a unidirectional stream; then both sides read
 * QUIC_STATISTICS_V2:
 *  1. default MTU settings with EcnEnabled on both configurations: the path MTU discovered is
 *     MaximumMtu's default 1500 (SendPathMtu, IP bytes, as MsQuic reports it) and ECN
 *     validation succeeded (EcnCapable) on both sides;
 *  2. MaximumMtu = 1400 and ECN off (MsQuic's default): the search stops at 1400 and nothing is
 *     ECN-capable.
 */
#include "testutil.h"

#define ALPN "pmtu"
#define BYTES (2u << 20)
#define WAIT_MS 30000

static const QUIC_API_TABLE* Api;
static HQUIC Registration;
static HQUIC ServerConfiguration;
static TU_EVENT ServerStreamDone;
static TU_EVENT ServerConnectionDone;
static TU_EVENT ClientConnected;
static TU_EVENT ClientShutdown;
static TU_EVENT SendDone;
static uint64_t ServerReceived;
static QUIC_STATISTICS_V2 ServerStats;
static QUIC_STATUS ServerStatsStatus;

static QUIC_STATUS QUIC_API server_stream(HQUIC Stream, void* Context, QUIC_STREAM_EVENT* Event)
{
    HQUIC Connection = (HQUIC)Context;
    switch (Event->Type) {
    case QUIC_STREAM_EVENT_RECEIVE:
        ServerReceived += Event->RECEIVE.TotalBufferLength;
        break;
    case QUIC_STREAM_EVENT_PEER_SEND_SHUTDOWN: {
        uint32_t Length = sizeof(ServerStats);
        ServerStatsStatus = Api->GetParam(Connection, QUIC_PARAM_CONN_STATISTICS_V2, &Length, &ServerStats);
        tu_event_signal(&ServerStreamDone, Stream, NULL, QUIC_STATUS_SUCCESS);
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
    case QUIC_CONNECTION_EVENT_PEER_STREAM_STARTED:
        Api->SetCallbackHandler(Event->PEER_STREAM_STARTED.Stream, (void*)server_stream, Connection);
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

static QUIC_STATUS QUIC_API client_stream(HQUIC Stream, void* Context, QUIC_STREAM_EVENT* Event)
{
    (void)Context;
    if (Event->Type == QUIC_STREAM_EVENT_SHUTDOWN_COMPLETE) tu_event_signal(&SendDone, Stream, NULL, 0);
    return QUIC_STATUS_SUCCESS;
}

static QUIC_STATUS QUIC_API client_connection(HQUIC Connection, void* Context, QUIC_CONNECTION_EVENT* Event)
{
    (void)Context;
    if (Event->Type == QUIC_CONNECTION_EVENT_CONNECTED) tu_event_signal(&ClientConnected, Connection, NULL, 0);
    if (Event->Type == QUIC_CONNECTION_EVENT_SHUTDOWN_COMPLETE) tu_event_signal(&ClientShutdown, Connection, NULL, 0);
    return QUIC_STATUS_SUCCESS;
}

/* One connection with the given settings on both sides; checks the statistics both read. */
static void run(const char* Name, int Ecn, uint16_t MaximumMtu, uint16_t ExpectedMtu)
{
    QUIC_BUFFER Alpn = tu_alpn(ALPN);
    QUIC_SETTINGS Settings;
    QUIC_CREDENTIAL_CONFIG Cred;
    QUIC_CERTIFICATE_FILE Files;
    QUIC_ADDR Address;
    HQUIC Listener = NULL, ClientConfiguration = NULL, Connection = NULL, Stream = NULL;
    uint32_t Length = sizeof(Address);
    static uint8_t Data[BYTES];
    QUIC_BUFFER Buffer = {BYTES, Data};
    QUIC_STATISTICS_V2 Stats;

    tu_event_init(&ServerStreamDone);
    tu_event_init(&ServerConnectionDone);
    tu_event_init(&ClientConnected);
    tu_event_init(&ClientShutdown);
    tu_event_init(&SendDone);
    ServerReceived = 0;
    memset(&ServerStats, 0, sizeof(ServerStats));
    memset(Data, 0x5a, sizeof(Data));

    memset(&Settings, 0, sizeof(Settings));
    Settings.IsSet.PeerUnidiStreamCount = 1;
    Settings.PeerUnidiStreamCount = 1;
    Settings.IsSet.EcnEnabled = 1;
    Settings.EcnEnabled = (uint8_t)Ecn;
    if (MaximumMtu != 0) {
        Settings.IsSet.MaximumMtu = 1;
        Settings.MaximumMtu = MaximumMtu;
    }
    CHECK_STATUS(Api->ConfigurationOpen(Registration, &Alpn, 1, &Settings, sizeof(Settings), NULL, &ServerConfiguration),
                 QUIC_STATUS_SUCCESS, "%s: server ConfigurationOpen", Name);
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

    Settings.IsSet.PeerUnidiStreamCount = 0;
    CHECK_STATUS(Api->ConfigurationOpen(Registration, &Alpn, 1, &Settings, sizeof(Settings), NULL, &ClientConfiguration),
                 QUIC_STATUS_SUCCESS, "%s: client ConfigurationOpen", Name);
    memset(&Cred, 0, sizeof(Cred));
    Cred.Type = QUIC_CREDENTIAL_TYPE_NONE;
    Cred.Flags = (QUIC_CREDENTIAL_FLAGS)(QUIC_CREDENTIAL_FLAG_CLIENT | QUIC_CREDENTIAL_FLAG_SET_CA_CERTIFICATE_FILE);
    Cred.CaCertificateFile = tu_cert("ca.crt");
    CHECK_STATUS(Api->ConfigurationLoadCredential(ClientConfiguration, &Cred), QUIC_STATUS_SUCCESS, "client credential");
    CHECK_STATUS(Api->ConnectionOpen(Registration, client_connection, NULL, &Connection), QUIC_STATUS_SUCCESS,
                 "ConnectionOpen");
    CHECK_SUCCEEDED(Api->ConnectionStart(Connection, ClientConfiguration, QUIC_ADDRESS_FAMILY_INET, "localhost",
                                         QuicAddrGetPort(&Address)), "ConnectionStart");
    CHECK(tu_event_wait(&ClientConnected, 1, WAIT_MS) == 1, "%s: CONNECTED", Name);

    CHECK_STATUS(Api->StreamOpen(Connection, QUIC_STREAM_OPEN_FLAG_UNIDIRECTIONAL, client_stream, NULL, &Stream),
                 QUIC_STATUS_SUCCESS, "StreamOpen");
    CHECK_SUCCEEDED(Api->StreamStart(Stream, QUIC_STREAM_START_FLAG_NONE), "StreamStart");
    CHECK_SUCCEEDED(Api->StreamSend(Stream, &Buffer, 1, QUIC_SEND_FLAG_FIN, NULL), "StreamSend");
    CHECK(tu_event_wait(&ServerStreamDone, 1, WAIT_MS) == 1, "%s: the server got the FIN", Name);
    CHECK(ServerReceived == BYTES, "%s: %u bytes arrived (%llu)", Name, BYTES, (unsigned long long)ServerReceived);
    CHECK(tu_event_wait(&SendDone, 1, WAIT_MS) == 1, "%s: client stream SHUTDOWN_COMPLETE", Name);
    Api->StreamClose(Stream);

    Length = sizeof(Stats);
    CHECK_STATUS(Api->GetParam(Connection, QUIC_PARAM_CONN_STATISTICS_V2, &Length, &Stats), QUIC_STATUS_SUCCESS,
                 "%s: client STATISTICS_V2", Name);
    printf("# %s: client SendPathMtu %u EcnCapable %u EcnCongestion %u; server SendPathMtu %u EcnCapable %u\n", Name,
           Stats.SendPathMtu, Stats.EcnCapable, Stats.SendEcnCongestionCount, ServerStats.SendPathMtu,
           ServerStats.EcnCapable);
    CHECK(Stats.SendPathMtu == ExpectedMtu, "%s: the client's path MTU is %u (%u)", Name, ExpectedMtu, Stats.SendPathMtu);
    CHECK(Stats.EcnCapable == (uint32_t)Ecn, "%s: client EcnCapable %d (%u)", Name, Ecn, Stats.EcnCapable);
    CHECK(ServerStatsStatus == QUIC_STATUS_SUCCESS, "%s: server STATISTICS_V2", Name);
    /* The server only sends ACKs on this connection: its own search may still be running. */
    CHECK(ServerStats.SendPathMtu >= 1288 && ServerStats.SendPathMtu <= ExpectedMtu,
          "%s: the server's path MTU within [1288, %u] (%u)", Name, ExpectedMtu, ServerStats.SendPathMtu);

    Api->ConnectionShutdown(Connection, QUIC_CONNECTION_SHUTDOWN_FLAG_NONE, 0);
    CHECK(tu_event_wait(&ClientShutdown, 1, WAIT_MS) == 1, "%s: client SHUTDOWN_COMPLETE", Name);
    CHECK(tu_event_wait(&ServerConnectionDone, 1, WAIT_MS) == 1, "%s: server SHUTDOWN_COMPLETE", Name);
    Api->ConnectionClose(Connection);
    Api->ListenerClose(Listener);
    Api->ConfigurationClose(ClientConfiguration);
    Api->ConfigurationClose(ServerConfiguration);
}

int main(void)
{
    tu_start_watchdog(100);
    if (tu_cert_dir() == NULL || MsQuicOpen2(&Api) != QUIC_STATUS_SUCCESS ||
        QUIC_FAILED(Api->RegistrationOpen(NULL, &Registration))) {
        CHECK(0, "certificates, MsQuicOpen2, RegistrationOpen");
        return tu_finish();
    }
    run("defaults+ECN", 1, 0, 1500);
    run("MaximumMtu 1400, no ECN", 0, 1400, 1400);
    Api->RegistrationClose(Registration);
    MsQuicClose(Api);
    return tu_finish();
}
