/* peer_client.c - the client of msquic_peer: echo, datagram, handshake and resume modes. */
#include "peer.h"

/* ---- client ------------------------------------------------------------------------- */

typedef struct CLIENT_STREAM {
    uint32_t Index;
    HQUIC Handle;
    uint8_t* Payload;
    QUIC_BUFFER Send;
    uint64_t Received;
    int Mismatch;
    int FinSeen;
    int Aborted;
    int SendCanceled;
    QUIC_STATUS StartStatus;
    EVENT Done;
} CLIENT_STREAM;

typedef struct CLIENT_CONNECTION {
    EVENT Connected;
    EVENT ShutdownComplete;
    EVENT TicketReceived;
    EVENT DatagramEnabled;
    EVENT DatagramEcho;
    int HandshakeCompleted;
    int SessionResumed;
    QUIC_STATUS TransportStatus;
    uint64_t TransportError;
    int ShutdownByTransport;
    int ShutdownByPeer;
    uint64_t PeerError;
    uint8_t* Ticket;
    uint32_t TicketLength;
    pthread_mutex_t DatagramLock;
    uint32_t DatagramsEchoed[64];   /* per datagram index: echoes received */
    uint16_t DatagramMax;
    EVENT LocalAddressChanged;
    QUIC_ADDR LastLocalAddress;
} CLIENT_CONNECTION;

static QUIC_STATUS QUIC_API client_stream_callback(HQUIC Stream, void* Context, QUIC_STREAM_EVENT* Event)
{
    CLIENT_STREAM* S = (CLIENT_STREAM*)Context;
    uint32_t i, j;
    (void)Stream;
    switch (Event->Type) {
    case QUIC_STREAM_EVENT_START_COMPLETE:
        S->StartStatus = Event->START_COMPLETE.Status;
        if (QUIC_FAILED(Event->START_COMPLETE.Status)) {
            say("EVENT client stream %u start failed status=0x%x", S->Index, (unsigned)Event->START_COMPLETE.Status);
        }
        break;
    case QUIC_STREAM_EVENT_RECEIVE:
        for (i = 0; i < Event->RECEIVE.BufferCount; i++) {
            const QUIC_BUFFER* B = &Event->RECEIVE.Buffers[i];
            for (j = 0; j < B->Length; j++) {
                if (S->Received >= Opt.Bytes || B->Buffer[j] != pattern_byte(S->Index, S->Received)) {
                    if (!S->Mismatch) {
                        say("EVENT client stream %u echo differs at offset %llu", S->Index,
                            (unsigned long long)S->Received);
                    }
                    S->Mismatch = 1;
                }
                S->Received++;
            }
        }
        if (Event->RECEIVE.Flags & QUIC_RECEIVE_FLAG_FIN) {
            S->FinSeen = 1;
        }
        break;
    case QUIC_STREAM_EVENT_SEND_COMPLETE:
        if (Event->SEND_COMPLETE.Canceled) {
            S->SendCanceled = 1;
        }
        break;
    case QUIC_STREAM_EVENT_PEER_SEND_SHUTDOWN:
        S->FinSeen = 1;
        break;
    case QUIC_STREAM_EVENT_PEER_SEND_ABORTED:
        say("EVENT client stream %u peer send aborted error=0x%llx", S->Index,
            (unsigned long long)Event->PEER_SEND_ABORTED.ErrorCode);
        S->Aborted = 1;
        break;
    case QUIC_STREAM_EVENT_PEER_RECEIVE_ABORTED:
        say("EVENT client stream %u peer receive aborted error=0x%llx", S->Index,
            (unsigned long long)Event->PEER_RECEIVE_ABORTED.ErrorCode);
        S->Aborted = 1;
        break;
    case QUIC_STREAM_EVENT_SHUTDOWN_COMPLETE:
        event_signal(&S->Done);
        break;
    default:
        break;
    }
    return QUIC_STATUS_SUCCESS;
}

