/*
 * api_stress.c - the C API hammered from several application threads while the workers run
 * callbacks, all on 127.0.0.1 with ephemeral ports, bounded by time (and by an iteration cap).
 *
 * Built like every C test (a CTest against the release library: crashes, hangs, lifetime
 * errors), and by scripts/sanitize.sh thread against a ThreadSanitizer build of the library,
 * where any TSan report fails the run (Tests/SANITIZERS.md).
 *
 * What runs at once:
 *  - STRESS_THREADS application threads, each picking scenarios at random:
 *      client connections opened, started, given streams (opened, started, sent on, shut down,
 *      closed) and ended by ConnectionShutdown + wait, by ConnectionClose at once (racing the
 *      handshake and every event), with StreamClose racing stream events, SetParam/GetParam
 *      and SetContext/GetContext on the live handles;
 *      listeners opened, started on 127.0.0.1:0, connected to, stopped/closed at once;
 *      registrations and configurations opened, used by a connection and closed; library
 *      references taken (MsQuicOpen2) and given back while the library is in use;
 *      one connection shared by every thread (streams, datagrams, receive toggles and
 *      parameters from all of them at once).
 *  - the server side: NEW_CONNECTION accepted (or refused), streams echoed, aborted, closed in
 *    their callbacks; some server connections shut down in CONNECTED.
 *  - a reaper thread that sends a datagram and a resumption ticket on live server connections
 *    and ConnectionCloses them from outside any callback; server CONNECTED does the same from
 *    inside.
 *
 * Every callback checks that GetContext(handle) is the Context it was called with: MsQuic keeps
 * a handle and its context valid until after its final callback (also the SHUTDOWN_COMPLETE
 * that ConnectionClose delivers, and stream events racing a StreamClose on another thread).
 *
 * Environment: STRESS_SECONDS (default 6), STRESS_THREADS (default 4), STRESS_ITERATIONS (per
 * thread, default 1000000), STRESS_SEED.
 */
#include "testutil.h"

#include <stdatomic.h>

#define ALPN "stress"
#define MAX_STREAMS 4

static const QUIC_API_TABLE* Api;
static HQUIC Registration;
static HQUIC ServerConfiguration;
static HQUIC ClientConfiguration;
static uint16_t Port;
static QUIC_BUFFER Alpn;
static atomic_int Stopping;

static uint8_t Payload[1500];
static QUIC_BUFFER PayloadBuffer = { sizeof(Payload), Payload };
static uint8_t Small[100];
static QUIC_BUFFER SmallBuffer = { sizeof(Small), Small };      /* datagrams */
static uint8_t Reply[64];
static QUIC_BUFFER ReplyBuffer = { sizeof(Reply), Reply };

/* Counters (atomics: callbacks on every worker bump them). */
static atomic_long BadContext;          /* GetContext(handle) != the callback's Context */
static atomic_long Connected;
static atomic_long ClientConnections;
static atomic_long ServerConnections;
static atomic_long StreamEvents;
static atomic_long Scenario[5];
static atomic_long ReaperCloses;
static atomic_long Refused;

static uint32_t next_random(uint32_t* State)
{
    uint32_t X = *State;
    X ^= X << 13;
    X ^= X >> 17;
    X ^= X << 5;
    *State = X != 0 ? X : 0x9E3779B9u;
    return *State;
}

static _Thread_local uint32_t CallbackRandom;

static uint32_t callback_random(void)
{
    if (CallbackRandom == 0) CallbackRandom = (uint32_t)(uintptr_t)&CallbackRandom | 1u;
    return next_random(&CallbackRandom);
}

/* Kind: 'L'istener, 'C'onnection, 'S'tream; Type: the event type. */
static void check_context(HQUIC Handle, void* Context, char Kind, int Type)
{
    void* Got = Api->GetContext(Handle);
    if (Got != Context && atomic_fetch_add(&BadContext, 1) < 5) {
        fprintf(stderr, "api_stress: %c event %d: GetContext gave %p, the callback's Context is %p\n", Kind, Type, Got,
                Context);
    }
}

/* ---- contexts -------------------------------------------------------------- */

typedef struct STREAM_CTX {
    HQUIC Handle;
    atomic_int Claimed;                 /* whoever sets it calls StreamClose */
    int CloseInCallback;                /* SHUTDOWN_COMPLETE may close (and claim) it... */
    atomic_int AppHolds;                /* ...but not while the app thread still uses the handle */
    atomic_int Completed;               /* SHUTDOWN_COMPLETE seen */
    TU_EVENT Done;
    struct STREAM_CTX* Next;            /* server streams: freed at the end */
} STREAM_CTX;

