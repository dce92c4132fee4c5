// The C++ view of the header, as a C++ program written for MsQuic uses it: MsQuicOpen2 is an
// inline function there (a macro in C) and the flag enums combine with their operators.
// usage: open_api LABEL
#include <msquic.h>
#include <cstdio>

int main(int argc, char **argv)
{
    const char *label = argc > 1 ? argv[1] : "open_api_cxx";
    const QUIC_API_TABLE *api = nullptr;
    QUIC_STATUS status = MsQuicOpen2(&api);
    if (QUIC_FAILED(status) || api == nullptr) {
        std::fprintf(stderr, "%s: MsQuicOpen2 failed: 0x%x\n", label, status);
        return 1;
    }

    QUIC_SEND_FLAGS flags = QUIC_SEND_FLAG_START | QUIC_SEND_FLAG_FIN;
    flags |= QUIC_SEND_FLAG_ALLOW_0_RTT;
    if (flags != (QUIC_SEND_FLAGS)0x7) {
        std::fprintf(stderr, "%s: flag operators give 0x%x\n", label, (unsigned)flags);
        MsQuicClose(api);
        return 1;
    }

    uint32_t version[4] = {0, 0, 0, 0};
    uint32_t length = sizeof(version);
    status = api->GetParam(nullptr, QUIC_PARAM_GLOBAL_LIBRARY_VERSION, &length, version);
    if (QUIC_FAILED(status)) {
        std::fprintf(stderr, "%s: GetParam(QUIC_PARAM_GLOBAL_LIBRARY_VERSION) failed: 0x%x\n", label, status);
        MsQuicClose(api);
        return 1;
    }

    const QUIC_REGISTRATION_CONFIG config = { label, QUIC_EXECUTION_PROFILE_LOW_LATENCY };
    HQUIC registration = nullptr;
    status = api->RegistrationOpen(&config, &registration);
    if (QUIC_FAILED(status) || registration == nullptr) {
        std::fprintf(stderr, "%s: RegistrationOpen failed: 0x%x\n", label, status);
        MsQuicClose(api);
        return 1;
    }
    api->RegistrationClose(registration);
    MsQuicClose(api);

    std::printf("%s: opened MsQuic API from C++ (library %u.%u.%u.%u), opened and closed a registration\n",
                label, version[0], version[1], version[2], version[3]);
    return 0;
}