static QUIC_STATUS QUIC_API client_connection_callback(HQUIC Connection, void* Context, QUIC_CONNECTION_EVENT* Event)
{
    CLIENT_CONNECTION* C = (CLIENT_CONNECTION*)Context;
    (void)Connection;
    switch (Event->Type) {
    case QUIC_CONNECTION_EVENT_CONNECTED:
        C->HandshakeCompleted = 1;
        C->SessionResumed = Event->CONNECTED.SessionResumed;
        say("EVENT client connected alpn=%.*s resumed=%d cc=%d", Event->CONNECTED.NegotiatedAlpnLength,
            (const char*)Event->CONNECTED.NegotiatedAlpn, (int)Event->CONNECTED.SessionResumed,
            connection_cc(Connection));
        event_signal(&C->Connected);
        break;
    case QUIC_CONNECTION_EVENT_SHUTDOWN_INITIATED_BY_TRANSPORT:
        C->ShutdownByTransport = 1;
        C->TransportStatus = Event->SHUTDOWN_INITIATED_BY_TRANSPORT.Status;
        C->TransportError = Event->SHUTDOWN_INITIATED_BY_TRANSPORT.ErrorCode;
        say("EVENT client shutdown by transport status=0x%x error=0x%llx", (unsigned)C->TransportStatus,
            (unsigned long long)C->TransportError);
        break;
    case QUIC_CONNECTION_EVENT_SHUTDOWN_INITIATED_BY_PEER:
        C->ShutdownByPeer = 1;
        C->PeerError = Event->SHUTDOWN_INITIATED_BY_PEER.ErrorCode;
        say("EVENT client shutdown by peer error=0x%llx", (unsigned long long)C->PeerError);
        break;
    case QUIC_CONNECTION_EVENT_SHUTDOWN_COMPLETE:
        print_stats("client", Connection);
        say("EVENT client shutdown complete handshake=%d", (int)Event->SHUTDOWN_COMPLETE.HandshakeCompleted);
        event_signal(&C->ShutdownComplete);
        break;
    case QUIC_CONNECTION_EVENT_RESUMPTION_TICKET_RECEIVED:
        if (C->Ticket == NULL && Event->RESUMPTION_TICKET_RECEIVED.ResumptionTicketLength > 0) {
            C->Ticket = (uint8_t*)malloc(Event->RESUMPTION_TICKET_RECEIVED.ResumptionTicketLength);
            if (C->Ticket != NULL) {
                memcpy(C->Ticket, Event->RESUMPTION_TICKET_RECEIVED.ResumptionTicket,
                       Event->RESUMPTION_TICKET_RECEIVED.ResumptionTicketLength);
                C->TicketLength = Event->RESUMPTION_TICKET_RECEIVED.ResumptionTicketLength;
            }
        }
        say("EVENT client resumption ticket received length=%u", Event->RESUMPTION_TICKET_RECEIVED.ResumptionTicketLength);
        event_signal(&C->TicketReceived);
        break;
    case QUIC_CONNECTION_EVENT_DATAGRAM_STATE_CHANGED:
        say("EVENT client datagram state send_enabled=%d max_send_length=%u",
            (int)Event->DATAGRAM_STATE_CHANGED.SendEnabled, Event->DATAGRAM_STATE_CHANGED.MaxSendLength);
        if (Event->DATAGRAM_STATE_CHANGED.SendEnabled) {
            C->DatagramMax = Event->DATAGRAM_STATE_CHANGED.MaxSendLength;
            event_signal(&C->DatagramEnabled);
        }
        break;
    case QUIC_CONNECTION_EVENT_DATAGRAM_RECEIVED: {
        const QUIC_BUFFER* B = Event->DATAGRAM_RECEIVED.Buffer;
        /* Our datagrams are "dgram-<index>-" followed by pattern bytes. */
        unsigned Index = 0;
        if (B->Length >= 8 && sscanf((const char*)B->Buffer, "dgram-%u-", &Index) == 1 && Index < 64) {
            pthread_mutex_lock(&C->DatagramLock);
            C->DatagramsEchoed[Index]++;
            pthread_mutex_unlock(&C->DatagramLock);
            event_signal(&C->DatagramEcho);
        } else {
            say("EVENT client unexpected datagram length=%u", B->Length);
        }
        break;
    }
    case QUIC_CONNECTION_EVENT_LOCAL_ADDRESS_CHANGED: {
        char Text[INET6_ADDRSTRLEN] = "?";
        const QUIC_ADDR* A = Event->LOCAL_ADDRESS_CHANGED.Address;
        C->LastLocalAddress = *A;
        if (QuicAddrGetFamily(A) == QUIC_ADDRESS_FAMILY_INET) {
            inet_ntop(AF_INET, &A->Ipv4.sin_addr, Text, sizeof(Text));
        }
        say("EVENT client LOCAL_ADDRESS_CHANGED %s:%u", Text, (unsigned)QuicAddrGetPort(A));
        event_signal(&C->LocalAddressChanged);
        break;
    }
    case QUIC_CONNECTION_EVENT_PEER_ADDRESS_CHANGED:
        say("EVENT client PEER_ADDRESS_CHANGED");
        break;
    case QUIC_CONNECTION_EVENT_DATAGRAM_SEND_STATE_CHANGED:
        if (QUIC_DATAGRAM_SEND_STATE_IS_FINAL(Event->DATAGRAM_SEND_STATE_CHANGED.State)) {
            free(Event->DATAGRAM_SEND_STATE_CHANGED.ClientContext);
        }
        break;
    default:
        break;
    }
    return QUIC_STATUS_SUCCESS;
}

