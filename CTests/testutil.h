/*
 * testutil.h - small helpers shared by the C tests in CTests/.
 *
 * Every check prints one line ("ok   ..." or "FAIL ..."); tu_finish() prints
 * "N passed, M failed" and gives the exit code. A watchdog ends a test that
 * hangs (a blocking API call that never returns) with a failure.
 *
 * Certificates come from $SWIFTQUIC_TEST_CERTS (written by gen-certs.sh);
 * when it is unset, tu_cert_dir() runs gen-certs.sh from this directory into a
 * temporary directory so the programs also run by hand.
 */
#ifndef SWIFTQUIC_CTESTS_TESTUTIL_H
#define SWIFTQUIC_CTESTS_TESTUTIL_H

/* POSIX calls (mkdtemp, clock_gettime) also under -std=c11. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif

#include "msquic.h"

#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static int tu_passed;
static int tu_failed;
static int tu_skipped;

/* Exit code of a test program that could not run at all (CTest's SKIP_RETURN_CODE). */
#define TU_SKIP_EXIT_CODE 77

/* Name of a status code, for messages. */
static inline const char* tu_status_name(QUIC_STATUS Status)
{
    switch (Status) {
    case QUIC_STATUS_SUCCESS: return "SUCCESS";
    case QUIC_STATUS_PENDING: return "PENDING";
    case QUIC_STATUS_CONTINUE: return "CONTINUE";
    case QUIC_STATUS_OUT_OF_MEMORY: return "OUT_OF_MEMORY";
    case QUIC_STATUS_INVALID_PARAMETER: return "INVALID_PARAMETER";
    case QUIC_STATUS_INVALID_STATE: return "INVALID_STATE";
    case QUIC_STATUS_NOT_SUPPORTED: return "NOT_SUPPORTED";
    case QUIC_STATUS_NOT_FOUND: return "NOT_FOUND";
    case QUIC_STATUS_BUFFER_TOO_SMALL: return "BUFFER_TOO_SMALL";
    case QUIC_STATUS_HANDSHAKE_FAILURE: return "HANDSHAKE_FAILURE";
    case QUIC_STATUS_ABORTED: return "ABORTED";
    case QUIC_STATUS_ADDRESS_IN_USE: return "ADDRESS_IN_USE";
    case QUIC_STATUS_INVALID_ADDRESS: return "INVALID_ADDRESS";
    case QUIC_STATUS_CONNECTION_TIMEOUT: return "CONNECTION_TIMEOUT";
    case QUIC_STATUS_CONNECTION_IDLE: return "CONNECTION_IDLE";
    case QUIC_STATUS_INTERNAL_ERROR: return "INTERNAL_ERROR";
    case QUIC_STATUS_CONNECTION_REFUSED: return "CONNECTION_REFUSED";
    case QUIC_STATUS_PROTOCOL_ERROR: return "PROTOCOL_ERROR";
    case QUIC_STATUS_VER_NEG_ERROR: return "VER_NEG_ERROR";
    case QUIC_STATUS_UNREACHABLE: return "UNREACHABLE";
    case QUIC_STATUS_TLS_ERROR: return "TLS_ERROR";
    case QUIC_STATUS_USER_CANCELED: return "USER_CANCELED";
    case QUIC_STATUS_ALPN_NEG_FAILURE: return "ALPN_NEG_FAILURE";
    case QUIC_STATUS_STREAM_LIMIT_REACHED: return "STREAM_LIMIT_REACHED";
    case QUIC_STATUS_ALPN_IN_USE: return "ALPN_IN_USE";
    case QUIC_STATUS_ADDRESS_NOT_AVAILABLE: return "ADDRESS_NOT_AVAILABLE";
    default: return "?";
    }
}

/* Records one check and prints its line. */
static inline void tu_report(int Ok, int Line, const char* Format, ...)
    __attribute__((format(printf, 3, 4)));
static inline void tu_report(int Ok, int Line, const char* Format, ...)
{
    va_list Args;
    printf("%s ", Ok ? "ok  " : "FAIL");
    va_start(Args, Format);
    vprintf(Format, Args);
    va_end(Args);
    if (!Ok) {
        printf("  [line %d]", Line);
    }
    printf("\n");
    fflush(stdout);
    if (Ok) {
        tu_passed++;
    } else {
        tu_failed++;
    }
}

