/*
 * msquic_peer.c - one end of the interop tests, written only against the MsQuic API
 * (include/msquic.h) and linked to libswiftquic.so. The other end is a QUIC stack nobody
 * here wrote (aioquic, ngtcp2); interop/run_interop.py pairs them.
 *
 *   msquic_peer server --port 0 --cert F --key F [--alpn A] [--max-bytes-per-key N]
 *       Listens on --host (127.0.0.1), prints "LISTENING <port>", echoes every
 *       bidirectional stream (data and FIN) and every DATAGRAM, prints one line per
 *       connection event, and runs until SIGTERM/SIGINT.
 *
 *   msquic_peer client --port P [--ca F | --insecure] [--mode M] [--bytes N] [--streams K]
 *       Modes:
 *         echo       K concurrent bidirectional streams, each sends N bytes + FIN and
 *                    expects the same N bytes + FIN back;
 *         datagram   needs the peer to allow DATAGRAM frames (RFC 9221): sends K datagrams
 *                    and expects each echoed (resent up to 3 times, DATAGRAM is unreliable);
 *         handshake  the handshake only, then a graceful close (peers that speak HTTP/3);
 *         resume     echo, keep the session ticket, then a second connection that resumes
 *                    with it; with --zero-rtt its echo request goes out as 0-RTT.
 *       --expect-fail alpn|cert: the handshake must fail: alpn wants the peer's
 *       no_application_protocol (CONNECTION_CLOSE 0x178, QUIC_STATUS_ALPN_NEG_FAILURE),
 *       cert wants our own certificate verdict (BAD_CERTIFICATE / CERT_UNTRUSTED_ROOT ...).
 *       --version 1|2|2,1 the QUIC versions (first = initial; QUIC_PARAM_CONFIGURATION_VERSION_SETTINGS).
 *       --expect-fail version: the server's Version Negotiation lists none of them
 *       (QUIC_STATUS_VER_NEG_ERROR).
 *
 * Output: "EVENT ..." lines, then "RESULT ok ..." or "RESULT fail ...". Exit 0 on success,
 * 1 on failure, 77 (CTest's skip code) when ListenerOpen/ConnectionOpen answer
 * QUIC_STATUS_NOT_SUPPORTED (the engine is not wired in this build), 2 on a usage error.
 */
#define _GNU_SOURCE 1
#define QUIC_API_ENABLE_PREVIEW_FEATURES 1
#include "msquic.h"

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define EXIT_SKIP 77
#define QUIC_V1 0x00000001u
#define QUIC_V2 0x6b3343cfu

/* ---- options ------------------------------------------------------------------------ */

typedef struct OPTIONS {
    int IsServer;
    const char* Host;
    const char* ServerName;
    uint16_t Port;
    const char* Alpn;
    const char* Cert;
    const char* Key;
    const char* Ca;
    int Insecure;
    uint64_t Bytes;
    uint32_t Streams;
    const char* Mode;
    const char* ExpectFail;
    uint32_t Versions[4];
    uint32_t VersionCount;
    uint64_t MaxBytesPerKey;
    unsigned TimeoutSeconds;
    int ZeroRtt;
} OPTIONS;

static OPTIONS Opt = {
    .Host = "127.0.0.1", .ServerName = "localhost", .Alpn = "swiftquic-interop",
    .Bytes = 1024, .Streams = 1, .Mode = "echo", .TimeoutSeconds = 30,
};

static const QUIC_API_TABLE* Api;
static HQUIC Registration;
static HQUIC Configuration;

/* ---- small helpers ------------------------------------------------------------------ */

static pthread_mutex_t PrintLock = PTHREAD_MUTEX_INITIALIZER;

static void say(const char* Format, ...) __attribute__((format(printf, 1, 2)));
static void say(const char* Format, ...)
{
    va_list Args;
    pthread_mutex_lock(&PrintLock);
    va_start(Args, Format);
    vprintf(Format, Args);
    va_end(Args);
    printf("\n");
    fflush(stdout);
    pthread_mutex_unlock(&PrintLock);
}

/* The byte at Offset of stream Index in the echo payload: varies with both so that a mix-up
   between streams or a shifted range shows. */
static uint8_t pattern_byte(uint32_t Index, uint64_t Offset)
{
    return (uint8_t)((Offset * 7u) + (Offset >> 9) + Index * 13u + 1u);
}

