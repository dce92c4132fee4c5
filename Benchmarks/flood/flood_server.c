/*
 * flood_server.c - the listener under test for flood.c, written against msquic.h only, so
 * the same binary runs on swiftquic or on MsQuic (LD_LIBRARY_PATH picks libmsquic.so.2).
 *
 *   flood_server server PORT CERT KEY   listener on 127.0.0.1:PORT, ALPN "flood"; accepts and
 *                                       configures every connection; prints
 *                                       "new_connection=N connected=N closed=N" (SHUTDOWN_COMPLETE)
 *                                       for each line read from stdin and when stdin closes; the
 *                                       line "trim" first calls malloc_trim(0).
 *                                       FLOOD_RETRY_MEMORY_LIMIT=N sets
 *                                       QUIC_PARAM_GLOBAL_RETRY_MEMORY_PERCENT (N/65535 of memory)
 *                                       first; the default is the library's (65).
 *   flood_server client PORT [MS]       one honest client: prints "connected ms=T" and exits 0
 *                                       when the handshake completes within MS (default 5000),
 *                                       else prints "failed ..." and exits 1.
 * Build: cc -O2 flood_server.c -I include -L LIBDIR -lmsquic -lpthread -o flood_server
 */
#define _GNU_SOURCE 1
#include "msquic.h"

#include <malloc.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const QUIC_API_TABLE* MsQuic;
static HQUIC Registration, Configuration;
static const QUIC_BUFFER Alpn = {sizeof("flood") - 1, (uint8_t*)"flood"};
static atomic_long NewConnections, Connected, Closed;

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static QUIC_STATUS QUIC_API ServerConnectionCallback(HQUIC Connection, void* Context, QUIC_CONNECTION_EVENT* Event)
{
    (void)Context;
    switch (Event->Type) {
    case QUIC_CONNECTION_EVENT_CONNECTED:
        atomic_fetch_add(&Connected, 1);
        MsQuic->ConnectionShutdown(Connection, QUIC_CONNECTION_SHUTDOWN_FLAG_NONE, 0);
        break;
    case QUIC_CONNECTION_EVENT_SHUTDOWN_COMPLETE:
        atomic_fetch_add(&Closed, 1);
        if (!Event->SHUTDOWN_COMPLETE.AppCloseInProgress) MsQuic->ConnectionClose(Connection);
        break;
    default:
        break;
    }
    return QUIC_STATUS_SUCCESS;
}

static QUIC_STATUS QUIC_API ListenerCallback(HQUIC Listener, void* Context, QUIC_LISTENER_EVENT* Event)
{
    (void)Listener; (void)Context;
    if (Event->Type == QUIC_LISTENER_EVENT_NEW_CONNECTION) {
        atomic_fetch_add(&NewConnections, 1);
        MsQuic->SetCallbackHandler(Event->NEW_CONNECTION.Connection, (void*)ServerConnectionCallback, NULL);
        return MsQuic->ConnectionSetConfiguration(Event->NEW_CONNECTION.Connection, Configuration);
    }
    return QUIC_STATUS_SUCCESS;
}

static int RunServer(uint16_t Port, const char* Cert, const char* Key)
{
    QUIC_SETTINGS Settings = {0};
    Settings.IdleTimeoutMs = 5000;
    Settings.IsSet.IdleTimeoutMs = 1;
    if (QUIC_FAILED(MsQuic->ConfigurationOpen(Registration, &Alpn, 1, &Settings, sizeof Settings, NULL, &Configuration))) {
        fprintf(stderr, "ConfigurationOpen failed\n");
        return 1;
    }
    QUIC_CERTIFICATE_FILE Files = {Key, Cert};
    QUIC_CREDENTIAL_CONFIG Cred = {0};
    Cred.Type = QUIC_CREDENTIAL_TYPE_CERTIFICATE_FILE;
    Cred.CertificateFile = &Files;
    if (QUIC_FAILED(MsQuic->ConfigurationLoadCredential(Configuration, &Cred))) {
        fprintf(stderr, "ConfigurationLoadCredential failed\n");
        return 1;
    }
    HQUIC Listener;
    if (QUIC_FAILED(MsQuic->ListenerOpen(Registration, ListenerCallback, NULL, &Listener))) return 1;
    QUIC_ADDR Address = {0};
    QuicAddrSetFamily(&Address, QUIC_ADDRESS_FAMILY_INET);
    QuicAddrFromString("127.0.0.1", Port, &Address);
    if (QUIC_FAILED(MsQuic->ListenerStart(Listener, &Alpn, 1, &Address))) {
        fprintf(stderr, "ListenerStart failed\n");
        return 1;
    }
    printf("ready\n");
    fflush(stdout);
    char Line[64];
    while (fgets(Line, sizeof Line, stdin)) {
        /* "trim": hand freed heap pages back to the kernel (a diagnostic: RSS that drops then
         * was freed memory the allocator kept, not memory still in use). */
        if (strncmp(Line, "trim", 4) == 0) malloc_trim(0);
        printf("new_connection=%ld connected=%ld closed=%ld\n", atomic_load(&NewConnections), atomic_load(&Connected),
               atomic_load(&Closed));
        fflush(stdout);
    }
    MsQuic->ListenerClose(Listener);
    printf("new_connection=%ld connected=%ld closed=%ld\n", atomic_load(&NewConnections), atomic_load(&Connected),
               atomic_load(&Closed));
    fflush(stdout);
    MsQuic->ConfigurationClose(Configuration);
    return 0;
}

