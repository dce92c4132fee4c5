/*
 * registration_config.c - registration, configuration and credential
 * lifecycles with the certificates of gen-certs.sh (MsQuic 2.6 behaviour on
 * Linux, where the TLS provider is OpenSSL-based):
 *
 *  - PEM certificate+key files (RSA, ECDSA P-256, Ed25519, CA-signed), an
 *    encrypted key (CERTIFICATE_FILE_PROTECTED) and PKCS#12 blobs load;
 *  - unreadable files, wrong passwords, a key that does not match the
 *    certificate and a malformed PKCS#12 blob give QUIC_STATUS_TLS_ERROR;
 *  - Windows-only credential types (hash, hash store, context), unknown types
 *    and Schannel-only flags give QUIC_STATUS_NOT_SUPPORTED;
 *  - a server without a certificate, missing members, Reserved != NULL,
 *    DEFER_CERTIFICATE_VALIDATION without INDICATE_CERTIFICATE_RECEIVED,
 *    revocation flags with USE_TLS_BUILTIN_CERTIFICATE_VALIDATION and an empty
 *    cipher-suite set give QUIC_STATUS_INVALID_PARAMETER;
 *  - LOAD_ASYNCHRONOUS needs an AsyncHandler; a successful asynchronous load
 *    returns QUIC_STATUS_PENDING and calls the handler once with the
 *    configuration, its context and the final status.
 */
#define QUIC_API_ENABLE_PREVIEW_FEATURES 1
#include "testutil.h"

static const QUIC_API_TABLE* Api;
static HQUIC Registration;

/* Opens a configuration with one ALPN; NULL on failure. */
static HQUIC open_configuration(void* Context)
{
    QUIC_BUFFER Alpn = tu_alpn("swiftquic-test");
    HQUIC Configuration = NULL;
    if (QUIC_FAILED(Api->ConfigurationOpen(Registration, &Alpn, 1, NULL, 0, Context, &Configuration))) {
        return NULL;
    }
    return Configuration;
}

/* Loads Cred into a fresh configuration and returns the status. */
static QUIC_STATUS load(const QUIC_CREDENTIAL_CONFIG* Cred)
{
    QUIC_STATUS Status;
    HQUIC Configuration = open_configuration(NULL);
    if (Configuration == NULL) {
        return QUIC_STATUS_INTERNAL_ERROR;
    }
    Status = Api->ConfigurationLoadCredential(Configuration, Cred);
    Api->ConfigurationClose(Configuration);
    return Status;
}

static QUIC_STATUS load_files(QUIC_CREDENTIAL_FLAGS Flags, const char* Cert, const char* Key)
{
    QUIC_CERTIFICATE_FILE Files;
    QUIC_CREDENTIAL_CONFIG Cred;
    memset(&Cred, 0, sizeof(Cred));
    Files.CertificateFile = Cert;
    Files.PrivateKeyFile = Key;
    Cred.Type = QUIC_CREDENTIAL_TYPE_CERTIFICATE_FILE;
    Cred.Flags = Flags;
    Cred.CertificateFile = &Files;
    return load(&Cred);
}

static QUIC_STATUS load_protected(const char* Cert, const char* Key, const char* Password)
{
    QUIC_CERTIFICATE_FILE_PROTECTED Files;
    QUIC_CREDENTIAL_CONFIG Cred;
    memset(&Cred, 0, sizeof(Cred));
    Files.CertificateFile = Cert;
    Files.PrivateKeyFile = Key;
    Files.PrivateKeyPassword = Password;
    Cred.Type = QUIC_CREDENTIAL_TYPE_CERTIFICATE_FILE_PROTECTED;
    Cred.CertificateFileProtected = &Files;
    return load(&Cred);
}

static QUIC_STATUS load_pkcs12(const uint8_t* Blob, uint32_t Length, const char* Password)
{
    QUIC_CERTIFICATE_PKCS12 Pkcs12;
    QUIC_CREDENTIAL_CONFIG Cred;
    memset(&Cred, 0, sizeof(Cred));
    Pkcs12.Asn1Blob = Blob;
    Pkcs12.Asn1BlobLength = Length;
    Pkcs12.PrivateKeyPassword = Password;
    Cred.Type = QUIC_CREDENTIAL_TYPE_CERTIFICATE_PKCS12;
    Cred.CertificatePkcs12 = &Pkcs12;
    return load(&Cred);
}