typedef struct CONN_CTX {
    HQUIC Handle;
    atomic_int Claimed;                 /* server: whoever sets it calls ConnectionClose */
    atomic_int Finished;                /* SHUTDOWN_COMPLETE seen */
    TU_EVENT Up;
    TU_EVENT Done;
    STREAM_CTX* Streams[MAX_STREAMS];
    int StreamCount;
    struct CONN_CTX* Next;              /* server connections: freed at the end */
} CONN_CTX;

static pthread_mutex_t ServerLock = PTHREAD_MUTEX_INITIALIZER;
static CONN_CTX* ServerConns;           /* every accepted server connection (freed at the end) */
static STREAM_CTX* ServerStreams;       /* every server stream context (freed at the end) */

static CONN_CTX* new_conn(void)
{
    CONN_CTX* C = (CONN_CTX*)calloc(1, sizeof(CONN_CTX));
    if (C == NULL) abort();
    tu_event_init(&C->Up);
    tu_event_init(&C->Done);
    return C;
}

static void free_conn(CONN_CTX* C)
{
    pthread_mutex_destroy(&C->Up.Lock);
    pthread_cond_destroy(&C->Up.Cond);
    pthread_mutex_destroy(&C->Done.Lock);
    pthread_cond_destroy(&C->Done.Cond);
    free(C);
}

static STREAM_CTX* new_stream(void)
{
    STREAM_CTX* S = (STREAM_CTX*)calloc(1, sizeof(STREAM_CTX));
    if (S == NULL) abort();
    tu_event_init(&S->Done);
    return S;
}

static void free_stream(STREAM_CTX* S)
{
    pthread_mutex_destroy(&S->Done.Lock);
    pthread_cond_destroy(&S->Done.Cond);
    free(S);
}

/* ---- server --------------------------------------------------------------- */

static QUIC_STATUS QUIC_API server_stream(HQUIC Stream, void* Context, QUIC_STREAM_EVENT* Event)
{
    STREAM_CTX* S = (STREAM_CTX*)Context;
    check_context(Stream, Context, 'S', (int)Event->Type);
    atomic_fetch_add(&StreamEvents, 1);
    switch (Event->Type) {
    case QUIC_STREAM_EVENT_RECEIVE:
        if (callback_random() % 16 == 0) {
            Api->StreamShutdown(Stream, QUIC_STREAM_SHUTDOWN_FLAG_ABORT, 3);
        }
        break;
    case QUIC_STREAM_EVENT_PEER_SEND_SHUTDOWN:
        Api->StreamSend(Stream, &ReplyBuffer, 1, QUIC_SEND_FLAG_FIN, NULL);
        break;
    case QUIC_STREAM_EVENT_SHUTDOWN_COMPLETE:
        if (atomic_exchange(&S->Claimed, 1) == 0) Api->StreamClose(Stream);
        break;
    default:
        break;
    }
    return QUIC_STATUS_SUCCESS;
}

static QUIC_STATUS QUIC_API server_connection(HQUIC Connection, void* Context, QUIC_CONNECTION_EVENT* Event)
{
    CONN_CTX* C = (CONN_CTX*)Context;
    check_context(Connection, Context, 'C', (int)Event->Type);
    switch (Event->Type) {
    case QUIC_CONNECTION_EVENT_CONNECTED:
        if (callback_random() % 4 == 0) {
            Api->ConnectionSendResumptionTicket(Connection, QUIC_SEND_RESUMPTION_FLAG_NONE, 0, NULL);
        }
        if (callback_random() % 2 == 0) Api->DatagramSend(Connection, &SmallBuffer, 1, QUIC_SEND_FLAG_NONE, NULL);
        if (callback_random() % 16 == 0) Api->ConnectionShutdown(Connection, QUIC_CONNECTION_SHUTDOWN_FLAG_NONE, 5);
        break;
    case QUIC_CONNECTION_EVENT_PEER_STREAM_STARTED: {
        STREAM_CTX* S = new_stream();
        S->Handle = Event->PEER_STREAM_STARTED.Stream;
        pthread_mutex_lock(&ServerLock);
        S->Next = ServerStreams;
        ServerStreams = S;
        pthread_mutex_unlock(&ServerLock);
        if (callback_random() % 32 == 0) {
            /* Refused: the library aborts the stream and closes the handle itself. */
            atomic_store(&S->Claimed, 1);
            return QUIC_STATUS_ABORTED;
        }
        Api->SetCallbackHandler(S->Handle, (void*)server_stream, S);
        break;
    }
    case QUIC_CONNECTION_EVENT_SHUTDOWN_COMPLETE: {
        uint32_t Length;
        QUIC_STATISTICS_V2 Stats;
        Length = sizeof(Stats);
        Api->GetParam(Connection, QUIC_PARAM_CONN_STATISTICS_V2, &Length, &Stats);
        atomic_store(&C->Finished, 1);
        if (atomic_exchange(&C->Claimed, 1) == 0) Api->ConnectionClose(Connection);
        break;
    }
    default:
        break;
    }
    return QUIC_STATUS_SUCCESS;
}

