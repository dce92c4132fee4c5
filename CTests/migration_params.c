/*
 * migration_params.c - QUIC_PARAM_CONN_LOCAL_ADDRESS on a started connection: client active
 * migration (RFC 9000 §9.2) through the public API, and the status codes of the parameter as
 * MsQuic 2.6 gives them (connection.c, QuicConnParamSet) plus the refusals RFC 9000 adds:
 *
 *  - a server connection: INVALID_STATE (asked inside NEW_CONNECTION);
 *  - a buffer that is not a QUIC_ADDR: INVALID_PARAMETER; an AF_UNIX family: INVALID_PARAMETER;
 *  - started but the handshake not confirmed (a server that never answers): INVALID_STATE;
 *  - confirmed: SUCCESS, QUIC_CONNECTION_EVENT_LOCAL_ADDRESS_CHANGED with the new address, and
 *    GetParam(LOCAL_ADDRESS) shows it; the server raises PEER_ADDRESS_CHANGED;
 *  - an address of no interface here (192.0.2.1, TEST-NET-1, only bound, never sent to):
 *    ADDRESS_NOT_AVAILABLE; a port another socket holds: ADDRESS_IN_USE (the socket's errno,
 *    as MsQuic on POSIX);
 *  - QUIC_SETTINGS.MigrationEnabled = FALSE on the client: INVALID_STATE;
 *  - a server whose MigrationEnabled = FALSE sends disable_active_migration (RFC 9000 §18.2):
 *    INVALID_STATE;
 *  - after ConnectionShutdown: INVALID_STATE.
 * Everything runs on 127.0.0.1 with ephemeral ports.
 */
#define QUIC_API_ENABLE_PREVIEW_FEATURES 1
#include "testutil.h"
#include "msquicp.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <sys/socket.h>

#define ALPN "swiftquic-migration"
#define WAIT_MS 10000

static const QUIC_API_TABLE* Api;
static HQUIC Registration;

typedef struct SERVER {
    HQUIC Configuration;
    HQUIC Listener;
    uint16_t Port;
    TU_EVENT NewConnection;       /* LastStatus: SetParam(LOCAL_ADDRESS) on the server connection */
    TU_EVENT PeerAddressChanged;
} SERVER;

typedef struct CLIENT {
    TU_EVENT Connected;
    TU_EVENT LocalAddressChanged;
    TU_EVENT ShutdownComplete;
    QUIC_ADDR Changed;
} CLIENT;

static QUIC_STATUS QUIC_API server_connection_callback(HQUIC Connection, void* Context, QUIC_CONNECTION_EVENT* Event)
{
    SERVER* S = (SERVER*)Context;
    switch (Event->Type) {
    case QUIC_CONNECTION_EVENT_PEER_ADDRESS_CHANGED:
        tu_event_signal(&S->PeerAddressChanged, Connection, NULL, QUIC_STATUS_SUCCESS);
        break;
    case QUIC_CONNECTION_EVENT_SHUTDOWN_COMPLETE:
        if (!Event->SHUTDOWN_COMPLETE.AppCloseInProgress) {
            Api->ConnectionClose(Connection);
        }
        break;
    default:
        break;
    }
    return QUIC_STATUS_SUCCESS;
}

static QUIC_STATUS QUIC_API listener_callback(HQUIC Listener, void* Context, QUIC_LISTENER_EVENT* Event)
{
    SERVER* S = (SERVER*)Context;
    (void)Listener;
    if (Event->Type == QUIC_LISTENER_EVENT_NEW_CONNECTION) {
        HQUIC Connection = Event->NEW_CONNECTION.Connection;
        QUIC_ADDR Addr;
        QUIC_STATUS Status;
        memset(&Addr, 0, sizeof(Addr));
        QuicAddrSetFamily(&Addr, QUIC_ADDRESS_FAMILY_INET);
        QuicAddrSetToLoopback(&Addr);
        Status = Api->SetParam(Connection, QUIC_PARAM_CONN_LOCAL_ADDRESS, sizeof(Addr), &Addr);
        Api->SetCallbackHandler(Connection, (void*)server_connection_callback, S);
        QUIC_STATUS Accept = Api->ConnectionSetConfiguration(Connection, S->Configuration);
        tu_event_signal(&S->NewConnection, Connection, NULL, QUIC_SUCCEEDED(Accept) ? Status : Accept);
        return Accept;
    }
    return QUIC_STATUS_SUCCESS;
}

