/*
 * echo_server: a QUIC echo server written against the MsQuic 2.6 API (msquic.h), run here on
 * libswiftquic.so. It listens on 127.0.0.1 (port 0 = ephemeral, written to PORT_FILE), accepts
 * connections offering ALPN "echo", and sends every stream's data back with FIN once the
 * client's FIN arrives. It exits after serving EXPECTED connections.
 *
 *   echo_server CERT KEY PORT_FILE [EXPECTED]
 */
#include <msquic.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const QUIC_API_TABLE* MsQuic;
static HQUIC Configuration;
static pthread_mutex_t Lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t Changed = PTHREAD_COND_INITIALIZER;
static int Finished;

typedef struct ECHO {
    uint8_t* Data;
    uint64_t Length;
    uint64_t Capacity;
    QUIC_BUFFER Reply;
} ECHO;

static QUIC_STATUS QUIC_API stream_callback(HQUIC Stream, void* Context, QUIC_STREAM_EVENT* Event)
{
    ECHO* Echo = (ECHO*)Context;
    switch (Event->Type) {
    case QUIC_STREAM_EVENT_RECEIVE:
        for (uint32_t i = 0; i < Event->RECEIVE.BufferCount; i++) {
            const QUIC_BUFFER* B = &Event->RECEIVE.Buffers[i];
            if (Echo->Length + B->Length > Echo->Capacity) {
                uint64_t Want = (Echo->Length + B->Length) * 2;
                uint8_t* Grown = (uint8_t*)realloc(Echo->Data, Want);
                if (Grown == NULL) {
                    MsQuic->StreamShutdown(Stream, QUIC_STREAM_SHUTDOWN_FLAG_ABORT, 1);
                    return QUIC_STATUS_SUCCESS;
                }
                Echo->Data = Grown;
                Echo->Capacity = Want;
            }
            memcpy(Echo->Data + Echo->Length, B->Buffer, B->Length);
            Echo->Length += B->Length;
        }
        break;
    case QUIC_STREAM_EVENT_PEER_SEND_SHUTDOWN:
        /* The whole request is in: send it back and finish our side. The buffer stays ours
         * until SEND_COMPLETE. */
        Echo->Reply.Buffer = Echo->Data;
        Echo->Reply.Length = (uint32_t)Echo->Length;
        if (QUIC_FAILED(MsQuic->StreamSend(Stream, &Echo->Reply, 1, QUIC_SEND_FLAG_FIN, NULL))) {
            MsQuic->StreamShutdown(Stream, QUIC_STREAM_SHUTDOWN_FLAG_ABORT, 1);
        }
        break;
    case QUIC_STREAM_EVENT_PEER_SEND_ABORTED:
        MsQuic->StreamShutdown(Stream, QUIC_STREAM_SHUTDOWN_FLAG_ABORT, 0);
        break;
    case QUIC_STREAM_EVENT_SHUTDOWN_COMPLETE:
        printf("server: stream echoed %llu bytes\n", (unsigned long long)Echo->Length);
        fflush(stdout);
        MsQuic->StreamClose(Stream);
        free(Echo->Data);
        free(Echo);
        break;
    default:
        break;
    }
    return QUIC_STATUS_SUCCESS;
}

static QUIC_STATUS QUIC_API connection_callback(HQUIC Connection, void* Context, QUIC_CONNECTION_EVENT* Event)
{
    (void)Context;
    switch (Event->Type) {
    case QUIC_CONNECTION_EVENT_CONNECTED:
        printf("server: connection established\n");
        fflush(stdout);
        break;
    case QUIC_CONNECTION_EVENT_PEER_STREAM_STARTED: {
        ECHO* Echo = (ECHO*)calloc(1, sizeof(ECHO));
        if (Echo == NULL) return QUIC_STATUS_OUT_OF_MEMORY;
        MsQuic->SetCallbackHandler(Event->PEER_STREAM_STARTED.Stream, (void*)stream_callback, Echo);
        break;
    }
    case QUIC_CONNECTION_EVENT_SHUTDOWN_INITIATED_BY_PEER:
        printf("server: client closed with error code %llu\n",
               (unsigned long long)Event->SHUTDOWN_INITIATED_BY_PEER.ErrorCode);
        break;
    case QUIC_CONNECTION_EVENT_SHUTDOWN_COMPLETE:
        printf("server: connection done\n");
        fflush(stdout);
        MsQuic->ConnectionClose(Connection);
        pthread_mutex_lock(&Lock);
        Finished++;
        pthread_cond_broadcast(&Changed);
        pthread_mutex_unlock(&Lock);
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
        printf("server: new connection for \"%.*s\" (ALPN %.*s)\n", (int)Info->ServerNameLength,
               Info->ServerName ? Info->ServerName : "", (int)Info->NegotiatedAlpnLength, Info->NegotiatedAlpn);
        fflush(stdout);
        MsQuic->SetCallbackHandler(Event->NEW_CONNECTION.Connection, (void*)connection_callback, NULL);
        return MsQuic->ConnectionSetConfiguration(Event->NEW_CONNECTION.Connection, Configuration);
    }
    return QUIC_STATUS_SUCCESS;
}

