/*
 * app_owned_buffers.c - app-owned receive buffers (MsQuic preview: QUIC_STREAM_OPEN_FLAG_APP_OWNED_BUFFERS,
 * StreamProvideReceiveBuffers, QUIC_STREAM_EVENT_RECEIVE_BUFFER_NEEDED; MsQuic docs/Streams.md
 * "App-Owned Buffer Mode") over 127.0.0.1 with an ephemeral port.
 *
 * 1. Peer stream, switched inside PEER_STREAM_STARTED: the client sends 64 KiB + FIN on a
 *    unidirectional stream; the server (stream window 4096) provides 1000+3000+500 bytes of one
 *    big array inside PEER_STREAM_STARTED; once they are full the sender must hold (nothing
 *    more for 300 ms); the main thread then provides 2000 bytes, and the RECEIVE callback
 *    chunks of odd sizes from there on. Every RECEIVE buffer must point at the array position of its stream offset, hold
 *    exactly the sent bytes, and never pass the space provided (the sender is held at that limit
 *    and resumes when more is given); bytes never provided, or provided and not filled, stay
 *    untouched.
 * 2. Local stream opened with the flag: the client provides 1500+2500+700 bytes before
 *    StreamStart and asks the server for 20000 bytes; its window (64 KiB default) lets the server
 *    send more than that, so RECEIVE_BUFFER_NEEDED comes and the client provides what it asks
 *    inline; RECEIVE returns PENDING and the main thread completes it. Data checked exactly,
 *    pointers into the client's array.
 * 3. Not enough space: the server provides 1000 bytes, the client sends 3000 (inside the initial
 *    window), the server does nothing in RECEIVE_BUFFER_NEEDED: the connection is closed with
 *    FLOW_CONTROL_ERROR. Again with StreamShutdown(ABORT_RECEIVE | INLINE) inside the event: the
 *    client sees PEER_RECEIVE_ABORTED and the connection stays up.
 * 4. Arguments and state: NULL stream, count 0, NULL array, a zero-length buffer, a NULL buffer
 *    pointer (INVALID_PARAMETER); a stream not in app-owned mode, and a peer stream after its
 *    PEER_STREAM_STARTED (INVALID_STATE); a stream after SHUTDOWN_COMPLETE (SUCCESS, as MsQuic,
 *    whose api.c checks no stream state).
 */
#define QUIC_API_ENABLE_PREVIEW_FEATURES 1
#include "testutil.h"

#define ALPN "app-owned"
#define BIG_LENGTH 65536
#define GUARD 4096
#define ECHO_LENGTH 20000
#define FILL 0xEE

static const QUIC_API_TABLE* Api;
static HQUIC ServerConfiguration;

static uint8_t Pattern(uint64_t Offset) { return (uint8_t)((Offset * 7 + Offset / 251) & 0xFF); }

/* ---- server ---------------------------------------------------------------------------- */

static int ServerMode; /* 1: scenario 1, 3: scenario 3, 4: scenario 3 with an inline shutdown */
static uint8_t ServerStore[BIG_LENGTH + GUARD];
static uint64_t ServerProvided;   /* bytes of ServerStore provided */
static uint64_t ServerReceived;   /* bytes indicated and consumed */
static int ServerChunk;
static int ServerBadPointer, ServerBadData, ServerBeyondSpace, ServerHeldAtLimit, ServerReceives;
static int ServerProvideFailed, ServerBufferNeeded;
static uint64_t ServerNeededLength;
static QUIC_STATUS ServerBidiLateProvide = QUIC_STATUS_SUCCESS;
static HQUIC ServerBidiStream;
static HQUIC ServerUniStream;
static int ServerPhase; /* scenario 1: 0 until the main thread saw the sender stall */
static QUIC_STATUS ServerInlineShutdown = QUIC_STATUS_INVALID_STATE;
static TU_EVENT ServerFin, ServerBidiDone, ServerNeeded, ServerStalled;

