/*
 * stream_flags.c - two of MsQuic's per-stream options, through the C API:
 *
 * QUIC_STREAM_OPEN_FLAG_DELAY_ID_FC_UPDATES, set by the server in PEER_STREAM_STARTED: the
 * MAX_STREAMS credit of a finished peer stream is returned only at StreamClose. The server
 * allows one bidirectional stream (PeerBidiStreamCount 1); the client sees STREAMS_AVAILABLE
 * for a second stream as soon as the first ends without the flag, and only after the server
 * closes the stream's handle with it.
 *
 * QUIC_SEND_FLAG_CANCEL_ON_LOSS: the client talks to the server through a UDP relay in this
 * program that drops the next three client datagrams on request. Data sent with the flag is
 * not retransmitted: the client gets QUIC_STREAM_EVENT_CANCEL_ON_LOSS, sets an error code in
 * it, and the stream is aborted with that code (the server sees PEER_SEND_ABORTED with it).
 * The same loss on a stream without the flag is repaired and every byte arrives.
 */
#include "testutil.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#define ALPN "stream-flags"
#define PAYLOAD 20000
#define CANCEL_CODE 0x1234

static const QUIC_API_TABLE* Api;
static HQUIC ServerConfiguration;

/* ---- a UDP relay that can drop client datagrams --------------------------------------- */

typedef struct RELAY {
    int Front;                 /* the client sends here */
    int Back;                  /* connected to the server */
    uint16_t Port;
    struct sockaddr_in Client;
    int HaveClient;
    volatile int DropNext;     /* client datagrams still to drop */
    volatile int Dropped;
    volatile int Stop;
    pthread_t Thread;
} RELAY;

static void* relay_main(void* Arg)
{
    RELAY* R = (RELAY*)Arg;
    uint8_t Buffer[65536];
    while (!R->Stop) {
        struct pollfd Fds[2] = {{R->Front, POLLIN, 0}, {R->Back, POLLIN, 0}};
        if (poll(Fds, 2, 50) <= 0) {
            continue;
        }
        if (Fds[0].revents & POLLIN) {
            struct sockaddr_in From;
            socklen_t FromLength = sizeof(From);
            ssize_t N = recvfrom(R->Front, Buffer, sizeof(Buffer), 0, (struct sockaddr*)&From, &FromLength);
            if (N > 0) {
                R->Client = From;
                R->HaveClient = 1;
                if (R->DropNext > 0) {
                    __atomic_sub_fetch(&R->DropNext, 1, __ATOMIC_SEQ_CST);
                    __atomic_add_fetch(&R->Dropped, 1, __ATOMIC_SEQ_CST);
                } else {
                    (void)send(R->Back, Buffer, (size_t)N, 0);
                }
            }
        }
        if (Fds[1].revents & POLLIN) {
            ssize_t N = recv(R->Back, Buffer, sizeof(Buffer), 0);
            if (N > 0 && R->HaveClient) {
                (void)sendto(R->Front, Buffer, (size_t)N, 0, (struct sockaddr*)&R->Client, sizeof(R->Client));
            }
        }
    }
    return NULL;
}

static int relay_start(RELAY* R, uint16_t ServerPort)
{
    struct sockaddr_in A;
    socklen_t Length = sizeof(A);
    memset(R, 0, sizeof(*R));
    R->Front = socket(AF_INET, SOCK_DGRAM, 0);
    R->Back = socket(AF_INET, SOCK_DGRAM, 0);
    if (R->Front < 0 || R->Back < 0) {
        return 0;
    }
    memset(&A, 0, sizeof(A));
    A.sin_family = AF_INET;
    A.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(R->Front, (struct sockaddr*)&A, sizeof(A)) != 0 ||
        getsockname(R->Front, (struct sockaddr*)&A, &Length) != 0) {
        return 0;
    }
    R->Port = ntohs(A.sin_port);
    A.sin_port = htons(ServerPort);
    if (connect(R->Back, (struct sockaddr*)&A, sizeof(A)) != 0) {
        return 0;
    }
    return pthread_create(&R->Thread, NULL, relay_main, R) == 0;
}

static void relay_stop(RELAY* R)
{
    R->Stop = 1;
    pthread_join(R->Thread, NULL);
    close(R->Front);
    close(R->Back);
}

/* ---- the server ----------------------------------------------------------------------- */