static QUIC_STATUS QUIC_API client_callback(HQUIC Connection, void* Context, QUIC_CONNECTION_EVENT* Event)
{
    CLIENT* C = (CLIENT*)Context;
    switch (Event->Type) {
    case QUIC_CONNECTION_EVENT_CONNECTED:
        tu_event_signal(&C->Connected, Connection, NULL, QUIC_STATUS_SUCCESS);
        break;
    case QUIC_CONNECTION_EVENT_LOCAL_ADDRESS_CHANGED:
        C->Changed = *Event->LOCAL_ADDRESS_CHANGED.Address;
        tu_event_signal(&C->LocalAddressChanged, Connection, NULL, QUIC_STATUS_SUCCESS);
        break;
    case QUIC_CONNECTION_EVENT_SHUTDOWN_COMPLETE:
        tu_event_signal(&C->ShutdownComplete, Connection, NULL, QUIC_STATUS_SUCCESS);
        break;
    default:
        break;
    }
    return QUIC_STATUS_SUCCESS;
}

static int start_server(SERVER* S, int MigrationEnabled)
{
    QUIC_BUFFER Alpn = tu_alpn(ALPN);
    QUIC_SETTINGS Settings;
    QUIC_CREDENTIAL_CONFIG Cred;
    QUIC_CERTIFICATE_FILE Files;
    QUIC_ADDR Address;
    uint32_t Length = sizeof(Address);
    memset(S, 0, sizeof(*S));
    tu_event_init(&S->NewConnection);
    tu_event_init(&S->PeerAddressChanged);
    memset(&Settings, 0, sizeof(Settings));
    Settings.IsSet.MigrationEnabled = 1;
    Settings.MigrationEnabled = (BOOLEAN)MigrationEnabled;
    Settings.IsSet.IdleTimeoutMs = 1;
    Settings.IdleTimeoutMs = 10000;
    if (QUIC_FAILED(Api->ConfigurationOpen(Registration, &Alpn, 1, &Settings, sizeof(Settings), NULL, &S->Configuration))) {
        return 0;
    }
    memset(&Cred, 0, sizeof(Cred));
    Files.CertificateFile = tu_cert("server.crt");
    Files.PrivateKeyFile = tu_cert("server.key");
    Cred.Type = QUIC_CREDENTIAL_TYPE_CERTIFICATE_FILE;
    Cred.CertificateFile = &Files;
    if (QUIC_FAILED(Api->ConfigurationLoadCredential(S->Configuration, &Cred)) ||
        QUIC_FAILED(Api->ListenerOpen(Registration, listener_callback, S, &S->Listener))) {
        return 0;
    }
    memset(&Address, 0, sizeof(Address));
    QuicAddrSetFamily(&Address, QUIC_ADDRESS_FAMILY_INET);
    QuicAddrSetToLoopback(&Address);
    if (QUIC_FAILED(Api->ListenerStart(S->Listener, &Alpn, 1, &Address)) ||
        QUIC_FAILED(Api->GetParam(S->Listener, QUIC_PARAM_LISTENER_LOCAL_ADDRESS, &Length, &Address))) {
        return 0;
    }
    S->Port = QuicAddrGetPort(&Address);
    return S->Port != 0;
}

static void stop_server(SERVER* S)
{
    if (S->Listener != NULL) Api->ListenerClose(S->Listener);
    if (S->Configuration != NULL) Api->ConfigurationClose(S->Configuration);
}

static HQUIC client_configuration(void)
{
    QUIC_BUFFER Alpn = tu_alpn(ALPN);
    QUIC_CREDENTIAL_CONFIG Cred;
    HQUIC Configuration = NULL;
    memset(&Cred, 0, sizeof(Cred));
    Cred.Type = QUIC_CREDENTIAL_TYPE_NONE;
    Cred.Flags = QUIC_CREDENTIAL_FLAG_CLIENT | QUIC_CREDENTIAL_FLAG_NO_CERTIFICATE_VALIDATION;
    if (QUIC_FAILED(Api->ConfigurationOpen(Registration, &Alpn, 1, NULL, 0, NULL, &Configuration)) ||
        QUIC_FAILED(Api->ConfigurationLoadCredential(Configuration, &Cred))) {
        if (Configuration != NULL) Api->ConfigurationClose(Configuration);
        return NULL;
    }
    return Configuration;
}

