/*
 * review_engine_misuse.c - misuse of listeners, connections and streams from C must give a
 * status (or be ignored) and never crash or hang; blocking calls return in bounded time.
 *
 *   - ListenerStart twice, ListenerStart without ALPN, ListenerStop from its own callback;
 *   - ConnectionStart twice, with a NULL or unresolvable server name, port 0, or a client
 *     configuration without a credential;
 *   - StreamSend with no buffers and no FIN, StreamSend after SHUTDOWN_COMPLETE (from that
 *     callback), StreamClose and ConnectionClose from their own SHUTDOWN_COMPLETE (allowed by
 *     docs/api/StreamClose.md and ConnectionClose.md);
 *   - RegistrationClose from another thread while a connection is alive (blocks until the
 *     connection is closed, docs/api/RegistrationClose.md);
 *   - many connections opened and closed in a loop: no file descriptor or thread left over;
 *   - MsQuicClose while handles are still open.
 */
#include "testutil.h"

#include <dirent.h>

#define ALPN "misuse"
#ifndef WAIT_MS
#define WAIT_MS 10000
#endif
#ifndef WATCHDOG_SECONDS
#define WATCHDOG_SECONDS 110
#endif

static const QUIC_API_TABLE* Api;
static HQUIC Registration;
static HQUIC ServerConfiguration;
static HQUIC ClientConfiguration;

static int count_dir(const char* Path)
{
    DIR* D = opendir(Path);
    struct dirent* E;
    int N = 0;
    if (D == NULL) return -1;
    while ((E = readdir(D)) != NULL) {
        if (E->d_name[0] != '.') N++;
    }
    closedir(D);
    return N;
}

/* Prints what each open file descriptor is (for a failure report). */
static void dump_fds(void)
{
    DIR* D = opendir("/proc/self/fd");
    struct dirent* E;
    char Link[300], Target[256];
    if (D == NULL) return;
    while ((E = readdir(D)) != NULL) {
        ssize_t N;
        if (E->d_name[0] == '.') continue;
        snprintf(Link, sizeof(Link), "/proc/self/fd/%s", E->d_name);
        N = readlink(Link, Target, sizeof(Target) - 1);
        if (N < 0) continue;
        Target[N] = 0;
        printf("     fd %s -> %s\n", E->d_name, Target);
    }
    closedir(D);
}

/* ---- server -------------------------------------------------------------- */

static TU_EVENT ServerStreamShutdown;

/* Pending receives: the server answers RECEIVE with PENDING and the test thread reads the
 * buffers later (valid until StreamReceiveComplete, docs/api/StreamReceiveComplete.md) while
 * the client keeps sending. */
#define PENDING_BYTES (8 * 32768)
static int PendingMode;
static TU_EVENT PendingReceive;
static HQUIC PendingStream;
static QUIC_BUFFER PendingBuffers[8];
static uint32_t PendingCount;
static uint64_t PendingOffset;
static uint64_t PendingLength;
static int PendingFin;

static uint8_t pending_pattern(uint64_t Offset) { return (uint8_t)((Offset * 13 + 5) % 253); }

static QUIC_STATUS QUIC_API server_stream(HQUIC Stream, void* Context, QUIC_STREAM_EVENT* Event)
{
    (void)Context;
    switch (Event->Type) {
    case QUIC_STREAM_EVENT_RECEIVE:
        if (PendingMode) {
            PendingStream = Stream;
            PendingCount = Event->RECEIVE.BufferCount < 8 ? Event->RECEIVE.BufferCount : 8;
            memcpy(PendingBuffers, Event->RECEIVE.Buffers, PendingCount * sizeof(QUIC_BUFFER));
            PendingOffset = Event->RECEIVE.AbsoluteOffset;
            PendingLength = Event->RECEIVE.TotalBufferLength;
            PendingFin = (Event->RECEIVE.Flags & QUIC_RECEIVE_FLAG_FIN) != 0;
            tu_event_signal(&PendingReceive, Stream, NULL, 0);
            return QUIC_STATUS_PENDING;
        }
        break;
    case QUIC_STREAM_EVENT_PEER_SEND_SHUTDOWN:
        Api->StreamShutdown(Stream, QUIC_STREAM_SHUTDOWN_FLAG_GRACEFUL, 0);
        break;
    case QUIC_STREAM_EVENT_SHUTDOWN_COMPLETE:
        tu_event_signal(&ServerStreamShutdown, Stream, NULL, 0);
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
        Api->SetCallbackHandler(Event->PEER_STREAM_STARTED.Stream, (void*)server_stream, NULL);
        break;
    case QUIC_CONNECTION_EVENT_SHUTDOWN_COMPLETE:
        Api->ConnectionClose(Connection);                  /* from its own callback: allowed */
        break;
    default:
        break;
    }
    return QUIC_STATUS_SUCCESS;
}

typedef struct LISTENER_CTX {
    int StopInCallback;                                   /* ListenerStop from NEW_CONNECTION */
    int DeferConfiguration;                               /* no ConnectionSetConfiguration there */
    HQUIC Deferred;
    pthread_t DeferredThread;
    HQUIC Listener;
    TU_EVENT StopComplete;
    TU_EVENT NewConnection;
} LISTENER_CTX;

static QUIC_STATUS QUIC_API listener_callback(HQUIC Listener, void* Context, QUIC_LISTENER_EVENT* Event)
{
    LISTENER_CTX* L = (LISTENER_CTX*)Context;
    switch (Event->Type) {
    case QUIC_LISTENER_EVENT_NEW_CONNECTION: {
        HQUIC C = Event->NEW_CONNECTION.Connection;
        Api->SetCallbackHandler(C, (void*)server_connection, NULL);
        if (L->DeferConfiguration) {
            L->Deferred = C;
            L->DeferredThread = pthread_self();
            tu_event_signal(&L->NewConnection, C, NULL, 0);
            return QUIC_STATUS_SUCCESS;
        }
        QUIC_STATUS S = Api->ConnectionSetConfiguration(C, ServerConfiguration);
        tu_event_signal(&L->NewConnection, C, NULL, S);
        if (L->StopInCallback) {
            Api->ListenerStop(Listener);
        }
        return S;
    }
    case QUIC_LISTENER_EVENT_STOP_COMPLETE:
        tu_event_signal(&L->StopComplete, Listener, NULL, 0);
        break;
    default:
        break;
    }
    return QUIC_STATUS_SUCCESS;
}

