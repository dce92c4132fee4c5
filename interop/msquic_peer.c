/*
 * msquic_peer.c - one end of the interop tests, written only against the MsQuic API
 * (include/msquic.h) and linked to libswiftquic.so. The other end is a QUIC stack nobody
 * here wrote (aioquic, ngtcp2); interop/run_interop.py pairs them.
 *
 *   msquic_peer server --port 0 --cert F --key F [--alpn A] [--max-bytes-per-key N]
 *       [--conn-flow-control-window N]   (QUIC_SETTINGS.ConnFlowControlWindow: our initial_max_data)
 *       [--stateless-reset-key HEX64]    (QUIC_PARAM_GLOBAL_STATELESS_RESET_KEY, 32 bytes)
 *       [--initial-rtt-ms N]             (QUIC_SETTINGS.InitialRttMs)
 *       [--retry-memory-percent N]       (QUIC_PARAM_GLOBAL_RETRY_MEMORY_PERCENT; 0: Retry always)
 *       [--handshake-idle-timeout-ms N]  (QUIC_SETTINGS.HandshakeIdleTimeoutMs; default here 5000)
 *       [--idle-timeout-ms N]            (QUIC_SETTINGS.IdleTimeoutMs; default here 10000)
 *       [--disconnect-timeout-ms N]      (QUIC_SETTINGS.DisconnectTimeoutMs; default here 5000)
 *       [--cc cubic|bbr]                 (QUIC_SETTINGS.CongestionControlAlgorithm; both roles)
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
 *       --vne (both roles): the version negotiation extension (RFC 9368: version_information,
 *       compatible v1<->v2 upgrade), through MsQuic's private QUIC_PARAM_GLOBAL_VERSION_NEGOTIATION_ENABLED
 *       and QUIC_PARAM_CONFIGURATION_VERSION_NEG_ENABLED (src/inc/msquicp.h).
 *       --migrate A (echo): once a third of the echo is back, SetParam(QUIC_PARAM_CONN_LOCAL_ADDRESS)
 *       to A:0 (client active migration, RFC 9000 §9.2); the run fails unless the call succeeds,
 *       LOCAL_ADDRESS_CHANGED is raised and the echo completes from the new local address.
 *       --migrate-blocked (with --migrate): the new path does not reach the server; the
 *       connection must come back to its old address (a second LOCAL_ADDRESS_CHANGED) and
 *       the echo complete from there.
 *
 * Output: "EVENT ..." lines, then "RESULT ok ..." or "RESULT fail ...". Exit 0 on success,
 * 1 on failure, 77 (CTest's skip code) when ListenerOpen/ConnectionOpen answer
 * QUIC_STATUS_NOT_SUPPORTED (the engine is not wired in this build), 2 on a usage error.
 */
#include "peer.h"

/* ---- options ------------------------------------------------------------------------ */


OPTIONS Opt = {
    .Host = "127.0.0.1", .ServerName = "localhost", .Alpn = "swiftquic-interop",
    .Bytes = 1024, .Streams = 1, .Mode = "echo", .TimeoutSeconds = 30, .RetryMemoryPercent = -1,
};

const QUIC_API_TABLE* Api;
HQUIC Registration;
HQUIC Configuration;

/* ---- small helpers ------------------------------------------------------------------ */

static pthread_mutex_t PrintLock = PTHREAD_MUTEX_INITIALIZER;

void say(const char* Format, ...)
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
uint8_t pattern_byte(uint32_t Index, uint64_t Offset)
{
    return (uint8_t)((Offset * 7u) + (Offset >> 9) + Index * 13u + 1u);
}


void event_init(EVENT* E)
{
    pthread_mutex_init(&E->Lock, NULL);
    pthread_cond_init(&E->Cond, NULL);
    E->Count = 0;
}

void event_signal(EVENT* E)
{
    pthread_mutex_lock(&E->Lock);
    E->Count++;
    pthread_cond_broadcast(&E->Cond);
    pthread_mutex_unlock(&E->Lock);
}

/* Waits until Count signals (or TimeoutMs); returns the count reached. */
int event_wait(EVENT* E, int Count, unsigned TimeoutMs)
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

/* The congestion controller the connection runs, from its QUIC_SETTINGS (CUBIC 0, BBR 1), or -1. */
int connection_cc(HQUIC Connection)
{
    QUIC_SETTINGS Settings;
    uint32_t Length = sizeof(Settings);
    memset(&Settings, 0, sizeof(Settings));
    if (QUIC_FAILED(Api->GetParam(Connection, QUIC_PARAM_CONN_SETTINGS, &Length, &Settings))) {
        return -1;
    }
    return (int)Settings.CongestionControlAlgorithm;
}