static void loopback(QUIC_ADDR* A, const char* Ip, uint16_t Port)
{
    memset(A, 0, sizeof(*A));
    QuicAddrSetFamily(A, QUIC_ADDRESS_FAMILY_INET);
    inet_pton(AF_INET, Ip, &A->Ipv4.sin_addr);
    QuicAddrSetPort(A, Port);
}

/* Waits (bounded) until the client's handshake is confirmed: QUIC_PARAM_CONN_FORCE_CID_UPDATE
   is INVALID_STATE before (MsQuic's rule, as for LOCAL_ADDRESS) and SUCCESS after. */
static int wait_confirmed(HQUIC Connection)
{
    for (int i = 0; i < 500; i++) {
        if (Api->SetParam(Connection, QUIC_PARAM_CONN_FORCE_CID_UPDATE, 0, NULL) == QUIC_STATUS_SUCCESS) {
            return 1;
        }
        usleep(10 * 1000);
    }
    return 0;
}

static HQUIC connect_client(CLIENT* C, HQUIC Configuration, uint16_t Port)
{
    HQUIC Connection = NULL;
    QUIC_ADDR Remote;
    memset(C, 0, sizeof(*C));
    tu_event_init(&C->Connected);
    tu_event_init(&C->LocalAddressChanged);
    tu_event_init(&C->ShutdownComplete);
    if (QUIC_FAILED(Api->ConnectionOpen(Registration, client_callback, C, &Connection))) {
        return NULL;
    }
    loopback(&Remote, "127.0.0.1", Port);
    Api->SetParam(Connection, QUIC_PARAM_CONN_REMOTE_ADDRESS, sizeof(Remote), &Remote);
    if (QUIC_FAILED(Api->ConnectionStart(Connection, Configuration, QUIC_ADDRESS_FAMILY_INET, "localhost", Port))) {
        Api->ConnectionClose(Connection);
        return NULL;
    }
    return Connection;
}

static void close_client(HQUIC Connection, CLIENT* C)
{
    QUIC_ADDR Addr;
    loopback(&Addr, "127.0.0.1", 0);
    Api->ConnectionShutdown(Connection, QUIC_CONNECTION_SHUTDOWN_FLAG_NONE, 0);
    CHECK_STATUS(Api->SetParam(Connection, QUIC_PARAM_CONN_LOCAL_ADDRESS, sizeof(Addr), &Addr), QUIC_STATUS_INVALID_STATE,
                 "LOCAL_ADDRESS after ConnectionShutdown");
    CHECK(tu_event_wait(&C->ShutdownComplete, 1, WAIT_MS) == 1, "client SHUTDOWN_COMPLETE");
    Api->ConnectionClose(Connection);
}