/* Opens and starts the echo streams; 0-RTT allowed when Early. Returns the stream array. */
static CLIENT_STREAM* start_streams(HQUIC Connection, int Early, int* Failed)
{
    CLIENT_STREAM* Streams = (CLIENT_STREAM*)calloc(Opt.Streams, sizeof(CLIENT_STREAM));
    uint32_t i;
    uint64_t k;
    if (Streams == NULL) {
        *Failed = 1;
        return NULL;
    }
    for (i = 0; i < Opt.Streams; i++) {
        CLIENT_STREAM* S = &Streams[i];
        QUIC_STATUS Status;
        S->Index = i;
        event_init(&S->Done);
        S->Payload = (uint8_t*)malloc(Opt.Bytes > 0 ? (size_t)Opt.Bytes : 1);
        if (S->Payload == NULL) {
            *Failed = 1;
            continue;
        }
        for (k = 0; k < Opt.Bytes; k++) {
            S->Payload[k] = pattern_byte(i, k);
        }
        S->Send.Buffer = S->Payload;
        S->Send.Length = (uint32_t)Opt.Bytes;
        Status = Api->StreamOpen(Connection, QUIC_STREAM_OPEN_FLAG_NONE, client_stream_callback, S, &S->Handle);
        if (QUIC_FAILED(Status)) {
            say("EVENT client StreamOpen failed status=0x%x", (unsigned)Status);
            *Failed = 1;
            S->Handle = NULL;
            continue;
        }
        Status = Api->StreamStart(S->Handle, QUIC_STREAM_START_FLAG_NONE);
        if (QUIC_FAILED(Status)) {
            say("EVENT client StreamStart failed status=0x%x", (unsigned)Status);
            *Failed = 1;
            Api->StreamClose(S->Handle);
            S->Handle = NULL;
            continue;
        }
        Status = Api->StreamSend(S->Handle, &S->Send, 1,
                                 QUIC_SEND_FLAG_FIN | (Early ? QUIC_SEND_FLAG_ALLOW_0_RTT : QUIC_SEND_FLAG_NONE), S);
        if (QUIC_FAILED(Status)) {
            say("EVENT client StreamSend failed status=0x%x", (unsigned)Status);
            *Failed = 1;
            /* Nothing will come back: end the stream now instead of waiting for the idle timeout. */
            Api->StreamShutdown(S->Handle, QUIC_STREAM_SHUTDOWN_FLAG_ABORT, 1);
        }
    }
    return Streams;
}