static HQUIC start_listener(LISTENER_CTX* L, uint16_t* Port)
{
    QUIC_BUFFER Alpn = tu_alpn(ALPN);
    QUIC_ADDR Address;
    uint32_t Length = sizeof(Address);
    HQUIC Listener = NULL;
    *Port = 0;
    if (QUIC_FAILED(Api->ListenerOpen(Registration, listener_callback, L, &Listener))) return NULL;
    L->Listener = Listener;
    memset(&Address, 0, sizeof(Address));
    QuicAddrSetFamily(&Address, QUIC_ADDRESS_FAMILY_INET);
    QuicAddrSetToLoopback(&Address);
    if (QUIC_FAILED(Api->ListenerStart(Listener, &Alpn, 1, &Address))) {
        Api->ListenerClose(Listener);
        return NULL;
    }
    if (QUIC_SUCCEEDED(Api->GetParam(Listener, QUIC_PARAM_LISTENER_LOCAL_ADDRESS, &Length, &Address))) {
        *Port = QuicAddrGetPort(&Address);
    }
    return Listener;
}

/* ---- client -------------------------------------------------------------- */

typedef struct CLIENT_CTX {
    int CloseInShutdownComplete;
    TU_EVENT Connected;
    TU_EVENT ShutdownComplete;
} CLIENT_CTX;

static QUIC_STATUS QUIC_API client_connection(HQUIC Connection, void* Context, QUIC_CONNECTION_EVENT* Event)
{
    CLIENT_CTX* C = (CLIENT_CTX*)Context;
    switch (Event->Type) {
    case QUIC_CONNECTION_EVENT_CONNECTED:
        tu_event_signal(&C->Connected, Connection, NULL, 0);
        break;
    case QUIC_CONNECTION_EVENT_SHUTDOWN_COMPLETE:
        tu_event_signal(&C->ShutdownComplete, Connection, NULL, 0);
        if (C->CloseInShutdownComplete) Api->ConnectionClose(Connection);
        break;
    default:
        break;
    }
    return QUIC_STATUS_SUCCESS;
}

static void client_init(CLIENT_CTX* C, int CloseInCallback)
{
    memset(C, 0, sizeof(*C));
    C->CloseInShutdownComplete = CloseInCallback;
    tu_event_init(&C->Connected);
    tu_event_init(&C->ShutdownComplete);
}

typedef struct STREAM_CTX {
    TU_EVENT ShutdownComplete;
    QUIC_STATUS SendAfterShutdown;
    int SendCompletes;
    /* When set, SHUTDOWN_COMPLETE waits (bounded) for MainDone before closing the stream, so
     * the test thread's own calls on the handle never race with that StreamClose. */
    int HoldClose;
    TU_EVENT MainDone;
} STREAM_CTX;

static QUIC_STATUS QUIC_API client_stream(HQUIC Stream, void* Context, QUIC_STREAM_EVENT* Event)
{
    STREAM_CTX* S = (STREAM_CTX*)Context;
    static uint8_t Byte = 'x';
    QUIC_BUFFER B = { 1, &Byte };
    switch (Event->Type) {
    case QUIC_STREAM_EVENT_SEND_COMPLETE:
        S->SendCompletes++;
        break;
    case QUIC_STREAM_EVENT_SHUTDOWN_COMPLETE:
        if (S->HoldClose) {
            (void)tu_event_wait(&S->MainDone, 1, 5000);
        }
        S->SendAfterShutdown = Api->StreamSend(Stream, &B, 1, QUIC_SEND_FLAG_NONE, NULL);
        Api->StreamClose(Stream);                           /* from its own callback: allowed */
        tu_event_signal(&S->ShutdownComplete, Stream, NULL, 0);
        break;
    default:
        break;
    }
    return QUIC_STATUS_SUCCESS;
}

/* ---- scenarios ----------------------------------------------------------- */

