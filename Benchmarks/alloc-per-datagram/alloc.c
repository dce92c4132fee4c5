/*
 * alloc.c - heap allocations per datagram through the C API (issue 9, item 4).
 *
 * One process runs a server and a client over 127.0.0.1; the client sends one stream of bulk
 * data, keeping a few StreamSend calls outstanding and sending the next from SEND_COMPLETE.
 * With a malloc counter preloaded (Fuzz/DecodeBench/count.c), it counts the malloc calls
 * made while MEASURE bytes flow, after WARMUP bytes, and divides by the datagrams both sides
 * sent meanwhile (QUIC_STATISTICS_V2 SendTotalPackets of the client and of the server; each
 * datagram is also received in this process). Usage: alloc [LIMIT]; exits 1 above LIMIT.
 */
#define _GNU_SOURCE 1
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <msquic.h>

#define ALPN "alloc"
#define CHUNK (64 * 1024)
#define OUTSTANDING 8
#define WARMUP (8ull << 20)
#define MEASURE (64ull << 20)

static const QUIC_API_TABLE* Api;
static HQUIC ServerConfiguration, ServerConnection;
static uint8_t Data[OUTSTANDING][CHUNK];
static QUIC_BUFFER Buffers[OUTSTANDING];
static volatile uint64_t Received;
static volatile uint64_t Queued;
static volatile int Connected;
static HQUIC ClientStream;
static pthread_mutex_t Lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t Cond = PTHREAD_COND_INITIALIZER;
static uint64_t Measure = MEASURE;
static uint64_t Limit = WARMUP + MEASURE;

static void send_next(int Slot)
{
    if (Queued >= Limit) {
        return;
    }
    Queued += CHUNK;
    (void)Api->StreamSend(ClientStream, &Buffers[Slot], 1, QUIC_SEND_FLAG_NONE, (void*)(intptr_t)Slot);
}

static QUIC_STATUS QUIC_API ServerStreamCb(HQUIC Stream, void* Context, QUIC_STREAM_EVENT* Event)
{
    (void)Context;
    if (Event->Type == QUIC_STREAM_EVENT_RECEIVE) {
        pthread_mutex_lock(&Lock);
        Received += Event->RECEIVE.TotalBufferLength;
        pthread_cond_broadcast(&Cond);
        pthread_mutex_unlock(&Lock);
    } else if (Event->Type == QUIC_STREAM_EVENT_SHUTDOWN_COMPLETE) {
        Api->StreamClose(Stream);
    }
    return QUIC_STATUS_SUCCESS;
}

static QUIC_STATUS QUIC_API ServerConnCb(HQUIC Connection, void* Context, QUIC_CONNECTION_EVENT* Event)
{
    (void)Context;
    if (Event->Type == QUIC_CONNECTION_EVENT_PEER_STREAM_STARTED) {
        Api->SetCallbackHandler(Event->PEER_STREAM_STARTED.Stream, (void*)ServerStreamCb, NULL);
    } else if (Event->Type == QUIC_CONNECTION_EVENT_SHUTDOWN_COMPLETE) {
        Api->ConnectionClose(Connection);
    }
    return QUIC_STATUS_SUCCESS;
}

static QUIC_STATUS QUIC_API ListenerCb(HQUIC Listener, void* Context, QUIC_LISTENER_EVENT* Event)
{
    (void)Listener;
    (void)Context;
    if (Event->Type == QUIC_LISTENER_EVENT_NEW_CONNECTION) {
        ServerConnection = Event->NEW_CONNECTION.Connection;
        Api->SetCallbackHandler(ServerConnection, (void*)ServerConnCb, NULL);
        return Api->ConnectionSetConfiguration(ServerConnection, ServerConfiguration);
    }
    return QUIC_STATUS_SUCCESS;
}