static QUIC_STATUS load_client(QUIC_CREDENTIAL_FLAGS ExtraFlags)
{
    QUIC_CREDENTIAL_CONFIG Cred;
    memset(&Cred, 0, sizeof(Cred));
    Cred.Type = QUIC_CREDENTIAL_TYPE_NONE;
    Cred.Flags = (QUIC_CREDENTIAL_FLAGS)(QUIC_CREDENTIAL_FLAG_CLIENT | ExtraFlags);
    return load(&Cred);
}

/* ---- registrations ------------------------------------------------------ */

static TU_EVENT CloseEvent;

static void QUIC_API on_registration_closed(void* Context)
{
    tu_event_signal(&CloseEvent, NULL, Context, QUIC_STATUS_SUCCESS);
}

static void test_registrations(void)
{
    QUIC_REGISTRATION_CONFIG Config;
    QUIC_EXECUTION_PROFILE Profiles[] = {
        QUIC_EXECUTION_PROFILE_LOW_LATENCY, QUIC_EXECUTION_PROFILE_TYPE_MAX_THROUGHPUT,
        QUIC_EXECUTION_PROFILE_TYPE_SCAVENGER, QUIC_EXECUTION_PROFILE_TYPE_REAL_TIME,
    };
    HQUIC A = NULL;
    HQUIC B = NULL;
    size_t i;
    int Marker;

    CHECK_STATUS(Api->RegistrationOpen(NULL, &A), QUIC_STATUS_SUCCESS, "RegistrationOpen(NULL config)");
    CHECK(A != NULL, "RegistrationOpen returns a handle");
    for (i = 0; i < sizeof(Profiles) / sizeof(Profiles[0]); i++) {
        Config.AppName = "swiftquic-ctest";
        Config.ExecutionProfile = Profiles[i];
        B = NULL;
        CHECK_STATUS(Api->RegistrationOpen(&Config, &B), QUIC_STATUS_SUCCESS,
                     "RegistrationOpen(profile %d) while another is open", (int)Profiles[i]);
        if (B != NULL) {
            Api->RegistrationClose(B);
        }
    }
    Config.AppName = NULL;
    Config.ExecutionProfile = QUIC_EXECUTION_PROFILE_LOW_LATENCY;
    B = NULL;
    CHECK_STATUS(Api->RegistrationOpen(&Config, &B), QUIC_STATUS_SUCCESS, "RegistrationOpen(AppName NULL)");
    if (B != NULL) {
        Api->RegistrationClose(B);
    }
    CHECK_STATUS(Api->RegistrationOpen(&Config, NULL), QUIC_STATUS_INVALID_PARAMETER,
                 "RegistrationOpen(out NULL)");

    if (A != NULL) {
        CHECK(Api->GetContext(A) == NULL, "a new registration has no context");
        Api->SetContext(A, &Marker);
        CHECK(Api->GetContext(A) == &Marker, "SetContext/GetContext on a registration");
        Api->SetContext(A, NULL);
        CHECK(Api->GetContext(A) == NULL, "SetContext(NULL) clears it");
        Api->RegistrationShutdown(A, QUIC_CONNECTION_SHUTDOWN_FLAG_NONE, 0);
        CHECK(1, "RegistrationShutdown on an empty registration returns");
        Api->RegistrationShutdown(A, QUIC_CONNECTION_SHUTDOWN_FLAG_SILENT, 42);
        CHECK(1, "RegistrationShutdown(SILENT) returns");
        Api->RegistrationClose(A);
        CHECK(1, "RegistrationClose returns");
    }
    Api->RegistrationClose(NULL);
    CHECK(1, "RegistrationClose(NULL) returns");

    /* RegistrationClose2 (preview): completes through the callback, once. */
    tu_event_init(&CloseEvent);
    A = NULL;
    CHECK_STATUS(Api->RegistrationOpen(NULL, &A), QUIC_STATUS_SUCCESS, "RegistrationOpen for RegistrationClose2");
    if (A != NULL) {
        HQUIC Configuration = NULL;
        QUIC_BUFFER Alpn = tu_alpn("x");
        if (QUIC_SUCCEEDED(Api->ConfigurationOpen(A, &Alpn, 1, NULL, 0, NULL, &Configuration))) {
            Api->ConfigurationClose(Configuration);
        }
        Api->RegistrationClose2(A, on_registration_closed, &Marker);
        CHECK(tu_event_wait(&CloseEvent, 1, 5000) == 1, "RegistrationClose2 calls its handler");
        CHECK(CloseEvent.LastContext == &Marker, "RegistrationClose2 handler gets the context");
        usleep(100 * 1000);
        CHECK(CloseEvent.Count == 1, "RegistrationClose2 handler runs exactly once");
    }
}

/* ---- configurations ----------------------------------------------------- */