/* CHECK(condition, "what is checked", ...) */
#define CHECK(Cond, ...) tu_report(!!(Cond), __LINE__, __VA_ARGS__)

/* CHECK_STATUS(expression, expected status, "what is checked", ...) */
#define CHECK_STATUS(Expr, Expected, ...)                                           \
    do {                                                                            \
        QUIC_STATUS TuGot_ = (Expr);                                                \
        QUIC_STATUS TuWant_ = (Expected);                                           \
        char TuWhat_[256];                                                          \
        snprintf(TuWhat_, sizeof(TuWhat_), __VA_ARGS__);                            \
        tu_report(TuGot_ == TuWant_, __LINE__, "%s: %s (0x%x)%s%s", TuWhat_,        \
                  tu_status_name(TuGot_), (unsigned)TuGot_,                         \
                  TuGot_ == TuWant_ ? "" : ", expected ",                           \
                  TuGot_ == TuWant_ ? "" : tu_status_name(TuWant_));                \
    } while (0)

/* CHECK_FAILED(expression, "what is checked", ...): any failure status. */
#define CHECK_FAILED(Expr, ...)                                                     \
    do {                                                                            \
        QUIC_STATUS TuGot_ = (Expr);                                                \
        char TuWhat_[256];                                                          \
        snprintf(TuWhat_, sizeof(TuWhat_), __VA_ARGS__);                            \
        tu_report(QUIC_FAILED(TuGot_), __LINE__, "%s: %s (0x%x), expected a failure", \
                  TuWhat_, tu_status_name(TuGot_), (unsigned)TuGot_);               \
    } while (0)

/* CHECK_SUCCEEDED(expression, "what is checked", ...): SUCCESS or PENDING. */
#define CHECK_SUCCEEDED(Expr, ...)                                                  \
    do {                                                                            \
        QUIC_STATUS TuGot_ = (Expr);                                                \
        char TuWhat_[256];                                                          \
        snprintf(TuWhat_, sizeof(TuWhat_), __VA_ARGS__);                            \
        tu_report(QUIC_SUCCEEDED(TuGot_), __LINE__, "%s: %s (0x%x)", TuWhat_,       \
                  tu_status_name(TuGot_), (unsigned)TuGot_);                        \
    } while (0)

/* SKIP("what is not checked", ...): a check that cannot run in this build, printed and
   counted as skipped (never as passed). Used only where the library reports
   QUIC_STATUS_NOT_SUPPORTED for a feature that is not implemented yet. */
#define SKIP(...)                                                                   \
    do {                                                                            \
        printf("skip ");                                                            \
        printf(__VA_ARGS__);                                                        \
        printf("\n");                                                               \
        fflush(stdout);                                                             \
        tu_skipped++;                                                               \
    } while (0)

/* True when Status says the entry is not implemented yet in this build. */
#define TU_NOT_IMPLEMENTED(Status) ((Status) == QUIC_STATUS_NOT_SUPPORTED)

/* Prints the summary line and returns the process exit code. */
static inline int tu_finish(void)
{
    if (tu_skipped > 0) {
        printf("%d passed, %d failed, %d skipped\n", tu_passed, tu_failed, tu_skipped);
    } else {
        printf("%d passed, %d failed\n", tu_passed, tu_failed);
    }
    fflush(stdout);
    return tu_failed == 0 ? 0 : 1;
}

/* Ends a program whose every check needs an entry this build does not implement yet
   (QUIC_STATUS_NOT_SUPPORTED): CTest reports it as skipped, not passed. */
static inline int tu_skip_program(const char* Why)
{
    printf("skip %s\n", Why);
    printf("%d passed, %d failed, 1 skipped\n", tu_passed, tu_failed);
    fflush(stdout);
    return tu_failed == 0 ? TU_SKIP_EXIT_CODE : 1;
}

static inline void tu_on_alarm(int Signal)
{
    static const char Message[] = "FAIL watchdog: the test did not finish in time (a call hung)\n";
    (void)Signal;
    if (write(STDOUT_FILENO, Message, sizeof(Message) - 1) < 0) {
        /* nothing more to do */
    }
    _exit(2);
}

