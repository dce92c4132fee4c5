// See include/CPlatform.h.
#define _GNU_SOURCE 1
#include "CPlatform.h"
#include <netinet/udp.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <pthread.h>
#include <string.h>

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
