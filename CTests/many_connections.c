/*
 * many_connections.c - one listener, 24 clients at once over 127.0.0.1. Every client opens a
 * stream, sends its own message with FIN and expects it echoed; the server's accepted
 * connections spread over the workers (SO_REUSEPORT sockets, one per worker) and each must
 * see all its events on one thread. Then every connection shuts down and closes.
 */
#include "testutil.h"

#define ALPN "many"
#define CLIENTS 24
#define WAIT_MS 30000

static const QUIC_API_TABLE* Api;
static HQUIC ServerConfiguration;
static TU_EVENT ServerDone;
static pthread_mutex_t ThreadLock = PTHREAD_MUTEX_INITIALIZER;
static int ThreadMismatch;

typedef struct SERVER_CONN {
    pthread_t Thread;
    int HaveThread;
} SERVER_CONN;

typedef struct ECHO {
    uint8_t Data[256];
    uint32_t Length;
    QUIC_BUFFER Reply;
    SERVER_CONN* Conn;
} ECHO;

static void same_thread(SERVER_CONN* C)
{
    pthread_mutex_lock(&ThreadLock);
    if (!C->HaveThread) {
        C->Thread = pthread_self();
        C->HaveThread = 1;
    } else if (!pthread_equal(C->Thread, pthread_self())) {
        ThreadMismatch = 1;
    }
    pthread_mutex_unlock(&ThreadLock);
}

static QUIC_STATUS QUIC_API server_stream(HQUIC Stream, void* Context, QUIC_STREAM_EVENT* Event)
{
    ECHO* E = (ECHO*)Context;
    same_thread(E->Conn);
    switch (Event->Type) {
    case QUIC_STREAM_EVENT_RECEIVE:
        for (uint32_t i = 0; i < Event->RECEIVE.BufferCount; i++) {
            const QUIC_BUFFER* B = &Event->RECEIVE.Buffers[i];
            uint32_t Take = B->Length < sizeof(E->Data) - E->Length ? B->Length : (uint32_t)sizeof(E->Data) - E->Length;
            memcpy(E->Data + E->Length, B->Buffer, Take);
            E->Length += Take;
        }
        break;
    case QUIC_STREAM_EVENT_PEER_SEND_SHUTDOWN:
        E->Reply.Buffer = E->Data;
        E->Reply.Length = E->Length;
        Api->StreamSend(Stream, &E->Reply, 1, QUIC_SEND_FLAG_FIN, NULL);
        break;
    case QUIC_STREAM_EVENT_SHUTDOWN_COMPLETE:
        Api->StreamClose(Stream);
        free(E);
        break;
    default:
        break;
    }
    return QUIC_STATUS_SUCCESS;
}

static QUIC_STATUS QUIC_API server_connection(HQUIC Connection, void* Context, QUIC_CONNECTION_EVENT* Event)
{
    SERVER_CONN* C = (SERVER_CONN*)Context;
    same_thread(C);
    if (Event->Type == QUIC_CONNECTION_EVENT_PEER_STREAM_STARTED) {
        ECHO* E = (ECHO*)calloc(1, sizeof(ECHO));
        if (E == NULL) return QUIC_STATUS_OUT_OF_MEMORY;
        E->Conn = C;
        Api->SetCallbackHandler(Event->PEER_STREAM_STARTED.Stream, (void*)server_stream, E);
    } else if (Event->Type == QUIC_CONNECTION_EVENT_SHUTDOWN_COMPLETE) {
        Api->ConnectionClose(Connection);
        free(C);
        tu_event_signal(&ServerDone, NULL, NULL, 0);
    }
    return QUIC_STATUS_SUCCESS;
}

static QUIC_STATUS QUIC_API listener_callback(HQUIC Listener, void* Context, QUIC_LISTENER_EVENT* Event)
{
    (void)Listener;
    (void)Context;
    if (Event->Type == QUIC_LISTENER_EVENT_NEW_CONNECTION) {
        SERVER_CONN* C = (SERVER_CONN*)calloc(1, sizeof(SERVER_CONN));
        if (C == NULL) return QUIC_STATUS_OUT_OF_MEMORY;
        Api->SetCallbackHandler(Event->NEW_CONNECTION.Connection, (void*)server_connection, C);
        QUIC_STATUS Status = Api->ConnectionSetConfiguration(Event->NEW_CONNECTION.Connection, ServerConfiguration);
        if (QUIC_FAILED(Status)) free(C);
        return Status;
    }
    return QUIC_STATUS_SUCCESS;
}