static QUIC_STATUS QUIC_API listener_callback(HQUIC Listener, void* Context, QUIC_LISTENER_EVENT* Event)
{
    check_context(Listener, Context, 'L', (int)Event->Type);
    if (Event->Type == QUIC_LISTENER_EVENT_NEW_CONNECTION) {
        HQUIC Connection = Event->NEW_CONNECTION.Connection;
        QUIC_STATUS Status;
        CONN_CTX* C;
        if (callback_random() % 32 == 0) {
            atomic_fetch_add(&Refused, 1);
            return QUIC_STATUS_CONNECTION_REFUSED;
        }
        C = new_conn();
        C->Handle = Connection;
        Api->SetCallbackHandler(Connection, (void*)server_connection, C);
        Status = Api->ConnectionSetConfiguration(Connection, ServerConfiguration);
        if (QUIC_FAILED(Status)) {
            free_conn(C);
            return Status;
        }
        atomic_fetch_add(&ServerConnections, 1);
        pthread_mutex_lock(&ServerLock);
        C->Next = ServerConns;
        ServerConns = C;
        pthread_mutex_unlock(&ServerLock);
    }
    return QUIC_STATUS_SUCCESS;
}

/* Closes live server connections from outside any callback, at random moments. */
static void* reaper(void* Arg)
{
    uint32_t Random = 0xC0FFEEu;
    (void)Arg;
    while (!atomic_load(&Stopping)) {
        CONN_CTX* Victim = NULL;
        int Skip = (int)(next_random(&Random) % 8);
        if (next_random(&Random) % 16 != 0) {    /* most server connections end on their own */
            usleep(2000);
            continue;
        }
        pthread_mutex_lock(&ServerLock);
        for (CONN_CTX* C = ServerConns; C != NULL; C = C->Next) {
            if (atomic_load(&C->Claimed)) continue;
            if (Skip-- > 0) continue;
            if (atomic_exchange(&C->Claimed, 1) == 0) Victim = C;
            break;
        }
        pthread_mutex_unlock(&ServerLock);
        if (Victim != NULL) {
            uint32_t Length;
            QUIC_STATISTICS_V2 Stats;
            if (Api->GetContext(Victim->Handle) != Victim) atomic_fetch_add(&BadContext, 1);
            Api->SetContext(Victim->Handle, Victim);
            Length = sizeof(Stats);
            Api->GetParam(Victim->Handle, QUIC_PARAM_CONN_STATISTICS_V2, &Length, &Stats);
            /* Calls queued to the connection's worker from outside it, racing its events. */
            Api->DatagramSend(Victim->Handle, &SmallBuffer, 1, QUIC_SEND_FLAG_NONE, NULL);
            Api->ConnectionSendResumptionTicket(Victim->Handle, QUIC_SEND_RESUMPTION_FLAG_NONE, 0, NULL);
            if (next_random(&Random) % 2) Api->ConnectionShutdown(Victim->Handle, QUIC_CONNECTION_SHUTDOWN_FLAG_NONE, 9);
            Api->ConnectionClose(Victim->Handle);
            atomic_fetch_add(&ReaperCloses, 1);
        }
        usleep(1000 + next_random(&Random) % 4000);
    }
    return NULL;
}

/* ---- client --------------------------------------------------------------- */

static QUIC_STATUS QUIC_API client_stream(HQUIC Stream, void* Context, QUIC_STREAM_EVENT* Event)
{
    STREAM_CTX* S = (STREAM_CTX*)Context;
    check_context(Stream, Context, 'S', (int)Event->Type);
    atomic_fetch_add(&StreamEvents, 1);
    switch (Event->Type) {
    case QUIC_STREAM_EVENT_RECEIVE:
        if (callback_random() % 2) {
            uint64_t Length = Event->RECEIVE.TotalBufferLength;
            if (Length > 0) Length--;
            Event->RECEIVE.TotalBufferLength = Length;   /* partial consumption */
        }
        break;
    case QUIC_STREAM_EVENT_SHUTDOWN_COMPLETE:
        tu_event_signal(&S->Done, Stream, NULL, 0);
        /* Dekker with client_stream_open: the callback or the app thread (or both) sees the
           other's store, so the stream is closed in a callback only once the app let go. */
        atomic_store(&S->Completed, 1);
        if (S->CloseInCallback && atomic_load(&S->AppHolds) == 0 && atomic_exchange(&S->Claimed, 1) == 0) {
            Api->StreamClose(Stream);
        }
        break;
    default:
        break;
    }
    return QUIC_STATUS_SUCCESS;
}

