// See include/CPlatform.h.
#define _GNU_SOURCE 1
#include "CPlatform.h"
#include <netinet/udp.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <pthread.h>
#include <string.h>
#include <errno.h>
#include <linux/filter.h>

#ifndef SOL_UDP
#define SOL_UDP 17
#endif
#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103
#endif
#ifndef UDP_GRO
#define UDP_GRO 104
#endif

_Static_assert(sizeof(cplatform_mmsghdr) == sizeof(struct mmsghdr), "mmsghdr layout");
_Static_assert(offsetof(cplatform_mmsghdr, msg_len) == offsetof(struct mmsghdr, msg_len), "mmsghdr layout");
_Static_assert(sizeof(cplatform_in_pktinfo) == sizeof(struct in_pktinfo), "in_pktinfo layout");
_Static_assert(sizeof(cplatform_in6_pktinfo) == sizeof(struct in6_pktinfo), "in6_pktinfo layout");

int cplatform_recvmmsg(int fd, cplatform_mmsghdr *vec, unsigned int vlen, int flags) {
    return recvmmsg(fd, (struct mmsghdr *)vec, vlen, flags, NULL);
}

int cplatform_sendmmsg(int fd, cplatform_mmsghdr *vec, unsigned int vlen, int flags) {
    return sendmmsg(fd, (struct mmsghdr *)vec, vlen, flags);
}

int cplatform_sol_udp(void) { return SOL_UDP; }
int cplatform_udp_segment(void) { return UDP_SEGMENT; }
int cplatform_udp_gro(void) { return UDP_GRO; }
int cplatform_ip_pktinfo(void) { return IP_PKTINFO; }
int cplatform_ip_recvtos(void) { return IP_RECVTOS; }
int cplatform_ip_tos(void) { return IP_TOS; }
int cplatform_ipv6_recvpktinfo(void) { return IPV6_RECVPKTINFO; }
int cplatform_ipv6_pktinfo(void) { return IPV6_PKTINFO; }
int cplatform_ipv6_recvtclass(void) { return IPV6_RECVTCLASS; }
int cplatform_ipv6_tclass(void) { return IPV6_TCLASS; }
int cplatform_ipv6_v6only(void) { return IPV6_V6ONLY; }
int cplatform_so_reuseport(void) { return SO_REUSEPORT; }

static __thread void *current_worker;
void cplatform_set_current_worker(void *worker) { current_worker = worker; }
void *cplatform_current_worker(void) { return current_worker; }

int cplatform_set_thread_name(const char *name) {
    char cut[16];
    strncpy(cut, name, sizeof cut - 1);
    cut[sizeof cut - 1] = 0;
    return pthread_setname_np(pthread_self(), cut);
}

#ifndef SO_ATTACH_REUSEPORT_CBPF
#define SO_ATTACH_REUSEPORT_CBPF 51
#endif

int cplatform_attach_reuseport_cid_steering(int fd, unsigned int group_size)
{
    if (group_size == 0 || group_size > 255) { errno = EINVAL; return -1; }
    // For a reuseport program the packet data starts at the UDP payload (the QUIC packet).
    // A load past the end ends the program with 0 (the first socket).
    struct sock_filter code[] = {
        BPF_STMT(BPF_LD | BPF_B | BPF_ABS, 0),                 // A = first byte
        BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, 0x80, 0, 2),      // long header?
        BPF_STMT(BPF_LD | BPF_B | BPF_ABS, 6),                 //   A = DCID[0] (long header)
        BPF_JUMP(BPF_JMP | BPF_JA, 1, 0, 0),
        BPF_STMT(BPF_LD | BPF_B | BPF_ABS, 1),                 //   A = DCID[0] (short header)
        BPF_STMT(BPF_ALU | BPF_MOD | BPF_K, group_size),       // A %= group size
        BPF_STMT(BPF_RET | BPF_A, 0),                          // socket index
    };
    struct sock_fprog prog = { .len = (unsigned short)(sizeof(code) / sizeof(code[0])), .filter = code };
    return setsockopt(fd, SOL_SOCKET, SO_ATTACH_REUSEPORT_CBPF, &prog, sizeof(prog));
}

/* Process-wide counters (MsQuic's QUIC_PARAM_GLOBAL_PERF_COUNTERS), added to with relaxed
 * atomics from any thread; read one by one (a snapshot is not taken under a lock, as MsQuic's
 * per-processor sums are not either). */
#define CPLATFORM_COUNTERS 64
static uint64_t counters[CPLATFORM_COUNTERS];

void cplatform_counter_add(unsigned int index, int64_t delta)
{
    if (index < CPLATFORM_COUNTERS) __atomic_fetch_add(&counters[index], (uint64_t)delta, __ATOMIC_RELAXED);
}

uint64_t cplatform_counter_get(unsigned int index)
{
    return index < CPLATFORM_COUNTERS ? __atomic_load_n(&counters[index], __ATOMIC_RELAXED) : 0;
}
