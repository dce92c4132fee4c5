/*
 * execution.c - MsQuic's application-driven execution (preview): ExecutionCreate,
 * ExecutionPoll, ExecutionDelete.
 *
 * Like MsQuic's execution sample, the test makes its own epoll descriptor, creates one
 * execution on it (then, a second time, two on the same descriptor) and drives the library
 * from its own loop on the main thread: ExecutionPoll,
 * epoll_wait for the time it returned (capped), and Completion for every event. A server and a
 * client on 127.0.0.1 (ephemeral port) exchange data on one stream and shut down; every
 * callback must run on the main thread, and no library worker thread may exist. Waiting calls
 * made between polls (ConnectionClose of a live connection, GetParam, ListenerStop,
 * RegistrationClose), from the polling thread and from another thread, must return; a
 * connection left open into RegistrationShutdown + RegistrationClose is closed in its
 * SHUTDOWN_COMPLETE, which RegistrationClose's own rounds deliver.
 *
 * Also the argument checks: NULL arrays, Count 0, a NULL EventQ, an EventQ that is not an epoll
 * descriptor (OUT_OF_MEMORY, as MsQuic), ExecutionCreate after RegistrationOpen (INVALID_STATE),
 * a second ExecutionCreate replacing the first, and MsQuicClose after ExecutionDelete.
 *
 * SWIFTQUIC_TEST_REFERENCE=1 leaves out the checks MsQuic 2.6.0 itself fails (it crashes on the
 * NULL arguments, accepts Count 0 and a NULL EventQ, and hangs in a waiting call made between
 * polls), so the rest can be run against libmsquic.so.2 for comparison.
 */
#define QUIC_API_ENABLE_PREVIEW_FEATURES 1
#include "testutil.h"

#include <dirent.h>
#include <sys/epoll.h>

#define ALPN "exec-test"
#define PAYLOAD "hello from the polling thread"
#define REPLY "and back"

static const QUIC_API_TABLE* Api;
static pthread_t PollThread;
static int Reference;
static int OffThreadCallbacks;
static HQUIC ServerConfiguration;

static int ClientConnected, ServerConnected;
static int ClientShutdownComplete, ServerShutdownComplete;
static char ServerReceived[128];
static size_t ServerReceivedLength;
static char ClientReceived[128];
static size_t ClientReceivedLength;
static int ClientStreamComplete, ServerStreamComplete;
static int ServerConnectedCount, ServerSecondConnected;
static int SecondConnected, SecondClosed;
static QUIC_BUFFER ClientSend, ServerSend;

static void note_thread(void)
{
    if (!pthread_equal(pthread_self(), PollThread)) {
        OffThreadCallbacks++;
    }
}

/* Entries of an epoll descriptor, from /proc/self/fdinfo ("tfd:" lines). */
static int epoll_entry_count(int Epoll)
{
    char Path[64];
    char Line[256];
    int Count = 0;
    FILE* File;
    snprintf(Path, sizeof(Path), "/proc/self/fdinfo/%d", Epoll);
    File = fopen(Path, "r");
    if (File == NULL) {
        return -1;
    }
    while (fgets(Line, sizeof(Line), File) != NULL) {
        if (strncmp(Line, "tfd:", 4) == 0) {
            Count++;
        }
    }
    fclose(File);
    return Count;
}

/* Threads of this process named like our worker threads ("quic-worker-N"). */
static int worker_thread_count(void)
{
    DIR* Dir = opendir("/proc/self/task");
    struct dirent* Entry;
    int Count = 0;
    if (Dir == NULL) {
        return -1;
    }
    while ((Entry = readdir(Dir)) != NULL) {
        char Path[300];
        char Name[64] = {0};
        FILE* File;
        if (Entry->d_name[0] == '.') {
            continue;
        }
        snprintf(Path, sizeof(Path), "/proc/self/task/%s/comm", Entry->d_name);
        File = fopen(Path, "r");
        if (File != NULL) {
            if (fgets(Name, sizeof(Name), File) != NULL && strncmp(Name, "quic-worker", 11) == 0) {
                Count++;
            }
            fclose(File);
        }
    }
    closedir(Dir);
    return Count;
}

/* ---- callbacks ------------------------------------------------------------ */