static void test_configurations(void)
{
    QUIC_BUFFER Alpns[3];
    QUIC_SETTINGS Settings;
    HQUIC Configuration = NULL;
    int Marker;

    Alpns[0] = tu_alpn("h3");
    Alpns[1] = tu_alpn("hq-interop");
    Alpns[2] = tu_alpn("swiftquic");

    CHECK_STATUS(Api->ConfigurationOpen(Registration, Alpns, 1, NULL, 0, &Marker, &Configuration),
                 QUIC_STATUS_SUCCESS, "ConfigurationOpen(1 ALPN, no settings)");
    if (Configuration != NULL) {
        CHECK(Api->GetContext(Configuration) == &Marker, "the ConfigurationOpen context is the handle's context");
        Api->SetContext(Configuration, NULL);
        CHECK(Api->GetContext(Configuration) == NULL, "SetContext on a configuration");
        Api->ConfigurationClose(Configuration);
        CHECK(1, "ConfigurationClose returns");
    }

    Configuration = NULL;
    CHECK_STATUS(Api->ConfigurationOpen(Registration, Alpns, 3, NULL, 0, NULL, &Configuration),
                 QUIC_STATUS_SUCCESS, "ConfigurationOpen(3 ALPNs)");
    if (Configuration != NULL) {
        Api->ConfigurationClose(Configuration);
    }

    memset(&Settings, 0, sizeof(Settings));
    Settings.IsSet.IdleTimeoutMs = 1;
    Settings.IdleTimeoutMs = 5000;
    Settings.IsSet.PeerBidiStreamCount = 1;
    Settings.PeerBidiStreamCount = 10;
    Configuration = NULL;
    CHECK_STATUS(Api->ConfigurationOpen(Registration, Alpns, 1, &Settings, sizeof(Settings), NULL, &Configuration),
                 QUIC_STATUS_SUCCESS, "ConfigurationOpen with settings");
    if (Configuration != NULL) {
        Api->ConfigurationClose(Configuration);
    }

    /*
     * A shorter (older) QUIC_SETTINGS is accepted down to the end of
     * MtuDiscoveryMissingProbeCount (109 bytes) and refused below that.
     */
    Configuration = NULL;
    CHECK_STATUS(Api->ConfigurationOpen(Registration, Alpns, 1, &Settings, 109, NULL, &Configuration),
                 QUIC_STATUS_SUCCESS, "ConfigurationOpen with a 109-byte settings prefix");
    if (Configuration != NULL) {
        Api->ConfigurationClose(Configuration);
    }
    Configuration = NULL;
    CHECK_STATUS(Api->ConfigurationOpen(Registration, Alpns, 1, &Settings, 108, NULL, &Configuration),
                 QUIC_STATUS_INVALID_PARAMETER, "ConfigurationOpen with a 108-byte settings prefix");
    if (Configuration != NULL) {
        Api->ConfigurationClose(Configuration);
    }
    Configuration = NULL;
    CHECK_STATUS(Api->ConfigurationOpen(Registration, Alpns, 1, &Settings, 8, NULL, &Configuration),
                 QUIC_STATUS_INVALID_PARAMETER, "ConfigurationOpen with an 8-byte settings prefix");
    if (Configuration != NULL) {
        Api->ConfigurationClose(Configuration);
    }
    Configuration = NULL;
    CHECK_STATUS(Api->ConfigurationOpen(Registration, Alpns, 1, &Settings, 4, NULL, &Configuration),
                 QUIC_STATUS_INVALID_PARAMETER, "ConfigurationOpen with a 4-byte settings buffer");
    if (Configuration != NULL) {
        Api->ConfigurationClose(Configuration);
    }


    /* Many configurations on one registration, closed in any order. */
    {
        HQUIC Many[8];
        int i;
        int Opened = 0;
        for (i = 0; i < 8; i++) {
            Many[i] = NULL;
            if (QUIC_SUCCEEDED(Api->ConfigurationOpen(Registration, Alpns, 2, NULL, 0, NULL, &Many[i]))) {
                Opened++;
            }
        }
        CHECK(Opened == 8, "8 configurations on one registration (%d)", Opened);
        for (i = 0; i < 8; i += 2) {
            if (Many[i] != NULL) Api->ConfigurationClose(Many[i]);
        }
        for (i = 1; i < 8; i += 2) {
            if (Many[i] != NULL) Api->ConfigurationClose(Many[i]);
        }
    }
    Api->ConfigurationClose(NULL);
    CHECK(1, "ConfigurationClose(NULL) returns");
}