void print_stats(const char* Who, HQUIC Connection)
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
            "lost=%llu rtt_us=%u retry=%u cc=%d cwnd=%u congestion_events=%u",
            Who, QUIC_SUCCEEDED(S2) ? Version : 0, Stats.KeyUpdateCount, (unsigned)Stats.ResumptionSucceeded,
            (unsigned long long)Stats.SendTotalPackets, (unsigned long long)Stats.RecvTotalPackets,
            (unsigned long long)Stats.SendSuspectedLostPackets, Stats.Rtt, (unsigned)Stats.StatelessRetry,
            connection_cc(Connection), Stats.SendCongestionWindow,
            Stats.SendCongestionCount);
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
    Settings.IdleTimeoutMs = Opt.IdleTimeoutMs != 0 ? Opt.IdleTimeoutMs : 10000;
    Settings.IsSet.HandshakeIdleTimeoutMs = 1;
    Settings.HandshakeIdleTimeoutMs = Opt.HandshakeIdleTimeoutMs != 0 ? Opt.HandshakeIdleTimeoutMs : 5000;
    Settings.IsSet.DisconnectTimeoutMs = 1;
    Settings.DisconnectTimeoutMs = Opt.DisconnectTimeoutMs != 0 ? Opt.DisconnectTimeoutMs : 5000;
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
    if (Opt.CongestionControl != 0) {   /* --cc: QUIC_SETTINGS.CongestionControlAlgorithm */
        Settings.IsSet.CongestionControlAlgorithm = 1;
        Settings.CongestionControlAlgorithm = (uint16_t)(Opt.CongestionControl - 1);
    }
    if (Opt.InitialRttMs != 0) {
        Settings.IsSet.InitialRttMs = 1;
        Settings.InitialRttMs = Opt.InitialRttMs;
    }
    if (Opt.ConnFlowControlWindow != 0) {
        Settings.IsSet.ConnFlowControlWindow = 1;   /* our initial_max_data */
        Settings.ConnFlowControlWindow = Opt.ConnFlowControlWindow;
    }
    if (Opt.MaxBytesPerKey != 0) {
        Settings.IsSet.MaxBytesPerKey = 1;
        Settings.MaxBytesPerKey = Opt.MaxBytesPerKey;
    }
    if (getenv("SWIFTQUIC_PEER_ECN") != NULL) {   /* QUIC_SETTINGS.EcnEnabled (RFC 9000 §13.4), for the ECN interop runs */
        Settings.IsSet.EcnEnabled = 1;
        Settings.EcnEnabled = 1;
    }
    if (Opt.HyStart) {   /* HyStart++ (RFC 9406) in the first slow start; MsQuic's default is off */
        Settings.IsSet.HyStartEnabled = 1;
        Settings.HyStartEnabled = 1;
    }
    Status = Api->ConfigurationOpen(Registration, Alpns, AlpnCount, &Settings, sizeof(Settings), NULL, &Configuration);
    if (QUIC_FAILED(Status)) {
        say("RESULT fail ConfigurationOpen status=0x%x", (unsigned)Status);
        return Status;
    }

    if (Opt.VersionNegotiationExt) {
        /* MsQuic's private parameters (msquicp.h): the global one for what a listener accepts,
           the configuration's for its connections. */
        const BOOLEAN Enabled = TRUE;
        Status = Api->SetParam(NULL, 0x81000003 /* QUIC_PARAM_GLOBAL_VERSION_NEGOTIATION_ENABLED */,
                               sizeof(Enabled), &Enabled);
        if (QUIC_SUCCEEDED(Status)) {
            Status = Api->SetParam(Configuration, 0x83000001 /* QUIC_PARAM_CONFIGURATION_VERSION_NEG_ENABLED */,
                                   sizeof(Enabled), &Enabled);
        }
        if (QUIC_FAILED(Status)) {
            say("RESULT fail SetParam(VERSION_NEGOTIATION_ENABLED) status=0x%x", (unsigned)Status);
            return Status;
        }
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

SEND_CHUNK* chunk_copy(const QUIC_BUFFER* Buffers, uint32_t Count, uint64_t Total)
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

/* ---- main --------------------------------------------------------------------------- */

static void usage(void)
{
    fprintf(stderr,
            "usage: msquic_peer server|client [--host H] [--port P] [--server-name N] [--alpn A[,B]]\n"
            "       [--cert F --key F] [--ca F | --insecure] [--mode echo|datagram|handshake|resume]\n"
            "       [--bytes N] [--streams K] [--version 1|2[,..]] [--expect-fail alpn|cert|version]\n"
            "       [--max-bytes-per-key N] [--conn-flow-control-window N] [--stateless-reset-key HEX64]\n"
            "       [--initial-rtt-ms N] [--retry-memory-percent N] [--handshake-idle-timeout-ms N]\n"
            "       [--idle-timeout-ms N] [--disconnect-timeout-ms N] [--vne] [--hystart] [--cc cubic|bbr]\n"
            "       [--timeout S] [--zero-rtt]\n");
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
        {"conn-flow-control-window", required_argument, NULL, 'W'},
        {"stateless-reset-key", required_argument, NULL, 'R'},
        {"initial-rtt-ms", required_argument, NULL, 'T'},
        {"vne", no_argument, NULL, 'E'},
        {"migrate", required_argument, NULL, 'M'},
        {"migrate-blocked", no_argument, NULL, 'B'},
        {"retry-memory-percent", required_argument, NULL, 'Y'},
        {"handshake-idle-timeout-ms", required_argument, NULL, 'H'},
        {"idle-timeout-ms", required_argument, NULL, 'i'},
        {"cc", required_argument, NULL, 'Q'},
        {"hystart", no_argument, NULL, 'G'},
        {"disconnect-timeout-ms", required_argument, NULL, 'D'},
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
        case 'W': Opt.ConnFlowControlWindow = (uint32_t)strtoul(optarg, NULL, 10); break;
        case 'R': Opt.StatelessResetKey = optarg; break;
        case 'T': Opt.InitialRttMs = (uint32_t)strtoul(optarg, NULL, 10); break;
        case 'E': Opt.VersionNegotiationExt = 1; break;
        case 'M': Opt.Migrate = optarg; break;
        case 'B': Opt.MigrateBlocked = 1; break;
        case 'Y': Opt.RetryMemoryPercent = (int)strtol(optarg, NULL, 10); break;
        case 'H': Opt.HandshakeIdleTimeoutMs = strtoull(optarg, NULL, 10); break;
        case 'i': Opt.IdleTimeoutMs = strtoull(optarg, NULL, 10); break;
        case 'Q':
            if (strcmp(optarg, "cubic") == 0) {
                Opt.CongestionControl = QUIC_CONGESTION_CONTROL_ALGORITHM_CUBIC + 1;
            } else if (strcmp(optarg, "bbr") == 0) {
                Opt.CongestionControl = QUIC_CONGESTION_CONTROL_ALGORITHM_BBR + 1;
            } else {
                fprintf(stderr, "--cc takes cubic or bbr\n");
                return 2;
            }
            break;
        case 'G': Opt.HyStart = 1; break;
        case 'D': Opt.DisconnectTimeoutMs = (uint32_t)strtoul(optarg, NULL, 10); break;
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
    if (Opt.StatelessResetKey != NULL) {
        /* QUIC_PARAM_GLOBAL_STATELESS_RESET_KEY: 32 bytes given as 64 hex digits; set once the
           library is initialized (after RegistrationOpen), as MsQuic requires. */
        uint8_t Key[QUIC_STATELESS_RESET_KEY_LENGTH];
        unsigned Byte;
        if (strlen(Opt.StatelessResetKey) != 2 * sizeof(Key)) {
            usage();
            return 2;
        }
        for (size_t i = 0; i < sizeof(Key); i++) {
            if (sscanf(Opt.StatelessResetKey + 2 * i, "%2x", &Byte) != 1) {
                usage();
                return 2;
            }
            Key[i] = (uint8_t)Byte;
        }
        Status = Api->SetParam(NULL, QUIC_PARAM_GLOBAL_STATELESS_RESET_KEY, sizeof(Key), Key);
        if (QUIC_FAILED(Status)) {
            say("RESULT fail SetParam(GLOBAL_STATELESS_RESET_KEY) status=0x%x", (unsigned)Status);
            return 1;
        }
    }
    if (Opt.RetryMemoryPercent >= 0) {
        /* QUIC_PARAM_GLOBAL_RETRY_MEMORY_PERCENT: 0 = every client without a validated address
           gets a Retry first (RFC 9000 §8.1.2); a NEW_TOKEN token validates it (§8.1.3). */
        uint16_t Percent = (uint16_t)Opt.RetryMemoryPercent;
        Status = Api->SetParam(NULL, QUIC_PARAM_GLOBAL_RETRY_MEMORY_PERCENT, sizeof(Percent), &Percent);
        if (QUIC_FAILED(Status)) {
            say("RESULT fail SetParam(GLOBAL_RETRY_MEMORY_PERCENT) status=0x%x", (unsigned)Status);
            return 1;
        }
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