int main(int argc, char** argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: %s CERT KEY PORT_FILE [EXPECTED_CONNECTIONS]\n", argv[0]);
        return 2;
    }
    int Expected = argc > 4 ? atoi(argv[4]) : 1;
    QUIC_STATUS Status;
    HQUIC Registration = NULL, Listener = NULL;
    QUIC_BUFFER Alpn = {4, (uint8_t*)"echo"};
    QUIC_REGISTRATION_CONFIG RegConfig = {"echo_server", QUIC_EXECUTION_PROFILE_LOW_LATENCY};
    QUIC_SETTINGS Settings;
    QUIC_CERTIFICATE_FILE Files = {argv[2], argv[1]};
    QUIC_CREDENTIAL_CONFIG Cred;
    QUIC_ADDR Address;
    uint32_t Length = sizeof(Address);

    if (QUIC_FAILED(Status = MsQuicOpen2(&MsQuic))) {
        fprintf(stderr, "MsQuicOpen2 failed: 0x%x\n", Status);
        return 1;
    }
    memset(&Settings, 0, sizeof(Settings));
    Settings.IsSet.IdleTimeoutMs = 1;
    Settings.IdleTimeoutMs = 10000;
    Settings.IsSet.PeerBidiStreamCount = 1;
    Settings.PeerBidiStreamCount = 16;
    memset(&Cred, 0, sizeof(Cred));
    Cred.Type = QUIC_CREDENTIAL_TYPE_CERTIFICATE_FILE;
    Cred.CertificateFile = &Files;
    memset(&Address, 0, sizeof(Address));
    QuicAddrSetFamily(&Address, QUIC_ADDRESS_FAMILY_INET);
    QuicAddrSetToLoopback(&Address);

    if (QUIC_FAILED(Status = MsQuic->RegistrationOpen(&RegConfig, &Registration)) ||
        QUIC_FAILED(Status = MsQuic->ConfigurationOpen(Registration, &Alpn, 1, &Settings, sizeof(Settings), NULL,
                                                       &Configuration)) ||
        QUIC_FAILED(Status = MsQuic->ConfigurationLoadCredential(Configuration, &Cred)) ||
        QUIC_FAILED(Status = MsQuic->ListenerOpen(Registration, listener_callback, NULL, &Listener)) ||
        QUIC_FAILED(Status = MsQuic->ListenerStart(Listener, &Alpn, 1, &Address)) ||
        QUIC_FAILED(Status = MsQuic->GetParam(Listener, QUIC_PARAM_LISTENER_LOCAL_ADDRESS, &Length, &Address))) {
        fprintf(stderr, "server setup failed: 0x%x\n", Status);
        return 1;
    }
    FILE* PortFile = fopen(argv[3], "w");
    if (PortFile == NULL) return 1;
    fprintf(PortFile, "%u\n", QuicAddrGetPort(&Address));
    fclose(PortFile);
    printf("server: listening on 127.0.0.1:%u\n", QuicAddrGetPort(&Address));
    fflush(stdout);

    pthread_mutex_lock(&Lock);
    while (Finished < Expected) pthread_cond_wait(&Changed, &Lock);
    pthread_mutex_unlock(&Lock);

    MsQuic->ListenerClose(Listener);
    MsQuic->ConfigurationClose(Configuration);
    MsQuic->RegistrationClose(Registration);
    MsQuicClose(MsQuic);
    printf("server: served %d connection(s)\n", Expected);
    return 0;
}
