/* Stand-in for MsQuic's libmsquic.so.2 at link time only: same soname, same versioned
 * exports (cmake/msquic.map), so a program linked with -lmsquic against it records
 * DT_NEEDED libmsquic.so.2 and MsQuicOpenVersion@msquic, as one built on a machine with MsQuic
 * would. Its entry points fail on purpose: a run that succeeds proves another library (ours)
 * answered. */
#include <stdint.h>
#include <stdio.h>

int32_t MsQuicOpenVersion(uint32_t version, const void **table)
{
    (void)version;
    if (table != NULL) {
        *table = NULL;
    }
    fprintf(stderr, "libmsquic.so.2 stub: MsQuicOpenVersion called (this is not the library under test)\n");
    return 2; /* ENOENT: QUIC_STATUS_NOT_FOUND */
}

void MsQuicClose(const void *table)
{
    (void)table;
}