static void test_listener_misuse(void)
{
    LISTENER_CTX L;
    QUIC_BUFFER Alpn = tu_alpn(ALPN);
    QUIC_ADDR Address;
    HQUIC Listener = NULL;
    uint16_t Port;
    memset(&L, 0, sizeof(L));
    tu_event_init(&L.StopComplete);
    tu_event_init(&L.NewConnection);

    CHECK_STATUS(Api->ListenerOpen(Registration, listener_callback, &L, &Listener), QUIC_STATUS_SUCCESS,
                 "ListenerOpen");
    if (Listener == NULL) return;
    memset(&Address, 0, sizeof(Address));
    QuicAddrSetFamily(&Address, QUIC_ADDRESS_FAMILY_INET);
    QuicAddrSetToLoopback(&Address);
    CHECK_STATUS(Api->ListenerStart(Listener, NULL, 0, &Address), QUIC_STATUS_INVALID_PARAMETER,
                 "ListenerStart without ALPN");
    CHECK_STATUS(Api->ListenerStart(Listener, &Alpn, 0, &Address), QUIC_STATUS_INVALID_PARAMETER,
                 "ListenerStart with AlpnBufferCount 0");
    CHECK_STATUS(Api->ListenerStart(Listener, &Alpn, 1, &Address), QUIC_STATUS_SUCCESS, "ListenerStart");
    CHECK_STATUS(Api->ListenerStart(Listener, &Alpn, 1, &Address), QUIC_STATUS_INVALID_STATE,
                 "ListenerStart twice");
    {
        /* A second listener on the same port and address: MsQuic refuses the same ALPN
         * (ALPN_IN_USE); with another ALPN it shares the port's binding and starts
         * (listener_shared_port.c checks who gets which clients). */
        QUIC_ADDR Bound;
        uint32_t Length = sizeof(Bound);
        QUIC_BUFFER Other = tu_alpn("other");
        HQUIC Second = NULL;
        LISTENER_CTX L2;                          /* its own STOP_COMPLETE count */
        memset(&L2, 0, sizeof(L2));
        tu_event_init(&L2.StopComplete);
        tu_event_init(&L2.NewConnection);
        if (QUIC_SUCCEEDED(Api->GetParam(Listener, QUIC_PARAM_LISTENER_LOCAL_ADDRESS, &Length, &Bound)) &&
            QUIC_SUCCEEDED(Api->ListenerOpen(Registration, listener_callback, &L2, &Second))) {
            CHECK_STATUS(Api->ListenerStart(Second, &Alpn, 1, &Bound), QUIC_STATUS_ALPN_IN_USE,
                         "a second listener on the same port with the same ALPN");
            CHECK_STATUS(Api->ListenerStart(Second, &Other, 1, &Bound), QUIC_STATUS_SUCCESS,
                         "a second listener on the same port with another ALPN");
            Api->ListenerClose(Second);
            CHECK(tu_event_wait(&L2.StopComplete, 1, WAIT_MS) == 1, "the second listener: STOP_COMPLETE");
        }
    }
    Api->ListenerStop(Listener);
    CHECK(tu_event_wait(&L.StopComplete, 1, WAIT_MS) == 1, "ListenerStop: one STOP_COMPLETE");
    Api->ListenerStop(Listener);                          /* stopped already: nothing happens */
    CHECK(tu_event_wait(&L.StopComplete, 2, 300) == 1, "ListenerStop twice: no second STOP_COMPLETE");
    CHECK_STATUS(Api->ListenerStart(Listener, &Alpn, 1, &Address), QUIC_STATUS_SUCCESS,
                 "ListenerStart again after a stop");
    Api->ListenerClose(Listener);
    CHECK(tu_event_wait(&L.StopComplete, 2, WAIT_MS) == 2, "ListenerClose of a started listener: STOP_COMPLETE");

    /* ListenerStop from its own NEW_CONNECTION callback. */
    memset(&L, 0, sizeof(L));
    tu_event_init(&L.StopComplete);
    tu_event_init(&L.NewConnection);
    L.StopInCallback = 1;
    Listener = start_listener(&L, &Port);
    CHECK(Listener != NULL && Port != 0, "listener for stop-in-callback");
    if (Listener == NULL) return;
    {
        CLIENT_CTX C;
        HQUIC Conn = NULL;
        client_init(&C, 0);
        if (QUIC_SUCCEEDED(Api->ConnectionOpen(Registration, client_connection, &C, &Conn))) {
            CHECK_STATUS(Api->ConnectionStart(Conn, ClientConfiguration, QUIC_ADDRESS_FAMILY_INET, "localhost", Port),
                         QUIC_STATUS_SUCCESS, "ConnectionStart to the listener");
            CHECK(tu_event_wait(&L.NewConnection, 1, WAIT_MS) == 1, "NEW_CONNECTION");
            CHECK(tu_event_wait(&L.StopComplete, 1, WAIT_MS) == 1, "ListenerStop from NEW_CONNECTION: STOP_COMPLETE");
            CHECK(tu_event_wait(&C.Connected, 1, WAIT_MS) == 1,
                  "the connection accepted before the stop still completes its handshake");
            Api->ConnectionShutdown(Conn, QUIC_CONNECTION_SHUTDOWN_FLAG_NONE, 0);
            CHECK(tu_event_wait(&C.ShutdownComplete, 1, WAIT_MS) == 1, "client SHUTDOWN_COMPLETE");
            Api->ConnectionClose(Conn);
        }
    }
    Api->ListenerClose(Listener);
    CHECK(tu_event_wait(&L.StopComplete, 2, 300) == 1, "ListenerClose after a stop: no second STOP_COMPLETE");
}