static QUIC_STATUS QUIC_API ServerStreamCallback(HQUIC Stream, void* Context, QUIC_STREAM_EVENT* Event)
{
    (void)Context;
    note_thread();
    switch (Event->Type) {
    case QUIC_STREAM_EVENT_RECEIVE:
        for (uint32_t i = 0; i < Event->RECEIVE.BufferCount; i++) {
            const QUIC_BUFFER* B = &Event->RECEIVE.Buffers[i];
            if (ServerReceivedLength + B->Length < sizeof(ServerReceived)) {
                memcpy(ServerReceived + ServerReceivedLength, B->Buffer, B->Length);
                ServerReceivedLength += B->Length;
            }
        }
        break;
    case QUIC_STREAM_EVENT_PEER_SEND_SHUTDOWN:
        ServerSend.Buffer = (uint8_t*)REPLY;
        ServerSend.Length = (uint32_t)strlen(REPLY);
        CHECK_SUCCEEDED(Api->StreamSend(Stream, &ServerSend, 1, QUIC_SEND_FLAG_FIN, NULL),
                        "server StreamSend inside a callback");
        break;
    case QUIC_STREAM_EVENT_SHUTDOWN_COMPLETE:
        ServerStreamComplete = 1;
        Api->StreamClose(Stream);
        break;
    default:
        break;
    }
    return QUIC_STATUS_SUCCESS;
}

