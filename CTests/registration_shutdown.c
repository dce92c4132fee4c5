/*
 * registration_shutdown.c - RegistrationShutdown ends the registration's started
 * connections and leaves alone a client connection that was opened but never started
 * (as MsQuic does): that connection sees its only SHUTDOWN_COMPLETE from its own
 * ConnectionClose, with AppCloseInProgress set.
 */
#include "testutil.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

static const QUIC_API_TABLE* Api;

typedef struct CONN_STATE {
    TU_EVENT ShutdownComplete;
    int FirstAppCloseInProgress; /* of the first SHUTDOWN_COMPLETE, -1 before it */
} CONN_STATE;

static QUIC_STATUS QUIC_API ConnCallback(HQUIC Connection, void* Context, QUIC_CONNECTION_EVENT* Event)
{
    CONN_STATE* State = (CONN_STATE*)Context;
    if (Event->Type == QUIC_CONNECTION_EVENT_SHUTDOWN_COMPLETE) {
        pthread_mutex_lock(&State->ShutdownComplete.Lock);
        if (State->FirstAppCloseInProgress < 0) {
            State->FirstAppCloseInProgress = Event->SHUTDOWN_COMPLETE.AppCloseInProgress ? 1 : 0;
        }
        pthread_mutex_unlock(&State->ShutdownComplete.Lock);
        tu_event_signal(&State->ShutdownComplete, Connection, Context, QUIC_STATUS_SUCCESS);
    }
    return QUIC_STATUS_SUCCESS;
}

int main(void)
{
    HQUIC Registration = NULL;
    HQUIC Configuration = NULL;
    HQUIC Unstarted = NULL;
    HQUIC Started = NULL;
    CONN_STATE UnstartedState;
    CONN_STATE StartedState;
    QUIC_BUFFER Alpn = tu_alpn("test");
    QUIC_CREDENTIAL_CONFIG Cred;
    struct sockaddr_in Silent;
    socklen_t SilentLength = sizeof(Silent);
    int Sink;

    tu_start_watchdog(60);
    if (QUIC_FAILED(MsQuicOpen2(&Api))) {
        CHECK(0, "MsQuicOpen2");
        return tu_finish();
    }
    CHECK_SUCCEEDED(Api->RegistrationOpen(NULL, &Registration), "RegistrationOpen");
    CHECK_SUCCEEDED(Api->ConfigurationOpen(Registration, &Alpn, 1, NULL, 0, NULL, &Configuration), "ConfigurationOpen");
    memset(&Cred, 0, sizeof(Cred));
    Cred.Type = QUIC_CREDENTIAL_TYPE_NONE;
    Cred.Flags = QUIC_CREDENTIAL_FLAG_CLIENT | QUIC_CREDENTIAL_FLAG_NO_CERTIFICATE_VALIDATION;
    CHECK_SUCCEEDED(Api->ConfigurationLoadCredential(Configuration, &Cred), "ConfigurationLoadCredential");

    /* A UDP socket on 127.0.0.1 that never answers: the started connection stays in its handshake. */
    Sink = socket(AF_INET, SOCK_DGRAM, 0);
    memset(&Silent, 0, sizeof(Silent));
    Silent.sin_family = AF_INET;
    Silent.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    CHECK(Sink >= 0 && bind(Sink, (struct sockaddr*)&Silent, sizeof(Silent)) == 0 &&
          getsockname(Sink, (struct sockaddr*)&Silent, &SilentLength) == 0, "silent UDP socket on 127.0.0.1");

    tu_event_init(&UnstartedState.ShutdownComplete);
    UnstartedState.FirstAppCloseInProgress = -1;
    tu_event_init(&StartedState.ShutdownComplete);
    StartedState.FirstAppCloseInProgress = -1;
    CHECK_SUCCEEDED(Api->ConnectionOpen(Registration, ConnCallback, &UnstartedState, &Unstarted), "ConnectionOpen (never started)");
    CHECK_SUCCEEDED(Api->ConnectionOpen(Registration, ConnCallback, &StartedState, &Started), "ConnectionOpen (started)");
    CHECK_SUCCEEDED(Api->ConnectionStart(Started, Configuration, QUIC_ADDRESS_FAMILY_INET, "127.0.0.1", ntohs(Silent.sin_port)),
                    "ConnectionStart towards a silent port");

    Api->RegistrationShutdown(Registration, QUIC_CONNECTION_SHUTDOWN_FLAG_NONE, 7);
    CHECK(tu_event_wait(&StartedState.ShutdownComplete, 1, 10000) == 1, "the started connection is shut down");
    CHECK(StartedState.FirstAppCloseInProgress == 0, "its SHUTDOWN_COMPLETE came from the shutdown, not a close");

    /* ConnectionClose runs on the connection's worker after anything the shutdown queued there. */
    Api->ConnectionClose(Unstarted);
    CHECK(tu_event_wait(&UnstartedState.ShutdownComplete, 1, 10000) == 1, "the unstarted connection completes at its close");
    CHECK(UnstartedState.FirstAppCloseInProgress == 1,
          "the unstarted connection's first SHUTDOWN_COMPLETE is its close's (AppCloseInProgress), none from RegistrationShutdown");
    CHECK(UnstartedState.ShutdownComplete.Count == 1, "exactly one SHUTDOWN_COMPLETE for it");

    Api->ConnectionClose(Started);
    Api->ConfigurationClose(Configuration);
    Api->RegistrationClose(Registration);
    MsQuicClose(Api);
    if (Sink >= 0) {
        close(Sink);
    }
    return tu_finish();
}
