/*
 * listener_shared_port.c - several listeners on one port, chosen by ALPN, as MsQuic does it
 * (docs/api/ListenerStart.md; src/core/binding.c QuicBindingRegisterListener and
 * QuicBindingGetListener): listeners started on the same port share the port's binding, and each
 * new client goes to the first listener whose address fits and that has one of the ALPNs its
 * ClientHello offers.
 *
 * Over 127.0.0.1 with an ephemeral port:
 *  - A ("alpn-a") and B ("alpn-b") on the same address and port both start; C offering
 *    "alpn-x" and "alpn-a" on that address gets QUIC_STATUS_ALPN_IN_USE;
 *  - W on the same port with no address (the UNSPEC family) offering "alpn-a" and "alpn-w"
 *    starts too (MsQuic compares ALPNs only within a family and address); a client of
 *    "alpn-a" still reaches A (specific addresses come first), one of "alpn-w" reaches W;
 *  - clients alternate between "alpn-a" and "alpn-b", several times each (enough for the
 *    kernel's SO_REUSEPORT spread to show if it decided): each reaches its listener;
 *  - a client offering only "alpn-z" is refused: CRYPTO_ERROR no_application_protocol (0x178),
 *    QUIC_STATUS_ALPN_NEG_FAILURE on the client, as MsQuic;
 *  - once A is stopped, B still serves and "alpn-a" clients are refused; once B is stopped
 *    too, the port is free (a plain UDP socket binds to it).
 */
#include "testutil.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#define WAIT_MS 5000
#define ROUNDS 6

typedef struct LISTENER_CTX {
    const char* Name;
    const char* Alpn;
    HQUIC Configuration;
    TU_EVENT NewConnection;
    TU_EVENT StopComplete;
    int WrongAlpn;
} LISTENER_CTX;

typedef struct CLIENT_CTX {
    TU_EVENT Connected;
    TU_EVENT ShutdownComplete;
    QUIC_STATUS TransportStatus;
    QUIC_UINT62 TransportError;
    int ByTransport;
} CLIENT_CTX;

static const QUIC_API_TABLE* Api;
static HQUIC Registration;

static QUIC_STATUS QUIC_API ServerConnCallback(HQUIC Connection, void* Context, QUIC_CONNECTION_EVENT* Event)
{
    (void)Context;
    if (Event->Type == QUIC_CONNECTION_EVENT_SHUTDOWN_COMPLETE) {
        Api->ConnectionClose(Connection);
    }
    return QUIC_STATUS_SUCCESS;
}

static QUIC_STATUS QUIC_API ListenerCallback(HQUIC Listener, void* Context, QUIC_LISTENER_EVENT* Event)
{
    LISTENER_CTX* L = (LISTENER_CTX*)Context;
    if (Event->Type == QUIC_LISTENER_EVENT_STOP_COMPLETE) {
        tu_event_signal(&L->StopComplete, Listener, L, QUIC_STATUS_SUCCESS);
        return QUIC_STATUS_SUCCESS;
    }
    if (Event->Type != QUIC_LISTENER_EVENT_NEW_CONNECTION) {
        return QUIC_STATUS_SUCCESS;
    }
    /* The negotiated ALPN is the one this listener is there for (W is reached only by
       "alpn-w" clients: "alpn-a" ones go to A first). */
    {
        const QUIC_NEW_CONNECTION_INFO* Info = Event->NEW_CONNECTION.Info;
        size_t N = strlen(L->Alpn);
        if (Info->NegotiatedAlpnLength != N || memcmp(Info->NegotiatedAlpn, L->Alpn, N) != 0) {
            L->WrongAlpn++;
        }
    }
    tu_event_signal(&L->NewConnection, Listener, L, QUIC_STATUS_SUCCESS);
    Api->SetCallbackHandler(Event->NEW_CONNECTION.Connection, (void*)ServerConnCallback, NULL);
    return Api->ConnectionSetConfiguration(Event->NEW_CONNECTION.Connection, L->Configuration);
}