typedef struct EVENT {
    pthread_mutex_t Lock;
    pthread_cond_t Cond;
    int Count;
} EVENT;

static void event_init(EVENT* E)
{
    pthread_mutex_init(&E->Lock, NULL);
    pthread_cond_init(&E->Cond, NULL);
    E->Count = 0;
}

static void event_signal(EVENT* E)
{
    pthread_mutex_lock(&E->Lock);
    E->Count++;
    pthread_cond_broadcast(&E->Cond);
    pthread_mutex_unlock(&E->Lock);
}

/* Waits until Count signals (or TimeoutMs); returns the count reached. */
static int event_wait(EVENT* E, int Count, unsigned TimeoutMs)
{
    struct timespec Deadline;
    int Reached;
    clock_gettime(CLOCK_REALTIME, &Deadline);
    Deadline.tv_sec += TimeoutMs / 1000;
    Deadline.tv_nsec += (long)(TimeoutMs % 1000) * 1000000L;
    if (Deadline.tv_nsec >= 1000000000L) {
        Deadline.tv_sec++;
        Deadline.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&E->Lock);
    while (E->Count < Count) {
        if (pthread_cond_timedwait(&E->Cond, &E->Lock, &Deadline) != 0) {
            break;
        }
    }
    Reached = E->Count;
    pthread_mutex_unlock(&E->Lock);
    return Reached;
}

static void on_alarm(int Signal)
{
    static const char Message[] = "RESULT fail watchdog: no result in time (a call or the peer hung)\n";
    (void)Signal;
    if (write(STDOUT_FILENO, Message, sizeof(Message) - 1) < 0) {
        /* nothing more to do */
    }
    _exit(1);
}

static void print_stats(const char* Who, HQUIC Connection)
{
    QUIC_STATISTICS_V2 Stats;
    uint32_t Version = 0;
    uint32_t Length = sizeof(Stats);
    memset(&Stats, 0, sizeof(Stats));
    QUIC_STATUS S1 = Api->GetParam(Connection, QUIC_PARAM_CONN_STATISTICS_V2, &Length, &Stats);
    Length = sizeof(Version);
    QUIC_STATUS S2 = Api->GetParam(Connection, QUIC_PARAM_CONN_QUIC_VERSION, &Length, &Version);
    if (QUIC_SUCCEEDED(S1)) {
        say("EVENT %s stats version=0x%08x keyupdates=%u resumed=%u sent_packets=%llu recv_packets=%llu "
            "lost=%llu rtt_us=%u",
            Who, QUIC_SUCCEEDED(S2) ? Version : 0, Stats.KeyUpdateCount, (unsigned)Stats.ResumptionSucceeded,
            (unsigned long long)Stats.SendTotalPackets, (unsigned long long)Stats.RecvTotalPackets,
            (unsigned long long)Stats.SendSuspectedLostPackets, Stats.Rtt);
    } else {
        say("EVENT %s stats unavailable status=0x%x", Who, (unsigned)S1);
    }
}

