/*
 * idle_rss.c - resident memory per idle connection (issue 9, item 8). Loads the MsQuic
 * library given on the command line (ours or MsQuic's libmsquic.so.2), starts a listener on
 * 127.0.0.1 and COUNT client connections to it in the same process, waits until every one is
 * connected, lets them settle for two seconds, and prints VmRSS before and after, and the
 * growth per connection pair (a client and its server-side peer). Idle timeouts are off so
 * nothing closes meanwhile.
 *     idle_rss LIBRARY CERT_DIR [COUNT]
 */
#define _GNU_SOURCE 1
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <malloc.h>

#include <msquic.h>

static const QUIC_API_TABLE* Api;
static HQUIC ServerConfiguration;
static pthread_mutex_t Lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t Cond = PTHREAD_COND_INITIALIZER;
static int Connected;

static long rss_kb(void)
{
    char Line[256];
    long Kb = -1;
    FILE* F = fopen("/proc/self/status", "r");
    if (F == NULL) return -1;
    while (fgets(Line, sizeof(Line), F)) {
        if (strncmp(Line, "VmRSS:", 6) == 0) { Kb = strtol(Line + 6, NULL, 10); break; }
    }
    fclose(F);
    return Kb;
}

static QUIC_STATUS QUIC_API ServerConnCb(HQUIC Connection, void* Context, QUIC_CONNECTION_EVENT* Event)
{
    (void)Context;
    if (Event->Type == QUIC_CONNECTION_EVENT_SHUTDOWN_COMPLETE) Api->ConnectionClose(Connection);
    return QUIC_STATUS_SUCCESS;
}

static QUIC_STATUS QUIC_API ListenerCb(HQUIC Listener, void* Context, QUIC_LISTENER_EVENT* Event)
{
    (void)Listener;
    (void)Context;
    if (Event->Type != QUIC_LISTENER_EVENT_NEW_CONNECTION) return QUIC_STATUS_SUCCESS;
    Api->SetCallbackHandler(Event->NEW_CONNECTION.Connection, (void*)ServerConnCb, NULL);
    return Api->ConnectionSetConfiguration(Event->NEW_CONNECTION.Connection, ServerConfiguration);
}

static QUIC_STATUS QUIC_API ClientConnCb(HQUIC Connection, void* Context, QUIC_CONNECTION_EVENT* Event)
{
    (void)Connection;
    (void)Context;
    if (Event->Type == QUIC_CONNECTION_EVENT_CONNECTED) {
        pthread_mutex_lock(&Lock);
        Connected++;
        pthread_cond_broadcast(&Cond);
        pthread_mutex_unlock(&Lock);
    }
    return QUIC_STATUS_SUCCESS;
}

