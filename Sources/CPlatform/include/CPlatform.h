// CPlatform: what Swift cannot import from the Linux socket headers on its own.
// Function-like macros (CMSG_*), GNU-only declarations (mmsghdr, recvmmsg/sendmmsg,
// in6_pktinfo) and the UDP offload option numbers (UDP_SEGMENT, UDP_GRO) that older
// libc headers lack. Everything here is a thin wrapper; the logic lives in QuicPlatform.
#ifndef SWIFTQUIC_CPLATFORM_H
#define SWIFTQUIC_CPLATFORM_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <pthread.h>
#include <malloc.h>

// Same layout as the kernel's struct mmsghdr (declared by glibc only under _GNU_SOURCE).
typedef struct {
    struct msghdr msg_hdr;
    unsigned int msg_len;
} cplatform_mmsghdr;

// Same layout as struct in_pktinfo (IP_PKTINFO) and struct in6_pktinfo (IPV6_PKTINFO).
typedef struct {
    int ipi_ifindex;
    struct in_addr ipi_spec_dst;
    struct in_addr ipi_addr;
} cplatform_in_pktinfo;

typedef struct {
    struct in6_addr ipi6_addr;
    unsigned int ipi6_ifindex;
} cplatform_in6_pktinfo;

// recvmmsg/sendmmsg; return what the syscall returns, errno is left as set.
int cplatform_recvmmsg(int fd, cplatform_mmsghdr *vec, unsigned int vlen, int flags);
int cplatform_sendmmsg(int fd, cplatform_mmsghdr *vec, unsigned int vlen, int flags);

// CMSG_* macros (inline so Swift can inline them on the datagram path).
static inline struct cmsghdr *cplatform_cmsg_firsthdr(struct msghdr *msg) { return CMSG_FIRSTHDR(msg); }
static inline struct cmsghdr *cplatform_cmsg_nxthdr(struct msghdr *msg, struct cmsghdr *cmsg) { return CMSG_NXTHDR(msg, cmsg); }
static inline unsigned char *cplatform_cmsg_data(struct cmsghdr *cmsg) { return CMSG_DATA(cmsg); }
static inline size_t cplatform_cmsg_space(size_t length) { return CMSG_SPACE(length); }
static inline size_t cplatform_cmsg_len(size_t length) { return CMSG_LEN(length); }

// glibc's malloc_trim(0): hands free heap pages back to the kernel.
static inline int cplatform_malloc_trim(void) { return malloc_trim(0); }

// Option numbers: level SOL_UDP (17), UDP_SEGMENT (103, Linux 4.18), UDP_GRO (104, Linux 5.0),
// and the IPv4/IPv6 ancillary data we use.
/* Process-wide relaxed atomic counters (shim.c), 64 of them. */
void cplatform_counter_add(unsigned int index, int64_t delta);
uint64_t cplatform_counter_get(unsigned int index);

int cplatform_sol_udp(void);
int cplatform_udp_segment(void);
int cplatform_udp_gro(void);
int cplatform_ip_pktinfo(void);
int cplatform_ip_recvtos(void);
int cplatform_ip_tos(void);
int cplatform_ipv6_recvpktinfo(void);
int cplatform_ipv6_pktinfo(void);
int cplatform_ipv6_recvtclass(void);
int cplatform_ipv6_tclass(void);
int cplatform_ipv6_v6only(void);
int cplatform_so_reuseport(void);

// Attaches to `fd`'s SO_REUSEPORT group a classic BPF program that picks the group's socket
// from the first byte of the QUIC Destination Connection ID (offset 6 in a long header, 1 in a
// short one), modulo `group_size`: every datagram of a connection reaches the same socket
// whatever the peer's address or port, as long as the server's connection IDs carry that
// socket's index in their first byte (modulo group_size). Returns 0 or -1 with errno set.
int cplatform_attach_reuseport_cid_steering(int fd, unsigned int group_size);

// pthread_setname_np (GNU); names longer than 15 bytes are cut.
int cplatform_set_thread_name(const char *name);

// The worker running on the calling thread (a thread-local set by the worker itself), or NULL.
void cplatform_set_current_worker(void *worker);
void *cplatform_current_worker(void);

#endif