typedef struct SERVER_STREAM {
    HQUIC Handle;
    uint64_t Received;
    int PeerFin;
    int Aborted;
    QUIC_UINT62 AbortCode;
    TU_EVENT Done;             /* SHUTDOWN_COMPLETE */
    TU_EVENT Outcome;          /* PEER_SEND_SHUTDOWN or PEER_SEND_ABORTED */
} SERVER_STREAM;

static SERVER_STREAM ServerStreams[8];
static int ServerStreamCount;
static pthread_mutex_t ServerLock = PTHREAD_MUTEX_INITIALIZER;
static int DelayCredit;        /* set DELAY_ID_FC_UPDATES in PEER_STREAM_STARTED */

static QUIC_STATUS QUIC_API ServerStreamCallback(HQUIC Stream, void* Context, QUIC_STREAM_EVENT* Event)
{
    SERVER_STREAM* S = (SERVER_STREAM*)Context;
    switch (Event->Type) {
    case QUIC_STREAM_EVENT_RECEIVE:
        S->Received += Event->RECEIVE.TotalBufferLength;
        break;
    case QUIC_STREAM_EVENT_PEER_SEND_SHUTDOWN:
        S->PeerFin = 1;
        /* Answer with our own FIN so the stream ends at both sides. */
        Api->StreamShutdown(Stream, QUIC_STREAM_SHUTDOWN_FLAG_GRACEFUL, 0);
        tu_event_signal(&S->Outcome, Stream, S, QUIC_STATUS_SUCCESS);
        break;
    case QUIC_STREAM_EVENT_PEER_SEND_ABORTED:
        S->Aborted = 1;
        S->AbortCode = Event->PEER_SEND_ABORTED.ErrorCode;
        tu_event_signal(&S->Outcome, Stream, S, QUIC_STATUS_SUCCESS);
        break;
    case QUIC_STREAM_EVENT_SHUTDOWN_COMPLETE:
        /* The handle stays open: the test closes it (that is what DELAY_ID_FC_UPDATES waits for). */
        tu_event_signal(&S->Done, Stream, S, QUIC_STATUS_SUCCESS);
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
        SERVER_STREAM* S = NULL;
        pthread_mutex_lock(&ServerLock);
        if (ServerStreamCount < 8) {
            S = &ServerStreams[ServerStreamCount++];
        }
        pthread_mutex_unlock(&ServerLock);
        if (S == NULL) {
            return QUIC_STATUS_NOT_SUPPORTED;
        }
        S->Handle = Event->PEER_STREAM_STARTED.Stream;
        Api->SetCallbackHandler(S->Handle, (void*)ServerStreamCallback, S);
        if (DelayCredit) {
            Event->PEER_STREAM_STARTED.Flags |= QUIC_STREAM_OPEN_FLAG_DELAY_ID_FC_UPDATES;
        }
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

/* ---- the client ----------------------------------------------------------------------- */

typedef struct CLIENT {
    HQUIC Handle;
    TU_EVENT Connected;
    TU_EVENT MoreStreams;      /* STREAMS_AVAILABLE with a bidirectional count, once armed */
    volatile int Armed;
} CLIENT;

typedef struct CLIENT_STREAM {
    TU_EVENT StartComplete;
    TU_EVENT SendComplete;
    TU_EVENT Done;
    TU_EVENT CancelOnLoss;
    int SendCanceled;
} CLIENT_STREAM;

static QUIC_STATUS QUIC_API ClientConnCallback(HQUIC Connection, void* Context, QUIC_CONNECTION_EVENT* Event)
{
    CLIENT* C = (CLIENT*)Context;
    if (Event->Type == QUIC_CONNECTION_EVENT_CONNECTED) {
        tu_event_signal(&C->Connected, Connection, C, QUIC_STATUS_SUCCESS);
    } else if (Event->Type == QUIC_CONNECTION_EVENT_STREAMS_AVAILABLE) {
        if (C->Armed && Event->STREAMS_AVAILABLE.BidirectionalCount > 0) {
            tu_event_signal(&C->MoreStreams, Connection, C, QUIC_STATUS_SUCCESS);
        }
    }
    return QUIC_STATUS_SUCCESS;
}

static QUIC_STATUS QUIC_API ClientStreamCallback(HQUIC Stream, void* Context, QUIC_STREAM_EVENT* Event)
{
    CLIENT_STREAM* S = (CLIENT_STREAM*)Context;
    switch (Event->Type) {
    case QUIC_STREAM_EVENT_START_COMPLETE:
        tu_event_signal(&S->StartComplete, Stream, S, Event->START_COMPLETE.Status);
        break;
    case QUIC_STREAM_EVENT_SEND_COMPLETE:
        S->SendCanceled = Event->SEND_COMPLETE.Canceled;
        tu_event_signal(&S->SendComplete, Stream, S, QUIC_STATUS_SUCCESS);
        break;
    case QUIC_STREAM_EVENT_CANCEL_ON_LOSS:
        CHECK(Event->CANCEL_ON_LOSS.ErrorCode == 0, "CANCEL_ON_LOSS offers ErrorCode 0 to fill in");
        Event->CANCEL_ON_LOSS.ErrorCode = CANCEL_CODE;
        tu_event_signal(&S->CancelOnLoss, Stream, S, QUIC_STATUS_SUCCESS);
        break;
    case QUIC_STREAM_EVENT_SHUTDOWN_COMPLETE:
        tu_event_signal(&S->Done, Stream, S, QUIC_STATUS_SUCCESS);
        break;
    default:
        break;
    }
    return QUIC_STATUS_SUCCESS;
}

static void client_init(CLIENT* C)
{
    memset(C, 0, sizeof(*C));
    tu_event_init(&C->Connected);
    tu_event_init(&C->MoreStreams);
}

static void client_stream_init(CLIENT_STREAM* S)
{
    memset(S, 0, sizeof(*S));
    tu_event_init(&S->StartComplete);
    tu_event_init(&S->SendComplete);
    tu_event_init(&S->Done);
    tu_event_init(&S->CancelOnLoss);
}

static HQUIC connect_client(HQUIC Registration, HQUIC Configuration, CLIENT* C, uint16_t Port)
{
    client_init(C);
    CHECK_SUCCEEDED(Api->ConnectionOpen(Registration, ClientConnCallback, C, &C->Handle), "ConnectionOpen");
    if (C->Handle == NULL) {
        return NULL;
    }
    CHECK(QUIC_SUCCEEDED(Api->ConnectionStart(C->Handle, Configuration, QUIC_ADDRESS_FAMILY_INET, "127.0.0.1", Port)),
          "ConnectionStart");
    CHECK(tu_event_wait(&C->Connected, 1, 5000) == 1, "CONNECTED");
    return C->Handle;
}

/* Opens a bidirectional stream and sends Length bytes with FIN and the given extra flags. */
static HQUIC send_stream(HQUIC Connection, CLIENT_STREAM* S, uint8_t* Data, uint32_t Length, QUIC_SEND_FLAGS Extra)
{
    HQUIC Stream = NULL;
    QUIC_BUFFER Buffer = {Length, Data};
    client_stream_init(S);
    CHECK_SUCCEEDED(Api->StreamOpen(Connection, QUIC_STREAM_OPEN_FLAG_NONE, ClientStreamCallback, S, &Stream),
                    "StreamOpen");
    if (Stream != NULL) {
        QUIC_STATUS Status = Api->StreamSend(Stream, &Buffer, 1, QUIC_SEND_FLAG_START | QUIC_SEND_FLAG_FIN | Extra, NULL);
        CHECK(QUIC_SUCCEEDED(Status), "StreamSend (0x%x)", (unsigned)Status);
    }
    return Stream;
}

static void close_connection(HQUIC Connection)
{
    if (Connection != NULL) {
        Api->ConnectionShutdown(Connection, QUIC_CONNECTION_SHUTDOWN_FLAG_NONE, 0);
        Api->ConnectionClose(Connection);
    }
}

/* One stream through a server allowing one at a time; Delay selects DELAY_ID_FC_UPDATES. */
static void check_stream_credit(HQUIC Registration, HQUIC Configuration, uint16_t Port, int Delay)
{
    const char* Mode = Delay ? "DELAY_ID_FC_UPDATES" : "default";
    static uint8_t Byte = 'x';
    CLIENT C;
    CLIENT_STREAM S;
    SERVER_STREAM* Server;
    HQUIC Stream;
    int Index;

    DelayCredit = Delay;
    if (connect_client(Registration, Configuration, &C, Port) == NULL) {
        return;
    }
    pthread_mutex_lock(&ServerLock);
    Index = ServerStreamCount;
    pthread_mutex_unlock(&ServerLock);
    Server = &ServerStreams[Index];
    tu_event_init(&Server->Done);
    tu_event_init(&Server->Outcome);
    Stream = send_stream(C.Handle, &S, &Byte, 1, QUIC_SEND_FLAG_NONE);
    CHECK(tu_event_wait(&S.StartComplete, 1, 2000) == 1, "%s: START_COMPLETE", Mode);
    C.Armed = 1;
    CHECK(tu_event_wait(&Server->Done, 1, 5000) == 1, "%s: the server's stream ended", Mode);
    CHECK(Server->PeerFin && Server->Received == 1, "%s: the server read the byte and the FIN", Mode);
    if (Delay) {
        CHECK(tu_event_wait(&C.MoreStreams, 1, 500) == 0,
              "%s: no STREAMS_AVAILABLE while the server holds the stream's handle", Mode);
        Api->StreamClose(Server->Handle);
        CHECK(tu_event_wait(&C.MoreStreams, 1, 5000) == 1, "%s: STREAMS_AVAILABLE after the server's StreamClose", Mode);
    } else {
        CHECK(tu_event_wait(&C.MoreStreams, 1, 5000) == 1,
              "%s: STREAMS_AVAILABLE once the stream ended, the handle still open", Mode);
        Api->StreamClose(Server->Handle);
    }
    CHECK(tu_event_wait(&S.Done, 1, 5000) == 1, "%s: the client's stream ended", Mode);
    if (Stream != NULL) {
        Api->StreamClose(Stream);
    }
    close_connection(C.Handle);
}

static void check_cancel_on_loss(HQUIC Registration, HQUIC Configuration, uint16_t ServerPort)
{
    static uint8_t Data[PAYLOAD];
    RELAY Relay;
    CLIENT C;
    CLIENT_STREAM Plain, Canceled;
    HQUIC Stream;
    SERVER_STREAM* Server;
    int Index;

    DelayCredit = 0;
    for (size_t i = 0; i < sizeof(Data); i++) {
        Data[i] = (uint8_t)(i * 7);
    }
    if (!relay_start(&Relay, ServerPort)) {
        CHECK(0, "relay started");
        return;
    }
    if (connect_client(Registration, Configuration, &C, Relay.Port) == NULL) {
        relay_stop(&Relay);
        return;
    }

    /* Without the flag: three datagrams lost, repaired, every byte arrives. */
    pthread_mutex_lock(&ServerLock);
    Index = ServerStreamCount;
    pthread_mutex_unlock(&ServerLock);
    Server = &ServerStreams[Index];
    tu_event_init(&Server->Done);
    tu_event_init(&Server->Outcome);
    Relay.DropNext = 3;
    Stream = send_stream(C.Handle, &Plain, Data, sizeof(Data), QUIC_SEND_FLAG_NONE);
    CHECK(tu_event_wait(&Server->Outcome, 1, 10000) == 1, "plain: the server's stream finished");
    CHECK(Relay.Dropped == 3, "plain: the relay dropped three client datagrams (%d)", Relay.Dropped);
    CHECK(Server->PeerFin && !Server->Aborted && Server->Received == PAYLOAD,
          "plain: all %d bytes and the FIN arrived (%llu bytes, fin %d, aborted %d)", PAYLOAD,
          (unsigned long long)Server->Received, Server->PeerFin, Server->Aborted);
    CHECK(tu_event_wait(&Plain.SendComplete, 1, 5000) == 1 && !Plain.SendCanceled, "plain: SEND_COMPLETE, not canceled");
    CHECK(Plain.CancelOnLoss.Count == 0, "plain: no CANCEL_ON_LOSS");
    CHECK(tu_event_wait(&Plain.Done, 1, 5000) == 1, "plain: the client's stream ended");
    if (Stream != NULL) {
        Api->StreamClose(Stream);
    }
    Api->StreamClose(Server->Handle);

    /* With CANCEL_ON_LOSS: the loss cancels the stream with the code set in the event. */
    pthread_mutex_lock(&ServerLock);
    Index = ServerStreamCount;
    pthread_mutex_unlock(&ServerLock);
    Server = &ServerStreams[Index];
    tu_event_init(&Server->Done);
    tu_event_init(&Server->Outcome);
    Relay.Dropped = 0;
    Relay.DropNext = 3;
    Stream = send_stream(C.Handle, &Canceled, Data, sizeof(Data), QUIC_SEND_FLAG_CANCEL_ON_LOSS);
    CHECK(tu_event_wait(&Canceled.CancelOnLoss, 1, 10000) == 1, "cancel: QUIC_STREAM_EVENT_CANCEL_ON_LOSS");
    CHECK(tu_event_wait(&Canceled.SendComplete, 1, 5000) == 1 && Canceled.SendCanceled,
          "cancel: the send completes as canceled");
    CHECK(tu_event_wait(&Server->Outcome, 1, 10000) == 1, "cancel: the server learned the stream's fate");
    CHECK(Server->Aborted && Server->AbortCode == CANCEL_CODE,
          "cancel: the server got PEER_SEND_ABORTED with the application's code (aborted %d, code 0x%llx)",
          Server->Aborted, (unsigned long long)Server->AbortCode);
    CHECK(!Server->PeerFin && Server->Received < PAYLOAD, "cancel: the lost data was not resent (%llu bytes)",
          (unsigned long long)Server->Received);
    CHECK(tu_event_wait(&Canceled.Done, 1, 5000) == 1, "cancel: the client's stream ended");
    CHECK(Canceled.CancelOnLoss.Count == 1, "cancel: CANCEL_ON_LOSS came once (%d)", Canceled.CancelOnLoss.Count);
    if (Stream != NULL) {
        Api->StreamClose(Stream);
    }
    if (Server->Handle != NULL) {
        tu_event_wait(&Server->Done, 1, 5000);
        Api->StreamClose(Server->Handle);
    }
    close_connection(C.Handle);
    relay_stop(&Relay);
}

static int get_stream_statistics(HQUIC Stream, QUIC_STREAM_STATISTICS* Stats)
{
    uint32_t Length = sizeof(*Stats);
    memset(Stats, 0, sizeof(*Stats));
    return QUIC_SUCCEEDED(Api->GetParam(Stream, QUIC_PARAM_STREAM_STATISTICS, &Length, Stats)) &&
           Length == sizeof(*Stats);
}

/* QUIC_PARAM_STREAM_STATISTICS: time waiting for the application and for the peer's
   MAX_STREAMS, measured while it happens and frozen once it is over. */
static void check_stream_statistics(HQUIC Registration, HQUIC Configuration, uint16_t Port)
{
    static uint8_t Byte = 'y';
    QUIC_BUFFER One = {1, &Byte};
    QUIC_STREAM_STATISTICS Stats, Later;
    uint32_t Length = 0;
    CLIENT C;
    CLIENT_STREAM SA, SB;
    HQUIC A = NULL, B = NULL;
    SERVER_STREAM* Server;
    int Index;

    DelayCredit = 0;
    if (connect_client(Registration, Configuration, &C, Port) == NULL) {
        return;
    }
    client_stream_init(&SA);
    client_stream_init(&SB);
    CHECK_SUCCEEDED(Api->StreamOpen(C.Handle, QUIC_STREAM_OPEN_FLAG_NONE, ClientStreamCallback, &SA, &A), "StreamOpen A");
    CHECK_SUCCEEDED(Api->StreamOpen(C.Handle, QUIC_STREAM_OPEN_FLAG_NONE, ClientStreamCallback, &SB, &B), "StreamOpen B");
    if (A == NULL || B == NULL) {
        close_connection(C.Handle);
        return;
    }
    CHECK_STATUS(Api->GetParam(A, QUIC_PARAM_STREAM_STATISTICS, &Length, NULL), QUIC_STATUS_BUFFER_TOO_SMALL,
                 "STREAM_STATISTICS with no room");
    CHECK(Length == sizeof(QUIC_STREAM_STATISTICS), "the size needed is reported (%u)", Length);
    Length = sizeof(Stats);
    CHECK_STATUS(Api->GetParam(A, QUIC_PARAM_STREAM_STATISTICS, &Length, &Stats), QUIC_STATUS_INVALID_STATE,
                 "STREAM_STATISTICS before StreamStart");

    pthread_mutex_lock(&ServerLock);
    Index = ServerStreamCount;
    pthread_mutex_unlock(&ServerLock);
    Server = &ServerStreams[Index];
    tu_event_init(&Server->Done);
    tu_event_init(&Server->Outcome);

    /* A starts with nothing to send: it waits for the application. */
    CHECK(QUIC_SUCCEEDED(Api->StreamStart(A, QUIC_STREAM_START_FLAG_IMMEDIATE)), "StreamStart A");
    CHECK(tu_event_wait(&SA.StartComplete, 1, 2000) == 1, "A: START_COMPLETE");
    /* B waits for the server's MAX_STREAMS (one bidirectional stream at a time). */
    CHECK(QUIC_SUCCEEDED(Api->StreamStart(B, QUIC_STREAM_START_FLAG_NONE)), "StreamStart B");
    CHECK(tu_event_wait(&SB.StartComplete, 1, 2000) == 1, "B: START_COMPLETE (held back)");
    usleep(250 * 1000);
    CHECK(get_stream_statistics(A, &Stats), "A: STREAM_STATISTICS");
    CHECK(Stats.StreamBlockedByAppUs >= 200000, "A: waiting for the application for 250 ms (%llu us)",
          (unsigned long long)Stats.StreamBlockedByAppUs);
    CHECK(Stats.StreamBlockedByIdFlowControlUs == 0, "A: never waited for MAX_STREAMS (%llu us)",
          (unsigned long long)Stats.StreamBlockedByIdFlowControlUs);
    CHECK(get_stream_statistics(B, &Stats), "B: STREAM_STATISTICS");
    CHECK(Stats.StreamBlockedByIdFlowControlUs >= 200000, "B: waiting for MAX_STREAMS for 250 ms (%llu us)",
          (unsigned long long)Stats.StreamBlockedByIdFlowControlUs);
    CHECK(Stats.ConnBlockedBySchedulingUs == 0 && Stats.ConnBlockedByAmplificationProtUs == 0,
          "B: no scheduling or amplification waits on an idle loopback connection");

    /* A ends; its credit lets B open, and B's wait stops counting. */
    CHECK(QUIC_SUCCEEDED(Api->StreamSend(A, &One, 1, QUIC_SEND_FLAG_FIN, NULL)), "A: send and FIN");
    CHECK(tu_event_wait(&SA.Done, 1, 5000) == 1, "A: ended");
    CHECK(QUIC_SUCCEEDED(Api->StreamSend(B, &One, 1, QUIC_SEND_FLAG_FIN, NULL)), "B: send and FIN");
    CHECK(tu_event_wait(&SB.Done, 1, 5000) == 1, "B: ended once the server allowed it");
    CHECK(get_stream_statistics(B, &Stats), "B: STREAM_STATISTICS after the end");
    usleep(100 * 1000);
    CHECK(get_stream_statistics(B, &Later), "B: STREAM_STATISTICS 100 ms later");
    CHECK(Stats.StreamBlockedByIdFlowControlUs >= 200000 &&
          Later.StreamBlockedByIdFlowControlUs == Stats.StreamBlockedByIdFlowControlUs &&
          Later.StreamBlockedByAppUs == Stats.StreamBlockedByAppUs,
          "B: the figures stay as they were at the end (%llu / %llu us)",
          (unsigned long long)Stats.StreamBlockedByIdFlowControlUs,
          (unsigned long long)Later.StreamBlockedByIdFlowControlUs);

    Api->StreamClose(A);
    Api->StreamClose(B);
    pthread_mutex_lock(&ServerLock);
    for (int i = Index; i < ServerStreamCount; i++) {
        tu_event_wait(&ServerStreams[i].Done, 1, 2000);
        Api->StreamClose(ServerStreams[i].Handle);
    }
    pthread_mutex_unlock(&ServerLock);
    close_connection(C.Handle);
}

int main(void)
{
    HQUIC Registration = NULL, ClientConfiguration = NULL, Listener = NULL;
    QUIC_BUFFER Alpn = tu_alpn(ALPN);
    QUIC_SETTINGS Settings;
    uint16_t Port = 0;

    tu_start_watchdog(90);
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
    Settings.PeerBidiStreamCount = 1;
    ServerConfiguration = tu_server_configuration(Api, Registration, &Alpn, &Settings);
    ClientConfiguration = tu_insecure_client_configuration(Api, Registration, &Alpn);
    Listener = tu_loopback_listener(Api, Registration, ListenerCallback, NULL, &Alpn, &Port);
    if (Listener != NULL && ClientConfiguration != NULL && ServerConfiguration != NULL) {
        check_stream_credit(Registration, ClientConfiguration, Port, 0);
        check_stream_credit(Registration, ClientConfiguration, Port, 1);
        check_cancel_on_loss(Registration, ClientConfiguration, Port);
        check_stream_statistics(Registration, ClientConfiguration, Port);
    }
    if (Listener != NULL) Api->ListenerClose(Listener);
    if (ClientConfiguration != NULL) Api->ConfigurationClose(ClientConfiguration);
    if (ServerConfiguration != NULL) Api->ConfigurationClose(ServerConfiguration);
    Api->RegistrationClose(Registration);
    MsQuicClose(Api);
    return tu_finish();
}