/* ---- credentials -------------------------------------------------------- */

static TU_EVENT LoadEvent;

static void QUIC_API on_load_complete(HQUIC Configuration, void* Context, QUIC_STATUS Status)
{
    tu_event_signal(&LoadEvent, Configuration, Context, Status);
}

static void test_credential_files(void)
{
    CHECK_STATUS(load_files(QUIC_CREDENTIAL_FLAG_NONE, tu_cert("rsa2048.crt"), tu_cert("rsa2048.key")),
                 QUIC_STATUS_SUCCESS, "server: RSA 2048 certificate file");
    CHECK_STATUS(load_files(QUIC_CREDENTIAL_FLAG_NONE, tu_cert("ecdsa-p256.crt"), tu_cert("ecdsa-p256.key")),
                 QUIC_STATUS_SUCCESS, "server: ECDSA P-256 certificate file");
    CHECK_STATUS(load_files(QUIC_CREDENTIAL_FLAG_NONE, tu_cert("ed25519.crt"), tu_cert("ed25519.key")),
                 QUIC_STATUS_SUCCESS, "server: Ed25519 certificate file");
    CHECK_STATUS(load_files(QUIC_CREDENTIAL_FLAG_NONE, tu_cert("server.crt"), tu_cert("server.key")),
                 QUIC_STATUS_SUCCESS, "server: CA-signed certificate file");
    CHECK_STATUS(load_files(QUIC_CREDENTIAL_FLAG_CLIENT, tu_cert("ecdsa-p256.crt"), tu_cert("ecdsa-p256.key")),
                 QUIC_STATUS_SUCCESS, "client: certificate file (client authentication)");

    CHECK_STATUS(load_files(QUIC_CREDENTIAL_FLAG_NONE, tu_cert("no-such.crt"), tu_cert("rsa2048.key")),
                 QUIC_STATUS_TLS_ERROR, "server: missing certificate file");
    CHECK_STATUS(load_files(QUIC_CREDENTIAL_FLAG_NONE, tu_cert("rsa2048.crt"), tu_cert("no-such.key")),
                 QUIC_STATUS_TLS_ERROR, "server: missing key file");
    CHECK_STATUS(load_files(QUIC_CREDENTIAL_FLAG_NONE, tu_cert("rsa2048.crt"), tu_cert("other.key")),
                 QUIC_STATUS_TLS_ERROR, "server: key that does not match the certificate");
    CHECK_STATUS(load_files(QUIC_CREDENTIAL_FLAG_NONE, tu_cert("ecdsa-p256.crt"), tu_cert("rsa2048.key")),
                 QUIC_STATUS_TLS_ERROR, "server: RSA key with an ECDSA certificate");
    CHECK_STATUS(load_files(QUIC_CREDENTIAL_FLAG_NONE, tu_cert("rsa2048.key"), tu_cert("rsa2048.crt")),
                 QUIC_STATUS_TLS_ERROR, "server: certificate and key paths swapped");

    CHECK_STATUS(load_protected(tu_cert("encrypted-key.crt"), tu_cert("encrypted-key.pem"), "swiftquic"),
                 QUIC_STATUS_SUCCESS, "server: encrypted key with the right password");
    CHECK_STATUS(load_protected(tu_cert("encrypted-key.crt"), tu_cert("encrypted-key.pem"), "wrong"),
                 QUIC_STATUS_TLS_ERROR, "server: encrypted key with a wrong password");
    CHECK_STATUS(load_protected(tu_cert("encrypted-key.crt"), tu_cert("encrypted-key.pem"), ""),
                 QUIC_STATUS_TLS_ERROR, "server: encrypted key with an empty password");
    CHECK_STATUS(load_protected(tu_cert("rsa2048.crt"), tu_cert("rsa2048.key"), "unused"),
                 QUIC_STATUS_SUCCESS, "server: FILE_PROTECTED with a plain key (password unused)");
}