static QUIC_STATUS QUIC_API client_connection(HQUIC Connection, void* Context, QUIC_CONNECTION_EVENT* Event)
{
    CONN_CTX* C = (CONN_CTX*)Context;
    check_context(Connection, Context, 'C', (int)Event->Type);
    switch (Event->Type) {
    case QUIC_CONNECTION_EVENT_CONNECTED:
        atomic_fetch_add(&Connected, 1);
        tu_event_signal(&C->Up, Connection, NULL, 0);
        break;
    case QUIC_CONNECTION_EVENT_PEER_STREAM_STARTED:
        return QUIC_STATUS_ABORTED;     /* the server opens none */
    case QUIC_CONNECTION_EVENT_SHUTDOWN_COMPLETE:
        atomic_store(&C->Finished, 1);
        tu_event_signal(&C->Up, Connection, NULL, 0);
        tu_event_signal(&C->Done, Connection, NULL, 0);
        break;
    default:
        break;
    }
    return QUIC_STATUS_SUCCESS;
}

static void stream_params(HQUIC Stream, uint32_t* Random)
{
    uint64_t Id;
    uint16_t Priority = (uint16_t)next_random(Random);
    uint32_t Length = sizeof(Id);
    Api->GetParam(Stream, QUIC_PARAM_STREAM_ID, &Length, &Id);
    Api->SetParam(Stream, QUIC_PARAM_STREAM_PRIORITY, sizeof(Priority), &Priority);
    Length = sizeof(Priority);
    Api->GetParam(Stream, QUIC_PARAM_STREAM_PRIORITY, &Length, &Priority);
}

static void conn_params(HQUIC Connection, void* Context)
{
    uint32_t Length;
    QUIC_STATISTICS_V2 Stats;
    QUIC_ADDR Address;
    QUIC_SETTINGS Settings;
    uint32_t Version;
    Length = sizeof(Stats);
    Api->GetParam(Connection, QUIC_PARAM_CONN_STATISTICS_V2, &Length, &Stats);
    Length = sizeof(Address);
    Api->GetParam(Connection, QUIC_PARAM_CONN_REMOTE_ADDRESS, &Length, &Address);
    Length = sizeof(Address);
    Api->GetParam(Connection, QUIC_PARAM_CONN_LOCAL_ADDRESS, &Length, &Address);
    Length = sizeof(Settings);
    Api->GetParam(Connection, QUIC_PARAM_CONN_SETTINGS, &Length, &Settings);
    Length = sizeof(Version);
    Api->GetParam(Connection, QUIC_PARAM_CONN_QUIC_VERSION, &Length, &Version);
    Api->SetParam(Connection, QUIC_PARAM_CONN_CLOSE_REASON_PHRASE, 7, "stress");
    Api->SetContext(Connection, Context);
    if (Api->GetContext(Connection) != Context) atomic_fetch_add(&BadContext, 1);
}

/* Opens, starts and sends on a stream of Connection; NULL when StreamOpen refused. */
static STREAM_CTX* client_stream_open(HQUIC Connection, uint32_t* Random, int CloseInCallback)
{
    STREAM_CTX* S = new_stream();
    QUIC_STREAM_OPEN_FLAGS Flags = next_random(Random) % 3 == 0 ? QUIC_STREAM_OPEN_FLAG_UNIDIRECTIONAL
                                                                 : QUIC_STREAM_OPEN_FLAG_NONE;
    S->CloseInCallback = CloseInCallback;
    atomic_store(&S->AppHolds, 1);
    if (QUIC_FAILED(Api->StreamOpen(Connection, Flags, client_stream, S, &S->Handle))) {
        free_stream(S);
        return NULL;
    }
    Api->StreamStart(S->Handle, next_random(Random) % 2 ? QUIC_STREAM_START_FLAG_IMMEDIATE : QUIC_STREAM_START_FLAG_NONE);
    Api->StreamSend(S->Handle, &PayloadBuffer, 1, next_random(Random) % 4 ? QUIC_SEND_FLAG_FIN : QUIC_SEND_FLAG_NONE,
                    NULL);
    stream_params(S->Handle, Random);
    Api->SetContext(S->Handle, S);
    if (Api->GetContext(S->Handle) != S) atomic_fetch_add(&BadContext, 1);
    /* From here the handle is used only through claim_and_close_stream (and, for streams not
       closed in callbacks, StreamShutdown). */
    atomic_store(&S->AppHolds, 0);
    return S;
}

static void claim_and_close_stream(STREAM_CTX* S)
{
    if (atomic_exchange(&S->Claimed, 1) == 0) Api->StreamClose(S->Handle);
}

