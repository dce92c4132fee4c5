/* hello: what a C program sees of swiftquic through the MsQuic 2.6 API.
 *
 *   hello CERTIFICATE.pem PRIVATE_KEY.pem
 *
 * Opens the API (MsQuicOpen2), prints the library version and the QUIC versions it supports,
 * opens a registration and a server configuration, loads the certificate and key into it, and
 * closes everything again. Exit status 0 when every step succeeded. */
#include <msquic.h>
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>

static const QUIC_API_TABLE *MsQuic;

static int failed(const char *what, QUIC_STATUS status)
{
    fprintf(stderr, "hello: %s failed, status 0x%x\n", what, (unsigned)status);
    return 1;
}

/* Names of the QUIC versions a library may list (host byte order). */
static const char *version_name(uint32_t v)
{
    static const struct { uint32_t value; const char *name; } known[] = {
        { 0x00000001u, "QUIC v1 (RFC 9000)" },
        { 0x6b3343cfu, "QUIC v2 (RFC 9369)" },
        { 0xff00001du, "draft-29" },
        { 0xabcd0000u, "MsQuic private version 1" },
    };
    for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
        if (known[i].value == v) {
            return known[i].name;
        }
    }
    return "unknown";
}

static int print_versions(void)
{
    uint32_t library[4] = {0, 0, 0, 0};
    uint32_t length = sizeof(library);
    QUIC_STATUS status = MsQuic->GetParam(NULL, QUIC_PARAM_GLOBAL_LIBRARY_VERSION, &length, library);
    if (QUIC_FAILED(status)) {
        return failed("GetParam(QUIC_PARAM_GLOBAL_LIBRARY_VERSION)", status);
    }
    printf("library version (QUIC_PARAM_GLOBAL_LIBRARY_VERSION): %u.%u.%u.%u\n",
           library[0], library[1], library[2], library[3]);

    /* Ask for the size first, as MsQuic's documentation describes. */
    length = 0;
    status = MsQuic->GetParam(NULL, QUIC_PARAM_GLOBAL_SUPPORTED_VERSIONS, &length, NULL);
    if (status != QUIC_STATUS_BUFFER_TOO_SMALL || length == 0 || length % sizeof(uint32_t) != 0) {
        return failed("GetParam(QUIC_PARAM_GLOBAL_SUPPORTED_VERSIONS) size query", status);
    }
    uint32_t *versions = malloc(length);
    if (versions == NULL) {
        return failed("malloc", QUIC_STATUS_OUT_OF_MEMORY);
    }
    status = MsQuic->GetParam(NULL, QUIC_PARAM_GLOBAL_SUPPORTED_VERSIONS, &length, versions);
    if (QUIC_FAILED(status)) {
        free(versions);
        return failed("GetParam(QUIC_PARAM_GLOBAL_SUPPORTED_VERSIONS)", status);
    }
    /* The list is in network byte order (msquic.h). */
    printf("supported QUIC versions (QUIC_PARAM_GLOBAL_SUPPORTED_VERSIONS):\n");
    for (uint32_t i = 0; i < length / sizeof(uint32_t); i++) {
        uint32_t version = ntohl(versions[i]);
        printf("  0x%08x  %s\n", version, version_name(version));
    }
    free(versions);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: %s CERTIFICATE.pem PRIVATE_KEY.pem\n", argv[0]);
        return 2;
    }

    QUIC_STATUS status = MsQuicOpen2(&MsQuic);
    if (QUIC_FAILED(status)) {
        return failed("MsQuicOpen2", status);
    }
    printf("opened the MsQuic API (MsQuicOpen2)\n");

    int rc = print_versions();

    HQUIC registration = NULL;
    HQUIC configuration = NULL;
    if (rc == 0) {
        const QUIC_REGISTRATION_CONFIG config = { "hello", QUIC_EXECUTION_PROFILE_LOW_LATENCY };
        status = MsQuic->RegistrationOpen(&config, &registration);
        rc = QUIC_FAILED(status) ? failed("RegistrationOpen", status) : 0;
        if (rc == 0) {
            printf("opened registration \"hello\"\n");
        }
    }

    if (rc == 0) {
        const QUIC_BUFFER alpn = { sizeof("hello") - 1, (uint8_t *)"hello" };
        QUIC_SETTINGS settings = {0};
        settings.IdleTimeoutMs = 10000;
        settings.IsSet.IdleTimeoutMs = TRUE;
        status = MsQuic->ConfigurationOpen(registration, &alpn, 1, &settings, sizeof(settings),
                                           NULL, &configuration);
        rc = QUIC_FAILED(status) ? failed("ConfigurationOpen", status) : 0;
        if (rc == 0) {
            printf("opened configuration (ALPN \"hello\", idle timeout 10 s)\n");
        }
    }

    if (rc == 0) {
        QUIC_CERTIFICATE_FILE files = { argv[2], argv[1] }; /* PrivateKeyFile, CertificateFile */
        QUIC_CREDENTIAL_CONFIG credential = {0};
        credential.Type = QUIC_CREDENTIAL_TYPE_CERTIFICATE_FILE;
        credential.Flags = QUIC_CREDENTIAL_FLAG_NONE;
        credential.CertificateFile = &files;
        status = MsQuic->ConfigurationLoadCredential(configuration, &credential);
        rc = QUIC_FAILED(status) ? failed("ConfigurationLoadCredential", status) : 0;
        if (rc == 0) {
            printf("loaded server credential %s + %s\n", argv[1], argv[2]);
        }
    }

    if (configuration != NULL) {
        MsQuic->ConfigurationClose(configuration);
    }
    if (registration != NULL) {
        MsQuic->RegistrationClose(registration);
    }
    MsQuicClose(MsQuic);
    printf("closed everything; %s\n", rc == 0 ? "all steps succeeded" : "a step failed");
    return rc;
}