static void test_connection_start_misuse(uint16_t Port)
{
    CLIENT_CTX C;
    HQUIC Conn = NULL;
    HQUIC NoCred = NULL;
    QUIC_BUFFER Alpn = tu_alpn(ALPN);
    client_init(&C, 0);

    CHECK_STATUS(Api->ConnectionOpen(Registration, client_connection, &C, &Conn), QUIC_STATUS_SUCCESS,
                 "ConnectionOpen");
    if (Conn == NULL) return;
    CHECK_STATUS(Api->ConnectionStart(Conn, ClientConfiguration, QUIC_ADDRESS_FAMILY_INET, NULL, Port),
                 QUIC_STATUS_INVALID_PARAMETER, "ConnectionStart with a NULL server name");
    CHECK_STATUS(Api->ConnectionStart(Conn, ClientConfiguration, QUIC_ADDRESS_FAMILY_INET, "localhost", 0),
                 QUIC_STATUS_INVALID_PARAMETER, "ConnectionStart to port 0");
    CHECK_STATUS(Api->ConnectionStart(Conn, ClientConfiguration, 12345, "localhost", Port),
                 QUIC_STATUS_INVALID_PARAMETER, "ConnectionStart with an unknown address family");
    CHECK_STATUS(Api->ConfigurationOpen(Registration, &Alpn, 1, NULL, 0, NULL, &NoCred), QUIC_STATUS_SUCCESS,
                 "ConfigurationOpen without a credential");
    if (NoCred != NULL) {
        CHECK_STATUS(Api->ConnectionStart(Conn, NoCred, QUIC_ADDRESS_FAMILY_INET, "localhost", Port),
                     QUIC_STATUS_INVALID_PARAMETER, "ConnectionStart with a configuration without a credential");
        Api->ConfigurationClose(NoCred);
    }
    /* None of the refused starts used the connection up. */
    CHECK_STATUS(Api->ConnectionStart(Conn, ClientConfiguration, QUIC_ADDRESS_FAMILY_INET, "localhost", Port),
                 QUIC_STATUS_SUCCESS, "ConnectionStart after refused starts");
    CHECK_STATUS(Api->ConnectionStart(Conn, ClientConfiguration, QUIC_ADDRESS_FAMILY_INET, "localhost", Port),
                 QUIC_STATUS_INVALID_STATE, "ConnectionStart twice");
    CHECK(tu_event_wait(&C.Connected, 1, WAIT_MS) == 1, "connected");

    /* Streams: StreamSend with no buffers and no FIN; StreamSend after SHUTDOWN_COMPLETE. */
    {
        STREAM_CTX S;
        HQUIC Stream = NULL;
        static uint8_t Data[100];
        QUIC_BUFFER B = { sizeof(Data), Data };
        QUIC_STATUS St;
        memset(&S, 0, sizeof(S));
        tu_event_init(&S.ShutdownComplete);
        tu_event_init(&S.MainDone);
        S.HoldClose = 1;
        CHECK_STATUS(Api->StreamOpen(Conn, QUIC_STREAM_OPEN_FLAG_NONE, client_stream, &S, &Stream),
                     QUIC_STATUS_SUCCESS, "StreamOpen");
        if (Stream != NULL) {
            CHECK_STATUS(Api->StreamStart(Stream, QUIC_STREAM_START_FLAG_IMMEDIATE), QUIC_STATUS_PENDING, "StreamStart");
            St = Api->StreamSend(Stream, NULL, 0, QUIC_SEND_FLAG_NONE, NULL);
            CHECK(St == QUIC_STATUS_PENDING || St == QUIC_STATUS_INVALID_PARAMETER,
                  "StreamSend with no buffers and no FIN: PENDING or INVALID_PARAMETER (%s)", tu_status_name(St));
            CHECK_STATUS(Api->StreamSend(Stream, &B, 1, QUIC_SEND_FLAG_FIN, NULL), QUIC_STATUS_PENDING,
                         "StreamSend with FIN");
            CHECK_STATUS(Api->StreamSend(Stream, &B, 1, QUIC_SEND_FLAG_NONE, NULL), QUIC_STATUS_INVALID_STATE,
                         "StreamSend after FIN");
            tu_event_signal(&S.MainDone, NULL, NULL, 0);
            CHECK(tu_event_wait(&S.ShutdownComplete, 1, WAIT_MS) == 1, "stream SHUTDOWN_COMPLETE");
            CHECK_STATUS(S.SendAfterShutdown, QUIC_STATUS_INVALID_STATE,
                         "StreamSend from SHUTDOWN_COMPLETE (then StreamClose there)");
            CHECK(S.SendCompletes == (St == QUIC_STATUS_PENDING ? 2 : 1),
                  "every accepted send completed once (%d)", S.SendCompletes);
        }
    }
    Api->ConnectionShutdown(Conn, QUIC_CONNECTION_SHUTDOWN_FLAG_NONE, 0);
    CHECK(tu_event_wait(&C.ShutdownComplete, 1, WAIT_MS) == 1, "SHUTDOWN_COMPLETE");
    CHECK_STATUS(Api->ConnectionStart(Conn, ClientConfiguration, QUIC_ADDRESS_FAMILY_INET, "localhost", Port),
                 QUIC_STATUS_INVALID_STATE, "ConnectionStart after SHUTDOWN_COMPLETE");
    Api->ConnectionClose(Conn);
    CHECK(1, "ConnectionClose after SHUTDOWN_COMPLETE returns");

    /* An unresolvable name: refused at once or a failed connection, never a hang. */
    client_init(&C, 0);
    Conn = NULL;
    if (QUIC_SUCCEEDED(Api->ConnectionOpen(Registration, client_connection, &C, &Conn))) {
        QUIC_STATUS St = Api->ConnectionStart(Conn, ClientConfiguration, QUIC_ADDRESS_FAMILY_UNSPEC,
                                              "no-such-host.invalid", Port);
        if (QUIC_SUCCEEDED(St)) {
            CHECK(tu_event_wait(&C.ShutdownComplete, 1, WAIT_MS) == 1,
                  "unresolvable name: SHUTDOWN_COMPLETE after a successful start");
        } else {
            CHECK(1, "unresolvable name refused by ConnectionStart (%s)", tu_status_name(St));
        }
        Api->ConnectionClose(Conn);
    }

    /* ConnectionClose from its own SHUTDOWN_COMPLETE (the handle must not be used after). */
    client_init(&C, 1);
    Conn = NULL;
    if (QUIC_SUCCEEDED(Api->ConnectionOpen(Registration, client_connection, &C, &Conn))) {
        CHECK_STATUS(Api->ConnectionStart(Conn, ClientConfiguration, QUIC_ADDRESS_FAMILY_INET, "127.0.0.1", Port),
                     QUIC_STATUS_SUCCESS, "ConnectionStart (close-in-callback)");
        CHECK(tu_event_wait(&C.Connected, 1, WAIT_MS) == 1, "connected (close-in-callback)");
        Api->ConnectionShutdown(Conn, QUIC_CONNECTION_SHUTDOWN_FLAG_NONE, 7);
        CHECK(tu_event_wait(&C.ShutdownComplete, 1, WAIT_MS) == 1,
              "SHUTDOWN_COMPLETE, ConnectionClose inside it returned");
    }
}