static void test_credential_pkcs12(void)
{
    uint32_t Length = 0;
    uint32_t NoPassLength = 0;
    uint8_t* Blob = tu_read_file(tu_cert("cert.p12"), &Length);
    uint8_t* NoPass = tu_read_file(tu_cert("cert-nopass.p12"), &NoPassLength);
    CHECK(Blob != NULL && NoPass != NULL, "read cert.p12 and cert-nopass.p12");
    if (Blob != NULL) {
        uint8_t* Broken;
        CHECK_STATUS(load_pkcs12(Blob, Length, "swiftquic"), QUIC_STATUS_SUCCESS,
                     "server: PKCS#12 with the right password");
        CHECK_STATUS(load_pkcs12(Blob, Length, "wrong"), QUIC_STATUS_TLS_ERROR,
                     "server: PKCS#12 with a wrong password");
        CHECK_STATUS(load_pkcs12(Blob, Length / 2, "swiftquic"), QUIC_STATUS_TLS_ERROR,
                     "server: truncated PKCS#12");
        Broken = (uint8_t*)malloc(Length);
        if (Broken != NULL) {
            memset(Broken, 0x5A, Length);
            CHECK_STATUS(load_pkcs12(Broken, Length, "swiftquic"), QUIC_STATUS_TLS_ERROR,
                         "server: PKCS#12 blob of garbage");
            free(Broken);
        }
        free(Blob);
    }
    if (NoPass != NULL) {
        CHECK_STATUS(load_pkcs12(NoPass, NoPassLength, NULL), QUIC_STATUS_SUCCESS,
                     "server: PKCS#12 without a password, PrivateKeyPassword NULL");
        CHECK_STATUS(load_pkcs12(NoPass, NoPassLength, ""), QUIC_STATUS_SUCCESS,
                     "server: PKCS#12 without a password, PrivateKeyPassword \"\"");
        free(NoPass);
    }
}