/* --migrate: once a third of the echo came back, move the connection to Opt.Migrate:0 with
   SetParam(QUIC_PARAM_CONN_LOCAL_ADDRESS) (RFC 9000 §9.2), and check LOCAL_ADDRESS_CHANGED and
   GetParam(LOCAL_ADDRESS). Returns 1 when the migration happened as it should. */
static int migrate_midway(HQUIC Connection, CLIENT_CONNECTION* C, CLIENT_STREAM* Streams)
{
    QUIC_ADDR Before, Target, After;
    uint32_t Size = sizeof(Before);
    QUIC_STATUS Status = QUIC_STATUS_INVALID_STATE;
    int Waited;
    memset(&Target, 0, sizeof(Target));
    QuicAddrSetFamily(&Target, QUIC_ADDRESS_FAMILY_INET);
    if (inet_pton(AF_INET, Opt.Migrate, &Target.Ipv4.sin_addr) != 1) {
        say("EVENT client --migrate %s is not an IPv4 address", Opt.Migrate);
        return 0;
    }
    if (QUIC_FAILED(Api->GetParam(Connection, QUIC_PARAM_CONN_LOCAL_ADDRESS, &Size, &Before))) {
        say("EVENT client GetParam(LOCAL_ADDRESS) failed before migrating");
        return 0;
    }
    /* A third of the echo back (the worker writes Received; a stale read only waits longer). */
    for (Waited = 0; Waited < (int)Opt.TimeoutSeconds * 100; Waited++) {
        if (__atomic_load_n(&Streams[0].Received, __ATOMIC_RELAXED) >= Opt.Bytes / 3 ||
            __atomic_load_n(&Streams[0].FinSeen, __ATOMIC_RELAXED)) {
            break;
        }
        usleep(10 * 1000);
    }
    /* INVALID_STATE until the handshake is confirmed (HANDSHAKE_DONE): retried briefly. */
    for (Waited = 0; Waited < 100; Waited++) {
        Status = Api->SetParam(Connection, QUIC_PARAM_CONN_LOCAL_ADDRESS, sizeof(Target), &Target);
        if (Status != QUIC_STATUS_INVALID_STATE) {
            break;
        }
        usleep(10 * 1000);
    }
    say("EVENT client SetParam(LOCAL_ADDRESS %s:0) status=0x%x after %llu echoed bytes", Opt.Migrate, (unsigned)Status,
        (unsigned long long)__atomic_load_n(&Streams[0].Received, __ATOMIC_RELAXED));
    if (QUIC_FAILED(Status)) {
        return 0;
    }
    if (event_wait(&C->LocalAddressChanged, 1, 5000) < 1) {
        say("EVENT client no LOCAL_ADDRESS_CHANGED after the migration");
        return 0;
    }
    Size = sizeof(After);
    if (QUIC_FAILED(Api->GetParam(Connection, QUIC_PARAM_CONN_LOCAL_ADDRESS, &Size, &After)) ||
        After.Ipv4.sin_addr.s_addr != Target.Ipv4.sin_addr.s_addr || QuicAddrGetPort(&After) == 0 ||
        (Before.Ipv4.sin_addr.s_addr == After.Ipv4.sin_addr.s_addr && QuicAddrGetPort(&Before) == QuicAddrGetPort(&After))) {
        say("EVENT client GetParam(LOCAL_ADDRESS) does not show the new address");
        return 0;
    }
    say("EVENT client migrated from port %u to %s:%u", (unsigned)QuicAddrGetPort(&Before), Opt.Migrate,
        (unsigned)QuicAddrGetPort(&After));
    if (Opt.MigrateBlocked) {
        /* The new path never validates (RFC 9000 §8.2.4): back to the old address. */
        if (event_wait(&C->LocalAddressChanged, 2, 20000) < 2) {
            say("EVENT client no return to the old address after the blocked migration");
            return 0;
        }
        Size = sizeof(After);
        if (QUIC_FAILED(Api->GetParam(Connection, QUIC_PARAM_CONN_LOCAL_ADDRESS, &Size, &After)) ||
            QuicAddrGetPort(&After) != QuicAddrGetPort(&Before)) {
            say("EVENT client GetParam(LOCAL_ADDRESS) is not the old address after the return");
            return 0;
        }
        say("EVENT client returned to port %u", (unsigned)QuicAddrGetPort(&After));
    }
    return 1;
}