static QUIC_STATUS QUIC_API ClientCallback(HQUIC Connection, void* Context, QUIC_CONNECTION_EVENT* Event)
{
    CLIENT_CTX* C = (CLIENT_CTX*)Context;
    switch (Event->Type) {
    case QUIC_CONNECTION_EVENT_CONNECTED:
        tu_event_signal(&C->Connected, Connection, C, QUIC_STATUS_SUCCESS);
        break;
    case QUIC_CONNECTION_EVENT_SHUTDOWN_INITIATED_BY_TRANSPORT:
        C->ByTransport = 1;
        C->TransportStatus = Event->SHUTDOWN_INITIATED_BY_TRANSPORT.Status;
        C->TransportError = Event->SHUTDOWN_INITIATED_BY_TRANSPORT.ErrorCode;
        break;
    case QUIC_CONNECTION_EVENT_SHUTDOWN_COMPLETE:
        tu_event_signal(&C->ShutdownComplete, Connection, C, QUIC_STATUS_SUCCESS);
        break;
    default:
        break;
    }
    return QUIC_STATUS_SUCCESS;
}

/* One client with one ALPN: 1 when it connected (then it is shut down), 0 when the handshake
   ended; *Refusal gets the transport error of an ended one. */
static int connect_once(const char* Alpn, uint16_t Port, CLIENT_CTX* C)
{
    QUIC_BUFFER Buffer = tu_alpn(Alpn);
    HQUIC Configuration = tu_insecure_client_configuration(Api, Registration, &Buffer);
    HQUIC Connection = NULL;
    int Connected = 0;
    memset(C, 0, sizeof(*C));
    tu_event_init(&C->Connected);
    tu_event_init(&C->ShutdownComplete);
    if (Configuration == NULL) {
        return 0;
    }
    if (QUIC_SUCCEEDED(Api->ConnectionOpen(Registration, ClientCallback, C, &Connection)) &&
        QUIC_SUCCEEDED(Api->ConnectionStart(Connection, Configuration, QUIC_ADDRESS_FAMILY_INET, "127.0.0.1", Port))) {
        /* Connected or ended, whichever comes first. */
        for (int Waited = 0; Waited < WAIT_MS; Waited += 20) {
            if (tu_event_wait(&C->Connected, 1, 20) == 1 || C->ShutdownComplete.Count > 0) {
                break;
            }
        }
        Connected = C->Connected.Count == 1;
        if (Connected) {
            Api->ConnectionShutdown(Connection, QUIC_CONNECTION_SHUTDOWN_FLAG_NONE, 0);
        }
        CHECK(tu_event_wait(&C->ShutdownComplete, 1, WAIT_MS) == 1, "client (%s): SHUTDOWN_COMPLETE", Alpn);
    }
    if (Connection != NULL) {
        Api->ConnectionClose(Connection);
    }
    Api->ConfigurationClose(Configuration);
    return Connected;
}

static void expect_refused(const char* Alpn, uint16_t Port, const char* What)
{
    CLIENT_CTX C;
    CHECK(!connect_once(Alpn, Port, &C), "%s: not connected", What);
    CHECK(C.ByTransport && C.TransportError == 0x178 && C.TransportStatus == QUIC_STATUS_ALPN_NEG_FAILURE,
          "%s: CRYPTO_ERROR no_application_protocol (error 0x%llx, status %s)", What,
          (unsigned long long)C.TransportError, tu_status_name(C.TransportStatus));
}

static void listener_init(LISTENER_CTX* L, const char* Name, const char* Alpn)
{
    memset(L, 0, sizeof(*L));
    L->Name = Name;
    L->Alpn = Alpn;
    tu_event_init(&L->NewConnection);
    tu_event_init(&L->StopComplete);
}