/* One client connection to `ServerPort`, ended in one of several ways. */
static void scenario_connection(HQUIC Reg, HQUIC Config, uint16_t ServerPort, uint32_t* Random)
{
    CONN_CTX* C = new_conn();
    uint32_t Ending = next_random(Random) % 5;
    atomic_fetch_add(&ClientConnections, 1);
    if (QUIC_FAILED(Api->ConnectionOpen(Reg, client_connection, C, &C->Handle))) {
        free_conn(C);
        return;
    }
    if (next_random(Random) % 2) conn_params(C->Handle, C);
    if (QUIC_FAILED(Api->ConnectionStart(C->Handle, Config, QUIC_ADDRESS_FAMILY_INET, "127.0.0.1", ServerPort))) {
        Api->ConnectionClose(C->Handle);
        free_conn(C);
        return;
    }
    if (next_random(Random) % 2) tu_event_wait(&C->Up, 1, 3000);
    C->StreamCount = (int)(next_random(Random) % (MAX_STREAMS + 1));
    for (int i = 0; i < C->StreamCount; i++) {
        C->Streams[i] = client_stream_open(C->Handle, Random, (int)(next_random(Random) % 2));
    }
    conn_params(C->Handle, C);
    switch (Ending) {
    case 0: /* graceful: wait for the streams and the shutdown */
        for (int i = 0; i < C->StreamCount; i++) {
            if (C->Streams[i] != NULL) tu_event_wait(&C->Streams[i]->Done, 1, 200);
        }
        Api->ConnectionShutdown(C->Handle, QUIC_CONNECTION_SHUTDOWN_FLAG_NONE, 0);
        tu_event_wait(&C->Done, 1, 10000);
        break;
    case 1: /* StreamClose racing the stream events, then ConnectionClose at once */
        for (int i = 0; i < C->StreamCount; i++) {
            if (C->Streams[i] != NULL) claim_and_close_stream(C->Streams[i]);
        }
        break;
    case 2: /* ConnectionClose at once (racing the handshake and every event) */
        break;
    case 3: /* a little later, aborts from this thread while the worker runs */
        usleep(next_random(Random) % 3000);
        for (int i = 0; i < C->StreamCount; i++) {
            if (C->Streams[i] != NULL && atomic_load(&C->Streams[i]->Claimed) == 0 && !C->Streams[i]->CloseInCallback) {
                Api->StreamShutdown(C->Streams[i]->Handle, QUIC_STREAM_SHUTDOWN_FLAG_ABORT, 1);
            }
        }
        Api->ConnectionShutdown(C->Handle, next_random(Random) % 2 ? QUIC_CONNECTION_SHUTDOWN_FLAG_SILENT
                                                                   : QUIC_CONNECTION_SHUTDOWN_FLAG_NONE, 2);
        break;
    default: /* wait for the handshake to end either way, then close */
        tu_event_wait(&C->Up, 1, 3000);
        break;
    }
    Api->ConnectionClose(C->Handle);
    /* Streams nobody closed yet: their handles stay valid after ConnectionClose. */
    for (int i = 0; i < C->StreamCount; i++) {
        if (C->Streams[i] != NULL) {
            claim_and_close_stream(C->Streams[i]);
            free_stream(C->Streams[i]);
        }
    }
    free_conn(C);
}

/* A listener of its own: opened, started, connected to, stopped/closed at once. */
static void scenario_listener(uint32_t* Random)
{
    HQUIC Listener = NULL;
    QUIC_ADDR Address;
    uint32_t Length = sizeof(Address);
    int Token;
    memset(&Address, 0, sizeof(Address));
    QuicAddrSetFamily(&Address, QUIC_ADDRESS_FAMILY_INET);
    QuicAddrFromString("127.0.0.1", 0, &Address);
    if (QUIC_FAILED(Api->ListenerOpen(Registration, listener_callback, &Token, &Listener))) return;
    if (QUIC_SUCCEEDED(Api->ListenerStart(Listener, &Alpn, 1, &Address)) &&
        QUIC_SUCCEEDED(Api->GetParam(Listener, QUIC_PARAM_LISTENER_LOCAL_ADDRESS, &Length, &Address))) {
        QUIC_LISTENER_STATISTICS Stats;
        Length = sizeof(Stats);
        Api->GetParam(Listener, QUIC_PARAM_LISTENER_STATS, &Length, &Stats);
        if (Api->GetContext(Listener) != &Token) atomic_fetch_add(&BadContext, 1);
        if (next_random(Random) % 2) {
            uint16_t ListenerPort = QuicAddrGetPort(&Address);
            /* Started, then the listener goes while the handshake is under way. */
            CONN_CTX* C = new_conn();
            if (QUIC_SUCCEEDED(Api->ConnectionOpen(Registration, client_connection, C, &C->Handle))) {
                if (QUIC_SUCCEEDED(Api->ConnectionStart(C->Handle, ClientConfiguration, QUIC_ADDRESS_FAMILY_INET,
                                                        "127.0.0.1", ListenerPort))) {
                    usleep(next_random(Random) % 2000);
                }
                if (next_random(Random) % 2) Api->ListenerStop(Listener);
                Api->ListenerClose(Listener);
                Listener = NULL;
                tu_event_wait(&C->Up, 1, (unsigned)(next_random(Random) % 200));
                Api->ConnectionClose(C->Handle);
            }
            free_conn(C);
        } else if (next_random(Random) % 2) {
            Api->ListenerStop(Listener);
        }
    }
    if (Listener != NULL) Api->ListenerClose(Listener);
}