/* ConnectionStart from inside another connection's callback (a proxy's pattern): MsQuic
 * queues the start (docs/api/ConnectionStart.md; QUIC_STATUS_PENDING), whichever worker the
 * new connection belongs to. Two new connections, so that one is on another worker. */
typedef struct NESTED {
    uint16_t Port;
    CLIENT_CTX Inner[2];
    HQUIC Conns[2];
    QUIC_STATUS Start[2];
    TU_EVENT Done;
    TU_EVENT ShutdownComplete;
} NESTED;

static QUIC_STATUS QUIC_API nesting_connection(HQUIC Connection, void* Context, QUIC_CONNECTION_EVENT* Event)
{
    NESTED* N = (NESTED*)Context;
    if (Event->Type == QUIC_CONNECTION_EVENT_CONNECTED) {
        for (int i = 0; i < 2; i++) {
            N->Conns[i] = NULL;
            N->Start[i] = Api->ConnectionOpen(Registration, client_connection, &N->Inner[i], &N->Conns[i]);
            if (QUIC_SUCCEEDED(N->Start[i])) {
                N->Start[i] = Api->ConnectionStart(N->Conns[i], ClientConfiguration, QUIC_ADDRESS_FAMILY_INET,
                                                   "localhost", N->Port);
            }
        }
        tu_event_signal(&N->Done, Connection, NULL, 0);
    } else if (Event->Type == QUIC_CONNECTION_EVENT_SHUTDOWN_COMPLETE) {
        tu_event_signal(&N->ShutdownComplete, Connection, NULL, 0);
    }
    return QUIC_STATUS_SUCCESS;
}

static void test_start_from_callback(uint16_t Port)
{
    NESTED N;
    HQUIC Conn = NULL;
    memset(&N, 0, sizeof(N));
    N.Port = Port;
    tu_event_init(&N.Done);
    tu_event_init(&N.ShutdownComplete);
    client_init(&N.Inner[0], 0);
    client_init(&N.Inner[1], 0);
    if (QUIC_FAILED(Api->ConnectionOpen(Registration, nesting_connection, &N, &Conn)) ||
        QUIC_FAILED(Api->ConnectionStart(Conn, ClientConfiguration, QUIC_ADDRESS_FAMILY_INET, "localhost", Port))) {
        CHECK(0, "start-from-callback: outer connection");
        return;
    }
    CHECK(tu_event_wait(&N.Done, 1, WAIT_MS) == 1, "outer CONNECTED");
    for (int i = 0; i < 2; i++) {
        CHECK(QUIC_SUCCEEDED(N.Start[i]), "ConnectionStart %d from another connection's callback succeeds (%s)", i,
              tu_status_name(N.Start[i]));
        if (QUIC_SUCCEEDED(N.Start[i])) {
            CHECK(tu_event_wait(&N.Inner[i].Connected, 1, WAIT_MS) == 1, "connection %d started from a callback connects",
                  i);
        }
        if (N.Conns[i] != NULL) {
            Api->ConnectionShutdown(N.Conns[i], QUIC_CONNECTION_SHUTDOWN_FLAG_NONE, 0);
            tu_event_wait(&N.Inner[i].ShutdownComplete, 1, WAIT_MS);
            Api->ConnectionClose(N.Conns[i]);
        }
    }
    Api->ConnectionShutdown(Conn, QUIC_CONNECTION_SHUTDOWN_FLAG_NONE, 0);
    CHECK(tu_event_wait(&N.ShutdownComplete, 1, WAIT_MS) == 1, "outer SHUTDOWN_COMPLETE");
    Api->ConnectionClose(Conn);
}

/* ConnectionSetConfiguration for a connection accepted on one worker, called from a callback
 * on the other worker (MsQuic queues it: QUIC_STATUS_PENDING). */
typedef struct HELPER {
    TU_EVENT Connected;
    TU_EVENT ShutdownComplete;
    pthread_t Thread;
} HELPER;

static QUIC_STATUS QUIC_API helper_connection(HQUIC Connection, void* Context, QUIC_CONNECTION_EVENT* Event)
{
    HELPER* H = (HELPER*)Context;
    if (Event->Type == QUIC_CONNECTION_EVENT_CONNECTED) {
        H->Thread = pthread_self();
        tu_event_signal(&H->Connected, Connection, NULL, 0);
    } else if (Event->Type == QUIC_CONNECTION_EVENT_SHUTDOWN_COMPLETE) {
        tu_event_signal(&H->ShutdownComplete, Connection, NULL, 0);
    }
    return QUIC_STATUS_SUCCESS;
}

typedef struct CONFIGURER {
    HQUIC Target;
    QUIC_STATUS Result;
    TU_EVENT Done;
} CONFIGURER;

static QUIC_STATUS QUIC_API configurer_stream(HQUIC Stream, void* Context, QUIC_STREAM_EVENT* Event)
{
    CONFIGURER* K = (CONFIGURER*)Context;
    if (Event->Type == QUIC_STREAM_EVENT_START_COMPLETE) {
        K->Result = Api->ConnectionSetConfiguration(K->Target, ServerConfiguration);
        tu_event_signal(&K->Done, Stream, NULL, 0);
    } else if (Event->Type == QUIC_STREAM_EVENT_SHUTDOWN_COMPLETE) {
        Api->StreamClose(Stream);
    }
    return QUIC_STATUS_SUCCESS;
}