static void test_credential_validation(void)
{
    QUIC_CREDENTIAL_CONFIG Cred;
    QUIC_CERTIFICATE_FILE Files;
    QUIC_CERTIFICATE_FILE_PROTECTED Protected;
    QUIC_CERTIFICATE_PKCS12 Pkcs12;
    QUIC_CERTIFICATE_HASH Hash;
    QUIC_CERTIFICATE_HASH_STORE HashStore;
    HQUIC Configuration;
    uint8_t Byte = 0x30;
    int Dummy = 0;

    /* Clients without a certificate. */
    CHECK_STATUS(load_client(QUIC_CREDENTIAL_FLAG_NONE), QUIC_STATUS_SUCCESS, "client: no certificate");
    CHECK_STATUS(load_client(QUIC_CREDENTIAL_FLAG_NO_CERTIFICATE_VALIDATION), QUIC_STATUS_SUCCESS,
                 "client: NO_CERTIFICATE_VALIDATION");
    CHECK_STATUS(load_client(QUIC_CREDENTIAL_FLAG_INDICATE_CERTIFICATE_RECEIVED), QUIC_STATUS_SUCCESS,
                 "client: INDICATE_CERTIFICATE_RECEIVED");
    CHECK_STATUS(load_client((QUIC_CREDENTIAL_FLAGS)(QUIC_CREDENTIAL_FLAG_DEFER_CERTIFICATE_VALIDATION |
                                                     QUIC_CREDENTIAL_FLAG_INDICATE_CERTIFICATE_RECEIVED)),
                 QUIC_STATUS_SUCCESS, "client: DEFER_ + INDICATE_CERTIFICATE_RECEIVED");
    CHECK_STATUS(load_client(QUIC_CREDENTIAL_FLAG_USE_TLS_BUILTIN_CERTIFICATE_VALIDATION), QUIC_STATUS_SUCCESS,
                 "client: USE_TLS_BUILTIN_CERTIFICATE_VALIDATION");
    CHECK_STATUS(load_client(QUIC_CREDENTIAL_FLAG_USE_PORTABLE_CERTIFICATES), QUIC_STATUS_SUCCESS,
                 "client: USE_PORTABLE_CERTIFICATES");

    /* Flags the OpenSSL provider does not implement. */
    CHECK_STATUS(load_client(QUIC_CREDENTIAL_FLAG_ENABLE_OCSP), QUIC_STATUS_NOT_SUPPORTED, "client: ENABLE_OCSP");
    CHECK_STATUS(load_client(QUIC_CREDENTIAL_FLAG_USE_SUPPLIED_CREDENTIALS), QUIC_STATUS_NOT_SUPPORTED,
                 "client: USE_SUPPLIED_CREDENTIALS");
    CHECK_STATUS(load_client(QUIC_CREDENTIAL_FLAG_USE_SYSTEM_MAPPER), QUIC_STATUS_NOT_SUPPORTED,
                 "client: USE_SYSTEM_MAPPER");
    CHECK_STATUS(load_client(QUIC_CREDENTIAL_FLAG_INPROC_PEER_CERTIFICATE), QUIC_STATUS_NOT_SUPPORTED,
                 "client: INPROC_PEER_CERTIFICATE");

    /* Inconsistent flags. */
    CHECK_STATUS(load_client(QUIC_CREDENTIAL_FLAG_DEFER_CERTIFICATE_VALIDATION), QUIC_STATUS_INVALID_PARAMETER,
                 "client: DEFER_CERTIFICATE_VALIDATION without INDICATE_CERTIFICATE_RECEIVED");
    CHECK_STATUS(load_client((QUIC_CREDENTIAL_FLAGS)(QUIC_CREDENTIAL_FLAG_USE_TLS_BUILTIN_CERTIFICATE_VALIDATION |
                                                     QUIC_CREDENTIAL_FLAG_REVOCATION_CHECK_END_CERT)),
                 QUIC_STATUS_INVALID_PARAMETER, "client: TLS built-in validation with a revocation flag");
    CHECK_STATUS(load_client(QUIC_CREDENTIAL_FLAG_LOAD_ASYNCHRONOUS), QUIC_STATUS_INVALID_PARAMETER,
                 "client: LOAD_ASYNCHRONOUS without AsyncHandler");

    /* Reserved must be NULL. */
    memset(&Cred, 0, sizeof(Cred));
    Cred.Flags = QUIC_CREDENTIAL_FLAG_CLIENT;
    Cred.Reserved = &Dummy;
    CHECK_STATUS(load(&Cred), QUIC_STATUS_INVALID_PARAMETER, "client: Reserved != NULL");

    /* A server needs a certificate. */
    memset(&Cred, 0, sizeof(Cred));
    Cred.Type = QUIC_CREDENTIAL_TYPE_NONE;
    Cred.Flags = QUIC_CREDENTIAL_FLAG_NONE;
    CHECK_STATUS(load(&Cred), QUIC_STATUS_INVALID_PARAMETER, "server: credential type NONE");

    /* Windows-only and unknown credential types. */
    memset(&Hash, 0, sizeof(Hash));
    memset(&HashStore, 0, sizeof(HashStore));
    memset(&Cred, 0, sizeof(Cred));
    Cred.Type = QUIC_CREDENTIAL_TYPE_CERTIFICATE_HASH;
    Cred.CertificateHash = &Hash;
    CHECK_STATUS(load(&Cred), QUIC_STATUS_NOT_SUPPORTED, "server: CERTIFICATE_HASH");
    Cred.Type = QUIC_CREDENTIAL_TYPE_CERTIFICATE_HASH_STORE;
    Cred.CertificateHashStore = &HashStore;
    CHECK_STATUS(load(&Cred), QUIC_STATUS_NOT_SUPPORTED, "server: CERTIFICATE_HASH_STORE");
    Cred.Type = QUIC_CREDENTIAL_TYPE_CERTIFICATE_CONTEXT;
    Cred.CertificateContext = &Dummy;
    CHECK_STATUS(load(&Cred), QUIC_STATUS_NOT_SUPPORTED, "server: CERTIFICATE_CONTEXT");
    Cred.Type = (QUIC_CREDENTIAL_TYPE)7;
    CHECK_STATUS(load(&Cred), QUIC_STATUS_NOT_SUPPORTED, "server: credential type 7");
    Cred.Type = (QUIC_CREDENTIAL_TYPE)0x100;
    CHECK_STATUS(load(&Cred), QUIC_STATUS_NOT_SUPPORTED, "server: credential type 0x100");

    /* Missing members. */
    memset(&Cred, 0, sizeof(Cred));
    Cred.Type = QUIC_CREDENTIAL_TYPE_CERTIFICATE_FILE;
    Cred.CertificateFile = NULL;
    CHECK_STATUS(load(&Cred), QUIC_STATUS_INVALID_PARAMETER, "server: CERTIFICATE_FILE pointer NULL");
    Files.CertificateFile = tu_cert("rsa2048.crt");
    Files.PrivateKeyFile = NULL;
    Cred.CertificateFile = &Files;
    CHECK_STATUS(load(&Cred), QUIC_STATUS_INVALID_PARAMETER, "server: PrivateKeyFile NULL");
    Files.CertificateFile = NULL;
    Files.PrivateKeyFile = tu_cert("rsa2048.key");
    CHECK_STATUS(load(&Cred), QUIC_STATUS_INVALID_PARAMETER, "server: CertificateFile NULL");

    memset(&Cred, 0, sizeof(Cred));
    Cred.Type = QUIC_CREDENTIAL_TYPE_CERTIFICATE_FILE_PROTECTED;
    CHECK_STATUS(load(&Cred), QUIC_STATUS_INVALID_PARAMETER, "server: CERTIFICATE_FILE_PROTECTED pointer NULL");
    Protected.CertificateFile = tu_cert("encrypted-key.crt");
    Protected.PrivateKeyFile = tu_cert("encrypted-key.pem");
    Protected.PrivateKeyPassword = NULL;
    Cred.CertificateFileProtected = &Protected;
    CHECK_STATUS(load(&Cred), QUIC_STATUS_INVALID_PARAMETER, "server: PrivateKeyPassword NULL");

    memset(&Cred, 0, sizeof(Cred));
    Cred.Type = QUIC_CREDENTIAL_TYPE_CERTIFICATE_PKCS12;
    CHECK_STATUS(load(&Cred), QUIC_STATUS_INVALID_PARAMETER, "server: CERTIFICATE_PKCS12 pointer NULL");
    Pkcs12.Asn1Blob = NULL;
    Pkcs12.Asn1BlobLength = 10;
    Pkcs12.PrivateKeyPassword = NULL;
    Cred.CertificatePkcs12 = &Pkcs12;
    CHECK_STATUS(load(&Cred), QUIC_STATUS_INVALID_PARAMETER, "server: Asn1Blob NULL");
    Pkcs12.Asn1Blob = &Byte;
    Pkcs12.Asn1BlobLength = 0;
    CHECK_STATUS(load(&Cred), QUIC_STATUS_INVALID_PARAMETER, "server: Asn1BlobLength 0");

    /* Cipher suite restriction. */
    memset(&Cred, 0, sizeof(Cred));
    Cred.Type = QUIC_CREDENTIAL_TYPE_NONE;
    Cred.Flags = (QUIC_CREDENTIAL_FLAGS)(QUIC_CREDENTIAL_FLAG_CLIENT | QUIC_CREDENTIAL_FLAG_SET_ALLOWED_CIPHER_SUITES);
    Cred.AllowedCipherSuites = QUIC_ALLOWED_CIPHER_SUITE_NONE;
    CHECK_STATUS(load(&Cred), QUIC_STATUS_INVALID_PARAMETER, "client: SET_ALLOWED_CIPHER_SUITES with none");
    Cred.AllowedCipherSuites = (QUIC_ALLOWED_CIPHER_SUITE_FLAGS)0x8;
    CHECK_STATUS(load(&Cred), QUIC_STATUS_INVALID_PARAMETER, "client: SET_ALLOWED_CIPHER_SUITES with no known suite");
    Cred.AllowedCipherSuites = QUIC_ALLOWED_CIPHER_SUITE_AES_128_GCM_SHA256;
    CHECK_STATUS(load(&Cred), QUIC_STATUS_SUCCESS, "client: only TLS_AES_128_GCM_SHA256");
    Cred.AllowedCipherSuites = (QUIC_ALLOWED_CIPHER_SUITE_FLAGS)(QUIC_ALLOWED_CIPHER_SUITE_AES_256_GCM_SHA384 |
                                                                 QUIC_ALLOWED_CIPHER_SUITE_CHACHA20_POLY1305_SHA256);
    CHECK_STATUS(load(&Cred), QUIC_STATUS_SUCCESS, "client: AES-256-GCM + ChaCha20-Poly1305");
    Cred.AllowedCipherSuites = QUIC_ALLOWED_CIPHER_SUITE_NONE;
    Cred.Flags = QUIC_CREDENTIAL_FLAG_CLIENT;
    CHECK_STATUS(load(&Cred), QUIC_STATUS_SUCCESS, "client: AllowedCipherSuites ignored without the flag");

    /* CA file for validating the peer. */
    memset(&Cred, 0, sizeof(Cred));
    Cred.Type = QUIC_CREDENTIAL_TYPE_NONE;
    Cred.Flags = (QUIC_CREDENTIAL_FLAGS)(QUIC_CREDENTIAL_FLAG_CLIENT | QUIC_CREDENTIAL_FLAG_SET_CA_CERTIFICATE_FILE);
    Cred.CaCertificateFile = tu_cert("ca.crt");
    CHECK_STATUS(load(&Cred), QUIC_STATUS_SUCCESS, "client: SET_CA_CERTIFICATE_FILE ca.crt");
    Cred.CaCertificateFile = tu_cert("no-such-ca.crt");
    CHECK_STATUS(load(&Cred), QUIC_STATUS_TLS_ERROR, "client: SET_CA_CERTIFICATE_FILE missing file");

    /* Handle and pointer checks. */
    Configuration = open_configuration(NULL);
    memset(&Cred, 0, sizeof(Cred));
    Cred.Flags = QUIC_CREDENTIAL_FLAG_CLIENT;
    CHECK_STATUS(Api->ConfigurationLoadCredential(NULL, &Cred), QUIC_STATUS_INVALID_PARAMETER,
                 "ConfigurationLoadCredential(NULL handle)");
    CHECK_STATUS(Api->ConfigurationLoadCredential(Registration, &Cred), QUIC_STATUS_INVALID_PARAMETER,
                 "ConfigurationLoadCredential(registration handle)");
    if (Configuration != NULL) {
        CHECK_STATUS(Api->ConfigurationLoadCredential(Configuration, NULL), QUIC_STATUS_INVALID_PARAMETER,
                     "ConfigurationLoadCredential(NULL credential)");
        Api->ConfigurationClose(Configuration);
    }
}