/* Waits for every stream to finish, checks the echoes and closes the streams. */
static int finish_streams(CLIENT_STREAM* Streams, int Early)
{
    uint32_t i;
    int Ok = 1;
    uint64_t EarlyBytes = 0;
    for (i = 0; i < Opt.Streams; i++) {
        CLIENT_STREAM* S = &Streams[i];
        if (S->Handle == NULL) {
            Ok = 0;
            continue;
        }
        if (event_wait(&S->Done, 1, Opt.TimeoutSeconds * 1000) < 1) {
            say("EVENT client stream %u did not complete (received %llu of %llu bytes)", i,
                (unsigned long long)S->Received, (unsigned long long)Opt.Bytes);
            Ok = 0;
            /* Leave the handle: closing a stream still in use would block on it. */
            continue;
        }
        if (Early) {
            uint64_t Length = 0;
            uint32_t Size = sizeof(Length);
            if (QUIC_SUCCEEDED(Api->GetParam(S->Handle, QUIC_PARAM_STREAM_0RTT_LENGTH, &Size, &Length))) {
                EarlyBytes += Length;
            }
        }
        if (S->Mismatch || S->Aborted || !S->FinSeen || S->Received != Opt.Bytes || S->SendCanceled) {
            say("EVENT client stream %u bad echo: received=%llu/%llu fin=%d mismatch=%d aborted=%d canceled=%d", i,
                (unsigned long long)S->Received, (unsigned long long)Opt.Bytes, S->FinSeen, S->Mismatch, S->Aborted,
                S->SendCanceled);
            Ok = 0;
        }
        Api->StreamClose(S->Handle);
        free(S->Payload);
    }
    if (Early) {
        say("EVENT client 0-RTT bytes accepted=%llu", (unsigned long long)EarlyBytes);
    }
    free(Streams);
    return Ok;
}

static int run_datagrams(HQUIC Connection, CLIENT_CONNECTION* C)
{
    uint32_t Count = Opt.Streams < 64 ? Opt.Streams : 64;
    uint32_t i;
    int Attempt;
    int Ok = 1;
    if (event_wait(&C->DatagramEnabled, 1, 3000) < 1) {
        say("EVENT client the peer did not enable DATAGRAM (no max_datagram_frame_size?)");
        return 0;
    }
    for (i = 0; i < Count; i++) {
        int Echoed = 0;
        for (Attempt = 0; Attempt < 4 && !Echoed; Attempt++) {
            uint32_t Size = 200;
            SEND_CHUNK* Chunk = (SEND_CHUNK*)malloc(sizeof(SEND_CHUNK) + Size);
            uint32_t k;
            int Header;
            if (Chunk == NULL) {
                return 0;
            }
            Header = snprintf((char*)Chunk->Data, Size, "dgram-%u-", i);
            for (k = (uint32_t)Header; k < Size; k++) {
                Chunk->Data[k] = pattern_byte(i, k);
            }
            Chunk->Buffer.Buffer = Chunk->Data;
            Chunk->Buffer.Length = Size;
            QUIC_STATUS Status = Api->DatagramSend(Connection, &Chunk->Buffer, 1, QUIC_SEND_FLAG_NONE, Chunk);
            if (QUIC_FAILED(Status)) {
                say("EVENT client DatagramSend failed status=0x%x", (unsigned)Status);
                free(Chunk);
                return 0;
            }
            for (int Waited = 0; Waited < 20 && !Echoed; Waited++) {
                usleep(50 * 1000);
                pthread_mutex_lock(&C->DatagramLock);
                Echoed = C->DatagramsEchoed[i] > 0;
                pthread_mutex_unlock(&C->DatagramLock);
            }
        }
        if (!Echoed) {
            say("EVENT client datagram %u never echoed", i);
            Ok = 0;
        }
    }
    say("EVENT client datagrams echoed %s (%u sent, max_send_length=%u)", Ok ? "all" : "NOT all", Count,
        C->DatagramMax);
    return Ok;
}