static QUIC_STATUS QUIC_API ClientStreamCb(HQUIC Stream, void* Context, QUIC_STREAM_EVENT* Event)
{
    (void)Stream;
    (void)Context;
    if (Event->Type == QUIC_STREAM_EVENT_SEND_COMPLETE && !Event->SEND_COMPLETE.Canceled) {
        send_next((int)(intptr_t)Event->SEND_COMPLETE.ClientContext);
    }
    return QUIC_STATUS_SUCCESS;
}

static QUIC_STATUS QUIC_API ClientConnCb(HQUIC Connection, void* Context, QUIC_CONNECTION_EVENT* Event)
{
    (void)Connection;
    (void)Context;
    if (Event->Type == QUIC_CONNECTION_EVENT_CONNECTED) {
        pthread_mutex_lock(&Lock);
        Connected = 1;
        pthread_cond_broadcast(&Cond);
        pthread_mutex_unlock(&Lock);
    }
    return QUIC_STATUS_SUCCESS;
}

static int wait_received(uint64_t Bytes, int Seconds)
{
    struct timespec Deadline;
    clock_gettime(CLOCK_REALTIME, &Deadline);
    Deadline.tv_sec += Seconds;
    pthread_mutex_lock(&Lock);
    while (Received < Bytes) {
        if (pthread_cond_timedwait(&Cond, &Lock, &Deadline) != 0) break;
    }
    int Ok = Received >= Bytes;
    pthread_mutex_unlock(&Lock);
    return Ok;
}

static uint64_t sent_packets(HQUIC Connection)
{
    QUIC_STATISTICS_V2 Stats;
    uint32_t Length = sizeof(Stats);
    memset(&Stats, 0, sizeof(Stats));
    if (QUIC_FAILED(Api->GetParam(Connection, QUIC_PARAM_CONN_STATISTICS_V2, &Length, &Stats))) return 0;
    return Stats.SendTotalPackets;
}