static void test_set_configuration_from_other_worker(uint16_t Port, LISTENER_CTX* L)
{
    HELPER H[2];
    HQUIC Helpers[2] = { NULL, NULL };
    CLIENT_CTX C;
    CONFIGURER K;
    HQUIC Conn = NULL, Stream = NULL;
    int Chosen = -1;
    memset(H, 0, sizeof(H));
    memset(&K, 0, sizeof(K));
    tu_event_init(&K.Done);
    for (int i = 0; i < 2; i++) {
        tu_event_init(&H[i].Connected);
        tu_event_init(&H[i].ShutdownComplete);
        if (QUIC_SUCCEEDED(Api->ConnectionOpen(Registration, helper_connection, &H[i], &Helpers[i]))) {
            Api->ConnectionStart(Helpers[i], ClientConfiguration, QUIC_ADDRESS_FAMILY_INET, "localhost", Port);
        }
    }
    for (int i = 0; i < 2; i++) tu_event_wait(&H[i].Connected, 1, WAIT_MS);
    L->DeferConfiguration = 1;
    L->Deferred = NULL;
    tu_event_init(&L->NewConnection);
    client_init(&C, 0);
    if (QUIC_SUCCEEDED(Api->ConnectionOpen(Registration, client_connection, &C, &Conn))) {
        Api->ConnectionStart(Conn, ClientConfiguration, QUIC_ADDRESS_FAMILY_INET, "localhost", Port);
    }
    CHECK(tu_event_wait(&L->NewConnection, 1, WAIT_MS) == 1, "NEW_CONNECTION, configuration deferred");
    L->DeferConfiguration = 0;
    for (int i = 0; i < 2; i++) {
        if (H[i].Connected.Count == 1 && !pthread_equal(H[i].Thread, L->DeferredThread)) Chosen = i;
    }
    if (Chosen < 0 || L->Deferred == NULL) {
        SKIP("no callback on a worker other than the accepted connection's (one worker only?)");
        if (L->Deferred != NULL) Api->ConnectionSetConfiguration(L->Deferred, ServerConfiguration);
    } else {
        K.Target = L->Deferred;
        if (QUIC_SUCCEEDED(Api->StreamOpen(Helpers[Chosen], QUIC_STREAM_OPEN_FLAG_NONE, configurer_stream, &K, &Stream)) &&
            QUIC_SUCCEEDED(Api->StreamStart(Stream, QUIC_STREAM_START_FLAG_IMMEDIATE))) {
            CHECK(tu_event_wait(&K.Done, 1, WAIT_MS) == 1, "START_COMPLETE on the other worker");
            CHECK(QUIC_SUCCEEDED(K.Result), "ConnectionSetConfiguration from another worker's callback succeeds (%s)",
                  tu_status_name(K.Result));
            CHECK(tu_event_wait(&C.Connected, 1, WAIT_MS) == 1, "the connection configured that way connects");
            Api->StreamShutdown(Stream, QUIC_STREAM_SHUTDOWN_FLAG_ABORT | QUIC_STREAM_SHUTDOWN_FLAG_IMMEDIATE, 0);
        }
    }
    if (Conn != NULL) {
        Api->ConnectionShutdown(Conn, QUIC_CONNECTION_SHUTDOWN_FLAG_NONE, 0);
        tu_event_wait(&C.ShutdownComplete, 1, WAIT_MS);
        Api->ConnectionClose(Conn);
    }
    for (int i = 0; i < 2; i++) {
        if (Helpers[i] == NULL) continue;
        Api->ConnectionShutdown(Helpers[i], QUIC_CONNECTION_SHUTDOWN_FLAG_NONE, 0);
        tu_event_wait(&H[i].ShutdownComplete, 1, WAIT_MS);
        Api->ConnectionClose(Helpers[i]);
    }
}

/* RECEIVE answered with PENDING; the data is read on this thread after more has arrived. */
static void test_pending_receive(uint16_t Port)
{
    CLIENT_CTX C;
    STREAM_CTX S;
    HQUIC Conn = NULL, Stream = NULL;
    static uint8_t Data[PENDING_BYTES];
    static QUIC_BUFFER Buffers[8];
    uint64_t Expected = 0;
    int Bad = 0, Rounds = 0;
    client_init(&C, 0);
    memset(&S, 0, sizeof(S));
    tu_event_init(&S.ShutdownComplete);
    tu_event_init(&PendingReceive);
    for (uint64_t i = 0; i < PENDING_BYTES; i++) Data[i] = pending_pattern(i);
    PendingMode = 1;
    if (QUIC_FAILED(Api->ConnectionOpen(Registration, client_connection, &C, &Conn)) ||
        QUIC_FAILED(Api->ConnectionStart(Conn, ClientConfiguration, QUIC_ADDRESS_FAMILY_INET, "localhost", Port)) ||
        tu_event_wait(&C.Connected, 1, WAIT_MS) != 1 ||
        QUIC_FAILED(Api->StreamOpen(Conn, QUIC_STREAM_OPEN_FLAG_NONE, client_stream, &S, &Stream)) ||
        QUIC_FAILED(Api->StreamStart(Stream, QUIC_STREAM_START_FLAG_IMMEDIATE))) {
        CHECK(0, "pending receive: connection and stream");
        PendingMode = 0;
        return;
    }
    for (int k = 0; k < 8; k++) {
        Buffers[k].Buffer = Data + (size_t)k * 32768;
        Buffers[k].Length = 32768;
        Api->StreamSend(Stream, &Buffers[k], 1, k == 7 ? QUIC_SEND_FLAG_FIN : QUIC_SEND_FLAG_NONE, NULL);
    }
    while (Rounds < 64) {
        if (tu_event_wait(&PendingReceive, Rounds + 1, WAIT_MS) != Rounds + 1) break;
        Rounds++;
        usleep(20000);                            /* more data arrives while the app holds these */
        uint64_t Offset = PendingOffset;
        if (Offset != Expected) Bad = 1;
        for (uint32_t i = 0; i < PendingCount; i++) {
            for (uint32_t j = 0; j < PendingBuffers[i].Length; j++) {
                if (PendingBuffers[i].Buffer[j] != pending_pattern(Offset)) Bad = 1;
                Offset++;
            }
        }
        Expected = Offset;
        int Fin = PendingFin;
        Api->StreamReceiveComplete(PendingStream, PendingLength);
        if (Fin || Expected >= PENDING_BYTES) break;
    }
    CHECK(!Bad && Expected == PENDING_BYTES,
          "PENDING receives: every held buffer intact until StreamReceiveComplete (%llu bytes, %d rounds)",
          (unsigned long long)Expected, Rounds);
    PendingMode = 0;
    Api->ConnectionShutdown(Conn, QUIC_CONNECTION_SHUTDOWN_FLAG_NONE, 0);
    CHECK(tu_event_wait(&C.ShutdownComplete, 1, WAIT_MS) == 1, "pending receive: SHUTDOWN_COMPLETE");
    Api->ConnectionClose(Conn);
}