/* A registration and configuration of their own, used by one connection, then closed. */
static void scenario_registration(uint32_t* Random)
{
    HQUIC Reg = NULL, Config = NULL;
    QUIC_REGISTRATION_CONFIG RegConfig = { "stress-churn", QUIC_EXECUTION_PROFILE_LOW_LATENCY };
    QUIC_CREDENTIAL_CONFIG Cred;
    if (QUIC_FAILED(Api->RegistrationOpen(&RegConfig, &Reg))) return;
    if (QUIC_SUCCEEDED(Api->ConfigurationOpen(Reg, &Alpn, 1, NULL, 0, NULL, &Config))) {
        memset(&Cred, 0, sizeof(Cred));
        Cred.Type = QUIC_CREDENTIAL_TYPE_NONE;
        Cred.Flags = (QUIC_CREDENTIAL_FLAGS)(QUIC_CREDENTIAL_FLAG_CLIENT | QUIC_CREDENTIAL_FLAG_NO_CERTIFICATE_VALIDATION);
        if (QUIC_SUCCEEDED(Api->ConfigurationLoadCredential(Config, &Cred))) {
            if (next_random(Random) % 2) {
                scenario_connection(Reg, Config, Port, Random);
            } else {
                CONN_CTX* C = new_conn();
                if (QUIC_SUCCEEDED(Api->ConnectionOpen(Reg, client_connection, C, &C->Handle))) {
                    Api->ConnectionStart(C->Handle, Config, QUIC_ADDRESS_FAMILY_INET, "127.0.0.1", Port);
                    usleep(next_random(Random) % 2000);
                    /* RegistrationShutdown while the connection runs: it is shut down by it. */
                    Api->RegistrationShutdown(Reg, QUIC_CONNECTION_SHUTDOWN_FLAG_NONE, 4);
                    tu_event_wait(&C->Done, 1, 5000);
                    Api->ConnectionClose(C->Handle);
                }
                free_conn(C);
            }
        }
        Api->ConfigurationClose(Config);
    }
    Api->RegistrationClose(Reg);
}

/* One connection shared by every thread; replaced (under the write lock) when it has ended. */
static pthread_rwlock_t SharedLock = PTHREAD_RWLOCK_INITIALIZER;
static CONN_CTX* Shared;

static void shared_open(void)
{
    Shared = new_conn();
    if (QUIC_FAILED(Api->ConnectionOpen(Registration, client_connection, Shared, &Shared->Handle)) ||
        QUIC_FAILED(Api->ConnectionStart(Shared->Handle, ClientConfiguration, QUIC_ADDRESS_FAMILY_INET, "127.0.0.1",
                                         Port))) {
        atomic_store(&Shared->Finished, 1);
    }
}

static void shared_close(void)
{
    if (Shared->Handle != NULL) Api->ConnectionClose(Shared->Handle);
    free_conn(Shared);
    Shared = NULL;
}

static void scenario_shared(uint32_t* Random)
{
    pthread_rwlock_rdlock(&SharedLock);
    if (atomic_load(&Shared->Finished)) {
        pthread_rwlock_unlock(&SharedLock);
        pthread_rwlock_wrlock(&SharedLock);
        if (atomic_load(&Shared->Finished)) {
            shared_close();
            shared_open();
        }
        pthread_rwlock_unlock(&SharedLock);
        return;
    }
    {
        HQUIC Handle = Shared->Handle;
        STREAM_CTX* S;
        conn_params(Handle, Shared);
        Api->DatagramSend(Handle, &SmallBuffer, 1, QUIC_SEND_FLAG_NONE, NULL);
        S = client_stream_open(Handle, Random, 0);
        if (S != NULL) {
            Api->StreamReceiveSetEnabled(S->Handle, (BOOLEAN)(next_random(Random) % 2));
            if (next_random(Random) % 2) tu_event_wait(&S->Done, 1, 500);
            claim_and_close_stream(S);
            free_stream(S);
        }
    }
    pthread_rwlock_unlock(&SharedLock);
}

static void global_params(void)
{
    uint64_t Counters[QUIC_PERF_COUNTER_MAX];
    QUIC_SETTINGS Settings;
    uint32_t Length = sizeof(Counters);
    Api->GetParam(NULL, QUIC_PARAM_GLOBAL_PERF_COUNTERS, &Length, Counters);
    Length = sizeof(Settings);
    Api->GetParam(NULL, QUIC_PARAM_GLOBAL_SETTINGS, &Length, &Settings);
}