/* Ends the process with a failure if it is still running after Seconds. */
static inline void tu_start_watchdog(unsigned Seconds)
{
    signal(SIGALRM, tu_on_alarm);
    alarm(Seconds);
}

/* ---- certificates ------------------------------------------------------ */

/* Directory of the generated certificates, or NULL when none can be made. */
static inline const char* tu_cert_dir(void)
{
    static char Dir[512];
    static int Tried;
    const char* Env = getenv("SWIFTQUIC_TEST_CERTS");
    struct stat St;
    if (Env != NULL && Env[0] != '\0') {
        return Env;
    }
    if (Tried) {
        return Dir[0] != '\0' ? Dir : NULL;
    }
    Tried = 1;
    {
        /* gen-certs.sh sits next to this header. */
        char Script[512];
        char Command[1200];
        const char* Source = __FILE__;
        const char* Slash = strrchr(Source, '/');
        size_t DirLength = Slash != NULL ? (size_t)(Slash - Source) : 0;
        char Template[] = "/tmp/swiftquic-certs-XXXXXX";
        if (DirLength == 0) {
            snprintf(Script, sizeof(Script), "gen-certs.sh");
        } else {
            snprintf(Script, sizeof(Script), "%.*s/gen-certs.sh", (int)DirLength, Source);
        }
        if (stat(Script, &St) != 0 || mkdtemp(Template) == NULL) {
            return NULL;
        }
        snprintf(Command, sizeof(Command), "bash '%s' '%s' >/dev/null", Script, Template);
        if (system(Command) != 0) {
            return NULL;
        }
        snprintf(Dir, sizeof(Dir), "%s", Template);
    }
    return Dir;
}

/* Full path of a file in the certificate directory (static storage, 8 slots). */
static inline const char* tu_cert(const char* Name)
{
    static char Paths[8][640];
    static int Next;
    const char* Dir = tu_cert_dir();
    char* Path = Paths[Next];
    Next = (Next + 1) % 8;
    snprintf(Path, sizeof(Paths[0]), "%s/%s", Dir != NULL ? Dir : ".", Name);
    return Path;
}

/* Reads a whole file into malloc'd memory; NULL on error. */
static inline uint8_t* tu_read_file(const char* Path, uint32_t* Length)
{
    FILE* File = fopen(Path, "rb");
    uint8_t* Data = NULL;
    long Size;
    if (File == NULL) {
        return NULL;
    }
    if (fseek(File, 0, SEEK_END) == 0 && (Size = ftell(File)) > 0 && fseek(File, 0, SEEK_SET) == 0) {
        Data = (uint8_t*)malloc((size_t)Size);
        if (Data != NULL && fread(Data, 1, (size_t)Size, File) != (size_t)Size) {
            free(Data);
            Data = NULL;
        }
        *Length = (uint32_t)Size;
    }
    fclose(File);
    return Data;
}

/* ---- waiting for callbacks ---------------------------------------------- */

/* A counter that callbacks bump and the test waits on. */
typedef struct TU_EVENT {
    pthread_mutex_t Lock;
    pthread_cond_t Cond;
    int Count;
    QUIC_STATUS LastStatus;
    HQUIC LastHandle;
    void* LastContext;
} TU_EVENT;

static inline void tu_event_init(TU_EVENT* Event)
{
    memset(Event, 0, sizeof(*Event));
    pthread_mutex_init(&Event->Lock, NULL);
    pthread_cond_init(&Event->Cond, NULL);
}

static inline void tu_event_signal(TU_EVENT* Event, HQUIC Handle, void* Context, QUIC_STATUS Status)
{
    pthread_mutex_lock(&Event->Lock);
    Event->Count++;
    Event->LastHandle = Handle;
    Event->LastContext = Context;
    Event->LastStatus = Status;
    pthread_cond_broadcast(&Event->Cond);
    pthread_mutex_unlock(&Event->Lock);
}

/* Waits until the counter reaches Count; returns the counter reached. */
static inline int tu_event_wait(TU_EVENT* Event, int Count, unsigned TimeoutMs)
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
    pthread_mutex_lock(&Event->Lock);
    while (Event->Count < Count) {
        if (pthread_cond_timedwait(&Event->Cond, &Event->Lock, &Deadline) != 0) {
            break;
        }
    }
    Reached = Event->Count;
    pthread_mutex_unlock(&Event->Lock);
    return Reached;
}