static void test_migration(HQUIC Configuration, SERVER* S)
{
    CLIENT C;
    QUIC_ADDR Addr, Before, After;
    uint32_t Size = sizeof(Before);
    uint8_t Short[8] = {0};
    HQUIC Connection = connect_client(&C, Configuration, S->Port);
    CHECK(Connection != NULL, "client started");
    if (Connection == NULL) return;
    CHECK(tu_event_wait(&S->NewConnection, 1, WAIT_MS) == 1, "NEW_CONNECTION");
    CHECK_STATUS(S->NewConnection.LastStatus, QUIC_STATUS_INVALID_STATE, "LOCAL_ADDRESS on a server connection");
    CHECK(tu_event_wait(&C.Connected, 1, WAIT_MS) == 1, "client CONNECTED");
    CHECK(wait_confirmed(Connection), "handshake confirmed (FORCE_CID_UPDATE succeeds)");
    CHECK_SUCCEEDED(Api->GetParam(Connection, QUIC_PARAM_CONN_LOCAL_ADDRESS, &Size, &Before), "GetParam(LOCAL_ADDRESS)");

    CHECK_STATUS(Api->SetParam(Connection, QUIC_PARAM_CONN_LOCAL_ADDRESS, sizeof(Short), Short),
                 QUIC_STATUS_INVALID_PARAMETER, "LOCAL_ADDRESS with 8 bytes");
    memset(&Addr, 0, sizeof(Addr));
    Addr.Ip.sa_family = AF_UNIX;
    CHECK_STATUS(Api->SetParam(Connection, QUIC_PARAM_CONN_LOCAL_ADDRESS, sizeof(Addr), &Addr),
                 QUIC_STATUS_INVALID_PARAMETER, "LOCAL_ADDRESS with family AF_UNIX");
    loopback(&Addr, "192.0.2.1", 0);
    CHECK_STATUS(Api->SetParam(Connection, QUIC_PARAM_CONN_LOCAL_ADDRESS, sizeof(Addr), &Addr),
                 QUIC_STATUS_ADDRESS_NOT_AVAILABLE, "LOCAL_ADDRESS 192.0.2.1 (no such interface)");
    {
        /* A port another socket holds. */
        int Fd = socket(AF_INET, SOCK_DGRAM, 0);
        struct sockaddr_in Sin;
        socklen_t Len = sizeof(Sin);
        memset(&Sin, 0, sizeof(Sin));
        Sin.sin_family = AF_INET;
        Sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (Fd >= 0 && bind(Fd, (struct sockaddr*)&Sin, sizeof(Sin)) == 0 &&
            getsockname(Fd, (struct sockaddr*)&Sin, &Len) == 0) {
            loopback(&Addr, "127.0.0.1", ntohs(Sin.sin_port));
            CHECK_STATUS(Api->SetParam(Connection, QUIC_PARAM_CONN_LOCAL_ADDRESS, sizeof(Addr), &Addr),
                         QUIC_STATUS_ADDRESS_IN_USE, "LOCAL_ADDRESS on a port in use");
        }
        if (Fd >= 0) close(Fd);
    }
    CHECK(C.LocalAddressChanged.Count == 0, "no LOCAL_ADDRESS_CHANGED for refused calls");

    /* The migration itself: a new ephemeral port on 127.0.0.1. */
    loopback(&Addr, "127.0.0.1", 0);
    CHECK_STATUS(Api->SetParam(Connection, QUIC_PARAM_CONN_LOCAL_ADDRESS, sizeof(Addr), &Addr), QUIC_STATUS_SUCCESS,
                 "LOCAL_ADDRESS 127.0.0.1:0 after confirmation (migrates)");
    CHECK(tu_event_wait(&C.LocalAddressChanged, 1, WAIT_MS) >= 1, "LOCAL_ADDRESS_CHANGED raised");
    Size = sizeof(After);
    CHECK_SUCCEEDED(Api->GetParam(Connection, QUIC_PARAM_CONN_LOCAL_ADDRESS, &Size, &After), "GetParam(LOCAL_ADDRESS) after");
    CHECK(QuicAddrGetPort(&After) != 0 && QuicAddrGetPort(&After) != QuicAddrGetPort(&Before),
          "a new local port (%u -> %u)", QuicAddrGetPort(&Before), QuicAddrGetPort(&After));
    CHECK(QuicAddrGetPort(&C.Changed) == QuicAddrGetPort(&After), "the event carries the new address");
    CHECK(tu_event_wait(&S->PeerAddressChanged, 1, WAIT_MS) >= 1, "the server raised PEER_ADDRESS_CHANGED");

    /* QUIC_SETTINGS.MigrationEnabled = FALSE on the client: no more migrations. */
    {
        QUIC_SETTINGS Settings;
        memset(&Settings, 0, sizeof(Settings));
        Settings.IsSet.MigrationEnabled = 1;
        Settings.MigrationEnabled = FALSE;
        CHECK_SUCCEEDED(Api->SetParam(Connection, QUIC_PARAM_CONN_SETTINGS, sizeof(Settings), &Settings),
                        "CONN_SETTINGS MigrationEnabled = FALSE");
        CHECK_STATUS(Api->SetParam(Connection, QUIC_PARAM_CONN_LOCAL_ADDRESS, sizeof(Addr), &Addr),
                     QUIC_STATUS_INVALID_STATE, "LOCAL_ADDRESS with MigrationEnabled = FALSE");
    }
    close_client(Connection, &C);
}