static QUIC_STATUS QUIC_API ServerConnectionCallback(HQUIC Connection, void* Context, QUIC_CONNECTION_EVENT* Event)
{
    (void)Context;
    note_thread();
    switch (Event->Type) {
    case QUIC_CONNECTION_EVENT_CONNECTED:
        ServerConnected = 1;
        if (++ServerConnectedCount == 2) {
            ServerSecondConnected = 1;
        }
        break;
    case QUIC_CONNECTION_EVENT_PEER_STREAM_STARTED:
        Api->SetCallbackHandler(Event->PEER_STREAM_STARTED.Stream, (void*)ServerStreamCallback, NULL);
        break;
    case QUIC_CONNECTION_EVENT_SHUTDOWN_COMPLETE:
        ServerShutdownComplete = 1;
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
    note_thread();
    if (Event->Type != QUIC_LISTENER_EVENT_NEW_CONNECTION) {
        return QUIC_STATUS_SUCCESS;
    }
    Api->SetCallbackHandler(Event->NEW_CONNECTION.Connection, (void*)ServerConnectionCallback, NULL);
    return Api->ConnectionSetConfiguration(Event->NEW_CONNECTION.Connection, ServerConfiguration);
}

static QUIC_STATUS QUIC_API ClientStreamCallback(HQUIC Stream, void* Context, QUIC_STREAM_EVENT* Event)
{
    HQUIC Connection = (HQUIC)Context;
    note_thread();
    switch (Event->Type) {
    case QUIC_STREAM_EVENT_RECEIVE:
        for (uint32_t i = 0; i < Event->RECEIVE.BufferCount; i++) {
            const QUIC_BUFFER* B = &Event->RECEIVE.Buffers[i];
            if (ClientReceivedLength + B->Length < sizeof(ClientReceived)) {
                memcpy(ClientReceived + ClientReceivedLength, B->Buffer, B->Length);
                ClientReceivedLength += B->Length;
            }
        }
        break;
    case QUIC_STREAM_EVENT_SHUTDOWN_COMPLETE:
        ClientStreamComplete = 1;
        Api->StreamClose(Stream);
        Api->ConnectionShutdown(Connection, QUIC_CONNECTION_SHUTDOWN_FLAG_NONE, 0);
        break;
    default:
        break;
    }
    return QUIC_STATUS_SUCCESS;
}

static QUIC_STATUS QUIC_API ClientConnectionCallback(HQUIC Connection, void* Context, QUIC_CONNECTION_EVENT* Event)
{
    (void)Context;
    note_thread();
    switch (Event->Type) {
    case QUIC_CONNECTION_EVENT_CONNECTED: {
        HQUIC Stream = NULL;
        ClientConnected = 1;
        CHECK_SUCCEEDED(Api->StreamOpen(Connection, QUIC_STREAM_OPEN_FLAG_NONE, ClientStreamCallback, Connection,
                                        &Stream), "client StreamOpen inside CONNECTED");
        if (Stream != NULL) {
            ClientSend.Buffer = (uint8_t*)PAYLOAD;
            ClientSend.Length = (uint32_t)strlen(PAYLOAD);
            CHECK_SUCCEEDED(Api->StreamSend(Stream, &ClientSend, 1, QUIC_SEND_FLAG_START | QUIC_SEND_FLAG_FIN, NULL),
                            "client StreamSend(START|FIN)");
        }
        break;
    }
    case QUIC_CONNECTION_EVENT_SHUTDOWN_COMPLETE:
        ClientShutdownComplete = 1;
        Api->ConnectionClose(Connection);
        break;
    default:
        break;
    }
    return QUIC_STATUS_SUCCESS;
}

static QUIC_STATUS QUIC_API IdleConnectionCallback(HQUIC Connection, void* Context, QUIC_CONNECTION_EVENT* Event)
{
    (void)Connection;
    (void)Context;
    (void)Event;
    /* Not counted: closed from another thread, its last event runs there (inline, as MsQuic
       runs a blocking close with custom executions). */
    return QUIC_STATUS_SUCCESS;
}

/* A client connection left open until RegistrationShutdown ends it. */
static QUIC_STATUS QUIC_API SecondConnectionCallback(HQUIC Connection, void* Context, QUIC_CONNECTION_EVENT* Event)
{
    (void)Context;
    note_thread();
    if (Event->Type == QUIC_CONNECTION_EVENT_CONNECTED) {
        SecondConnected = 1;
    } else if (Event->Type == QUIC_CONNECTION_EVENT_SHUTDOWN_COMPLETE) {
        SecondClosed = 1;
        Api->ConnectionClose(Connection);
    }
    return QUIC_STATUS_SUCCESS;
}

/* ---- the application's loop ------------------------------------------------ */

static long long now_ms(void)
{
    struct timespec T;
    clock_gettime(CLOCK_MONOTONIC, &T);
    return (long long)T.tv_sec * 1000 + T.tv_nsec / 1000000;
}

static int SawFiniteWait;

/* Polls until *Flag is set or TimeoutMs passes; returns *Flag. */
static QUIC_EXECUTION* Executions[2];
static uint32_t ExecutionCount;

/* Polls every execution until *Flag is set or TimeoutMs passes; returns *Flag. */
static int drive_until(int Epoll, const int* Flag, unsigned TimeoutMs)
{
    long long Deadline = now_ms() + TimeoutMs;
    while (!*Flag && now_ms() < Deadline) {
        struct epoll_event Events[8];
        uint32_t Wait = UINT32_MAX;
        int Timeout;
        int Count;
        for (uint32_t i = 0; i < ExecutionCount; i++) {
            uint32_t W = Api->ExecutionPoll(Executions[i]);
            if (W < Wait) {
                Wait = W;
            }
        }
        if (*Flag) {
            break;
        }
        if (Wait != UINT32_MAX && Wait > 0) {
            SawFiniteWait = 1;
        }
        /* The test bounds its own time: never wait more than 100 ms at once. */
        Timeout = Wait > 100 ? 100 : (int)Wait;
        Count = epoll_wait(Epoll, Events, 8, Timeout);
        for (int i = 0; i < Count; i++) {
            QUIC_SQE* Sqe = (QUIC_SQE*)Events[i].data.ptr;
            Sqe->Completion(&Events[i]);
        }
    }
    return *Flag;
}

/* ---- argument checks ------------------------------------------------------- */

static void argument_checks(void)
{
    int Epoll = epoll_create1(EPOLL_CLOEXEC);
    int NotEpoll[2];
    QUIC_EXECUTION_CONFIG Config = { 0, &Epoll };
    QUIC_EXECUTION* Made[2] = { NULL, NULL };
    HQUIC Registration = NULL;

    CHECK_STATUS(MsQuicOpen2(&Api), QUIC_STATUS_SUCCESS, "MsQuicOpen2 (argument checks)");
    if (Api == NULL) {
        return;
    }
    if (!Reference) {
        QUIC_EXECUTION_CONFIG NullQueue = { 0, NULL };
        CHECK_STATUS(Api->ExecutionCreate(QUIC_GLOBAL_EXECUTION_CONFIG_FLAG_NONE, 0, 0, &Config, Made),
                     QUIC_STATUS_INVALID_PARAMETER, "ExecutionCreate with Count 0");
        CHECK_STATUS(Api->ExecutionCreate(QUIC_GLOBAL_EXECUTION_CONFIG_FLAG_NONE, 0, 1, NULL, Made),
                     QUIC_STATUS_INVALID_PARAMETER, "ExecutionCreate with NULL Configs");
        CHECK_STATUS(Api->ExecutionCreate(QUIC_GLOBAL_EXECUTION_CONFIG_FLAG_NONE, 0, 1, &Config, NULL),
                     QUIC_STATUS_INVALID_PARAMETER, "ExecutionCreate with NULL Executions");
        CHECK_STATUS(Api->ExecutionCreate(QUIC_GLOBAL_EXECUTION_CONFIG_FLAG_NONE, 0, 1, &NullQueue, Made),
                     QUIC_STATUS_INVALID_PARAMETER, "ExecutionCreate with a NULL EventQ");
        CHECK(Api->ExecutionPoll(NULL) == UINT32_MAX, "ExecutionPoll(NULL) answers UINT32_MAX");
        CHECK(Api->ExecutionPoll((QUIC_EXECUTION*)&Config) == UINT32_MAX,
              "ExecutionPoll on a pointer that is no execution answers UINT32_MAX");
        Api->ExecutionDelete(0, NULL);
        CHECK(1, "ExecutionDelete(0, NULL) returns");
    }
    if (pipe(NotEpoll) == 0) {
        QUIC_EXECUTION_CONFIG PipeQueue = { 0, &NotEpoll[0] };
        CHECK_STATUS(Api->ExecutionCreate(QUIC_GLOBAL_EXECUTION_CONFIG_FLAG_NONE, 0, 1, &PipeQueue, Made),
                     QUIC_STATUS_OUT_OF_MEMORY, "ExecutionCreate on a descriptor that is not epoll");
        close(NotEpoll[0]);
        close(NotEpoll[1]);
    }

    CHECK_STATUS(Api->ExecutionCreate(QUIC_GLOBAL_EXECUTION_CONFIG_FLAG_NONE, 0, 1, &Config, Made),
                 QUIC_STATUS_SUCCESS, "ExecutionCreate");
    CHECK(Made[0] != NULL, "ExecutionCreate wrote a handle");
    CHECK(epoll_entry_count(Epoll) > 0, "the execution is in the application's epoll");
    CHECK(Api->ExecutionPoll(Made[0]) == UINT32_MAX, "ExecutionPoll with nothing to do: UINT32_MAX");
    /* A second ExecutionCreate before any registration replaces the first. */
    CHECK_STATUS(Api->ExecutionCreate(QUIC_GLOBAL_EXECUTION_CONFIG_FLAG_NONE, 0, 1, &Config, &Made[1]),
                 QUIC_STATUS_SUCCESS, "a second ExecutionCreate");
    CHECK(Api->ExecutionPoll(Made[1]) == UINT32_MAX, "the new execution polls");

    CHECK_STATUS(Api->RegistrationOpen(NULL, &Registration), QUIC_STATUS_SUCCESS, "RegistrationOpen");
    CHECK_STATUS(Api->ExecutionCreate(QUIC_GLOBAL_EXECUTION_CONFIG_FLAG_NONE, 0, 1, &Config, Made),
                 QUIC_STATUS_INVALID_STATE, "ExecutionCreate after RegistrationOpen");
    if (Registration != NULL) {
        HQUIC Connection = NULL;
        CHECK_STATUS(Api->ConnectionOpenInPartition(Registration, 1, IdleConnectionCallback, NULL, &Connection),
                     QUIC_STATUS_INVALID_PARAMETER, "ConnectionOpenInPartition(1) with one execution");
        Api->RegistrationClose(Registration);
    }
    Api->ExecutionDelete(1, &Made[1]);
    CHECK(epoll_entry_count(Epoll) == 0, "ExecutionDelete took the execution out of the application's epoll");
    MsQuicClose(Api);
    Api = NULL;
    CHECK(1, "MsQuicClose after ExecutionDelete");
    close(Epoll);
}

/* ---- a waiting call from another thread, between polls ---------------------- */

typedef struct OTHER_THREAD_CALL {
    HQUIC Connection;
    QUIC_STATUS Status;
    int Done;
} OTHER_THREAD_CALL;

static void* other_thread_main(void* Argument)
{
    OTHER_THREAD_CALL* Call = (OTHER_THREAD_CALL*)Argument;
    uint32_t Version = 0;
    uint32_t Length = sizeof(Version);
    Call->Status = Api->GetParam(Call->Connection, QUIC_PARAM_CONN_QUIC_VERSION, &Length, &Version);
    Api->ConnectionClose(Call->Connection);
    Call->Done = 1;
    return NULL;
}

/* ---- the exchange ------------------------------------------------------------ */

static void reset_flags(void)
{
    ClientConnected = ServerConnected = 0;
    ClientShutdownComplete = ServerShutdownComplete = 0;
    ServerReceivedLength = ClientReceivedLength = 0;
    ClientStreamComplete = ServerStreamComplete = 0;
    ServerConnectedCount = ServerSecondConnected = 0;
    SecondConnected = SecondClosed = 0;
    SawFiniteWait = 0;
}

static void exchange(uint32_t Count)
{
    int Epoll = epoll_create1(EPOLL_CLOEXEC);
    QUIC_EXECUTION_CONFIG Config[2] = { { 0, &Epoll }, { 1, &Epoll } };
    HQUIC Registration = NULL;
    HQUIC ClientConfiguration = NULL;
    HQUIC Listener = NULL;
    HQUIC Client = NULL;
    QUIC_BUFFER Alpn = tu_alpn(ALPN);
    uint16_t Port = 0;
    QUIC_SETTINGS Settings;

    CHECK_STATUS(MsQuicOpen2(&Api), QUIC_STATUS_SUCCESS, "MsQuicOpen2 (exchange)");
    if (Api == NULL) {
        return;
    }
    printf("# %u execution(s) on one epoll descriptor, polled from the main thread\n", Count);
    reset_flags();
    ExecutionCount = Count;
    CHECK_STATUS(Api->ExecutionCreate(QUIC_GLOBAL_EXECUTION_CONFIG_FLAG_NONE, 0, Count, Config, Executions),
                 QUIC_STATUS_SUCCESS, "ExecutionCreate on the test's epoll");
    CHECK_STATUS(Api->RegistrationOpen(NULL, &Registration), QUIC_STATUS_SUCCESS, "RegistrationOpen");
    if (Executions[0] == NULL || Executions[Count - 1] == NULL || Registration == NULL) {
        return;
    }
    memset(&Settings, 0, sizeof(Settings));
    Settings.PeerBidiStreamCount = 1;                /* the client's one stream */
    Settings.IsSet.PeerBidiStreamCount = 1;
    ServerConfiguration = tu_server_configuration(Api, Registration, &Alpn, &Settings);
    ClientConfiguration = tu_insecure_client_configuration(Api, Registration, &Alpn);
    Listener = tu_loopback_listener(Api, Registration, ListenerCallback, NULL, &Alpn, &Port);
    CHECK_STATUS(Api->ConnectionOpen(Registration, ClientConnectionCallback, NULL, &Client), QUIC_STATUS_SUCCESS,
                 "client ConnectionOpen");
    if (ServerConfiguration == NULL || ClientConfiguration == NULL || Listener == NULL || Client == NULL) {
        return;
    }
    CHECK_SUCCEEDED(Api->ConnectionStart(Client, ClientConfiguration, QUIC_ADDRESS_FAMILY_INET, "127.0.0.1", Port),
                    "client ConnectionStart");

    CHECK(drive_until(Epoll, &ClientConnected, 10000), "client CONNECTED, driven by ExecutionPoll");
    CHECK(worker_thread_count() == 0, "no library worker thread exists");

    if (!Reference) {
        /* Waiting calls between polls, on connections of the execution: from this (the
           polling) thread, and from another thread while this one does not poll. */
        HQUIC Idle = NULL;
        uint32_t Version = 0;
        uint32_t Length = sizeof(Version);
        CHECK_STATUS(Api->GetParam(Client, QUIC_PARAM_CONN_QUIC_VERSION, &Length, &Version), QUIC_STATUS_SUCCESS,
                     "GetParam between polls on the polling thread");
        CHECK(Version == 1, "QUIC version 1");
        CHECK_STATUS(Api->ConnectionOpen(Registration, IdleConnectionCallback, NULL, &Idle), QUIC_STATUS_SUCCESS,
                     "a second client ConnectionOpen");
        if (Idle != NULL) {
            Api->ConnectionClose(Idle);
            CHECK(1, "ConnectionClose between polls on the polling thread returns");
        }
        Idle = NULL;
        CHECK_STATUS(Api->ConnectionOpen(Registration, IdleConnectionCallback, NULL, &Idle), QUIC_STATUS_SUCCESS,
                     "a third client ConnectionOpen");
        if (Idle != NULL) {
            OTHER_THREAD_CALL Call = { Idle, QUIC_STATUS_INTERNAL_ERROR, 0 };
            pthread_t Thread;
            if (pthread_create(&Thread, NULL, other_thread_main, &Call) == 0) {
                pthread_join(Thread, NULL);
                CHECK(Call.Done, "GetParam + ConnectionClose from another thread between polls return");
                CHECK_STATUS(Call.Status, QUIC_STATUS_SUCCESS, "GetParam from another thread");
            }
        }
    }

    CHECK(drive_until(Epoll, &ClientShutdownComplete, 10000), "client SHUTDOWN_COMPLETE");
    CHECK(drive_until(Epoll, &ServerShutdownComplete, 10000), "server SHUTDOWN_COMPLETE");
    CHECK(ServerConnected, "server CONNECTED");
    CHECK(ServerReceivedLength == strlen(PAYLOAD) && memcmp(ServerReceived, PAYLOAD, ServerReceivedLength) == 0,
          "the server received the client's data (%zu bytes)", ServerReceivedLength);
    CHECK(ClientReceivedLength == strlen(REPLY) && memcmp(ClientReceived, REPLY, ClientReceivedLength) == 0,
          "the client received the server's reply (%zu bytes)", ClientReceivedLength);
    CHECK(ClientStreamComplete && ServerStreamComplete, "both streams completed");
    CHECK(SawFiniteWait, "ExecutionPoll reported a timer (a finite wait) while connected");
    CHECK(OffThreadCallbacks == 0, "every callback ran on the polling thread (%d did not)", OffThreadCallbacks);

    if (!Reference) {
        /* A second connection stays open into RegistrationClose (below). */
        HQUIC Second = NULL;
        CHECK_STATUS(Api->ConnectionOpen(Registration, SecondConnectionCallback, NULL, &Second), QUIC_STATUS_SUCCESS,
                     "second client ConnectionOpen");
        if (Second != NULL) {
            CHECK_SUCCEEDED(Api->ConnectionStart(Second, ClientConfiguration, QUIC_ADDRESS_FAMILY_INET, "127.0.0.1",
                                                 Port), "second client ConnectionStart");
            CHECK(drive_until(Epoll, &SecondConnected, 10000), "second client CONNECTED");
            CHECK(drive_until(Epoll, &ServerSecondConnected, 10000), "second server connection CONNECTED");
        }
    }

    /* Blocking calls between polls, from the polling thread. */
    Api->ListenerStop(Listener);
    CHECK(1, "ListenerStop between polls returns");
    Api->ListenerClose(Listener);
    Api->ConfigurationClose(ClientConfiguration);
    Api->ConfigurationClose(ServerConfiguration);
    if (!Reference) {
        /* RegistrationShutdown queues the shutdowns; RegistrationClose waits for the app to close
           both connections, which it does in their SHUTDOWN_COMPLETE: RegistrationClose has to
           run the polls itself (nobody else polls). */
        Api->RegistrationShutdown(Registration, QUIC_CONNECTION_SHUTDOWN_FLAG_NONE, 0);
    }
    Api->RegistrationClose(Registration);
    CHECK(1, "RegistrationClose between polls returns");
    if (!Reference) {
        CHECK(SecondClosed, "the connection left open was closed in its SHUTDOWN_COMPLETE during RegistrationClose");
    }
    Api->ExecutionDelete(Count, Executions);
    ExecutionCount = 0;
    CHECK(epoll_entry_count(Epoll) == 0, "ExecutionDelete took the executions out of the application's epoll");
    MsQuicClose(Api);
    Api = NULL;
    CHECK(1, "MsQuicClose after ExecutionDelete");
    CHECK(OffThreadCallbacks == 0, "still no callback off the polling thread (%d)", OffThreadCallbacks);
    close(Epoll);
}

int main(void)
{
    const char* Env = getenv("SWIFTQUIC_TEST_REFERENCE");
    Reference = Env != NULL && Env[0] == '1';
    PollThread = pthread_self();
    tu_start_watchdog(60);
    if (tu_cert_dir() == NULL) {
        return tu_skip_program("no test certificates");
    }
    argument_checks();
    exchange(1);
    exchange(2);
    return tu_finish();
}
