/*
 * stream_transfer.c - bulk data through the public API over 127.0.0.1: four bidirectional
 * streams at once, each carrying 2 MiB sent as many StreamSend calls of two buffers each
 * (buffers owned by the app until SEND_COMPLETE, docs/api/StreamSend.md), plus one
 * unidirectional stream. The server checks every byte against the pattern, answers each
 * bidirectional stream with the byte count and a FIN, and the client checks that every send
 * completed exactly once, uncanceled, in order. The senders also follow
 * QUIC_STREAM_EVENT_IDEAL_SEND_BUFFER_SIZE: with this much in flight at least one stream is told
 * to queue more than MsQuic's default 128 KiB, and QUIC_PARAM_STREAM_IDEAL_SEND_BUFFER_SIZE
 * reports the last value indicated (128 KiB before any event).
 */
#include "testutil.h"

#define ALPN "transfer"
#define STREAMS 4
#define CHUNK 32768
#define SENDS 32                      /* each send: two CHUNK buffers -> 2 MiB per stream */
#define PER_STREAM ((uint64_t)SENDS * 2 * CHUNK)
#define UNI_BYTES 100000
#define WAIT_MS 30000

static const QUIC_API_TABLE* Api;
static HQUIC Registration;
static HQUIC ServerConfiguration;

static uint8_t pattern(uint64_t Offset, uint64_t Id) { return (uint8_t)((Offset * 7 + Id) % 251); }

/* ---- server ------------------------------------------------------------- */

typedef struct SERVER_STREAM {
    uint64_t Id;
    uint64_t Received;
    int Bad;
    uint64_t Reply;
    QUIC_BUFFER ReplyBuffer;
} SERVER_STREAM;

static TU_EVENT ServerUniDone;
static TU_EVENT ServerConnectionDone;
static uint64_t UniReceived;
static int UniBad;

