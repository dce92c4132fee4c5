/* peer_server.c - the server of msquic_peer: listener, echo of streams and datagrams. */
#include "peer.h"

#include <arpa/inet.h>

/* ---- server ------------------------------------------------------------------------- */



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
        say("EVENT server connected alpn=%.*s version=0x%08x resumed=%d cc=%d", Event->CONNECTED.NegotiatedAlpnLength,
            (const char*)Event->CONNECTED.NegotiatedAlpn, Version, (int)Event->CONNECTED.SessionResumed,
            connection_cc(Connection));
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
    case QUIC_CONNECTION_EVENT_PEER_ADDRESS_CHANGED: {
        char Text[64] = "?";
        const QUIC_ADDR* A = Event->PEER_ADDRESS_CHANGED.Address;
        if (A != NULL && QuicAddrGetFamily(A) == QUIC_ADDRESS_FAMILY_INET) {
            inet_ntop(AF_INET, &A->Ipv4.sin_addr, Text, sizeof(Text));
        }
        say("EVENT server PEER_ADDRESS_CHANGED %s:%u", Text, A != NULL ? (unsigned)QuicAddrGetPort(A) : 0u);
        break;
    }
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

void on_stop(int Signal)
{
    (void)Signal;
    StopRequested = 1;
}

int run_server(void)
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