static void ServerProvide(HQUIC Stream, uint32_t Length)
{
    QUIC_BUFFER B;
    if (ServerProvided + Length > BIG_LENGTH) {
        Length = (uint32_t)(BIG_LENGTH - ServerProvided);
    }
    if (Length == 0) {
        return;
    }
    B.Buffer = ServerStore + ServerProvided;
    B.Length = Length;
    if (QUIC_FAILED(Api->StreamProvideReceiveBuffers(Stream, 1, &B))) {
        ServerProvideFailed++;
        return;
    }
    ServerProvided += Length;
}

static QUIC_STATUS QUIC_API ServerStreamCallback(HQUIC Stream, void* Context, QUIC_STREAM_EVENT* Event)
{
    static const uint32_t Sizes[] = {777, 2048, 1, 4096, 1500, 333};
    (void)Context;
    switch (Event->Type) {
    case QUIC_STREAM_EVENT_RECEIVE: {
        uint64_t Offset = Event->RECEIVE.AbsoluteOffset;
        ServerReceives++;
        if (Offset != ServerReceived) {
            ServerBadData++;
        }
        for (uint32_t i = 0; i < Event->RECEIVE.BufferCount; i++) {
            const QUIC_BUFFER* B = &Event->RECEIVE.Buffers[i];
            if (B->Buffer != ServerStore + Offset) {
                ServerBadPointer++;
            }
            for (uint32_t j = 0; j < B->Length; j++) {
                if (Offset + j >= BIG_LENGTH || B->Buffer[j] != Pattern(Offset + j)) {
                    ServerBadData++;
                    break;
                }
            }
            Offset += B->Length;
        }
        if (Offset != Event->RECEIVE.AbsoluteOffset + Event->RECEIVE.TotalBufferLength) {
            ServerBadData++;
        }
        if (Offset > ServerProvided) {
            ServerBeyondSpace++;
        }
        if (Offset == ServerProvided && Offset < BIG_LENGTH) {
            ServerHeldAtLimit++;
        }
        ServerReceived = Offset;
        if (ServerMode == 1 && __atomic_load_n(&ServerPhase, __ATOMIC_ACQUIRE) == 0 && Offset == ServerProvided) {
            /* The first provision is full: the main thread checks that the sender holds. */
            tu_event_signal(&ServerStalled, Stream, NULL, QUIC_STATUS_SUCCESS);
        }
        /* Everything is consumed inline; after the stall, more space from the callback when
           little is left. */
        if (ServerMode == 1 && __atomic_load_n(&ServerPhase, __ATOMIC_ACQUIRE) == 1) {
            while (ServerProvided < BIG_LENGTH && ServerProvided - ServerReceived < 1500) {
                ServerProvide(Stream, Sizes[ServerChunk++ % (sizeof(Sizes) / sizeof(Sizes[0]))]);
            }
        }
        break;
    }
    case QUIC_STREAM_EVENT_RECEIVE_BUFFER_NEEDED:
        ServerBufferNeeded++;
        ServerNeededLength = Event->RECEIVE_BUFFER_NEEDED.BufferLengthNeeded;
        if (ServerMode == 4) {
            /* The other way out MsQuic documents: shut the receive direction down inline. */
            ServerInlineShutdown = Api->StreamShutdown(
                Stream, QUIC_STREAM_SHUTDOWN_FLAG_ABORT_RECEIVE | QUIC_STREAM_SHUTDOWN_FLAG_INLINE, 77);
        }
        tu_event_signal(&ServerNeeded, Stream, NULL, QUIC_STATUS_SUCCESS);
        break;
    case QUIC_STREAM_EVENT_PEER_SEND_SHUTDOWN:
        tu_event_signal(&ServerFin, Stream, NULL, QUIC_STATUS_SUCCESS);
        break;
    case QUIC_STREAM_EVENT_SHUTDOWN_COMPLETE:
        Api->StreamClose(Stream);
        break;
    default:
        break;
    }
    return QUIC_STATUS_SUCCESS;
}

/* Bidirectional peer streams (scenario 2): default mode; after the client's FIN, 20000 bytes
   back with FIN. */
static uint8_t EchoData[ECHO_LENGTH];
static QUIC_BUFFER EchoBuffer;