static void test_unconfirmed(HQUIC Configuration)
{
    /* A server that never answers: the handshake never completes. */
    CLIENT C;
    QUIC_ADDR Addr;
    int Fd = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in Sin;
    socklen_t Len = sizeof(Sin);
    memset(&Sin, 0, sizeof(Sin));
    Sin.sin_family = AF_INET;
    Sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (Fd < 0 || bind(Fd, (struct sockaddr*)&Sin, sizeof(Sin)) != 0 || getsockname(Fd, (struct sockaddr*)&Sin, &Len) != 0) {
        CHECK(0, "a silent UDP socket");
        if (Fd >= 0) close(Fd);
        return;
    }
    HQUIC Connection = connect_client(&C, Configuration, ntohs(Sin.sin_port));
    CHECK(Connection != NULL, "client started toward a silent port");
    if (Connection != NULL) {
        loopback(&Addr, "127.0.0.1", 0);
        CHECK_STATUS(Api->SetParam(Connection, QUIC_PARAM_CONN_LOCAL_ADDRESS, sizeof(Addr), &Addr),
                     QUIC_STATUS_INVALID_STATE, "LOCAL_ADDRESS while the handshake is not confirmed");
        CHECK(C.LocalAddressChanged.Count == 0, "no LOCAL_ADDRESS_CHANGED");
        Api->ConnectionShutdown(Connection, QUIC_CONNECTION_SHUTDOWN_FLAG_SILENT, 0);
        CHECK(tu_event_wait(&C.ShutdownComplete, 1, WAIT_MS) == 1, "client SHUTDOWN_COMPLETE");
        Api->ConnectionClose(Connection);
    }
    close(Fd);
}

static void test_server_disabled(HQUIC Configuration)
{
    SERVER S;
    CLIENT C;
    QUIC_ADDR Addr;
    CHECK(start_server(&S, 0), "a server with MigrationEnabled = FALSE");
    if (S.Port != 0) {
        HQUIC Connection = connect_client(&C, Configuration, S.Port);
        CHECK(Connection != NULL && tu_event_wait(&C.Connected, 1, WAIT_MS) == 1, "connected");
        if (Connection != NULL) {
            CHECK(wait_confirmed(Connection), "handshake confirmed");
            loopback(&Addr, "127.0.0.1", 0);
            CHECK_STATUS(Api->SetParam(Connection, QUIC_PARAM_CONN_LOCAL_ADDRESS, sizeof(Addr), &Addr),
                         QUIC_STATUS_INVALID_STATE, "LOCAL_ADDRESS after the server's disable_active_migration");
            CHECK(C.LocalAddressChanged.Count == 0, "no LOCAL_ADDRESS_CHANGED");
            close_client(Connection, &C);
        }
    }
    stop_server(&S);
}

/* Open file descriptors of this process (sockets the migrations opened must all be closed). */
static int open_fds(void)
{
    int Count = 0;
    DIR* D = opendir("/proc/self/fd");
    struct dirent* E;
    if (D == NULL) return -1;
    while ((E = readdir(D)) != NULL) {
        if (E->d_name[0] != '.') Count++;
    }
    closedir(D);
    return Count;
}

int main(void)
{
    SERVER S;
    HQUIC Listener = NULL;
    QUIC_STATUS Status;
    int FdsBefore;
    tu_start_watchdog(100);
    if (tu_cert_dir() == NULL) {
        CHECK(0, "certificates available");
        return tu_finish();
    }
    FdsBefore = open_fds();
    if (MsQuicOpen2(&Api) != QUIC_STATUS_SUCCESS || QUIC_FAILED(Api->RegistrationOpen(NULL, &Registration))) {
        CHECK(0, "MsQuicOpen2 and RegistrationOpen");
        return tu_finish();
    }
    Status = Api->ListenerOpen(Registration, listener_callback, NULL, &Listener);
    if (TU_NOT_IMPLEMENTED(Status)) {
        Api->RegistrationClose(Registration);
        MsQuicClose(Api);
        return tu_skip_program("ListenerOpen: NOT_SUPPORTED");
    }
    if (Listener != NULL) Api->ListenerClose(Listener);
    HQUIC Configuration = client_configuration();
    CHECK(Configuration != NULL, "client configuration");
    CHECK(start_server(&S, 1), "server on 127.0.0.1 (MigrationEnabled = TRUE)");
    if (Configuration != NULL && S.Port != 0) {
        test_migration(Configuration, &S);
        test_unconfirmed(Configuration);
        test_server_disabled(Configuration);
    }
    stop_server(&S);
    if (Configuration != NULL) Api->ConfigurationClose(Configuration);
    Api->RegistrationClose(Registration);
    MsQuicClose(Api);
    CHECK(open_fds() == FdsBefore, "no socket left open after MsQuicClose (%d fds before, %d after)", FdsBefore, open_fds());
    return tu_finish();
}
