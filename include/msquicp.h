/*
 * msquicp.h — MsQuic 2.6's PRIVATE TEST PARAMETERS, as swiftquic understands them.
 *
 * TEST-ONLY. Not part of the public API: msquic.h does not include this file, it is not
 * installed, and nothing here is promised to stay. It exists so that programs written against
 * MsQuic's own private header (MsQuic's functional suite, msquictest, sets several of these)
 * get the same identifiers and layouts. The values are MsQuic 2.6.0's (src/inc/msquicp.h).
 *
 * What swiftquic does with each (see README.md, "MsQuic's private test parameters"):
 *
 *   QUIC_PARAM_GLOBAL_TEST_DATAPATH_HOOKS      NOT_SUPPORTED: the hooks receive MsQuic's
 *                                              internal datapath structures (CXPLAT_RECV_DATA,
 *                                              CXPLAT_SEND_DATA), which do not exist here.
 *   QUIC_PARAM_GLOBAL_ALLOC_FAIL_DENOMINATOR   NOT_SUPPORTED: no allocation-failure injection
 *   QUIC_PARAM_GLOBAL_ALLOC_FAIL_CYCLE         (Swift allocations cannot be made to fail).
 *   QUIC_PARAM_GLOBAL_VERSION_NEGOTIATION_ENABLED  BOOLEAN, get/set: connections send the
 *                                              version_information transport parameter
 *                                              (RFC 9368) unless their configuration says
 *                                              otherwise.
 *   QUIC_PARAM_GLOBAL_IN_USE                   BOOLEAN, get: a UDP socket was opened.
 *   QUIC_PARAM_GLOBAL_DATAPATH_FEATURES        uint32_t, get: CXPLAT_DATAPATH_FEATURE_* bits
 *                                              of the first socket (RECV_COALESCING 0x2,
 *                                              SEND_SEGMENTATION 0x4, RECV_DSCP 0x400);
 *                                              INVALID_STATE before any socket exists.
 *   QUIC_PARAM_GLOBAL_PLATFORM_WORKER_POOL     NOT_SUPPORTED: MsQuic's CXPLAT_WORKER_POOL.
 *   QUIC_PARAM_GLOBAL_DATAPATH_DSCP_RECV_ENABLED  BOOLEAN, get/set before the first
 *                                              RegistrationOpen (INVALID_STATE after); the
 *                                              sockets always read the TOS byte.
 *   QUIC_PARAM_CONFIGURATION_VERSION_NEG_ENABLED  BOOLEAN, get/set (RFC 9368, as above).
 *   QUIC_PARAM_CONN_FORCE_KEY_UPDATE           no payload: a 1-RTT key update now (RFC 9001
 *                                              §6); INVALID_STATE until allowed.
 *   QUIC_PARAM_CONN_FORCE_CID_UPDATE           no payload: send to a new peer connection ID
 *                                              (RFC 9000 §5.1.2); INVALID_STATE without one.
 *   QUIC_PARAM_CONN_TEST_TRANSPORT_PARAMETER   QUIC_PRIVATE_TRANSPORT_PARAMETER, before start:
 *                                              sent as given after the others.
 *   QUIC_PARAM_CONN_KEEP_ALIVE_PADDING         NOT_SUPPORTED: keep-alive packets are not
 *                                              padded.
 *   QUIC_PARAM_CONN_DISABLE_VNE_TP_GENERATION  BOOLEAN, before start: no version_information.
 *   QUIC_PARAM_STREAM_RELIABLE_OFFSET_RECV     uint64_t, get: the Reliable Size of the peer's
 *                                              reliable reset (RESET_STREAM_AT); INVALID_STATE
 *                                              when none arrived.
 */

#ifndef _SWIFTQUIC_MSQUICP_
#define _SWIFTQUIC_MSQUICP_

#include "msquic.h"

#if defined(__cplusplus)
extern "C" {
#endif

/* Layout of QUIC_PARAM_CONN_TEST_TRANSPORT_PARAMETER's value. */
typedef struct QUIC_PRIVATE_TRANSPORT_PARAMETER {
    uint32_t Type;              /* the transport parameter ID */
    uint16_t Length;            /* bytes at Buffer */
    const uint8_t* Buffer;      /* the value, sent as is */
} QUIC_PRIVATE_TRANSPORT_PARAMETER;

#define QUIC_PARAM_PREFIX_PRIVATE                        0x80000000

/* Global (NULL handle). */
#define QUIC_PARAM_GLOBAL_TEST_DATAPATH_HOOKS            0x81000000  /* not supported */
#define QUIC_PARAM_GLOBAL_ALLOC_FAIL_DENOMINATOR         0x81000001  /* not supported */
#define QUIC_PARAM_GLOBAL_ALLOC_FAIL_CYCLE               0x81000002  /* not supported */
#define QUIC_PARAM_GLOBAL_VERSION_NEGOTIATION_ENABLED    0x81000003  /* BOOLEAN */
#define QUIC_PARAM_GLOBAL_IN_USE                         0x81000004  /* BOOLEAN, get-only */
#define QUIC_PARAM_GLOBAL_DATAPATH_FEATURES              0x81000005  /* uint32_t, get-only */
#define QUIC_PARAM_GLOBAL_PLATFORM_WORKER_POOL           0x81000006  /* not supported */
#define QUIC_PARAM_GLOBAL_DATAPATH_DSCP_RECV_ENABLED     0x81000007  /* BOOLEAN */

/* Configuration. */
#define QUIC_PARAM_CONFIGURATION_VERSION_NEG_ENABLED     0x83000001  /* BOOLEAN */

/* Connection. */
#define QUIC_PARAM_CONN_FORCE_KEY_UPDATE                 0x85000000  /* no payload */
#define QUIC_PARAM_CONN_FORCE_CID_UPDATE                 0x85000001  /* no payload */
#define QUIC_PARAM_CONN_TEST_TRANSPORT_PARAMETER         0x85000002  /* QUIC_PRIVATE_TRANSPORT_PARAMETER */
#define QUIC_PARAM_CONN_KEEP_ALIVE_PADDING               0x85000003  /* uint16_t, not supported */
#define QUIC_PARAM_CONN_DISABLE_VNE_TP_GENERATION        0x85000004  /* BOOLEAN */

/* Stream. */
#define QUIC_PARAM_STREAM_RELIABLE_OFFSET_RECV           0x88000000  /* uint64_t, get-only */

#if defined(__cplusplus)
}
#endif

#endif /* _SWIFTQUIC_MSQUICP_ */