typedef struct CLOSER {
    HQUIC Registration;
    TU_EVENT Done;
} CLOSER;

static void* close_registration(void* Arg)
{
    CLOSER* R = (CLOSER*)Arg;
    Api->RegistrationClose(R->Registration);
    tu_event_signal(&R->Done, NULL, NULL, 0);
    return NULL;
}

static void test_registration_close_blocks(uint16_t Port)
{
    CLOSER R;
    CLIENT_CTX C;
    HQUIC Conn = NULL;
    HQUIC Config = NULL;
    QUIC_BUFFER Alpn = tu_alpn(ALPN);
    QUIC_CREDENTIAL_CONFIG Cred;
    pthread_t Thread;
    memset(&R, 0, sizeof(R));
    tu_event_init(&R.Done);
    client_init(&C, 0);
    if (QUIC_FAILED(Api->RegistrationOpen(NULL, &R.Registration))) {
        CHECK(0, "second registration");
        return;
    }
    memset(&Cred, 0, sizeof(Cred));
    Cred.Type = QUIC_CREDENTIAL_TYPE_NONE;
    Cred.Flags = QUIC_CREDENTIAL_FLAG_CLIENT | QUIC_CREDENTIAL_FLAG_NO_CERTIFICATE_VALIDATION;
    CHECK_STATUS(Api->ConfigurationOpen(R.Registration, &Alpn, 1, NULL, 0, NULL, &Config), QUIC_STATUS_SUCCESS,
                 "configuration in the second registration");
    if (Config == NULL) return;
    Api->ConfigurationLoadCredential(Config, &Cred);
    CHECK_STATUS(Api->ConnectionOpen(R.Registration, client_connection, &C, &Conn), QUIC_STATUS_SUCCESS,
                 "connection in the second registration");
    if (Conn == NULL) return;
    CHECK_STATUS(Api->ConnectionStart(Conn, Config, QUIC_ADDRESS_FAMILY_INET, "localhost", Port),
                 QUIC_STATUS_SUCCESS, "ConnectionStart (second registration)");
    CHECK(tu_event_wait(&C.Connected, 1, WAIT_MS) == 1, "connected (second registration)");
    Api->ConfigurationClose(Config);
    pthread_create(&Thread, NULL, close_registration, &R);
    CHECK(tu_event_wait(&R.Done, 1, 500) == 0, "RegistrationClose waits while a connection is open");
    Api->ConnectionShutdown(Conn, QUIC_CONNECTION_SHUTDOWN_FLAG_NONE, 0);
    CHECK(tu_event_wait(&C.ShutdownComplete, 1, WAIT_MS) == 1, "SHUTDOWN_COMPLETE (second registration)");
    Api->ConnectionClose(Conn);
    CHECK(tu_event_wait(&R.Done, 1, WAIT_MS) == 1, "RegistrationClose returns once the connection is closed");
    pthread_join(Thread, NULL);
}

static void test_open_close_loop(uint16_t Port)
{
    int FdsBefore = count_dir("/proc/self/fd");
    int ThreadsBefore = count_dir("/proc/self/task");
    int Connected = 0;
    const int Rounds = 30;
    for (int i = 0; i < Rounds; i++) {
        CLIENT_CTX C;
        HQUIC Conn = NULL;
        client_init(&C, 0);
        if (QUIC_FAILED(Api->ConnectionOpen(Registration, client_connection, &C, &Conn))) break;
        if (i % 3 == 2) {                                  /* never started */
            Api->ConnectionClose(Conn);
            continue;
        }
        if (QUIC_SUCCEEDED(Api->ConnectionStart(Conn, ClientConfiguration, QUIC_ADDRESS_FAMILY_INET, "localhost",
                                                Port))) {
            if (i % 3 == 0) {
                if (tu_event_wait(&C.Connected, 1, WAIT_MS) == 1) Connected++;
                Api->ConnectionShutdown(Conn, QUIC_CONNECTION_SHUTDOWN_FLAG_NONE, 0);
                tu_event_wait(&C.ShutdownComplete, 1, WAIT_MS);
            }
        }
        Api->ConnectionClose(Conn);                        /* i % 3 == 1: closed mid-handshake */
    }
    CHECK(Connected == (Rounds + 2) / 3, "open/close loop: %d of %d connected", Connected, (Rounds + 2) / 3);
    /* The server side closes its half on the workers; give it a moment. */
    for (int i = 0; i < 50 && count_dir("/proc/self/fd") > FdsBefore; i++) usleep(100000);
    CHECK(count_dir("/proc/self/fd") <= FdsBefore, "no file descriptor left over (%d before, %d after)", FdsBefore,
          count_dir("/proc/self/fd"));
    CHECK(count_dir("/proc/self/task") <= ThreadsBefore, "no thread left over (%d before, %d after)", ThreadsBefore,
          count_dir("/proc/self/task"));
}