int main(int argc, char** argv)
{
    if (argc < 3) { fprintf(stderr, "usage: idle_rss LIBRARY CERT_DIR [COUNT]\n"); return 2; }
    int Count = argc > 3 ? atoi(argv[3]) : 1000;
    void* Lib = dlopen(argv[1], RTLD_NOW);
    if (Lib == NULL) { fprintf(stderr, "%s\n", dlerror()); return 2; }
    QUIC_STATUS (*OpenVersion)(uint32_t, const void**) = (QUIC_STATUS (*)(uint32_t, const void**))dlsym(Lib, "MsQuicOpenVersion");
    void (*Close)(const void*) = (void (*)(const void*))dlsym(Lib, "MsQuicClose");
    if (OpenVersion == NULL || Close == NULL || QUIC_FAILED(OpenVersion(2, (const void**)&Api))) return 2;

    HQUIC Registration = NULL, ClientConfiguration = NULL, Listener = NULL;
    QUIC_BUFFER Alpn = {4, (uint8_t*)"idle"};
    QUIC_SETTINGS Settings;
    QUIC_CREDENTIAL_CONFIG Cred;
    QUIC_CERTIFICATE_FILE Files;
    QUIC_ADDR Address;
    uint32_t Length = sizeof(Address);
    char Cert[512], Key[512];
    snprintf(Cert, sizeof(Cert), "%s/server.crt", argv[2]);
    snprintf(Key, sizeof(Key), "%s/server.key", argv[2]);
    memset(&Settings, 0, sizeof(Settings));
    Settings.IsSet.IdleTimeoutMs = 1;
    Settings.IdleTimeoutMs = 0;
    if (QUIC_FAILED(Api->RegistrationOpen(NULL, &Registration))) return 2;
    if (QUIC_FAILED(Api->ConfigurationOpen(Registration, &Alpn, 1, &Settings, sizeof(Settings), NULL, &ServerConfiguration))) return 2;
    memset(&Cred, 0, sizeof(Cred));
    Files.CertificateFile = Cert;
    Files.PrivateKeyFile = Key;
    Cred.Type = QUIC_CREDENTIAL_TYPE_CERTIFICATE_FILE;
    Cred.CertificateFile = &Files;
    if (QUIC_FAILED(Api->ConfigurationLoadCredential(ServerConfiguration, &Cred))) return 2;
    if (QUIC_FAILED(Api->ConfigurationOpen(Registration, &Alpn, 1, &Settings, sizeof(Settings), NULL, &ClientConfiguration))) return 2;
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

    /* A first connection warms up the one-time costs (TLS, workers, sockets) before the baseline. */
    HQUIC* Clients = calloc((size_t)Count + 1, sizeof(HQUIC));
    int Started = 0;
    long Baseline = -1;
    size_t HeapBaseline = 0;
    for (int i = 0; i <= Count; i++) {
        if (i == 1) {
            pthread_mutex_lock(&Lock);
            while (Connected < 1) pthread_cond_wait(&Cond, &Lock);
            pthread_mutex_unlock(&Lock);
            sleep(1);
        }
        if (i == 1) { Baseline = rss_kb(); HeapBaseline = mallinfo2().uordblks; }
        if (QUIC_FAILED(Api->ConnectionOpen(Registration, ClientConnCb, NULL, &Clients[i]))) break;
        if (QUIC_FAILED(Api->ConnectionStart(Clients[i], ClientConfiguration, QUIC_ADDRESS_FAMILY_INET, "127.0.0.1",
                                             QuicAddrGetPort(&Address)))) break;
        Started++;
        if (i % 50 == 0) {   /* pace the handshakes: no Retry or DoS mode from a burst */
            pthread_mutex_lock(&Lock);
            while (Connected < i) pthread_cond_wait(&Cond, &Lock);
            pthread_mutex_unlock(&Lock);
        }
    }
    pthread_mutex_lock(&Lock);
    while (Connected < Started) pthread_cond_wait(&Cond, &Lock);
    pthread_mutex_unlock(&Lock);
    sleep(2);
    long After = rss_kb();
    fprintf(stdout, "idle_rss: %d connections (and their server sides) connected; VmRSS %ld kB with the first, "
            "%ld kB with all: %.1f kB per connection pair\n", Connected, Baseline, After,
            Connected > 1 ? (double)(After - Baseline) / (Connected - 1) : 0.0);
    fprintf(stdout, "idle_rss: heap in use (malloc) grew %.1f kB per connection pair\n",
            Connected > 1 ? (double)(mallinfo2().uordblks - HeapBaseline) / 1024.0 / (Connected - 1) : 0.0);
    fflush(stdout);
    for (int i = 0; i < Started; i++) {
        Api->ConnectionShutdown(Clients[i], QUIC_CONNECTION_SHUTDOWN_FLAG_NONE, 0);
        Api->ConnectionClose(Clients[i]);
    }
    Api->ListenerClose(Listener);
    Api->RegistrationShutdown(Registration, QUIC_CONNECTION_SHUTDOWN_FLAG_SILENT, 0);
    Api->ConfigurationClose(ClientConfiguration);
    Api->ConfigurationClose(ServerConfiguration);
    Api->RegistrationClose(Registration);
    Close(Api);
    free(Clients);
    return 0;
}