int main(int argc, char** argv)
{
    double LimitPerDatagram = argc > 1 ? atof(argv[1]) : -1;
    const char* CertDir = getenv("ALLOC_CERT_DIR");
    unsigned long (*Count)(void) = (unsigned long (*)(void))dlsym(RTLD_DEFAULT, "wire_malloc_count");
    HQUIC Registration = NULL, ClientConfiguration = NULL, Listener = NULL, Client = NULL;
    QUIC_BUFFER Alpn = {sizeof(ALPN) - 1, (uint8_t*)ALPN};
    QUIC_CREDENTIAL_CONFIG Cred;
    QUIC_CERTIFICATE_FILE Files;
    QUIC_SETTINGS Settings;
    QUIC_ADDR Address;
    uint32_t Length = sizeof(Address);
    char Cert[512], Key[512];

    if (getenv("ALLOC_MEASURE_MB") != NULL) {
        Measure = strtoull(getenv("ALLOC_MEASURE_MB"), NULL, 10) << 20;
        Limit = WARMUP + Measure;
    }
    if (Count == NULL || CertDir == NULL) {
        fprintf(stderr, "alloc: preload the malloc counter and set ALLOC_CERT_DIR (server.crt, server.key)\n");
        return 2;
    }
    for (int i = 0; i < OUTSTANDING; i++) {
        memset(Data[i], 'a' + i, CHUNK);
        Buffers[i].Length = CHUNK;
        Buffers[i].Buffer = Data[i];
    }
    snprintf(Cert, sizeof(Cert), "%s/server.crt", CertDir);
    snprintf(Key, sizeof(Key), "%s/server.key", CertDir);
    if (QUIC_FAILED(MsQuicOpen2(&Api))) return 2;
    if (QUIC_FAILED(Api->RegistrationOpen(NULL, &Registration))) return 2;
    memset(&Settings, 0, sizeof(Settings));
    Settings.IsSet.PeerBidiStreamCount = 1;           /* MsQuic servers take no streams by default */
    Settings.PeerBidiStreamCount = 1;
    if (QUIC_FAILED(Api->ConfigurationOpen(Registration, &Alpn, 1, &Settings, sizeof(Settings), NULL,
                                           &ServerConfiguration))) return 2;
    memset(&Cred, 0, sizeof(Cred));
    Files.CertificateFile = Cert;
    Files.PrivateKeyFile = Key;
    Cred.Type = QUIC_CREDENTIAL_TYPE_CERTIFICATE_FILE;
    Cred.CertificateFile = &Files;
    if (QUIC_FAILED(Api->ConfigurationLoadCredential(ServerConfiguration, &Cred))) return 2;
    if (QUIC_FAILED(Api->ConfigurationOpen(Registration, &Alpn, 1, NULL, 0, NULL, &ClientConfiguration))) return 2;
    memset(&Cred, 0, sizeof(Cred));
    Cred.Type = QUIC_CREDENTIAL_TYPE_NONE;
    Cred.Flags = QUIC_CREDENTIAL_FLAG_CLIENT | QUIC_CREDENTIAL_FLAG_NO_CERTIFICATE_VALIDATION;
    if (QUIC_FAILED(Api->ConfigurationLoadCredential(ClientConfiguration, &Cred))) return 2;
    if (QUIC_FAILED(Api->ListenerOpen(Registration, ListenerCb, NULL, &Listener))) return 2;
    memset(&Address, 0, sizeof(Address));
    QuicAddrSetFamily(&Address, QUIC_ADDRESS_FAMILY_INET);
    QuicAddrSetToLoopback(&Address);
    if (QUIC_FAILED(Api->ListenerStart(Listener, &Alpn, 1, &Address))) return 2;
    if (QUIC_FAILED(Api->GetParam(Listener, QUIC_PARAM_LISTENER_LOCAL_ADDRESS, &Length, &Address))) return 2;
    if (QUIC_FAILED(Api->ConnectionOpen(Registration, ClientConnCb, NULL, &Client))) return 2;
    if (QUIC_FAILED(Api->ConnectionStart(Client, ClientConfiguration, QUIC_ADDRESS_FAMILY_INET, "127.0.0.1",
                                         QuicAddrGetPort(&Address)))) return 2;
    pthread_mutex_lock(&Lock);
    while (!Connected) pthread_cond_wait(&Cond, &Lock);
    pthread_mutex_unlock(&Lock);
    if (QUIC_FAILED(Api->StreamOpen(Client, QUIC_STREAM_OPEN_FLAG_NONE, ClientStreamCb, NULL, &ClientStream))) return 2;
    if (QUIC_FAILED(Api->StreamStart(ClientStream, QUIC_STREAM_START_FLAG_IMMEDIATE))) return 2;
    for (int i = 0; i < OUTSTANDING; i++) send_next(i);

    if (!wait_received(WARMUP, 60)) { fprintf(stderr, "alloc: warm-up did not finish (%llu received, %llu queued)\n", (unsigned long long)Received, (unsigned long long)Queued); return 2; }
    uint64_t P0 = sent_packets(Client) + sent_packets(ServerConnection);
    unsigned long M0 = Count();
    uint64_t R0 = Received;
    if (!wait_received(WARMUP + Measure, 120)) { fprintf(stderr, "alloc: transfer did not finish\n"); return 2; }
    unsigned long M1 = Count();
    uint64_t P1 = sent_packets(Client) + sent_packets(ServerConnection);
    uint64_t R1 = Received;
    double PerDatagram = (double)(M1 - M0) / (double)(P1 - P0);
    printf("alloc: %lu malloc calls for %llu datagrams (%.1f MB): %.3f per datagram\n", M1 - M0,
           (unsigned long long)(P1 - P0), (double)(R1 - R0) / 1e6, PerDatagram);

    Api->ConnectionShutdown(Client, QUIC_CONNECTION_SHUTDOWN_FLAG_NONE, 0);
    Api->StreamClose(ClientStream);
    Api->ConnectionClose(Client);
    Api->ListenerClose(Listener);
    Api->ConfigurationClose(ClientConfiguration);
    Api->ConfigurationClose(ServerConfiguration);
    Api->RegistrationClose(Registration);
    MsQuicClose(Api);
    return LimitPerDatagram >= 0 && PerDatagram > LimitPerDatagram ? 1 : 0;
}