static QUIC_STATUS QUIC_API server_stream(HQUIC Stream, void* Context, QUIC_STREAM_EVENT* Event)
{
    SERVER_STREAM* S = (SERVER_STREAM*)Context;
    switch (Event->Type) {
    case QUIC_STREAM_EVENT_RECEIVE: {
        uint64_t Offset = Event->RECEIVE.AbsoluteOffset;
        if (Offset != S->Received) S->Bad = 1;
        for (uint32_t i = 0; i < Event->RECEIVE.BufferCount; i++) {
            const QUIC_BUFFER* B = &Event->RECEIVE.Buffers[i];
            for (uint32_t j = 0; j < B->Length; j++) {
                if (B->Buffer[j] != pattern(Offset, S->Id)) S->Bad = 1;
                Offset++;
            }
        }
        S->Received = Offset;
        break;
    }
    case QUIC_STREAM_EVENT_PEER_SEND_SHUTDOWN:
        if (S->Id & 2) {                                /* unidirectional: nothing to answer */
            UniReceived = S->Received;
            UniBad = S->Bad;
            tu_event_signal(&ServerUniDone, Stream, NULL, QUIC_STATUS_SUCCESS);
        } else {
            S->Reply = S->Bad ? 0 : S->Received;
            S->ReplyBuffer.Buffer = (uint8_t*)&S->Reply;
            S->ReplyBuffer.Length = sizeof(S->Reply);
            Api->StreamSend(Stream, &S->ReplyBuffer, 1, QUIC_SEND_FLAG_FIN, NULL);
        }
        break;
    case QUIC_STREAM_EVENT_SHUTDOWN_COMPLETE:
        Api->StreamClose(Stream);
        free(S);
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
    case QUIC_CONNECTION_EVENT_PEER_STREAM_STARTED: {
        SERVER_STREAM* S = (SERVER_STREAM*)calloc(1, sizeof(SERVER_STREAM));
        uint32_t Length = sizeof(S->Id);
        if (S == NULL) return QUIC_STATUS_OUT_OF_MEMORY;
        Api->GetParam(Event->PEER_STREAM_STARTED.Stream, QUIC_PARAM_STREAM_ID, &Length, &S->Id);
        Api->SetCallbackHandler(Event->PEER_STREAM_STARTED.Stream, (void*)server_stream, S);
        break;
    }
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

/* ---- client ------------------------------------------------------------- */

typedef struct CLIENT_STREAM {
    HQUIC Handle;
    uint64_t Id;
    uint8_t* Data;                                  /* the whole payload, kept until SEND_COMPLETE */
    QUIC_BUFFER Buffers[SENDS][2];
    int Completed;
    int OutOfOrder;
    int Canceled;
    uint64_t Reply;
    uint32_t ReplyLength;
    int IdealEvents;
    uint64_t LastIdeal;
    uint64_t MaxIdeal;
    uint64_t IdealParam;
    QUIC_STATUS IdealParamStatus;
    TU_EVENT Done;
} CLIENT_STREAM;

#define DEFAULT_IDEAL_SEND_BUFFER 131072  /* MsQuic's QUIC_DEFAULT_IDEAL_SEND_BUFFER_SIZE */

static TU_EVENT ClientConnected;
static TU_EVENT ClientShutdown;

static QUIC_STATUS QUIC_API client_stream(HQUIC Stream, void* Context, QUIC_STREAM_EVENT* Event)
{
    CLIENT_STREAM* S = (CLIENT_STREAM*)Context;
    (void)Stream;
    switch (Event->Type) {
    case QUIC_STREAM_EVENT_SEND_COMPLETE: {
        intptr_t Index = (intptr_t)Event->SEND_COMPLETE.ClientContext;
        if (Index != S->Completed) S->OutOfOrder = 1;
        if (Event->SEND_COMPLETE.Canceled) S->Canceled = 1;
        S->Completed++;
        break;
    }
    case QUIC_STREAM_EVENT_RECEIVE:
        for (uint32_t i = 0; i < Event->RECEIVE.BufferCount; i++) {
            const QUIC_BUFFER* B = &Event->RECEIVE.Buffers[i];
            for (uint32_t j = 0; j < B->Length && S->ReplyLength < sizeof(S->Reply); j++) {
                ((uint8_t*)&S->Reply)[S->ReplyLength++] = B->Buffer[j];
            }
        }
        break;
    case QUIC_STREAM_EVENT_IDEAL_SEND_BUFFER_SIZE:
        S->IdealEvents++;
        S->LastIdeal = Event->IDEAL_SEND_BUFFER_SIZE.ByteCount;
        if (S->LastIdeal > S->MaxIdeal) S->MaxIdeal = S->LastIdeal;
        break;
    case QUIC_STREAM_EVENT_SHUTDOWN_COMPLETE: {
        uint32_t Length = sizeof(S->IdealParam);
        S->IdealParamStatus = Api->GetParam(Stream, QUIC_PARAM_STREAM_IDEAL_SEND_BUFFER_SIZE, &Length, &S->IdealParam);
        tu_event_signal(&S->Done, Stream, NULL, QUIC_STATUS_SUCCESS);
        break;
    }
    default:
        break;
    }
    return QUIC_STATUS_SUCCESS;
}

static QUIC_STATUS QUIC_API client_connection(HQUIC Connection, void* Context, QUIC_CONNECTION_EVENT* Event)
{
    (void)Context;
    if (Event->Type == QUIC_CONNECTION_EVENT_CONNECTED) tu_event_signal(&ClientConnected, Connection, NULL, 0);
    if (Event->Type == QUIC_CONNECTION_EVENT_SHUTDOWN_COMPLETE) tu_event_signal(&ClientShutdown, Connection, NULL, 0);
    return QUIC_STATUS_SUCCESS;
}

static double now_seconds(void)
{
    struct timespec Ts;
    clock_gettime(CLOCK_MONOTONIC, &Ts);
    return (double)Ts.tv_sec + (double)Ts.tv_nsec / 1e9;
}

static void open_stream(HQUIC Connection, CLIENT_STREAM* S, QUIC_STREAM_OPEN_FLAGS Flags, uint64_t Bytes, int Sends)
{
    uint32_t Length = sizeof(S->Id);
    tu_event_init(&S->Done);
    CHECK_STATUS(Api->StreamOpen(Connection, Flags, client_stream, S, &S->Handle), QUIC_STATUS_SUCCESS, "StreamOpen");
    CHECK_SUCCEEDED(Api->StreamStart(S->Handle, QUIC_STREAM_START_FLAG_NONE), "StreamStart");
    CHECK_STATUS(Api->GetParam(S->Handle, QUIC_PARAM_STREAM_ID, &Length, &S->Id), QUIC_STATUS_SUCCESS, "STREAM_ID");
    S->Data = (uint8_t*)malloc(Bytes);
    for (uint64_t i = 0; i < Bytes; i++) S->Data[i] = pattern(i, S->Id);
    uint64_t Per = Bytes / (uint64_t)Sends;
    for (int k = 0; k < Sends; k++) {
        uint64_t Start = (uint64_t)k * Per;
        uint64_t End = k == Sends - 1 ? Bytes : Start + Per;
        uint64_t Half = (End - Start) / 2;
        S->Buffers[k][0].Buffer = S->Data + Start;
        S->Buffers[k][0].Length = (uint32_t)Half;
        S->Buffers[k][1].Buffer = S->Data + Start + Half;
        S->Buffers[k][1].Length = (uint32_t)(End - Start - Half);
        QUIC_STATUS Status = Api->StreamSend(S->Handle, S->Buffers[k], 2,
                                             k == Sends - 1 ? QUIC_SEND_FLAG_FIN : QUIC_SEND_FLAG_NONE,
                                             (void*)(intptr_t)k);
        if (QUIC_FAILED(Status)) {
            CHECK(0, "StreamSend %d on stream %llu: %s", k, (unsigned long long)S->Id, tu_status_name(Status));
            return;
        }
    }
}

int main(void)
{
    QUIC_BUFFER Alpn = tu_alpn(ALPN);
    QUIC_SETTINGS Settings;
    QUIC_CREDENTIAL_CONFIG Cred;
    QUIC_CERTIFICATE_FILE Files;
    QUIC_ADDR Address;
    HQUIC Listener = NULL, ClientConfiguration = NULL, Connection = NULL;
    uint32_t Length = sizeof(Address);
    static CLIENT_STREAM Streams[STREAMS + 1];

    tu_start_watchdog(100);
    tu_event_init(&ServerUniDone);
    tu_event_init(&ServerConnectionDone);
    tu_event_init(&ClientConnected);
    tu_event_init(&ClientShutdown);
    if (tu_cert_dir() == NULL || MsQuicOpen2(&Api) != QUIC_STATUS_SUCCESS ||
        QUIC_FAILED(Api->RegistrationOpen(NULL, &Registration))) {
        CHECK(0, "certificates, MsQuicOpen2, RegistrationOpen");
        return tu_finish();
    }

    memset(&Settings, 0, sizeof(Settings));
    Settings.IsSet.PeerBidiStreamCount = 1;
    Settings.PeerBidiStreamCount = STREAMS;
    Settings.IsSet.PeerUnidiStreamCount = 1;
    Settings.PeerUnidiStreamCount = 1;
    CHECK_STATUS(Api->ConfigurationOpen(Registration, &Alpn, 1, &Settings, sizeof(Settings), NULL, &ServerConfiguration),
                 QUIC_STATUS_SUCCESS, "server ConfigurationOpen");
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

    memset(&Settings, 0, sizeof(Settings));
    CHECK_STATUS(Api->ConfigurationOpen(Registration, &Alpn, 1, NULL, 0, NULL, &ClientConfiguration),
                 QUIC_STATUS_SUCCESS, "client ConfigurationOpen");
    memset(&Cred, 0, sizeof(Cred));
    Cred.Type = QUIC_CREDENTIAL_TYPE_NONE;
    Cred.Flags = (QUIC_CREDENTIAL_FLAGS)(QUIC_CREDENTIAL_FLAG_CLIENT | QUIC_CREDENTIAL_FLAG_SET_CA_CERTIFICATE_FILE);
    Cred.CaCertificateFile = tu_cert("ca.crt");
    CHECK_STATUS(Api->ConfigurationLoadCredential(ClientConfiguration, &Cred), QUIC_STATUS_SUCCESS, "client credential");
    CHECK_STATUS(Api->ConnectionOpen(Registration, client_connection, NULL, &Connection), QUIC_STATUS_SUCCESS,
                 "ConnectionOpen");
    CHECK_SUCCEEDED(Api->ConnectionStart(Connection, ClientConfiguration, QUIC_ADDRESS_FAMILY_INET, "localhost",
                                         QuicAddrGetPort(&Address)), "ConnectionStart");
    CHECK(tu_event_wait(&ClientConnected, 1, WAIT_MS) == 1, "CONNECTED");

    double Start = now_seconds();
    for (int i = 0; i < STREAMS; i++) open_stream(Connection, &Streams[i], QUIC_STREAM_OPEN_FLAG_NONE, PER_STREAM, SENDS);
    open_stream(Connection, &Streams[STREAMS], QUIC_STREAM_OPEN_FLAG_UNIDIRECTIONAL, UNI_BYTES, 4);
    for (int i = 0; i <= STREAMS; i++) {
        CLIENT_STREAM* S = &Streams[i];
        int Sends = i == STREAMS ? 4 : SENDS;
        CHECK(tu_event_wait(&S->Done, 1, WAIT_MS) == 1, "stream %llu: SHUTDOWN_COMPLETE", (unsigned long long)S->Id);
        CHECK(S->Completed == Sends && !S->OutOfOrder && !S->Canceled,
              "stream %llu: %d SEND_COMPLETEs in order, none canceled (%d)", (unsigned long long)S->Id, Sends, S->Completed);
        if (i < STREAMS) {
            CHECK(S->ReplyLength == 8 && S->Reply == PER_STREAM, "stream %llu: the server got all %llu bytes intact (%llu)",
                  (unsigned long long)S->Id, (unsigned long long)PER_STREAM, (unsigned long long)S->Reply);
        }
        Api->StreamClose(S->Handle);
        free(S->Data);
    }
    double Elapsed = now_seconds() - Start;
    uint64_t MaxIdeal = 0;
    int IdealEvents = 0;
    for (int i = 0; i <= STREAMS; i++) {
        CLIENT_STREAM* S = &Streams[i];
        uint64_t Expected = S->IdealEvents > 0 ? S->LastIdeal : DEFAULT_IDEAL_SEND_BUFFER;
        CHECK(S->IdealParamStatus == QUIC_STATUS_SUCCESS && S->IdealParam == Expected,
              "stream %llu: STREAM_IDEAL_SEND_BUFFER_SIZE %llu is the last value indicated (%llu, %d events)",
              (unsigned long long)S->Id, (unsigned long long)S->IdealParam, (unsigned long long)Expected,
              S->IdealEvents);
        IdealEvents += S->IdealEvents;
        if (S->MaxIdeal > MaxIdeal) MaxIdeal = S->MaxIdeal;
    }
    CHECK(IdealEvents > 0 && MaxIdeal > DEFAULT_IDEAL_SEND_BUFFER,
          "IDEAL_SEND_BUFFER_SIZE raised above %u during the transfer (%d events, largest %llu)",
          DEFAULT_IDEAL_SEND_BUFFER, IdealEvents, (unsigned long long)MaxIdeal);
    printf("# IDEAL_SEND_BUFFER_SIZE: %d events, largest %llu\n", IdealEvents, (unsigned long long)MaxIdeal);
    CHECK(tu_event_wait(&ServerUniDone, 1, WAIT_MS) == 1, "the unidirectional stream ended");
    CHECK(UniReceived == UNI_BYTES && !UniBad, "the unidirectional stream's %u bytes arrived intact (%llu)",
          UNI_BYTES, (unsigned long long)UniReceived);
    printf("# %u MiB in %.3f s: %.1f Mbit/s\n", (unsigned)(STREAMS * PER_STREAM >> 20), Elapsed,
           (double)(STREAMS * PER_STREAM) * 8 / Elapsed / 1e6);

    Api->ConnectionShutdown(Connection, QUIC_CONNECTION_SHUTDOWN_FLAG_NONE, 0);
    CHECK(tu_event_wait(&ClientShutdown, 1, WAIT_MS) == 1, "client SHUTDOWN_COMPLETE");
    CHECK(tu_event_wait(&ServerConnectionDone, 1, WAIT_MS) == 1, "server SHUTDOWN_COMPLETE");
    Api->ConnectionClose(Connection);
    Api->ListenerClose(Listener);
    Api->ConfigurationClose(ClientConfiguration);
    Api->ConfigurationClose(ServerConfiguration);
    Api->RegistrationClose(Registration);
    MsQuicClose(Api);
    return tu_finish();
}