static QUIC_STATUS open_configuration(void)
{
    QUIC_BUFFER Alpns[8];
    uint32_t AlpnCount = 0;
    static char AlpnText[256];
    char* Save = NULL;
    char* Item;
    QUIC_SETTINGS Settings;
    QUIC_CREDENTIAL_CONFIG Cred;
    QUIC_CERTIFICATE_FILE CertFile;
    QUIC_STATUS Status;

    snprintf(AlpnText, sizeof(AlpnText), "%s", Opt.Alpn);
    for (Item = strtok_r(AlpnText, ",", &Save); Item != NULL && AlpnCount < 8; Item = strtok_r(NULL, ",", &Save)) {
        Alpns[AlpnCount].Buffer = (uint8_t*)Item;
        Alpns[AlpnCount].Length = (uint32_t)strlen(Item);
        AlpnCount++;
    }

    memset(&Settings, 0, sizeof(Settings));
    Settings.IsSet.IdleTimeoutMs = 1;
    Settings.IdleTimeoutMs = 10000;
    Settings.IsSet.HandshakeIdleTimeoutMs = 1;
    Settings.HandshakeIdleTimeoutMs = 5000;
    Settings.IsSet.DisconnectTimeoutMs = 1;
    Settings.DisconnectTimeoutMs = 5000;
    Settings.IsSet.DatagramReceiveEnabled = 1;
    Settings.DatagramReceiveEnabled = 1;
    Settings.IsSet.PeerBidiStreamCount = 1;
    Settings.PeerBidiStreamCount = 128;
    /* HTTP/3 peers (ngtcp2) need at least 3 unidirectional streams (RFC 9114 §6.2). */
    Settings.IsSet.PeerUnidiStreamCount = 1;
    Settings.PeerUnidiStreamCount = 16;
    if (Opt.IsServer) {
        Settings.IsSet.ServerResumptionLevel = 1;
        Settings.ServerResumptionLevel = QUIC_SERVER_RESUME_AND_ZERORTT;
    }
    if (Opt.MaxBytesPerKey != 0) {
        Settings.IsSet.MaxBytesPerKey = 1;
        Settings.MaxBytesPerKey = Opt.MaxBytesPerKey;
    }
    Status = Api->ConfigurationOpen(Registration, Alpns, AlpnCount, &Settings, sizeof(Settings), NULL, &Configuration);
    if (QUIC_FAILED(Status)) {
        say("RESULT fail ConfigurationOpen status=0x%x", (unsigned)Status);
        return Status;
    }

    if (Opt.VersionCount != 0) {
        /* The first version is the one the client starts with; all of them are acceptable
           after a Version Negotiation packet (RFC 9000 §6.2). */
        QUIC_VERSION_SETTINGS Versions;
        memset(&Versions, 0, sizeof(Versions));
        Versions.AcceptableVersions = Opt.Versions;
        Versions.OfferedVersions = Opt.Versions;
        Versions.FullyDeployedVersions = Opt.Versions;
        Versions.AcceptableVersionsLength = Opt.VersionCount;
        Versions.OfferedVersionsLength = Opt.VersionCount;
        Versions.FullyDeployedVersionsLength = Opt.VersionCount;
        if (Opt.IsServer) {
            /* A listener answers Initials of other versions with Version Negotiation by the
               global setting (MsQuic checks it before any configuration is chosen). */
            Status = Api->SetParam(NULL, QUIC_PARAM_GLOBAL_VERSION_SETTINGS, sizeof(Versions), &Versions);
            if (QUIC_FAILED(Status)) {
                say("RESULT fail SetParam(GLOBAL_VERSION_SETTINGS) status=0x%x", (unsigned)Status);
                return Status;
            }
        }
        Status = Api->SetParam(Configuration, QUIC_PARAM_CONFIGURATION_VERSION_SETTINGS, sizeof(Versions), &Versions);
        if (QUIC_FAILED(Status)) {
            say("RESULT fail SetParam(CONFIGURATION_VERSION_SETTINGS 0x%08x) status=0x%x", Opt.Versions[0],
                (unsigned)Status);
            return Status;
        }
    }

    memset(&Cred, 0, sizeof(Cred));
    if (Opt.IsServer) {
        CertFile.CertificateFile = Opt.Cert;
        CertFile.PrivateKeyFile = Opt.Key;
        Cred.Type = QUIC_CREDENTIAL_TYPE_CERTIFICATE_FILE;
        Cred.CertificateFile = &CertFile;
        Cred.Flags = QUIC_CREDENTIAL_FLAG_NONE;
    } else {
        Cred.Type = QUIC_CREDENTIAL_TYPE_NONE;
        Cred.Flags = QUIC_CREDENTIAL_FLAG_CLIENT;
        if (Opt.Insecure) {
            Cred.Flags |= QUIC_CREDENTIAL_FLAG_NO_CERTIFICATE_VALIDATION;
        } else if (Opt.Ca != NULL) {
            Cred.Flags |= QUIC_CREDENTIAL_FLAG_SET_CA_CERTIFICATE_FILE;
            Cred.CaCertificateFile = Opt.Ca;
        }
    }
    Status = Api->ConfigurationLoadCredential(Configuration, &Cred);
    if (QUIC_FAILED(Status)) {
        say("RESULT fail ConfigurationLoadCredential status=0x%x", (unsigned)Status);
    }
    return Status;
}

/* ---- server ------------------------------------------------------------------------- */

typedef struct SEND_CHUNK {
    QUIC_BUFFER Buffer;
    uint8_t Data[];
} SEND_CHUNK;