typedef struct CLIENT {
    HQUIC Connection;
    HQUIC Stream;
    char Message[64];
    QUIC_BUFFER Buffer;
    uint8_t Echo[64];
    uint32_t EchoLength;
    TU_EVENT Connected;
    TU_EVENT StreamDone;
    TU_EVENT Done;
} CLIENT;

static QUIC_STATUS QUIC_API client_stream(HQUIC Stream, void* Context, QUIC_STREAM_EVENT* Event)
{
    CLIENT* C = (CLIENT*)Context;
    (void)Stream;
    if (Event->Type == QUIC_STREAM_EVENT_RECEIVE) {
        for (uint32_t i = 0; i < Event->RECEIVE.BufferCount; i++) {
            const QUIC_BUFFER* B = &Event->RECEIVE.Buffers[i];
            uint32_t Take = B->Length < sizeof(C->Echo) - C->EchoLength ? B->Length : (uint32_t)sizeof(C->Echo) - C->EchoLength;
            memcpy(C->Echo + C->EchoLength, B->Buffer, Take);
            C->EchoLength += Take;
        }
    } else if (Event->Type == QUIC_STREAM_EVENT_SHUTDOWN_COMPLETE) {
        tu_event_signal(&C->StreamDone, NULL, NULL, 0);
    }
    return QUIC_STATUS_SUCCESS;
}

static QUIC_STATUS QUIC_API client_connection(HQUIC Connection, void* Context, QUIC_CONNECTION_EVENT* Event)
{
    CLIENT* C = (CLIENT*)Context;
    if (Event->Type == QUIC_CONNECTION_EVENT_CONNECTED) {
        /* Calls made inside the callback run inline on the connection's worker. */
        if (QUIC_SUCCEEDED(Api->StreamOpen(Connection, QUIC_STREAM_OPEN_FLAG_NONE, client_stream, C, &C->Stream)) &&
            QUIC_SUCCEEDED(Api->StreamStart(C->Stream, QUIC_STREAM_START_FLAG_NONE))) {
            Api->StreamSend(C->Stream, &C->Buffer, 1, QUIC_SEND_FLAG_FIN, NULL);
        }
        tu_event_signal(&C->Connected, NULL, NULL, 0);
    } else if (Event->Type == QUIC_CONNECTION_EVENT_SHUTDOWN_COMPLETE) {
        tu_event_signal(&C->Done, NULL, NULL, 0);
    }
    return QUIC_STATUS_SUCCESS;
}

