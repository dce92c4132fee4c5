/* Smoke test of the two exported entry points through the public header (MsQuic 2.6 rules,
 * src/core/library.c MsQuicOpenVersion):
 *   - a version other than QUIC_API_VERSION_2 is refused with QUIC_STATUS_NOT_SUPPORTED
 *     (checked before the output pointer);
 *   - a NULL output pointer gives QUIC_STATUS_INVALID_PARAMETER;
 *   - version 2 hands out a table whose entries are all set; MsQuicOpen2 (the header's inline)
 *     does the same; every open is balanced by MsQuicClose; MsQuicClose(NULL) does nothing. */
#include <msquic.h>
#include <stdio.h>
#include <string.h>

static int failures;

#define CHECK(cond, ...)                                          \
    do {                                                          \
        if (!(cond)) {                                            \
            fprintf(stderr, "%s:%d: FAIL %s: ", __FILE__, __LINE__, #cond); \
            fprintf(stderr, __VA_ARGS__);                         \
            fputc('\n', stderr);                                  \
            failures++;                                           \
        }                                                         \
    } while (0)

int main(void)
{
    const void *raw = (const void *)&failures; /* a non-NULL sentinel */
    QUIC_STATUS status = MsQuicOpenVersion(1, &raw);
    CHECK(status == QUIC_STATUS_NOT_SUPPORTED, "version 1: status 0x%x", (unsigned)status);
    status = MsQuicOpenVersion(3, NULL);
    CHECK(status == QUIC_STATUS_NOT_SUPPORTED, "version 3, NULL: status 0x%x", (unsigned)status);
    status = MsQuicOpenVersion(QUIC_API_VERSION_2, NULL);
    CHECK(status == QUIC_STATUS_INVALID_PARAMETER, "NULL table pointer: status 0x%x", (unsigned)status);

    const QUIC_API_TABLE *first = NULL;
    status = MsQuicOpenVersion(QUIC_API_VERSION_2, (const void **)&first);
    CHECK(status == QUIC_STATUS_SUCCESS && first != NULL, "version 2: status 0x%x", (unsigned)status);
    if (first != NULL) {
        /* The table is an array of function pointers: none may be missing. */
        void *entries[sizeof(QUIC_API_TABLE) / sizeof(void *)];
        memcpy(entries, first, sizeof(entries));
        for (size_t i = 0; i < sizeof(entries) / sizeof(entries[0]); i++) {
            CHECK(entries[i] != NULL, "table entry %zu is NULL", i);
        }
    }

    const QUIC_API_TABLE *second = NULL;
    status = MsQuicOpen2(&second);
    CHECK(status == QUIC_STATUS_SUCCESS && second != NULL, "MsQuicOpen2: status 0x%x", (unsigned)status);

    if (second != NULL) {
        MsQuicClose(second);
    }
    if (first != NULL) {
        MsQuicClose(first);
    }
    MsQuicClose(NULL);

    /* Opening again after everything was closed works. */
    const QUIC_API_TABLE *again = NULL;
    status = MsQuicOpen2(&again);
    CHECK(status == QUIC_STATUS_SUCCESS && again != NULL, "reopen: status 0x%x", (unsigned)status);
    if (again != NULL) {
        MsQuicClose(again);
    }

    if (failures != 0) {
        fprintf(stderr, "smoke_open: %d failure(s)\n", failures);
        return 1;
    }
    printf("smoke_open: MsQuicOpenVersion/MsQuicOpen2/MsQuicClose behave as MsQuic 2.6\n");
    return 0;
}