static SEND_CHUNK* chunk_copy(const QUIC_BUFFER* Buffers, uint32_t Count, uint64_t Total)
{
    SEND_CHUNK* Chunk = (SEND_CHUNK*)malloc(sizeof(SEND_CHUNK) + (size_t)Total);
    uint64_t At = 0;
    uint32_t i;
    if (Chunk == NULL) {
        return NULL;
    }
    for (i = 0; i < Count; i++) {
        memcpy(Chunk->Data + At, Buffers[i].Buffer, Buffers[i].Length);
        At += Buffers[i].Length;
    }
    Chunk->Buffer.Buffer = Chunk->Data;
    Chunk->Buffer.Length = (uint32_t)At;
    return Chunk;
}

static int UnidirectionalMarker;

static QUIC_STATUS QUIC_API server_stream_callback(HQUIC Stream, void* Context, QUIC_STREAM_EVENT* Event)
{
    int ReadOnly = Context == (void*)&UnidirectionalMarker;
    switch (Event->Type) {
    case QUIC_STREAM_EVENT_RECEIVE: {
        if (Event->RECEIVE.TotalBufferLength == 0 || ReadOnly) {
            break;
        }
        SEND_CHUNK* Chunk = chunk_copy(Event->RECEIVE.Buffers, Event->RECEIVE.BufferCount,
                                       Event->RECEIVE.TotalBufferLength);
        QUIC_STATUS Status = Chunk == NULL ? QUIC_STATUS_OUT_OF_MEMORY
                                           : Api->StreamSend(Stream, &Chunk->Buffer, 1, QUIC_SEND_FLAG_NONE, Chunk);
        if (QUIC_FAILED(Status)) {
            say("EVENT server stream echo StreamSend failed status=0x%x", (unsigned)Status);
            free(Chunk);
            Api->StreamShutdown(Stream, QUIC_STREAM_SHUTDOWN_FLAG_ABORT, 1);
        }
        break;
    }
    case QUIC_STREAM_EVENT_SEND_COMPLETE:
        free(Event->SEND_COMPLETE.ClientContext);
        break;
    case QUIC_STREAM_EVENT_PEER_SEND_SHUTDOWN:
        if (!ReadOnly) {
            Api->StreamShutdown(Stream, QUIC_STREAM_SHUTDOWN_FLAG_GRACEFUL, 0);
        }
        break;
    case QUIC_STREAM_EVENT_PEER_SEND_ABORTED:
        say("EVENT server stream peer send aborted error=0x%llx", (unsigned long long)Event->PEER_SEND_ABORTED.ErrorCode);
        Api->StreamShutdown(Stream, QUIC_STREAM_SHUTDOWN_FLAG_ABORT, 0);
        break;
    case QUIC_STREAM_EVENT_PEER_RECEIVE_ABORTED:
        say("EVENT server stream peer receive aborted error=0x%llx",
            (unsigned long long)Event->PEER_RECEIVE_ABORTED.ErrorCode);
        Api->StreamShutdown(Stream, QUIC_STREAM_SHUTDOWN_FLAG_ABORT, 0);
        break;
    case QUIC_STREAM_EVENT_SHUTDOWN_COMPLETE:
        Api->StreamClose(Stream);
        break;
    default:
        break;
    }
    return QUIC_STATUS_SUCCESS;
}