static QUIC_STATUS QUIC_API ServerBidiCallback(HQUIC Stream, void* Context, QUIC_STREAM_EVENT* Event)
{
    (void)Context;
    switch (Event->Type) {
    case QUIC_STREAM_EVENT_RECEIVE: {
        /* Too late to switch the mode: the stream started in the default one. */
        uint8_t Space[16];
        QUIC_BUFFER B = {sizeof(Space), Space};
        ServerBidiLateProvide = Api->StreamProvideReceiveBuffers(Stream, 1, &B);
        break;
    }
    case QUIC_STREAM_EVENT_PEER_SEND_SHUTDOWN:
        EchoBuffer.Buffer = EchoData;
        EchoBuffer.Length = ECHO_LENGTH;
        Api->StreamSend(Stream, &EchoBuffer, 1, QUIC_SEND_FLAG_FIN, NULL);
        break;
    case QUIC_STREAM_EVENT_SHUTDOWN_COMPLETE:
        tu_event_signal(&ServerBidiDone, Stream, NULL, QUIC_STATUS_SUCCESS);
        Api->StreamClose(Stream);
        break;
    default:
        break;
    }
    return QUIC_STATUS_SUCCESS;
}

static QUIC_STATUS QUIC_API ServerConnCallback(HQUIC Connection, void* Context, QUIC_CONNECTION_EVENT* Event)
{
    (void)Context;
    (void)Connection;
    if (Event->Type == QUIC_CONNECTION_EVENT_PEER_STREAM_STARTED) {
        HQUIC Stream = Event->PEER_STREAM_STARTED.Stream;
        if (Event->PEER_STREAM_STARTED.Flags & QUIC_STREAM_OPEN_FLAG_UNIDIRECTIONAL) {
            QUIC_BUFFER B[3];
            Api->SetCallbackHandler(Stream, (void*)ServerStreamCallback, NULL);
            ServerUniStream = Stream;
            if (ServerMode == 1) {
                /* Three buffers of different sizes at once, inside PEER_STREAM_STARTED. */
                B[0].Buffer = ServerStore;
                B[0].Length = 1000;
                B[1].Buffer = ServerStore + 1000;
                B[1].Length = 3000;
                B[2].Buffer = ServerStore + 4000;
                B[2].Length = 500;
                if (QUIC_SUCCEEDED(Api->StreamProvideReceiveBuffers(Stream, 3, B))) {
                    ServerProvided = 4500;
                } else {
                    ServerProvideFailed++;
                }
            } else {
                ServerProvide(Stream, 1000);
            }
        } else {
            ServerBidiStream = Stream;
            Api->SetCallbackHandler(Stream, (void*)ServerBidiCallback, NULL);
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

/* ---- client ---------------------------------------------------------------------------- */

static TU_EVENT ClientConnected, ClientShutdown, ClientStreamDone, ClientReceive, ClientNeeded;
static uint64_t ClientTransportError;
static int ClientClosedByTransport;

static QUIC_STATUS QUIC_API ClientConnCallback(HQUIC Connection, void* Context, QUIC_CONNECTION_EVENT* Event)
{
    (void)Context;
    if (Event->Type == QUIC_CONNECTION_EVENT_CONNECTED) {
        tu_event_signal(&ClientConnected, Connection, NULL, QUIC_STATUS_SUCCESS);
    } else if (Event->Type == QUIC_CONNECTION_EVENT_SHUTDOWN_INITIATED_BY_PEER) {
        ClientTransportError = Event->SHUTDOWN_INITIATED_BY_PEER.ErrorCode;
    } else if (Event->Type == QUIC_CONNECTION_EVENT_SHUTDOWN_INITIATED_BY_TRANSPORT) {
        ClientClosedByTransport = 1;
        ClientTransportError = Event->SHUTDOWN_INITIATED_BY_TRANSPORT.ErrorCode;
    } else if (Event->Type == QUIC_CONNECTION_EVENT_SHUTDOWN_COMPLETE) {
        tu_event_signal(&ClientShutdown, Connection, NULL, QUIC_STATUS_SUCCESS);
    }
    return QUIC_STATUS_SUCCESS;
}

static TU_EVENT ClientPeerReceiveAborted;
static uint64_t ClientAbortCode;

static QUIC_STATUS QUIC_API ClientSendOnlyCallback(HQUIC Stream, void* Context, QUIC_STREAM_EVENT* Event)
{
    (void)Context;
    if (Event->Type == QUIC_STREAM_EVENT_PEER_RECEIVE_ABORTED) {
        ClientAbortCode = Event->PEER_RECEIVE_ABORTED.ErrorCode;
        tu_event_signal(&ClientPeerReceiveAborted, Stream, NULL, QUIC_STATUS_SUCCESS);
    }
    return QUIC_STATUS_SUCCESS;
}

/* Scenario 2: the client's own app-owned stream. */
static uint8_t ClientStore[ECHO_LENGTH + 65536 + GUARD];
static uint64_t ClientProvided;
static int ClientBadPointer, ClientNeededCount, ClientNeededFailed;
static uint64_t ClientPendingOffset, ClientPendingTotal;
static int ClientPendingFin;
/* The QUIC_BUFFER array of a RECEIVE is the callback's only (as in MsQuic): copied here. */
static QUIC_BUFFER ClientPendingBuffers[64];
static uint32_t ClientPendingCount;
static int ClientTooManyBuffers;

static QUIC_STATUS QUIC_API ClientStreamCallback(HQUIC Stream, void* Context, QUIC_STREAM_EVENT* Event)
{
    (void)Context;
    switch (Event->Type) {
    case QUIC_STREAM_EVENT_RECEIVE_BUFFER_NEEDED: {
        /* Provide what is asked, inline, from the next part of the array. */
        uint64_t Need = Event->RECEIVE_BUFFER_NEEDED.BufferLengthNeeded;
        QUIC_BUFFER B;
        ClientNeededCount++;
        if (Need == 0 || ClientProvided + Need > sizeof(ClientStore) - GUARD) {
            ClientNeededFailed++;
            break;
        }
        B.Buffer = ClientStore + ClientProvided;
        B.Length = (uint32_t)Need;
        if (QUIC_SUCCEEDED(Api->StreamProvideReceiveBuffers(Stream, 1, &B))) {
            ClientProvided += Need;
        } else {
            ClientNeededFailed++;
        }
        tu_event_signal(&ClientNeeded, Stream, NULL, QUIC_STATUS_SUCCESS);
        break;
    }
    case QUIC_STREAM_EVENT_RECEIVE: {
        uint64_t Offset = Event->RECEIVE.AbsoluteOffset;
        for (uint32_t i = 0; i < Event->RECEIVE.BufferCount; i++) {
            if (Event->RECEIVE.Buffers[i].Buffer != ClientStore + Offset) {
                ClientBadPointer++;
            }
            Offset += Event->RECEIVE.Buffers[i].Length;
        }
        ClientPendingOffset = Event->RECEIVE.AbsoluteOffset;
        ClientPendingTotal = Event->RECEIVE.TotalBufferLength;
        ClientPendingFin = (Event->RECEIVE.Flags & QUIC_RECEIVE_FLAG_FIN) != 0;
        ClientPendingCount = Event->RECEIVE.BufferCount;
        if (ClientPendingCount > 64) {
            ClientTooManyBuffers++;
            ClientPendingCount = 64;
        }
        memcpy(ClientPendingBuffers, Event->RECEIVE.Buffers, ClientPendingCount * sizeof(QUIC_BUFFER));
        tu_event_signal(&ClientReceive, Stream, NULL, QUIC_STATUS_SUCCESS);
        return QUIC_STATUS_PENDING;
    }
    case QUIC_STREAM_EVENT_SHUTDOWN_COMPLETE:
        tu_event_signal(&ClientStreamDone, Stream, NULL, QUIC_STATUS_SUCCESS);
        break;
    default:
        break;
    }
    return QUIC_STATUS_SUCCESS;
}

static HQUIC StartClient(HQUIC Registration, HQUIC ClientConfiguration, uint16_t Port)
{
    HQUIC Client = NULL;
    int Before = ClientConnected.Count;
    CHECK_SUCCEEDED(Api->ConnectionOpen(Registration, ClientConnCallback, NULL, &Client), "ConnectionOpen");
    CHECK_SUCCEEDED(Api->ConnectionStart(Client, ClientConfiguration, QUIC_ADDRESS_FAMILY_INET, "127.0.0.1", Port),
                    "ConnectionStart");
    CHECK(tu_event_wait(&ClientConnected, Before + 1, 5000) == Before + 1, "CONNECTED");
    return Client;
}

static int StoreUntouched(const uint8_t* Store, size_t From, size_t To)
{
    for (size_t i = From; i < To; i++) {
        if (Store[i] != FILL) {
            return 0;
        }
    }
    return 1;
}

int main(void)
{
    HQUIC Registration = NULL, ClientConfiguration = NULL, Listener = NULL, Client = NULL, Stream = NULL;
    QUIC_BUFFER Alpn = tu_alpn(ALPN);
    QUIC_SETTINGS Settings;
    uint16_t Port = 0;
    static uint8_t Big[BIG_LENGTH];
    QUIC_BUFFER Send;

    tu_start_watchdog(90);
    if (tu_cert_dir() == NULL) {
        CHECK(0, "certificates available");
        return tu_finish();
    }
    tu_event_init(&ServerFin);
    tu_event_init(&ServerBidiDone);
    tu_event_init(&ServerNeeded);
    tu_event_init(&ServerStalled);
    tu_event_init(&ClientPeerReceiveAborted);
    tu_event_init(&ClientConnected);
    tu_event_init(&ClientShutdown);
    tu_event_init(&ClientStreamDone);
    tu_event_init(&ClientReceive);
    tu_event_init(&ClientNeeded);
    for (uint64_t i = 0; i < BIG_LENGTH; i++) {
        Big[i] = Pattern(i);
    }
    for (uint64_t i = 0; i < ECHO_LENGTH; i++) {
        EchoData[i] = Pattern(i + 12345);
    }
    memset(ServerStore, FILL, sizeof(ServerStore));
    memset(ClientStore, FILL, sizeof(ClientStore));
    if (QUIC_FAILED(MsQuicOpen2(&Api))) {
        CHECK(0, "MsQuicOpen2");
        return tu_finish();
    }
    CHECK_SUCCEEDED(Api->RegistrationOpen(NULL, &Registration), "RegistrationOpen");
    memset(&Settings, 0, sizeof(Settings));
    Settings.IsSet.PeerUnidiStreamCount = 1;
    Settings.PeerUnidiStreamCount = 4;
    Settings.IsSet.PeerBidiStreamCount = 1;
    Settings.PeerBidiStreamCount = 4;
    Settings.IsSet.StreamRecvWindowDefault = 1;
    Settings.StreamRecvWindowDefault = 4096;
    ServerConfiguration = tu_server_configuration(Api, Registration, &Alpn, &Settings);
    ClientConfiguration = tu_insecure_client_configuration(Api, Registration, &Alpn);
    Listener = tu_loopback_listener(Api, Registration, ListenerCallback, NULL, &Alpn, &Port);
    if (ServerConfiguration == NULL || ClientConfiguration == NULL || Listener == NULL) {
        return tu_finish();
    }

    /* ---- 4. arguments (on a client stream in the default mode) ---- */
    Client = StartClient(Registration, ClientConfiguration, Port);
    {
        HQUIC Plain = NULL;
        uint8_t Space[64];
        QUIC_BUFFER B = {sizeof(Space), Space};
        QUIC_BUFFER Zero = {0, Space};
        QUIC_BUFFER NullPointer = {16, NULL};
        CHECK_SUCCEEDED(Api->StreamOpen(Client, QUIC_STREAM_OPEN_FLAG_NONE, ClientSendOnlyCallback, NULL, &Plain),
                        "StreamOpen (default mode)");
        CHECK_STATUS(Api->StreamProvideReceiveBuffers(NULL, 1, &B), QUIC_STATUS_INVALID_PARAMETER,
                     "StreamProvideReceiveBuffers(NULL stream)");
        CHECK_STATUS(Api->StreamProvideReceiveBuffers(Client, 1, &B), QUIC_STATUS_INVALID_PARAMETER,
                     "StreamProvideReceiveBuffers(connection handle)");
        CHECK_STATUS(Api->StreamProvideReceiveBuffers(Plain, 0, &B), QUIC_STATUS_INVALID_PARAMETER,
                     "StreamProvideReceiveBuffers(count 0)");
        CHECK_STATUS(Api->StreamProvideReceiveBuffers(Plain, 1, NULL), QUIC_STATUS_INVALID_PARAMETER,
                     "StreamProvideReceiveBuffers(NULL array)");
        CHECK_STATUS(Api->StreamProvideReceiveBuffers(Plain, 1, &Zero), QUIC_STATUS_INVALID_PARAMETER,
                     "StreamProvideReceiveBuffers(zero-length buffer)");
        CHECK_STATUS(Api->StreamProvideReceiveBuffers(Plain, 1, &NullPointer), QUIC_STATUS_INVALID_PARAMETER,
                     "StreamProvideReceiveBuffers(NULL buffer pointer)");
        CHECK_STATUS(Api->StreamProvideReceiveBuffers(Plain, 1, &B), QUIC_STATUS_INVALID_STATE,
                     "StreamProvideReceiveBuffers on a stream not in app-owned mode");
        Api->StreamClose(Plain);
    }

    /* ---- 1. peer stream switched inside PEER_STREAM_STARTED, 64 KiB through 4.5 KB ---- */
    ServerMode = 1;
    CHECK_SUCCEEDED(Api->StreamOpen(Client, QUIC_STREAM_OPEN_FLAG_UNIDIRECTIONAL, ClientSendOnlyCallback, NULL, &Stream),
                    "StreamOpen (unidirectional)");
    Send.Buffer = Big;
    Send.Length = BIG_LENGTH;
    CHECK_SUCCEEDED(Api->StreamSend(Stream, &Send, 1, QUIC_SEND_FLAG_START | QUIC_SEND_FLAG_FIN, NULL),
                    "StreamSend(64 KiB, START | FIN)");
    CHECK(tu_event_wait(&ServerStalled, 1, 10000) == 1, "server: the first 4500 bytes of space are filled");
    usleep(300 * 1000);
    CHECK(ServerReceived == 4500 && ServerFin.Count == 0,
          "server: the sender holds at the space provided (%llu bytes after 300 ms)", (unsigned long long)ServerReceived);
    {
        /* Resume with space given from the application's thread; the callback gives the rest. */
        QUIC_BUFFER More;
        More.Buffer = ServerStore + 4500;
        More.Length = 2000;
        ServerProvided = 6500;
        __atomic_store_n(&ServerPhase, 1, __ATOMIC_RELEASE);
        CHECK_STATUS(Api->StreamProvideReceiveBuffers(ServerUniStream, 1, &More), QUIC_STATUS_SUCCESS,
                     "server: StreamProvideReceiveBuffers from the application's thread");
    }
    CHECK(tu_event_wait(&ServerFin, 1, 20000) == 1, "server: PEER_SEND_SHUTDOWN after all the data");
    CHECK(ServerProvideFailed == 0, "server: every StreamProvideReceiveBuffers succeeded (%d failed)", ServerProvideFailed);
    CHECK(ServerReceived == BIG_LENGTH, "server: %llu bytes received", (unsigned long long)ServerReceived);
    CHECK(ServerBadData == 0, "server: received bytes equal the sent pattern, in order");
    CHECK(ServerBadPointer == 0, "server: every RECEIVE buffer points at its offset in the provided array");
    CHECK(ServerBeyondSpace == 0, "server: no data beyond the space provided");
    printf("info server: %d RECEIVE events, %d ending exactly at the space provided\n", ServerReceives, ServerHeldAtLimit);
    CHECK(ServerBufferNeeded == 0, "server: no RECEIVE_BUFFER_NEEDED (the first provision covers the window)");
    CHECK(memcmp(ServerStore, Big, BIG_LENGTH) == 0, "server: the array holds exactly the stream's bytes");
    CHECK(StoreUntouched(ServerStore, BIG_LENGTH, sizeof(ServerStore)), "server: memory never provided is untouched");
    Api->StreamClose(Stream);
    Stream = NULL;

    /* ---- 2. local stream with the flag: buffers before StreamStart, PENDING receives ---- */
    {
        QUIC_BUFFER B[3];
        uint64_t Received = 0;
        int Fin = 0, BadData = 0, Rounds = 0;
        CHECK_SUCCEEDED(Api->StreamOpen(Client, QUIC_STREAM_OPEN_FLAG_APP_OWNED_BUFFERS, ClientStreamCallback, NULL,
                                        &Stream), "StreamOpen(APP_OWNED_BUFFERS)");
        B[0].Buffer = ClientStore;
        B[0].Length = 1500;
        B[1].Buffer = ClientStore + 1500;
        B[1].Length = 2500;
        B[2].Buffer = ClientStore + 4000;
        B[2].Length = 700;
        CHECK_STATUS(Api->StreamProvideReceiveBuffers(Stream, 3, B), QUIC_STATUS_SUCCESS,
                     "StreamProvideReceiveBuffers before StreamStart (3 buffers)");
        ClientProvided = 4700;
        Send.Buffer = (uint8_t*)"GO";
        Send.Length = 2;
        CHECK_SUCCEEDED(Api->StreamSend(Stream, &Send, 1, QUIC_SEND_FLAG_START | QUIC_SEND_FLAG_FIN, NULL),
                        "StreamSend(request, START | FIN)");
        while (!Fin && Rounds < 1000) {
            Rounds++;
            if (tu_event_wait(&ClientReceive, Rounds, 10000) < Rounds) {
                CHECK(0, "client: RECEIVE %d", Rounds);
                break;
            }
            if (ClientPendingOffset != Received) {
                BadData++;
            }
            for (uint32_t i = 0; i < ClientPendingCount; i++) {
                const QUIC_BUFFER* P = &ClientPendingBuffers[i];
                for (uint32_t j = 0; j < P->Length; j++) {
                    if (Received + j >= ECHO_LENGTH || P->Buffer[j] != Pattern(Received + j + 12345)) {
                        BadData++;
                        break;
                    }
                }
                Received += P->Length;
            }
            Fin = ClientPendingFin;
            Api->StreamReceiveComplete(Stream, ClientPendingTotal);
        }
        CHECK(Fin, "client: the FIN came with the data (%d RECEIVE events)", Rounds);
        CHECK(Received == ECHO_LENGTH, "client: %llu bytes received", (unsigned long long)Received);
        CHECK(BadData == 0, "client: received bytes equal the server's, in order");
        CHECK(ClientBadPointer == 0 && ClientTooManyBuffers == 0,
              "client: every RECEIVE buffer points at its offset in the provided array");
        CHECK(ClientNeededCount > 0 && ClientNeededFailed == 0,
              "client: RECEIVE_BUFFER_NEEDED came (%d) and inline provisions succeeded", ClientNeededCount);
        CHECK(memcmp(ClientStore, EchoData, ECHO_LENGTH) == 0, "client: the array holds exactly the stream's bytes");
        CHECK(StoreUntouched(ClientStore, ECHO_LENGTH, sizeof(ClientStore)),
              "client: memory past the data is untouched");
        CHECK(tu_event_wait(&ClientStreamDone, 1, 5000) == 1, "client: SHUTDOWN_COMPLETE");
        CHECK(tu_event_wait(&ServerBidiDone, 1, 5000) == 1, "server: bidirectional stream done");
        CHECK_STATUS(ServerBidiLateProvide, QUIC_STATUS_INVALID_STATE,
                     "server: StreamProvideReceiveBuffers on a peer stream after PEER_STREAM_STARTED");
        {
            uint8_t Space[8];
            QUIC_BUFFER Late = {sizeof(Space), Space};
            CHECK_STATUS(Api->StreamProvideReceiveBuffers(Stream, 1, &Late), QUIC_STATUS_SUCCESS,
                         "StreamProvideReceiveBuffers after SHUTDOWN_COMPLETE (taken, never written)");
        }
        Api->StreamClose(Stream);
        Stream = NULL;
    }
    Api->ConnectionShutdown(Client, QUIC_CONNECTION_SHUTDOWN_FLAG_NONE, 0);
    CHECK(tu_event_wait(&ClientShutdown, 1, 5000) == 1, "client connection 1 ends");
    Api->ConnectionClose(Client);

    /* ---- 3. less space than the peer may send, nothing given in RECEIVE_BUFFER_NEEDED ---- */
    ServerMode = 3;
    ServerProvided = 0;
    ServerReceived = 0;
    ServerBeyondSpace = 0;
    ServerBufferNeeded = 0;
    memset(ServerStore, FILL, sizeof(ServerStore));
    Client = StartClient(Registration, ClientConfiguration, Port);
    CHECK_SUCCEEDED(Api->StreamOpen(Client, QUIC_STREAM_OPEN_FLAG_UNIDIRECTIONAL, ClientSendOnlyCallback, NULL, &Stream),
                    "StreamOpen (unidirectional)");
    Send.Buffer = Big;
    Send.Length = 3000;
    CHECK_SUCCEEDED(Api->StreamSend(Stream, &Send, 1, QUIC_SEND_FLAG_START | QUIC_SEND_FLAG_FIN, NULL),
                    "StreamSend(3000 bytes into 1000 of space)");
    CHECK(tu_event_wait(&ServerNeeded, 1, 5000) >= 1, "server: RECEIVE_BUFFER_NEEDED");
    CHECK(ServerNeededLength > 0 && ServerNeededLength <= 2000, "server: BufferLengthNeeded %llu (1..2000)",
          (unsigned long long)ServerNeededLength);
    CHECK(tu_event_wait(&ClientShutdown, 2, 5000) == 2, "client connection 2 ends");
    CHECK(ClientTransportError == 0x3, "the connection was closed with FLOW_CONTROL_ERROR (0x%llx)",
          (unsigned long long)ClientTransportError);
    CHECK(ServerBeyondSpace == 0 && ServerReceived <= 1000, "server: at most the 1000 bytes provided were indicated (%llu)",
          (unsigned long long)ServerReceived);
    CHECK(StoreUntouched(ServerStore, 1000, sizeof(ServerStore)), "server: nothing written past the space provided");
    Api->StreamClose(Stream);
    Api->ConnectionClose(Client);

    /* ---- 3b. the same, but the server shuts its receive direction down in RECEIVE_BUFFER_NEEDED ---- */
    ServerMode = 4;
    ServerProvided = 0;
    ServerReceived = 0;
    ClientTransportError = 0;
    ClientClosedByTransport = 0;
    memset(ServerStore, FILL, sizeof(ServerStore));
    Client = StartClient(Registration, ClientConfiguration, Port);
    CHECK_SUCCEEDED(Api->StreamOpen(Client, QUIC_STREAM_OPEN_FLAG_UNIDIRECTIONAL, ClientSendOnlyCallback, NULL, &Stream),
                    "StreamOpen (unidirectional)");
    /* No FIN: the send direction stays open, so STOP_SENDING is always reported (RFC 9000 §3.5). */
    CHECK_SUCCEEDED(Api->StreamSend(Stream, &Send, 1, QUIC_SEND_FLAG_START, NULL),
                    "StreamSend(3000 bytes into 1000 of space, no FIN)");
    CHECK(tu_event_wait(&ServerNeeded, 2, 5000) >= 2, "server: RECEIVE_BUFFER_NEEDED");
    CHECK_STATUS(ServerInlineShutdown, QUIC_STATUS_SUCCESS, "server: StreamShutdown(ABORT_RECEIVE | INLINE) inside it");
    CHECK(tu_event_wait(&ClientPeerReceiveAborted, 1, 5000) == 1 && ClientAbortCode == 77,
          "client: PEER_RECEIVE_ABORTED (77)");
    CHECK(tu_event_wait(&ClientShutdown, 3, 300) == 2 && !ClientClosedByTransport,
          "the connection stays up");
    CHECK(StoreUntouched(ServerStore, 1000, sizeof(ServerStore)), "server: nothing written past the space provided");
    Api->ConnectionShutdown(Client, QUIC_CONNECTION_SHUTDOWN_FLAG_NONE, 0);
    CHECK(tu_event_wait(&ClientShutdown, 3, 5000) == 3, "client connection 3 ends");
    Api->StreamClose(Stream);
    Api->ConnectionClose(Client);

    Api->ListenerClose(Listener);
    Api->ConfigurationClose(ClientConfiguration);
    Api->ConfigurationClose(ServerConfiguration);
    Api->RegistrationClose(Registration);
    MsQuicClose(Api);
    return tu_finish();
}
