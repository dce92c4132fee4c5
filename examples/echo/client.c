/*
 * echo_client: connects to an echo_server over QUIC (MsQuic 2.6 API on libswiftquic.so),
 * validating the server certificate against CA, sends MESSAGE on a bidirectional stream with
 * FIN, prints what comes back and checks it is the same bytes. Exit status 0 on success.
 *
 *   echo_client CA PORT [MESSAGE]
 */
#include <msquic.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const QUIC_API_TABLE* MsQuic;
static pthread_mutex_t Lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t Changed = PTHREAD_COND_INITIALIZER;
static int Done;
static int Ok;
static uint8_t Echo[65536];
static uint32_t EchoLength;
static QUIC_BUFFER Request;

static void finish(int Success)
{
    pthread_mutex_lock(&Lock);
    if (!Done) {
        Done = 1;
        Ok = Success;
    }
    pthread_cond_broadcast(&Changed);
    pthread_mutex_unlock(&Lock);
}

static QUIC_STATUS QUIC_API stream_callback(HQUIC Stream, void* Context, QUIC_STREAM_EVENT* Event)
{
    HQUIC Connection = (HQUIC)Context;
    switch (Event->Type) {
    case QUIC_STREAM_EVENT_START_COMPLETE:
        printf("client: stream %llu started\n", (unsigned long long)Event->START_COMPLETE.ID);
        break;
    case QUIC_STREAM_EVENT_SEND_COMPLETE:
        printf("client: request acknowledged by the server\n");
        break;
    case QUIC_STREAM_EVENT_RECEIVE:
        for (uint32_t i = 0; i < Event->RECEIVE.BufferCount; i++) {
            const QUIC_BUFFER* B = &Event->RECEIVE.Buffers[i];
            uint32_t Room = (uint32_t)sizeof(Echo) - EchoLength;
            uint32_t Take = B->Length < Room ? B->Length : Room;
            memcpy(Echo + EchoLength, B->Buffer, Take);
            EchoLength += Take;
        }
        break;
    case QUIC_STREAM_EVENT_PEER_SEND_SHUTDOWN:
        printf("client: echo received (%u bytes): %.*s\n", EchoLength, (int)EchoLength, (const char*)Echo);
        break;
    case QUIC_STREAM_EVENT_SHUTDOWN_COMPLETE:
        MsQuic->StreamClose(Stream);
        /* Done with the stream: close the connection with application error code 0. */
        MsQuic->ConnectionShutdown(Connection, QUIC_CONNECTION_SHUTDOWN_FLAG_NONE, 0);
        break;
    default:
        break;
    }
    return QUIC_STATUS_SUCCESS;
}

static QUIC_STATUS QUIC_API connection_callback(HQUIC Connection, void* Context, QUIC_CONNECTION_EVENT* Event)
{
    (void)Context;
    HQUIC Stream = NULL;
    switch (Event->Type) {
    case QUIC_CONNECTION_EVENT_CONNECTED:
        printf("client: connected (ALPN %.*s)\n", (int)Event->CONNECTED.NegotiatedAlpnLength,
               Event->CONNECTED.NegotiatedAlpn);
        if (QUIC_FAILED(MsQuic->StreamOpen(Connection, QUIC_STREAM_OPEN_FLAG_NONE, stream_callback, Connection,
                                           &Stream)) ||
            QUIC_FAILED(MsQuic->StreamStart(Stream, QUIC_STREAM_START_FLAG_NONE)) ||
            QUIC_FAILED(MsQuic->StreamSend(Stream, &Request, 1, QUIC_SEND_FLAG_FIN, NULL))) {
            printf("client: could not send the request\n");
            MsQuic->ConnectionShutdown(Connection, QUIC_CONNECTION_SHUTDOWN_FLAG_NONE, 1);
        }
        break;
    case QUIC_CONNECTION_EVENT_SHUTDOWN_INITIATED_BY_TRANSPORT:
        printf("client: transport closed the connection: status 0x%x, error code 0x%llx\n",
               Event->SHUTDOWN_INITIATED_BY_TRANSPORT.Status,
               (unsigned long long)Event->SHUTDOWN_INITIATED_BY_TRANSPORT.ErrorCode);
        break;
    case QUIC_CONNECTION_EVENT_SHUTDOWN_COMPLETE:
        finish(EchoLength == Request.Length && memcmp(Echo, Request.Buffer, EchoLength) == 0);
        break;
    default:
        break;
    }
    return QUIC_STATUS_SUCCESS;
}

int main(int argc, char** argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: %s CA PORT [MESSAGE]\n", argv[0]);
        return 2;
    }
    const char* Message = argc > 3 ? argv[3] : "Hello from a C client, over QUIC, through swiftquic!";
    QUIC_STATUS Status;
    HQUIC Registration = NULL, Configuration = NULL, Connection = NULL;
    QUIC_BUFFER Alpn = {4, (uint8_t*)"echo"};
    QUIC_SETTINGS Settings;
    QUIC_CREDENTIAL_CONFIG Cred;

    Request.Buffer = (uint8_t*)Message;
    Request.Length = (uint32_t)strlen(Message);
    memset(&Settings, 0, sizeof(Settings));
    Settings.IsSet.IdleTimeoutMs = 1;
    Settings.IdleTimeoutMs = 10000;
    memset(&Cred, 0, sizeof(Cred));
    Cred.Type = QUIC_CREDENTIAL_TYPE_NONE;
    Cred.Flags = QUIC_CREDENTIAL_FLAG_CLIENT | QUIC_CREDENTIAL_FLAG_SET_CA_CERTIFICATE_FILE;
    Cred.CaCertificateFile = argv[1];

    if (QUIC_FAILED(Status = MsQuicOpen2(&MsQuic)) ||
        QUIC_FAILED(Status = MsQuic->RegistrationOpen(NULL, &Registration)) ||
        QUIC_FAILED(Status = MsQuic->ConfigurationOpen(Registration, &Alpn, 1, &Settings, sizeof(Settings), NULL,
                                                       &Configuration)) ||
        QUIC_FAILED(Status = MsQuic->ConfigurationLoadCredential(Configuration, &Cred)) ||
        QUIC_FAILED(Status = MsQuic->ConnectionOpen(Registration, connection_callback, NULL, &Connection)) ||
        QUIC_FAILED(Status = MsQuic->ConnectionStart(Connection, Configuration, QUIC_ADDRESS_FAMILY_INET, "localhost",
                                                     (uint16_t)atoi(argv[2])))) {
        fprintf(stderr, "client setup failed: 0x%x\n", Status);
        return 1;
    }
    pthread_mutex_lock(&Lock);
    while (!Done) pthread_cond_wait(&Changed, &Lock);
    pthread_mutex_unlock(&Lock);

    MsQuic->ConnectionClose(Connection);
    MsQuic->ConfigurationClose(Configuration);
    MsQuic->RegistrationClose(Registration);
    MsQuicClose(MsQuic);
    printf("client: %s\n", Ok ? "the echo matches" : "ECHO MISMATCH");
    return Ok ? 0 : 1;
}