/* ---- common objects ----------------------------------------------------- */

/* An ALPN buffer from a string. */
static inline QUIC_BUFFER tu_alpn(const char* Text)
{
    QUIC_BUFFER Buffer;
    Buffer.Length = (uint32_t)strlen(Text);
    Buffer.Buffer = (uint8_t*)(uintptr_t)Text;
    return Buffer;
}

/* A server configuration for one ALPN with the test certificate (server.crt/server.key) and
   the given settings (NULL for none); NULL when it could not be made (each step is CHECKed). */
static inline HQUIC tu_server_configuration(const QUIC_API_TABLE* Api, HQUIC Registration, const QUIC_BUFFER* Alpn,
                                            const QUIC_SETTINGS* Settings)
{
    HQUIC Configuration = NULL;
    QUIC_CREDENTIAL_CONFIG Cred;
    QUIC_CERTIFICATE_FILE Files;
    CHECK_SUCCEEDED(Api->ConfigurationOpen(Registration, Alpn, 1, Settings, Settings ? sizeof(*Settings) : 0, NULL,
                                           &Configuration), "server ConfigurationOpen");
    if (Configuration == NULL) {
        return NULL;
    }
    memset(&Cred, 0, sizeof(Cred));
    Files.CertificateFile = tu_cert("server.crt");
    Files.PrivateKeyFile = tu_cert("server.key");
    Cred.Type = QUIC_CREDENTIAL_TYPE_CERTIFICATE_FILE;
    Cred.CertificateFile = &Files;
    CHECK_SUCCEEDED(Api->ConfigurationLoadCredential(Configuration, &Cred), "server credential");
    return Configuration;
}

/* A client configuration for one ALPN that does not validate the server's certificate. */
static inline HQUIC tu_insecure_client_configuration(const QUIC_API_TABLE* Api, HQUIC Registration,
                                                     const QUIC_BUFFER* Alpn)
{
    HQUIC Configuration = NULL;
    QUIC_CREDENTIAL_CONFIG Cred;
    CHECK_SUCCEEDED(Api->ConfigurationOpen(Registration, Alpn, 1, NULL, 0, NULL, &Configuration),
                    "client ConfigurationOpen");
    if (Configuration == NULL) {
        return NULL;
    }
    memset(&Cred, 0, sizeof(Cred));
    Cred.Type = QUIC_CREDENTIAL_TYPE_NONE;
    Cred.Flags = QUIC_CREDENTIAL_FLAG_CLIENT | QUIC_CREDENTIAL_FLAG_NO_CERTIFICATE_VALIDATION;
    CHECK_SUCCEEDED(Api->ConfigurationLoadCredential(Configuration, &Cred), "client credential");
    return Configuration;
}

/* A listener on 127.0.0.1 with an ephemeral port; *Port gets the port (0 when it failed). */
static inline HQUIC tu_loopback_listener(const QUIC_API_TABLE* Api, HQUIC Registration, QUIC_LISTENER_CALLBACK_HANDLER Handler,
                                         void* Context, const QUIC_BUFFER* Alpn, uint16_t* Port)
{
    HQUIC Listener = NULL;
    QUIC_ADDR Address;
    uint32_t Length = sizeof(Address);
    *Port = 0;
    CHECK_SUCCEEDED(Api->ListenerOpen(Registration, Handler, Context, &Listener), "ListenerOpen");
    if (Listener == NULL) {
        return NULL;
    }
    memset(&Address, 0, sizeof(Address));
    QuicAddrSetFamily(&Address, QUIC_ADDRESS_FAMILY_INET);
    QuicAddrSetToLoopback(&Address);
    CHECK_SUCCEEDED(Api->ListenerStart(Listener, Alpn, 1, &Address), "ListenerStart");
    if (QUIC_SUCCEEDED(Api->GetParam(Listener, QUIC_PARAM_LISTENER_LOCAL_ADDRESS, &Length, &Address))) {
        *Port = QuicAddrGetPort(&Address);
    }
    CHECK(*Port != 0, "the listener has a port");
    return Listener;
}

#endif /* SWIFTQUIC_CTESTS_TESTUTIL_H */