static QUIC_STATUS QUIC_API server_connection_callback(HQUIC Connection, void* Context, QUIC_CONNECTION_EVENT* Event)
{
    (void)Context;
    switch (Event->Type) {
    case QUIC_CONNECTION_EVENT_CONNECTED: {
        uint32_t Version = 0;
        uint32_t Length = sizeof(Version);
        Api->GetParam(Connection, QUIC_PARAM_CONN_QUIC_VERSION, &Length, &Version);
        say("EVENT server connected alpn=%.*s version=0x%08x resumed=%d", Event->CONNECTED.NegotiatedAlpnLength,
            (const char*)Event->CONNECTED.NegotiatedAlpn, Version, (int)Event->CONNECTED.SessionResumed);
        QUIC_STATUS Status = Api->ConnectionSendResumptionTicket(Connection, QUIC_SEND_RESUMPTION_FLAG_FINAL, 0, NULL);
        say("EVENT server ConnectionSendResumptionTicket status=0x%x", (unsigned)Status);
        break;
    }
    case QUIC_CONNECTION_EVENT_RESUMED:
        say("EVENT server resumed state_length=%u", Event->RESUMED.ResumptionStateLength);
        break;
    case QUIC_CONNECTION_EVENT_PEER_STREAM_STARTED:
        /* Bidirectional streams are echoed; unidirectional ones (HTTP/3 control and QPACK
           streams of ngtcp2) are only read. */
        Api->SetCallbackHandler(Event->PEER_STREAM_STARTED.Stream, (void*)server_stream_callback,
                                (Event->PEER_STREAM_STARTED.Flags & QUIC_STREAM_OPEN_FLAG_UNIDIRECTIONAL)
                                    ? (void*)&UnidirectionalMarker : NULL);
        break;
    case QUIC_CONNECTION_EVENT_DATAGRAM_RECEIVED: {
        SEND_CHUNK* Chunk = chunk_copy(Event->DATAGRAM_RECEIVED.Buffer, 1, Event->DATAGRAM_RECEIVED.Buffer->Length);
        QUIC_STATUS Status = Chunk == NULL ? QUIC_STATUS_OUT_OF_MEMORY
                                           : Api->DatagramSend(Connection, &Chunk->Buffer, 1, QUIC_SEND_FLAG_NONE, Chunk);
        if (QUIC_FAILED(Status)) {
            say("EVENT server DatagramSend failed status=0x%x", (unsigned)Status);
            free(Chunk);
        }
        break;
    }
    case QUIC_CONNECTION_EVENT_DATAGRAM_SEND_STATE_CHANGED:
        if (QUIC_DATAGRAM_SEND_STATE_IS_FINAL(Event->DATAGRAM_SEND_STATE_CHANGED.State)) {
            free(Event->DATAGRAM_SEND_STATE_CHANGED.ClientContext);
        }
        break;
    case QUIC_CONNECTION_EVENT_SHUTDOWN_INITIATED_BY_TRANSPORT:
        say("EVENT server shutdown by transport status=0x%x error=0x%llx",
            (unsigned)Event->SHUTDOWN_INITIATED_BY_TRANSPORT.Status,
            (unsigned long long)Event->SHUTDOWN_INITIATED_BY_TRANSPORT.ErrorCode);
        break;
    case QUIC_CONNECTION_EVENT_SHUTDOWN_INITIATED_BY_PEER:
        say("EVENT server shutdown by peer error=0x%llx", (unsigned long long)Event->SHUTDOWN_INITIATED_BY_PEER.ErrorCode);
        break;
    case QUIC_CONNECTION_EVENT_SHUTDOWN_COMPLETE:
        print_stats("server", Connection);
        say("EVENT server shutdown complete handshake=%d", (int)Event->SHUTDOWN_COMPLETE.HandshakeCompleted);
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
    (void)Listener;
    (void)Context;
    if (Event->Type == QUIC_LISTENER_EVENT_NEW_CONNECTION) {
        const QUIC_NEW_CONNECTION_INFO* Info = Event->NEW_CONNECTION.Info;
        say("EVENT server new connection version=0x%08x alpn=%.*s sni=%.*s", Info->QuicVersion,
            (int)Info->NegotiatedAlpnLength, (const char*)Info->NegotiatedAlpn, (int)Info->ServerNameLength,
            Info->ServerName != NULL ? Info->ServerName : "");
        Api->SetCallbackHandler(Event->NEW_CONNECTION.Connection, (void*)server_connection_callback, NULL);
        QUIC_STATUS Status = Api->ConnectionSetConfiguration(Event->NEW_CONNECTION.Connection, Configuration);
        if (QUIC_FAILED(Status)) {
            say("EVENT server ConnectionSetConfiguration failed status=0x%x", (unsigned)Status);
        }
        return Status;
    }
    return QUIC_STATUS_SUCCESS;
}

static volatile sig_atomic_t StopRequested;

static void on_stop(int Signal)
{
    (void)Signal;
    StopRequested = 1;
}

static int run_server(void)
{
    HQUIC Listener = NULL;
    QUIC_ADDR Address;
    QUIC_BUFFER Alpns[8];
    uint32_t AlpnCount = 0;
    char AlpnText[256];
    char* Save = NULL;
    char* Item;
    uint32_t Length;
    QUIC_STATUS Status;

    Status = Api->ListenerOpen(Registration, listener_callback, NULL, &Listener);
    if (Status == QUIC_STATUS_NOT_SUPPORTED) {
        say("RESULT skip ListenerOpen answers NOT_SUPPORTED (no engine in this build)");
        return EXIT_SKIP;
    }
    if (QUIC_FAILED(Status)) {
        say("RESULT fail ListenerOpen status=0x%x", (unsigned)Status);
        return 1;
    }
    snprintf(AlpnText, sizeof(AlpnText), "%s", Opt.Alpn);
    for (Item = strtok_r(AlpnText, ",", &Save); Item != NULL && AlpnCount < 8; Item = strtok_r(NULL, ",", &Save)) {
        Alpns[AlpnCount].Buffer = (uint8_t*)Item;
        Alpns[AlpnCount].Length = (uint32_t)strlen(Item);
        AlpnCount++;
    }
    memset(&Address, 0, sizeof(Address));
    QuicAddrSetFamily(&Address, QUIC_ADDRESS_FAMILY_INET);
    if (inet_pton(AF_INET, Opt.Host, &Address.Ipv4.sin_addr) != 1) {
        say("RESULT fail bad --host %s", Opt.Host);
        return 2;
    }
    QuicAddrSetPort(&Address, Opt.Port);
    Status = Api->ListenerStart(Listener, Alpns, AlpnCount, &Address);
    if (Status == QUIC_STATUS_NOT_SUPPORTED) {
        say("RESULT skip ListenerStart answers NOT_SUPPORTED (no engine in this build)");
        return EXIT_SKIP;
    }
    if (QUIC_FAILED(Status)) {
        say("RESULT fail ListenerStart status=0x%x", (unsigned)Status);
        return 1;
    }
    Length = sizeof(Address);
    Status = Api->GetParam(Listener, QUIC_PARAM_LISTENER_LOCAL_ADDRESS, &Length, &Address);
    if (QUIC_FAILED(Status) || QuicAddrGetPort(&Address) == 0) {
        say("RESULT fail GetParam(LISTENER_LOCAL_ADDRESS) status=0x%x port=%u", (unsigned)Status,
            QuicAddrGetPort(&Address));
        return 1;
    }
    say("LISTENING %u", QuicAddrGetPort(&Address));

    while (!StopRequested) {
        usleep(50 * 1000);
    }
    alarm(10);   /* the close below must not hang */
    Api->ListenerStop(Listener);
    Api->ListenerClose(Listener);
    say("EVENT server stopped");
    return 0;
}

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
        say("EVENT client connected alpn=%.*s resumed=%d", Event->CONNECTED.NegotiatedAlpnLength,
            (const char*)Event->CONNECTED.NegotiatedAlpn, (int)Event->CONNECTED.SessionResumed);
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
    if (Ticket != NULL && Echo && Opt.ZeroRtt) {
        /* 0-RTT: the streams start right after ConnectionStart, before the handshake
           completes, with QUIC_SEND_FLAG_ALLOW_0_RTT (RFC 9001 §4.6.1). */
        Early = start_streams(Connection, 1, &EarlyFailed);
    }

    /* Connected, or the handshake failed. */
    for (int Waited = 0; Waited < 100; Waited++) {
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
        Ok = Streams != NULL && finish_streams(Streams, 0) && !Failed && Ok;
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

static int run_client(void)
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

/* ---- main --------------------------------------------------------------------------- */

static void usage(void)
{
    fprintf(stderr,
            "usage: msquic_peer server|client [--host H] [--port P] [--server-name N] [--alpn A[,B]]\n"
            "       [--cert F --key F] [--ca F | --insecure] [--mode echo|datagram|handshake|resume]\n"
            "       [--bytes N] [--streams K] [--version 1|2[,..]] [--expect-fail alpn|cert|version]\n"
            "       [--max-bytes-per-key N] [--timeout S] [--zero-rtt]\n");
}

int main(int argc, char** argv)
{
    static const struct option Long[] = {
        {"host", required_argument, NULL, 'h'},      {"port", required_argument, NULL, 'p'},
        {"server-name", required_argument, NULL, 'n'}, {"alpn", required_argument, NULL, 'a'},
        {"cert", required_argument, NULL, 'c'},      {"key", required_argument, NULL, 'k'},
        {"ca", required_argument, NULL, 'A'},        {"insecure", no_argument, NULL, 'I'},
        {"bytes", required_argument, NULL, 'b'},     {"streams", required_argument, NULL, 's'},
        {"mode", required_argument, NULL, 'm'},      {"expect-fail", required_argument, NULL, 'x'},
        {"version", required_argument, NULL, 'v'},   {"max-bytes-per-key", required_argument, NULL, 'K'},
        {"timeout", required_argument, NULL, 't'},   {"zero-rtt", no_argument, NULL, 'z'},
        {NULL, 0, NULL, 0},
    };
    const QUIC_REGISTRATION_CONFIG RegConfig = {"msquic_peer", QUIC_EXECUTION_PROFILE_LOW_LATENCY};
    QUIC_STATUS Status;
    int Result;
    int C;

    if (argc < 2 || (strcmp(argv[1], "server") != 0 && strcmp(argv[1], "client") != 0)) {
        usage();
        return 2;
    }
    Opt.IsServer = strcmp(argv[1], "server") == 0;
    optind = 2;
    while ((C = getopt_long(argc, argv, "", Long, NULL)) != -1) {
        switch (C) {
        case 'h': Opt.Host = optarg; break;
        case 'p': Opt.Port = (uint16_t)strtoul(optarg, NULL, 10); break;
        case 'n': Opt.ServerName = optarg; break;
        case 'a': Opt.Alpn = optarg; break;
        case 'c': Opt.Cert = optarg; break;
        case 'k': Opt.Key = optarg; break;
        case 'A': Opt.Ca = optarg; break;
        case 'I': Opt.Insecure = 1; break;
        case 'b': Opt.Bytes = strtoull(optarg, NULL, 10); break;
        case 's': Opt.Streams = (uint32_t)strtoul(optarg, NULL, 10); break;
        case 'm': Opt.Mode = optarg; break;
        case 'x': Opt.ExpectFail = optarg; break;
        case 'v': {
            char* Save = NULL;
            char* Item;
            Opt.VersionCount = 0;
            for (Item = strtok_r(optarg, ",", &Save); Item != NULL && Opt.VersionCount < 4;
                 Item = strtok_r(NULL, ",", &Save)) {
                Opt.Versions[Opt.VersionCount++] = strcmp(Item, "2") == 0 ? QUIC_V2 : QUIC_V1;
            }
            break;
        }
        case 'K': Opt.MaxBytesPerKey = strtoull(optarg, NULL, 10); break;
        case 't': Opt.TimeoutSeconds = (unsigned)strtoul(optarg, NULL, 10); break;
        case 'z': Opt.ZeroRtt = 1; break;
        default: usage(); return 2;
        }
    }
    if ((Opt.IsServer && (Opt.Cert == NULL || Opt.Key == NULL)) || (!Opt.IsServer && Opt.Port == 0) ||
        Opt.Streams == 0 || Opt.Bytes > 0xffffffffu) {
        usage();
        return 2;
    }

    signal(SIGALRM, on_alarm);
    if (Opt.IsServer) {
        signal(SIGTERM, on_stop);
        signal(SIGINT, on_stop);
    } else {
        alarm(Opt.TimeoutSeconds + 30);
    }

    Status = MsQuicOpen2(&Api);
    if (QUIC_FAILED(Status)) {
        say("RESULT fail MsQuicOpen2 status=0x%x", (unsigned)Status);
        return 1;
    }
    Status = Api->RegistrationOpen(&RegConfig, &Registration);
    if (QUIC_FAILED(Status)) {
        say("RESULT fail RegistrationOpen status=0x%x", (unsigned)Status);
        return 1;
    }
    if (QUIC_FAILED(open_configuration())) {
        return 1;
    }
    Result = Opt.IsServer ? run_server() : run_client();
    if (Result == EXIT_SKIP) {
        /* Nothing was started; do not wait on anything. */
        fflush(stdout);
        _exit(EXIT_SKIP);
    }
    alarm(15);   /* the cleanup must not hang */
    Api->ConfigurationClose(Configuration);
    Api->RegistrationClose(Registration);
    MsQuicClose(Api);
    return Result;
}