static void close_connection(HQUIC Connection, CLIENT_CONNECTION* C)
{
    Api->ConnectionShutdown(Connection, QUIC_CONNECTION_SHUTDOWN_FLAG_NONE, 0);
    if (event_wait(&C->ShutdownComplete, 1, 8000) < 1) {
        say("EVENT client SHUTDOWN_COMPLETE did not arrive after ConnectionShutdown");
    }
    Api->ConnectionClose(Connection);
}

static void client_connection_init(CLIENT_CONNECTION* C)
{
    memset(C, 0, sizeof(*C));
    event_init(&C->Connected);
    event_init(&C->ShutdownComplete);
    event_init(&C->TicketReceived);
    event_init(&C->DatagramEnabled);
    event_init(&C->DatagramEcho);
    event_init(&C->LocalAddressChanged);
    pthread_mutex_init(&C->DatagramLock, NULL);
}

/* One client connection. Ticket: resume with it (and send the echo as 0-RTT). TicketOut: keep
   the ticket the server sends. Returns 0 ok, 1 failure, EXIT_SKIP. */
static int client_connection(const uint8_t* Ticket, uint32_t TicketLength, uint8_t** TicketOut,
                             uint32_t* TicketOutLength)
{
    CLIENT_CONNECTION* C = (CLIENT_CONNECTION*)calloc(1, sizeof(CLIENT_CONNECTION));
    HQUIC Connection = NULL;
    CLIENT_STREAM* Early = NULL;
    int EarlyFailed = 0;
    QUIC_STATUS Status;
    int Ok = 1;
    int Echo = strcmp(Opt.Mode, "echo") == 0 || strcmp(Opt.Mode, "resume") == 0;

    if (C == NULL) {
        return 1;
    }
    client_connection_init(C);
    Status = Api->ConnectionOpen(Registration, client_connection_callback, C, &Connection);
    if (Status == QUIC_STATUS_NOT_SUPPORTED) {
        say("RESULT skip ConnectionOpen answers NOT_SUPPORTED (no engine in this build)");
        return EXIT_SKIP;
    }
    if (QUIC_FAILED(Status)) {
        say("RESULT fail ConnectionOpen status=0x%x", (unsigned)Status);
        return 1;
    }
    if (Ticket != NULL) {
        Status = Api->SetParam(Connection, QUIC_PARAM_CONN_RESUMPTION_TICKET, TicketLength, Ticket);
        if (QUIC_FAILED(Status)) {
            say("RESULT fail SetParam(CONN_RESUMPTION_TICKET) status=0x%x", (unsigned)Status);
            Api->ConnectionClose(Connection);
            return 1;
        }
    }
    {
        /* Aim at --host; the server name (SNI, certificate check) stays --server-name. */
        QUIC_ADDR Remote;
        memset(&Remote, 0, sizeof(Remote));
        QuicAddrSetFamily(&Remote, QUIC_ADDRESS_FAMILY_INET);
        if (inet_pton(AF_INET, Opt.Host, &Remote.Ipv4.sin_addr) == 1) {
            QuicAddrSetPort(&Remote, Opt.Port);
            Status = Api->SetParam(Connection, QUIC_PARAM_CONN_REMOTE_ADDRESS, sizeof(Remote), &Remote);
            if (QUIC_FAILED(Status)) {
                say("EVENT client SetParam(CONN_REMOTE_ADDRESS) status=0x%x; resolving %s instead", (unsigned)Status,
                    Opt.ServerName);
            }
        }
    }
    if (Ticket != NULL && Echo && Opt.ZeroRtt) {
        /* 0-RTT: the streams are started and their data queued with QUIC_SEND_FLAG_ALLOW_0_RTT
           before ConnectionStart (MsQuic allows this), so the data is in the first flight
           whatever the scheduling (RFC 9001 §4.6.1); started after ConnectionStart, a slow
           app thread could lose the race with a 2 ms loopback handshake and send in 1-RTT. */
        Early = start_streams(Connection, 1, &EarlyFailed);
    }
    Status = Api->ConnectionStart(Connection, Configuration, QUIC_ADDRESS_FAMILY_INET, Opt.ServerName, Opt.Port);
    if (Status == QUIC_STATUS_NOT_SUPPORTED) {
        say("RESULT skip ConnectionStart answers NOT_SUPPORTED (no engine in this build)");
        return EXIT_SKIP;
    }
    if (QUIC_FAILED(Status)) {
        say("RESULT fail ConnectionStart status=0x%x", (unsigned)Status);
        Api->ConnectionClose(Connection);
        return 1;
    }

    /* Connected, or the handshake failed: 10 s, or longer when --handshake-idle-timeout-ms
       allows the handshake more (the engine ends it by then: SHUTDOWN_COMPLETE). */
    int WaitSteps = 100;
    if (Opt.HandshakeIdleTimeoutMs / 100 + 20 > (uint64_t)WaitSteps) {
        WaitSteps = (int)(Opt.HandshakeIdleTimeoutMs / 100 + 20);
    }
    for (int Waited = 0; Waited < WaitSteps; Waited++) {
        if (event_wait(&C->Connected, 1, 100) >= 1 || event_wait(&C->ShutdownComplete, 1, 0) >= 1) {
            break;
        }
    }
    if (Opt.ExpectFail != NULL) {
        event_wait(&C->ShutdownComplete, 1, 10000);
        if (C->HandshakeCompleted) {
            say("RESULT fail the handshake completed although it should fail (%s)", Opt.ExpectFail);
            close_connection(Connection, C);
            return 1;
        }
        if (strcmp(Opt.ExpectFail, "version") == 0) {
            /* RFC 9000 §6.2: no version of the server's Version Negotiation list is ours. */
            Ok = C->ShutdownByTransport && C->TransportStatus == QUIC_STATUS_VER_NEG_ERROR;
        } else if (strcmp(Opt.ExpectFail, "alpn") == 0) {
            Ok = C->ShutdownByTransport && C->TransportError == 0x178 && C->TransportStatus == QUIC_STATUS_ALPN_NEG_FAILURE;
        } else {
            /* Our own verdict on the certificate: a TLS alert status for bad_certificate /
               unknown_ca or one of the certificate statuses (msquic_posix.h). */
            Ok = C->ShutdownByTransport &&
                 (C->TransportStatus == QUIC_STATUS_BAD_CERTIFICATE ||
                  C->TransportStatus == QUIC_STATUS_TLS_ALERT(48) || /* unknown_ca */
                  C->TransportStatus == QUIC_STATUS_CERT_UNTRUSTED_ROOT ||
                  C->TransportStatus == QUIC_STATUS_CERT_NO_CERT ||
                  C->TransportStatus == QUIC_STATUS_CERT_EXPIRED);
        }
        say("RESULT %s expected failure %s: status=0x%x error=0x%llx", Ok ? "ok" : "fail", Opt.ExpectFail,
            (unsigned)C->TransportStatus, (unsigned long long)C->TransportError);
        if (event_wait(&C->ShutdownComplete, 1, 0) >= 1) {
            Api->ConnectionClose(Connection);
        }
        return Ok ? 0 : 1;
    }
    if (!C->HandshakeCompleted) {
        say("RESULT fail the handshake did not complete (transport status=0x%x error=0x%llx)",
            (unsigned)C->TransportStatus, (unsigned long long)C->TransportError);
        if (event_wait(&C->ShutdownComplete, 1, 0) >= 1) {
            Api->ConnectionClose(Connection);
        }
        return 1;
    }
    if (Ticket != NULL && !C->SessionResumed) {
        say("EVENT client the server did not resume the session");
        Ok = 0;
    }

    if (Early != NULL) {
        Ok = finish_streams(Early, 1) && !EarlyFailed && Ok;
    } else if (Echo) {
        int Failed = 0;
        CLIENT_STREAM* Streams = start_streams(Connection, 0, &Failed);
        if (Streams != NULL && Opt.Migrate != NULL && !migrate_midway(Connection, C, Streams)) {
            Ok = 0;
        }
        Ok = Streams != NULL && finish_streams(Streams, 0) && !Failed && Ok;
        if (Opt.Migrate != NULL && !Opt.MigrateBlocked && Ok) {
            /* After the echo, the connection must still be on the migrated address (the new
               path was validated: no fallback). */
            QUIC_ADDR Now;
            uint32_t Size = sizeof(Now);
            char Text[INET_ADDRSTRLEN] = "?";
            if (QUIC_SUCCEEDED(Api->GetParam(Connection, QUIC_PARAM_CONN_LOCAL_ADDRESS, &Size, &Now))) {
                inet_ntop(AF_INET, &Now.Ipv4.sin_addr, Text, sizeof(Text));
            }
            if (strcmp(Text, Opt.Migrate) != 0) {
                say("EVENT client ended on local address %s, not %s (fell back?)", Text, Opt.Migrate);
                Ok = 0;
            }
        }
    } else if (strcmp(Opt.Mode, "datagram") == 0) {
        Ok = run_datagrams(Connection, C) && Ok;
    }

    if (TicketOut != NULL) {
        if (event_wait(&C->TicketReceived, 1, 3000) < 1 || C->Ticket == NULL) {
            say("EVENT client no resumption ticket arrived");
            Ok = 0;
        } else {
            *TicketOut = C->Ticket;
            *TicketOutLength = C->TicketLength;
            C->Ticket = NULL;
        }
    }
    if (C->ShutdownByTransport || C->ShutdownByPeer) {
        Ok = 0;
    }
    print_stats("client", Connection);
    close_connection(Connection, C);
    if (C->ShutdownByTransport && !(C->TransportStatus == QUIC_STATUS_SUCCESS)) {
        say("EVENT client the connection was closed by the transport status=0x%x error=0x%llx",
            (unsigned)C->TransportStatus, (unsigned long long)C->TransportError);
        Ok = 0;
    }
    free(C->Ticket);
    return Ok ? 0 : 1;
}

int run_client(void)
{
    if (strcmp(Opt.Mode, "resume") == 0) {
        uint8_t* Ticket = NULL;
        uint32_t TicketLength = 0;
        int Result = client_connection(NULL, 0, &Ticket, &TicketLength);
        if (Result != 0) {
            if (Result != EXIT_SKIP) say("RESULT fail the first connection failed");
            free(Ticket);
            return Result;
        }
        Result = client_connection(Ticket, TicketLength, NULL, NULL);
        free(Ticket);
        say(Result == 0 ? (Opt.ZeroRtt ? "RESULT ok resumed connection echoed (0-RTT)" : "RESULT ok resumed connection echoed")
                        : "RESULT fail resumed connection");
        return Result;
    }
    int Result = client_connection(NULL, 0, NULL, NULL);
    if (Result == 0) {
        say("RESULT ok %s streams=%u bytes=%llu", Opt.Mode, Opt.Streams, (unsigned long long)Opt.Bytes);
    } else if (Result == 1) {
        say("RESULT fail %s", Opt.Mode);
    }
    return Result;
}