/* A library reference of its own (MsQuicOpen2 while others use the library), used, given back. */
static void scenario_library(void)
{
    const QUIC_API_TABLE* Own = NULL;
    HQUIC Reg = NULL, Config = NULL;
    if (QUIC_FAILED(MsQuicOpen2(&Own))) return;
    if (QUIC_SUCCEEDED(Own->RegistrationOpen(NULL, &Reg))) {
        if (QUIC_SUCCEEDED(Own->ConfigurationOpen(Reg, &Alpn, 1, NULL, 0, NULL, &Config))) {
            QUIC_SETTINGS Settings;
            uint32_t Length = sizeof(Settings);
            Own->GetParam(Config, QUIC_PARAM_CONFIGURATION_SETTINGS, &Length, &Settings);
            Own->ConfigurationClose(Config);
        }
        Own->RegistrationClose(Reg);
    }
    MsQuicClose(Own);
}

typedef struct WORKER_ARG {
    uint32_t Seed;
    long Iterations;
    double Deadline;
} WORKER_ARG;

static double now_seconds(void)
{
    struct timespec Ts;
    clock_gettime(CLOCK_MONOTONIC, &Ts);
    return (double)Ts.tv_sec + (double)Ts.tv_nsec / 1e9;
}

static void* app_thread(void* Raw)
{
    WORKER_ARG* Arg = (WORKER_ARG*)Raw;
    uint32_t Random = Arg->Seed;
    for (long i = 0; i < Arg->Iterations && now_seconds() < Arg->Deadline; i++) {
        uint32_t Pick = next_random(&Random) % 10;
        if (Pick < 5) {
            atomic_fetch_add(&Scenario[0], 1);
            scenario_connection(Registration, ClientConfiguration, Port, &Random);
        } else if (Pick < 6) {
            atomic_fetch_add(&Scenario[1], 1);
            scenario_listener(&Random);
        } else if (Pick < 7) {
            atomic_fetch_add(&Scenario[2], 1);
            if (next_random(&Random) % 4 == 0) {
                scenario_library();
            } else {
                scenario_registration(&Random);
            }
        } else {
            atomic_fetch_add(&Scenario[3], 1);
            scenario_shared(&Random);
        }
        if (i % 16 == 0) global_params();
    }
    return NULL;
}

static long env_long(const char* Name, long Default)
{
    const char* Value = getenv(Name);
    return Value != NULL && Value[0] != '\0' ? strtol(Value, NULL, 10) : Default;
}