static void test_credential_async(void)
{
    QUIC_CREDENTIAL_CONFIG Cred;
    QUIC_CERTIFICATE_FILE Files;
    HQUIC Configuration;
    QUIC_STATUS Status;
    int Marker;

    /* A good certificate: PENDING, then the handler once with SUCCESS. */
    tu_event_init(&LoadEvent);
    Configuration = open_configuration(&Marker);
    if (Configuration == NULL) {
        CHECK(0, "open a configuration for the asynchronous load");
        return;
    }
    memset(&Cred, 0, sizeof(Cred));
    Files.CertificateFile = tu_cert("ecdsa-p256.crt");
    Files.PrivateKeyFile = tu_cert("ecdsa-p256.key");
    Cred.Type = QUIC_CREDENTIAL_TYPE_CERTIFICATE_FILE;
    Cred.Flags = QUIC_CREDENTIAL_FLAG_LOAD_ASYNCHRONOUS;
    Cred.CertificateFile = &Files;
    Cred.AsyncHandler = on_load_complete;
    CHECK_STATUS(Api->ConfigurationLoadCredential(Configuration, &Cred), QUIC_STATUS_PENDING,
                 "server: LOAD_ASYNCHRONOUS returns PENDING");
    CHECK(tu_event_wait(&LoadEvent, 1, 10000) >= 1, "the AsyncHandler is called");
    CHECK(LoadEvent.LastHandle == Configuration, "the AsyncHandler gets the configuration handle");
    CHECK(LoadEvent.LastContext == &Marker, "the AsyncHandler gets the configuration's context");
    CHECK_STATUS(LoadEvent.LastStatus, QUIC_STATUS_SUCCESS, "the AsyncHandler status");
    usleep(100 * 1000);
    CHECK(LoadEvent.Count == 1, "the AsyncHandler runs exactly once (%d)", LoadEvent.Count);
    Api->ConfigurationClose(Configuration);

    /* A missing file: a failure, reported once (synchronously or through the handler). */
    tu_event_init(&LoadEvent);
    Configuration = open_configuration(&Marker);
    if (Configuration == NULL) {
        CHECK(0, "open a configuration for the failing asynchronous load");
        return;
    }
    Files.CertificateFile = tu_cert("no-such.crt");
    Status = Api->ConfigurationLoadCredential(Configuration, &Cred);
    if (Status == QUIC_STATUS_PENDING) {
        CHECK(tu_event_wait(&LoadEvent, 1, 10000) >= 1, "failing asynchronous load calls the handler");
        CHECK(QUIC_FAILED(LoadEvent.LastStatus), "failing asynchronous load reports a failure: %s (0x%x)",
              tu_status_name(LoadEvent.LastStatus), (unsigned)LoadEvent.LastStatus);
    } else {
        CHECK(QUIC_FAILED(Status), "failing asynchronous load fails synchronously: %s (0x%x)",
              tu_status_name(Status), (unsigned)Status);
        usleep(100 * 1000);
        CHECK(LoadEvent.Count == 0, "a synchronous failure does not call the handler");
    }
    Api->ConfigurationClose(Configuration);
}

int main(void)
{
    tu_start_watchdog(90);
    CHECK_STATUS(MsQuicOpen2(&Api), QUIC_STATUS_SUCCESS, "MsQuicOpen2");
    if (Api == NULL) {
        return tu_finish();
    }

    test_registrations();

    CHECK_STATUS(Api->RegistrationOpen(NULL, &Registration), QUIC_STATUS_SUCCESS, "RegistrationOpen");
    if (Registration != NULL) {
        test_configurations();
        test_credential_validation();
        if (tu_cert_dir() == NULL) {
            CHECK(0, "certificates available (set SWIFTQUIC_TEST_CERTS or keep gen-certs.sh beside the tests)");
        } else {
            test_credential_files();
            test_credential_pkcs12();
            test_credential_async();
        }
        Api->RegistrationClose(Registration);
    }

    MsQuicClose(Api);
    return tu_finish();
}