static pthread_mutex_t Lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t Cond = PTHREAD_COND_INITIALIZER;
static int ClientConnected, ClientDone;

static QUIC_STATUS QUIC_API ClientCallback(HQUIC Connection, void* Context, QUIC_CONNECTION_EVENT* Event)
{
    (void)Connection; (void)Context;
    pthread_mutex_lock(&Lock);
    if (Event->Type == QUIC_CONNECTION_EVENT_CONNECTED) ClientConnected = 1;
    if (Event->Type == QUIC_CONNECTION_EVENT_SHUTDOWN_COMPLETE) ClientDone = 1;
    pthread_cond_broadcast(&Cond);
    pthread_mutex_unlock(&Lock);
    return QUIC_STATUS_SUCCESS;
}

static int RunClient(uint16_t Port, int TimeoutMs)
{
    QUIC_SETTINGS Settings = {0};
    Settings.IdleTimeoutMs = 5000;
    Settings.IsSet.IdleTimeoutMs = 1;
    if (QUIC_FAILED(MsQuic->ConfigurationOpen(Registration, &Alpn, 1, &Settings, sizeof Settings, NULL, &Configuration))) return 1;
    QUIC_CREDENTIAL_CONFIG Cred = {0};
    Cred.Type = QUIC_CREDENTIAL_TYPE_NONE;
    Cred.Flags = QUIC_CREDENTIAL_FLAG_CLIENT | QUIC_CREDENTIAL_FLAG_NO_CERTIFICATE_VALIDATION;
    if (QUIC_FAILED(MsQuic->ConfigurationLoadCredential(Configuration, &Cred))) return 1;
    HQUIC Connection;
    double Start = now_ms();
    if (QUIC_FAILED(MsQuic->ConnectionOpen(Registration, ClientCallback, NULL, &Connection))) return 1;
    if (QUIC_FAILED(MsQuic->ConnectionStart(Connection, Configuration, QUIC_ADDRESS_FAMILY_INET, "127.0.0.1", Port))) return 1;
    struct timespec Deadline;
    clock_gettime(CLOCK_REALTIME, &Deadline);
    Deadline.tv_sec += TimeoutMs / 1000;
    Deadline.tv_nsec += (TimeoutMs % 1000) * 1000000L;
    if (Deadline.tv_nsec >= 1000000000L) { Deadline.tv_sec++; Deadline.tv_nsec -= 1000000000L; }
    pthread_mutex_lock(&Lock);
    while (!ClientConnected && !ClientDone) {
        if (pthread_cond_timedwait(&Cond, &Lock, &Deadline) != 0) break;
    }
    int Ok = ClientConnected;
    pthread_mutex_unlock(&Lock);
    double Elapsed = now_ms() - Start;
    /* Let the handshake finish on the server's side too, then close politely. */
    usleep(100000);
    MsQuic->ConnectionShutdown(Connection, QUIC_CONNECTION_SHUTDOWN_FLAG_NONE, 0);
    clock_gettime(CLOCK_REALTIME, &Deadline);
    Deadline.tv_sec += 2;
    pthread_mutex_lock(&Lock);
    while (!ClientDone) {
        if (pthread_cond_timedwait(&Cond, &Lock, &Deadline) != 0) break;
    }
    pthread_mutex_unlock(&Lock);
    MsQuic->ConnectionClose(Connection);
    MsQuic->ConfigurationClose(Configuration);
    if (Ok) printf("connected ms=%.0f\n", Elapsed);
    else printf("failed after ms=%.0f\n", Elapsed);
    return Ok ? 0 : 1;
}

int main(int argc, char** argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: flood_server server PORT CERT KEY | client PORT [MS]\n");
        return 2;
    }
    int Server = strcmp(argv[1], "server") == 0;
    uint16_t Port = (uint16_t)atoi(argv[2]);
    if (Server && argc < 5) return 2;
    if (QUIC_FAILED(MsQuicOpen2(&MsQuic))) { fprintf(stderr, "MsQuicOpen2 failed\n"); return 1; }
    if (Server && getenv("FLOOD_RETRY_MEMORY_LIMIT")) {
        uint16_t Limit = (uint16_t)atoi(getenv("FLOOD_RETRY_MEMORY_LIMIT"));
        if (QUIC_FAILED(MsQuic->SetParam(NULL, QUIC_PARAM_GLOBAL_RETRY_MEMORY_PERCENT, sizeof Limit, &Limit))) {
            fprintf(stderr, "RETRY_MEMORY_PERCENT refused\n");
            return 1;
        }
    }
    QUIC_REGISTRATION_CONFIG Reg = {"flood", QUIC_EXECUTION_PROFILE_LOW_LATENCY};
    if (QUIC_FAILED(MsQuic->RegistrationOpen(&Reg, &Registration))) return 1;
    int Result = Server ? RunServer(Port, argv[3], argv[4]) : RunClient(Port, argc > 3 ? atoi(argv[3]) : 5000);
    MsQuic->RegistrationClose(Registration);
    MsQuicClose(MsQuic);
    return Result;
}