int main(void)
{
    long Seconds = env_long("STRESS_SECONDS", 6);
    long Threads = env_long("STRESS_THREADS", 4);
    long Iterations = env_long("STRESS_ITERATIONS", 1000000);
    uint32_t Seed = (uint32_t)env_long("STRESS_SEED", (long)time(NULL));
    QUIC_SETTINGS Settings;
    QUIC_CREDENTIAL_CONFIG Cred;
    QUIC_CERTIFICATE_FILE Files;
    QUIC_ADDR Address;
    HQUIC Listener = NULL;
    uint32_t Length = sizeof(Address);
    pthread_t Reaper;
    pthread_t Tids[64];
    WORKER_ARG Args[64];
    double Started;

    if (Threads < 1) Threads = 1;
    if (Threads > 64) Threads = 64;
    if (Seconds < 1) Seconds = 1;
    /* Bounded: every blocking call that hangs ends the run as a failure. */
    tu_start_watchdog((unsigned)(Seconds + 90));
    for (size_t i = 0; i < sizeof(Payload); i++) Payload[i] = (uint8_t)i;
    Alpn = tu_alpn(ALPN);
    printf("api_stress: %ld s, %ld threads, seed %u\n", Seconds, Threads, Seed);

    if (tu_cert_dir() == NULL || MsQuicOpen2(&Api) != QUIC_STATUS_SUCCESS ||
        QUIC_FAILED(Api->RegistrationOpen(NULL, &Registration))) {
        CHECK(0, "certificates, MsQuicOpen2, RegistrationOpen");
        return tu_finish();
    }
    memset(&Settings, 0, sizeof(Settings));
    Settings.IsSet.PeerBidiStreamCount = 1;
    Settings.PeerBidiStreamCount = 64;
    Settings.IsSet.PeerUnidiStreamCount = 1;
    Settings.PeerUnidiStreamCount = 64;
    Settings.IsSet.IdleTimeoutMs = 1;
    Settings.IdleTimeoutMs = 5000;
    Settings.IsSet.DatagramReceiveEnabled = 1;
    Settings.DatagramReceiveEnabled = 1;
    CHECK_STATUS(Api->ConfigurationOpen(Registration, &Alpn, 1, &Settings, sizeof(Settings), NULL, &ServerConfiguration),
                 QUIC_STATUS_SUCCESS, "server ConfigurationOpen");
    memset(&Cred, 0, sizeof(Cred));
    Files.CertificateFile = tu_cert("server.crt");
    Files.PrivateKeyFile = tu_cert("server.key");
    Cred.Type = QUIC_CREDENTIAL_TYPE_CERTIFICATE_FILE;
    Cred.CertificateFile = &Files;
    CHECK_STATUS(Api->ConfigurationLoadCredential(ServerConfiguration, &Cred), QUIC_STATUS_SUCCESS, "server credential");
    CHECK_STATUS(Api->ConfigurationOpen(Registration, &Alpn, 1, &Settings, sizeof(Settings), NULL, &ClientConfiguration),
                 QUIC_STATUS_SUCCESS, "client ConfigurationOpen");
    memset(&Cred, 0, sizeof(Cred));
    Cred.Type = QUIC_CREDENTIAL_TYPE_NONE;
    Cred.Flags = (QUIC_CREDENTIAL_FLAGS)(QUIC_CREDENTIAL_FLAG_CLIENT | QUIC_CREDENTIAL_FLAG_NO_CERTIFICATE_VALIDATION);
    CHECK_STATUS(Api->ConfigurationLoadCredential(ClientConfiguration, &Cred), QUIC_STATUS_SUCCESS, "client credential");

    memset(&Address, 0, sizeof(Address));
    QuicAddrFromString("127.0.0.1", 0, &Address);
    CHECK_STATUS(Api->ListenerOpen(Registration, listener_callback, &Port, &Listener), QUIC_STATUS_SUCCESS, "ListenerOpen");
    CHECK_STATUS(Api->ListenerStart(Listener, &Alpn, 1, &Address), QUIC_STATUS_SUCCESS, "ListenerStart 127.0.0.1:0");
    CHECK_STATUS(Api->GetParam(Listener, QUIC_PARAM_LISTENER_LOCAL_ADDRESS, &Length, &Address), QUIC_STATUS_SUCCESS,
                 "LISTENER_LOCAL_ADDRESS");
    Port = QuicAddrGetPort(&Address);
    if (tu_failed > 0 || Port == 0) return tu_finish();

    shared_open();
    pthread_create(&Reaper, NULL, reaper, NULL);
    Started = now_seconds();
    for (long i = 0; i < Threads; i++) {
        Args[i].Seed = Seed * 2654435761u + (uint32_t)i * 40503u + 1u;
        Args[i].Iterations = Iterations;
        Args[i].Deadline = Started + (double)Seconds;
        pthread_create(&Tids[i], NULL, app_thread, &Args[i]);
    }
    for (long i = 0; i < Threads; i++) pthread_join(Tids[i], NULL);
    atomic_store(&Stopping, 1);
    pthread_join(Reaper, NULL);

    pthread_rwlock_wrlock(&SharedLock);
    shared_close();
    pthread_rwlock_unlock(&SharedLock);
    Api->ListenerClose(Listener);
    /* Server connections nobody closed yet (still running): closed from here. */
    for (;;) {
        CONN_CTX* Victim = NULL;
        pthread_mutex_lock(&ServerLock);
        for (CONN_CTX* C = ServerConns; C != NULL; C = C->Next) {
            if (atomic_exchange(&C->Claimed, 1) == 0) { Victim = C; break; }
        }
        pthread_mutex_unlock(&ServerLock);
        if (Victim == NULL) break;
        Api->ConnectionClose(Victim->Handle);
    }
    Api->ConfigurationClose(ClientConfiguration);
    Api->ConfigurationClose(ServerConfiguration);
    Api->RegistrationClose(Registration);       /* waits for every connection to be closed */
    MsQuicClose(Api);

    while (ServerConns != NULL) {
        CONN_CTX* Next = ServerConns->Next;
        free_conn(ServerConns);
        ServerConns = Next;
    }
    while (ServerStreams != NULL) {
        STREAM_CTX* Next = ServerStreams->Next;
        free_stream(ServerStreams);
        ServerStreams = Next;
    }

    printf("api_stress: %.1f s; scenarios: connection %ld, listener %ld, registration %ld, shared %ld\n",
           now_seconds() - Started, atomic_load(&Scenario[0]), atomic_load(&Scenario[1]), atomic_load(&Scenario[2]),
           atomic_load(&Scenario[3]));
    printf("api_stress: client connections %ld (connected %ld), server connections %ld (refused %ld, reaper closed %ld),"
           " stream events %ld\n",
           atomic_load(&ClientConnections), atomic_load(&Connected), atomic_load(&ServerConnections),
           atomic_load(&Refused), atomic_load(&ReaperCloses), atomic_load(&StreamEvents));
    CHECK(atomic_load(&BadContext) == 0,
          "every callback saw GetContext(handle) == its Context (%ld mismatches)", atomic_load(&BadContext));
    CHECK(atomic_load(&Connected) > 0, "some connections completed their handshake (%ld)", atomic_load(&Connected));
    CHECK(atomic_load(&StreamEvents) > 0, "stream events were delivered (%ld)", atomic_load(&StreamEvents));
    return tu_finish();
}