int main(void)
{
    QUIC_BUFFER Alpn = tu_alpn(ALPN);
    QUIC_SETTINGS Settings;
    QUIC_CREDENTIAL_CONFIG Cred;
    QUIC_CERTIFICATE_FILE Files;
    QUIC_ADDR Address;
    HQUIC Registration = NULL, Listener = NULL, ClientConfiguration = NULL;
    uint32_t Length = sizeof(Address);
    static CLIENT Clients[CLIENTS];

    tu_start_watchdog(100);
    tu_event_init(&ServerDone);
    if (tu_cert_dir() == NULL || MsQuicOpen2(&Api) != QUIC_STATUS_SUCCESS ||
        QUIC_FAILED(Api->RegistrationOpen(NULL, &Registration))) {
        CHECK(0, "certificates, MsQuicOpen2, RegistrationOpen");
        return tu_finish();
    }
    memset(&Settings, 0, sizeof(Settings));
    Settings.IsSet.PeerBidiStreamCount = 1;
    Settings.PeerBidiStreamCount = 1;
    CHECK_STATUS(Api->ConfigurationOpen(Registration, &Alpn, 1, &Settings, sizeof(Settings), NULL, &ServerConfiguration),
                 QUIC_STATUS_SUCCESS, "server ConfigurationOpen");
    memset(&Cred, 0, sizeof(Cred));
    Files.CertificateFile = tu_cert("server.crt");
    Files.PrivateKeyFile = tu_cert("server.key");
    Cred.Type = QUIC_CREDENTIAL_TYPE_CERTIFICATE_FILE;
    Cred.CertificateFile = &Files;
    CHECK_STATUS(Api->ConfigurationLoadCredential(ServerConfiguration, &Cred), QUIC_STATUS_SUCCESS, "server credential");
    CHECK_STATUS(Api->ListenerOpen(Registration, listener_callback, NULL, &Listener), QUIC_STATUS_SUCCESS, "ListenerOpen");
    /* NULL local address: every address, an ephemeral port. */
    CHECK_STATUS(Api->ListenerStart(Listener, &Alpn, 1, NULL), QUIC_STATUS_SUCCESS, "ListenerStart(NULL address)");
    CHECK_STATUS(Api->GetParam(Listener, QUIC_PARAM_LISTENER_LOCAL_ADDRESS, &Length, &Address), QUIC_STATUS_SUCCESS,
                 "LISTENER_LOCAL_ADDRESS");
    CHECK(QuicAddrGetPort(&Address) != 0, "the wildcard listener has a port (%u)", QuicAddrGetPort(&Address));

    CHECK_STATUS(Api->ConfigurationOpen(Registration, &Alpn, 1, NULL, 0, NULL, &ClientConfiguration),
                 QUIC_STATUS_SUCCESS, "client ConfigurationOpen");
    memset(&Cred, 0, sizeof(Cred));
    Cred.Type = QUIC_CREDENTIAL_TYPE_NONE;
    Cred.Flags = (QUIC_CREDENTIAL_FLAGS)(QUIC_CREDENTIAL_FLAG_CLIENT | QUIC_CREDENTIAL_FLAG_SET_CA_CERTIFICATE_FILE);
    Cred.CaCertificateFile = tu_cert("ca.crt");
    CHECK_STATUS(Api->ConfigurationLoadCredential(ClientConfiguration, &Cred), QUIC_STATUS_SUCCESS, "client credential");

    for (int i = 0; i < CLIENTS; i++) {
        CLIENT* C = &Clients[i];
        snprintf(C->Message, sizeof(C->Message), "client number %d says hello", i);
        C->Buffer.Buffer = (uint8_t*)C->Message;
        C->Buffer.Length = (uint32_t)strlen(C->Message);
        tu_event_init(&C->Connected);
        tu_event_init(&C->StreamDone);
        tu_event_init(&C->Done);
        if (QUIC_FAILED(Api->ConnectionOpen(Registration, client_connection, C, &C->Connection)) ||
            QUIC_FAILED(Api->ConnectionStart(C->Connection, ClientConfiguration, QUIC_ADDRESS_FAMILY_INET, "localhost",
                                             QuicAddrGetPort(&Address)))) {
            CHECK(0, "client %d: ConnectionOpen/Start", i);
        }
    }
    int Echoed = 0;
    for (int i = 0; i < CLIENTS; i++) {
        CLIENT* C = &Clients[i];
        if (tu_event_wait(&C->StreamDone, 1, WAIT_MS) == 1 && C->EchoLength == C->Buffer.Length &&
            memcmp(C->Echo, C->Message, C->EchoLength) == 0) {
            Echoed++;
        }
    }
    CHECK(Echoed == CLIENTS, "every client got its own message back (%d of %d)", Echoed, CLIENTS);
    for (int i = 0; i < CLIENTS; i++) {
        Api->StreamClose(Clients[i].Stream);
        Api->ConnectionShutdown(Clients[i].Connection, QUIC_CONNECTION_SHUTDOWN_FLAG_NONE, 0);
    }
    int Done = 0;
    for (int i = 0; i < CLIENTS; i++) {
        if (tu_event_wait(&Clients[i].Done, 1, WAIT_MS) == 1) Done++;
        Api->ConnectionClose(Clients[i].Connection);
    }
    CHECK(Done == CLIENTS, "every client connection completed its shutdown (%d)", Done);
    CHECK(tu_event_wait(&ServerDone, CLIENTS, WAIT_MS) == CLIENTS, "every server connection completed its shutdown");
    CHECK(!ThreadMismatch, "each server connection saw all its events on one thread");
    Api->ListenerClose(Listener);
    Api->ConfigurationClose(ClientConfiguration);
    Api->ConfigurationClose(ServerConfiguration);
    Api->RegistrationClose(Registration);
    MsQuicClose(Api);
    return tu_finish();
}