/* MsQuicClose with a listener, a connection and a stream still open: returns, no crash. */
static void test_close_library_with_open_handles(uint16_t Port, HQUIC Listener)
{
    CLIENT_CTX C;
    HQUIC Conn = NULL;
    HQUIC Stream = NULL;
    STREAM_CTX S;
    memset(&S, 0, sizeof(S));
    tu_event_init(&S.ShutdownComplete);
    client_init(&C, 0);
    if (QUIC_SUCCEEDED(Api->ConnectionOpen(Registration, client_connection, &C, &Conn)) &&
        QUIC_SUCCEEDED(Api->ConnectionStart(Conn, ClientConfiguration, QUIC_ADDRESS_FAMILY_INET, "localhost", Port))) {
        tu_event_wait(&C.Connected, 1, WAIT_MS);
        Api->StreamOpen(Conn, QUIC_STREAM_OPEN_FLAG_NONE, client_stream, &S, &Stream);
        if (Stream != NULL) Api->StreamStart(Stream, QUIC_STREAM_START_FLAG_IMMEDIATE);
    }
    (void)Listener;
    MsQuicClose(Api);
    CHECK(1, "MsQuicClose with a listener, connection, stream, configurations and a registration open returns");
}

/* After the last MsQuicClose the library opens again, and closing it leaves no thread and no
 * file descriptor behind. */
static void test_reopen(int FdsAtStart, int ThreadsAtStart)
{
    HQUIC Reg = NULL;
    int Fds = count_dir("/proc/self/fd");
    int Threads = count_dir("/proc/self/task");
    CHECK(Threads == ThreadsAtStart, "the last MsQuicClose stopped every worker thread (%d, at start %d)", Threads,
          ThreadsAtStart);
    CHECK(Fds == FdsAtStart, "the last MsQuicClose closed every socket (%d fds, at start %d)", Fds, FdsAtStart);
    if (Fds != FdsAtStart) dump_fds();
    CHECK_STATUS(MsQuicOpen2(&Api), QUIC_STATUS_SUCCESS, "MsQuicOpen2 after the last MsQuicClose");
    if (Api == NULL) return;
    CHECK_STATUS(Api->RegistrationOpen(NULL, &Reg), QUIC_STATUS_SUCCESS, "RegistrationOpen after a reopen");
    if (Reg != NULL) Api->RegistrationClose(Reg);
    MsQuicClose(Api);
    CHECK(count_dir("/proc/self/task") == ThreadsAtStart, "no thread left after the second MsQuicClose");
}

int main(void)
{
    QUIC_BUFFER Alpn = tu_alpn(ALPN);
    QUIC_SETTINGS Settings;
    QUIC_CREDENTIAL_CONFIG Cred;
    QUIC_CERTIFICATE_FILE Files;
    LISTENER_CTX L;
    HQUIC Listener;
    uint16_t Port = 0;

    int FdsAtStart, ThreadsAtStart;

    tu_start_watchdog(WATCHDOG_SECONDS);
    tu_event_init(&ServerStreamShutdown);
    if (tu_cert_dir() == NULL) {
        CHECK(0, "certificates available");
        return tu_finish();
    }
    FdsAtStart = count_dir("/proc/self/fd");
    ThreadsAtStart = count_dir("/proc/self/task");
    if (MsQuicOpen2(&Api) != QUIC_STATUS_SUCCESS || QUIC_FAILED(Api->RegistrationOpen(NULL, &Registration))) {
        CHECK(0, "MsQuicOpen2 and RegistrationOpen");
        return tu_finish();
    }
    memset(&Settings, 0, sizeof(Settings));
    Settings.IsSet.PeerBidiStreamCount = 1;
    Settings.PeerBidiStreamCount = 4;
    Settings.IsSet.IdleTimeoutMs = 1;
    Settings.IdleTimeoutMs = 5000;
    CHECK_STATUS(Api->ConfigurationOpen(Registration, &Alpn, 1, &Settings, sizeof(Settings), NULL,
                                        &ServerConfiguration), QUIC_STATUS_SUCCESS, "server ConfigurationOpen");
    memset(&Cred, 0, sizeof(Cred));
    Files.CertificateFile = tu_cert("server.crt");
    Files.PrivateKeyFile = tu_cert("server.key");
    Cred.Type = QUIC_CREDENTIAL_TYPE_CERTIFICATE_FILE;
    Cred.CertificateFile = &Files;
    CHECK_STATUS(Api->ConfigurationLoadCredential(ServerConfiguration, &Cred), QUIC_STATUS_SUCCESS,
                 "server credential");
    memset(&Settings, 0, sizeof(Settings));
    Settings.IsSet.IdleTimeoutMs = 1;
    Settings.IdleTimeoutMs = 5000;
    CHECK_STATUS(Api->ConfigurationOpen(Registration, &Alpn, 1, &Settings, sizeof(Settings), NULL,
                                        &ClientConfiguration), QUIC_STATUS_SUCCESS, "client ConfigurationOpen");
    memset(&Cred, 0, sizeof(Cred));
    Cred.Type = QUIC_CREDENTIAL_TYPE_NONE;
    Cred.Flags = QUIC_CREDENTIAL_FLAG_CLIENT | QUIC_CREDENTIAL_FLAG_NO_CERTIFICATE_VALIDATION;
    CHECK_STATUS(Api->ConfigurationLoadCredential(ClientConfiguration, &Cred), QUIC_STATUS_SUCCESS,
                 "client credential");

    test_listener_misuse();

    memset(&L, 0, sizeof(L));
    tu_event_init(&L.StopComplete);
    tu_event_init(&L.NewConnection);
    Listener = start_listener(&L, &Port);
    CHECK(Listener != NULL && Port != 0, "listener on 127.0.0.1 (port %u)", Port);
    if (Listener == NULL || Port == 0) return tu_finish();

    test_connection_start_misuse(Port);
    test_pending_receive(Port);
    test_start_from_callback(Port);
    test_set_configuration_from_other_worker(Port, &L);
    test_registration_close_blocks(Port);
    test_open_close_loop(Port);
    test_close_library_with_open_handles(Port, Listener);
    test_reopen(FdsAtStart, ThreadsAtStart);
    return tu_finish();
}
