/* The program every packaging test builds (CTests/external): opens the MsQuic API through the
 * header's MsQuicOpen2, reads the library version, opens and closes a registration, closes the
 * API. Written only against MsQuic's documented API, as a program made for MsQuic would be.
 * usage: open_api LABEL */
#include <msquic.h>
#include <stdio.h>

int main(int argc, char **argv)
{
    const char *label = argc > 1 ? argv[1] : "open_api";
    const QUIC_API_TABLE *api = NULL;
    QUIC_STATUS status = MsQuicOpen2(&api);
    if (QUIC_FAILED(status) || api == NULL) {
        fprintf(stderr, "%s: MsQuicOpen2 failed: 0x%x\n", label, (unsigned)status);
        return 1;
    }

    uint32_t version[4] = {0, 0, 0, 0};
    uint32_t length = sizeof(version);
    status = api->GetParam(NULL, QUIC_PARAM_GLOBAL_LIBRARY_VERSION, &length, version);
    if (QUIC_FAILED(status) || length != sizeof(version)) {
        fprintf(stderr, "%s: GetParam(QUIC_PARAM_GLOBAL_LIBRARY_VERSION) failed: 0x%x\n",
                label, (unsigned)status);
        MsQuicClose(api);
        return 1;
    }

    const QUIC_REGISTRATION_CONFIG config = { label, QUIC_EXECUTION_PROFILE_LOW_LATENCY };
    HQUIC registration = NULL;
    status = api->RegistrationOpen(&config, &registration);
    if (QUIC_FAILED(status) || registration == NULL) {
        fprintf(stderr, "%s: RegistrationOpen failed: 0x%x\n", label, (unsigned)status);
        MsQuicClose(api);
        return 1;
    }
    api->RegistrationClose(registration);
    MsQuicClose(api);

    printf("%s: opened MsQuic API (library %u.%u.%u.%u), opened and closed a registration\n",
           label, version[0], version[1], version[2], version[3]);
    return 0;
}