int main(void)
{
    LISTENER_CTX A, B, C, W;
    HQUIC ListenerA = NULL, ListenerB = NULL, ListenerC = NULL, ListenerW = NULL;
    QUIC_BUFFER AlpnA = tu_alpn("alpn-a"), AlpnB = tu_alpn("alpn-b");
    QUIC_BUFFER AlpnsC[2] = { tu_alpn("alpn-x"), tu_alpn("alpn-a") };
    QUIC_BUFFER AlpnsW[2] = { tu_alpn("alpn-a"), tu_alpn("alpn-w") };
    QUIC_ADDR Address;
    uint16_t Port = 0;

    tu_start_watchdog(100);
    if (tu_cert_dir() == NULL) {
        return tu_skip_program("no test certificates");
    }
    if (QUIC_FAILED(MsQuicOpen2(&Api))) {
        CHECK(0, "MsQuicOpen2");
        return tu_finish();
    }
    CHECK_SUCCEEDED(Api->RegistrationOpen(NULL, &Registration), "RegistrationOpen");

    listener_init(&A, "A", "alpn-a");
    listener_init(&B, "B", "alpn-b");
    listener_init(&C, "C", "alpn-x");
    listener_init(&W, "W", "alpn-w");
    {
        A.Configuration = tu_server_configuration(Api, Registration, &AlpnA, NULL);
        B.Configuration = tu_server_configuration(Api, Registration, &AlpnB, NULL);
        /* W negotiates either of its ALPNs; a configuration's ALPN list only has to contain it. */
        CHECK_SUCCEEDED(Api->ConfigurationOpen(Registration, AlpnsW, 2, NULL, 0, NULL, &W.Configuration),
                        "W ConfigurationOpen");
        if (W.Configuration != NULL) {
            QUIC_CREDENTIAL_CONFIG Cred;
            QUIC_CERTIFICATE_FILE Files;
            memset(&Cred, 0, sizeof(Cred));
            Files.CertificateFile = tu_cert("server.crt");
            Files.PrivateKeyFile = tu_cert("server.key");
            Cred.Type = QUIC_CREDENTIAL_TYPE_CERTIFICATE_FILE;
            Cred.CertificateFile = &Files;
            CHECK_SUCCEEDED(Api->ConfigurationLoadCredential(W.Configuration, &Cred), "W credential");
        }
    }

    ListenerA = tu_loopback_listener(Api, Registration, ListenerCallback, &A, &AlpnA, &Port);
    if (ListenerA == NULL || Port == 0) {
        return tu_finish();
    }
    memset(&Address, 0, sizeof(Address));
    QuicAddrSetFamily(&Address, QUIC_ADDRESS_FAMILY_INET);
    QuicAddrSetToLoopback(&Address);
    QuicAddrSetPort(&Address, Port);

    CHECK_SUCCEEDED(Api->ListenerOpen(Registration, ListenerCallback, &B, &ListenerB), "ListenerOpen B");
    CHECK_STATUS(Api->ListenerStart(ListenerB, &AlpnB, 1, &Address), QUIC_STATUS_SUCCESS,
                 "B (another ALPN) on A's address and port");
    CHECK_SUCCEEDED(Api->ListenerOpen(Registration, ListenerCallback, &C, &ListenerC), "ListenerOpen C");
    CHECK_STATUS(Api->ListenerStart(ListenerC, AlpnsC, 2, &Address), QUIC_STATUS_ALPN_IN_USE,
                 "C (an ALPN of A among others) on A's address and port");
    {
        QUIC_ADDR Reported;
        uint32_t Length = sizeof(Reported);
        CHECK(QUIC_SUCCEEDED(Api->GetParam(ListenerB, QUIC_PARAM_LISTENER_LOCAL_ADDRESS, &Length, &Reported)) &&
                  QuicAddrGetPort(&Reported) == Port,
              "B reports the shared port");
    }
    {
        /* UNSPEC with A's port: the wildcard of both families, another family than A's. */
        QUIC_ADDR Any;
        memset(&Any, 0, sizeof(Any));
        QuicAddrSetFamily(&Any, QUIC_ADDRESS_FAMILY_UNSPEC);
        QuicAddrSetPort(&Any, Port);
        CHECK_SUCCEEDED(Api->ListenerOpen(Registration, ListenerCallback, &W, &ListenerW), "ListenerOpen W");
        CHECK_STATUS(Api->ListenerStart(ListenerW, AlpnsW, 2, &Any), QUIC_STATUS_SUCCESS,
                     "W (UNSPEC wildcard, alpn-a and alpn-w) on the same port");
    }

    {
        CLIENT_CTX Client;
        CHECK(connect_once("alpn-a", Port, &Client) && A.NewConnection.Count == 1 && W.NewConnection.Count == 0,
              "alpn-a with W started: A (specific address first), not W (A %d, W %d)",
              A.NewConnection.Count, W.NewConnection.Count);
        CHECK(connect_once("alpn-w", Port, &Client) && W.NewConnection.Count == 1,
              "alpn-w: W (the wildcard listener, reached through the 127.0.0.1 sockets)");
    }
    Api->ListenerStop(ListenerW);
    CHECK(tu_event_wait(&W.StopComplete, 1, WAIT_MS) == 1, "W: STOP_COMPLETE");
    expect_refused("alpn-w", Port, "alpn-w after W stopped");

    for (int Round = 0; Round < ROUNDS; Round++) {
        CLIENT_CTX Client;
        int BeforeA = A.NewConnection.Count, BeforeB = B.NewConnection.Count;
        CHECK(connect_once("alpn-a", Port, &Client), "round %d: alpn-a connects", Round);
        CHECK(A.NewConnection.Count == BeforeA + 1 && B.NewConnection.Count == BeforeB,
              "round %d: alpn-a reached A (A %d, B %d)", Round, A.NewConnection.Count, B.NewConnection.Count);
        BeforeA = A.NewConnection.Count;
        CHECK(connect_once("alpn-b", Port, &Client), "round %d: alpn-b connects", Round);
        CHECK(B.NewConnection.Count == BeforeB + 1 && A.NewConnection.Count == BeforeA,
              "round %d: alpn-b reached B (A %d, B %d)", Round, A.NewConnection.Count, B.NewConnection.Count);
    }
    expect_refused("alpn-z", Port, "alpn-z (no listener has it)");
    CHECK(A.WrongAlpn == 0 && B.WrongAlpn == 0 && W.WrongAlpn == 0, "each NEW_CONNECTION carried its listener's ALPN");
    CHECK(C.NewConnection.Count == 0, "C, never started, saw nothing");

    Api->ListenerStop(ListenerA);
    CHECK(tu_event_wait(&A.StopComplete, 1, WAIT_MS) == 1, "A: STOP_COMPLETE");
    {
        int BeforeA = A.NewConnection.Count;
        for (int Round = 0; Round < 3; Round++) {
            CLIENT_CTX Client;
            int BeforeB = B.NewConnection.Count;
            CHECK(connect_once("alpn-b", Port, &Client) && B.NewConnection.Count == BeforeB + 1,
                  "A stopped, round %d: alpn-b still reaches B", Round);
        }
        expect_refused("alpn-a", Port, "alpn-a after A stopped");
        CHECK(A.NewConnection.Count == BeforeA, "A: no NEW_CONNECTION after its STOP_COMPLETE");
    }
    /* Now C may take alpn-a (and alpn-x) on the port. */
    CHECK_STATUS(Api->ListenerStart(ListenerC, AlpnsC, 2, &Address), QUIC_STATUS_SUCCESS,
                 "C on the port once A stopped");
    Api->ListenerStop(ListenerC);
    CHECK(tu_event_wait(&C.StopComplete, 1, WAIT_MS) == 1, "C: STOP_COMPLETE");

    Api->ListenerStop(ListenerB);
    CHECK(tu_event_wait(&B.StopComplete, 1, WAIT_MS) == 1, "B: STOP_COMPLETE");
    {
        /* The sockets close once their last connection is gone (the server side of the last
           clients drains first): a plain UDP socket binds to the port within a few seconds. */
        int Free = 0;
        for (int Waited = 0; Waited < 8000 && !Free; Waited += 100) {
            int Fd = socket(AF_INET, SOCK_DGRAM, 0);
            struct sockaddr_in Sin;
            memset(&Sin, 0, sizeof(Sin));
            Sin.sin_family = AF_INET;
            Sin.sin_port = htons(Port);
            Sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
            if (Fd >= 0 && bind(Fd, (struct sockaddr*)&Sin, sizeof(Sin)) == 0) {
                Free = 1;
            }
            if (Fd >= 0) close(Fd);
            if (!Free) usleep(100 * 1000);
        }
        CHECK(Free, "the port is free once both listeners stopped");
    }

    Api->ListenerClose(ListenerA);
    Api->ListenerClose(ListenerB);
    Api->ListenerClose(ListenerC);
    Api->ListenerClose(ListenerW);
    if (A.Configuration) Api->ConfigurationClose(A.Configuration);
    if (B.Configuration) Api->ConfigurationClose(B.Configuration);
    if (W.Configuration) Api->ConfigurationClose(W.Configuration);
    Api->RegistrationClose(Registration);
    MsQuicClose(Api);
    return tu_finish();
}
