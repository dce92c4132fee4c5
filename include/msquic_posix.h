/*
 * msquic_posix.h - the POSIX (Linux) platform layer of the swiftquic C API.
 *
 * swiftquic exports the MsQuic 2.6 C API. This header holds what that API
 * needs from the platform: the status code space (errno based on Linux),
 * the socket address union QUIC_ADDR with its inline helpers, the event
 * queue types of the execution API and a few portability macros. It is
 * included by msquic.h; applications normally include msquic.h only.
 *
 * Names, values and layouts follow MsQuic 2.6 on Linux so that programs
 * built for MsQuic compile and run unchanged against libswiftquic.
 */

#ifndef SWIFTQUIC_MSQUIC_POSIX_H
#define SWIFTQUIC_MSQUIC_POSIX_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <inttypes.h>
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <netdb.h>
#include <unistd.h>

/* SAL annotations (_In_, _IRQL_requires_max_(...), ...) as MsQuic programs use them. */
#if defined(__has_include)
#if __has_include("quic_sal_stub.h")
#include "quic_sal_stub.h"
#endif
#else
#include "quic_sal_stub.h"
#endif

/* Linkage of the header's helper functions: private to each translation unit. */
#define QUIC_INLINE static inline

/*
 * Bit operators for the flag enums. C combines enumerators with | & ^ ~ on
 * its own; C++ does not convert the int result back to the enum type, so
 * each flag enum gets a set of operators there, computed in the enum's
 * underlying integer type.
 */
#ifdef __cplusplus
#define DEFINE_ENUM_FLAG_OPERATORS(EnumType)                                                       \
    extern "C++" {                                                                                 \
    inline EnumType operator|(EnumType A, EnumType B) noexcept {                                   \
        return (EnumType)((__underlying_type(EnumType))A | (__underlying_type(EnumType))B);        \
    }                                                                                              \
    inline EnumType operator&(EnumType A, EnumType B) noexcept {                                   \
        return (EnumType)((__underlying_type(EnumType))A & (__underlying_type(EnumType))B);        \
    }                                                                                              \
    inline EnumType operator^(EnumType A, EnumType B) noexcept {                                   \
        return (EnumType)((__underlying_type(EnumType))A ^ (__underlying_type(EnumType))B);        \
    }                                                                                              \
    inline EnumType operator~(EnumType A) noexcept {                                               \
        return (EnumType)(~(__underlying_type(EnumType))A);                                        \
    }                                                                                              \
    inline EnumType& operator|=(EnumType& A, EnumType B) noexcept { return A = (A | B); }          \
    inline EnumType& operator&=(EnumType& A, EnumType B) noexcept { return A = (A & B); }          \
    inline EnumType& operator^=(EnumType& A, EnumType B) noexcept { return A = (A ^ B); }          \
    }
#else
#define DEFINE_ENUM_FLAG_OPERATORS(EnumType)
#endif

/* Calling-convention and export decorations: nothing to say on Linux. */
#define QUIC_API
#define QUIC_MAIN_EXPORT
#define INITCODE
#define PAGEDX
#define QUIC_CACHEALIGN

/*
 * Status codes.
 *
 * QUIC_STATUS is an unsigned 32-bit value. Success values are zero or
 * "negative" when read as int (PENDING, CONTINUE); failures are positive:
 * the errno value that best describes the failure, or one of the TLS and
 * certificate ranges that start at ERROR_BASE (far above any errno).
 * The values are written as unsigned literals (the Linux errno numbers) so
 * that C sees unsigned int constants and Swift imports them as UInt32.
 */
#define QUIC_STATUS                     unsigned int
#define QUIC_FAILED(X)                  ((int)(X) > 0)
#define QUIC_SUCCEEDED(X)               ((int)(X) <= 0)

/* Turns any integer into a QUIC_STATUS value. */
#define QUIC_STATUS_DEF(Value)          ((QUIC_STATUS)(Value))

#define ERROR_BASE                      200000000
#define TLS_ERROR_BASE                  (ERROR_BASE + 256)
#define CERT_ERROR_BASE                 (ERROR_BASE + 512)

#define QUIC_STATUS_SUCCESS                 0U          /* done */
#define QUIC_STATUS_PENDING                 0xFFFFFFFEU /* (int)-2: completes later */
#define QUIC_STATUS_CONTINUE                0xFFFFFFFFU /* (int)-1: keep going */
#define QUIC_STATUS_OUT_OF_MEMORY           12U         /* ENOMEM */
#define QUIC_STATUS_INVALID_PARAMETER       22U         /* EINVAL */
#define QUIC_STATUS_INVALID_STATE           1U          /* EPERM */
#define QUIC_STATUS_NOT_SUPPORTED           95U         /* EOPNOTSUPP */
#define QUIC_STATUS_NOT_FOUND               2U          /* ENOENT */
#define QUIC_STATUS_FILE_NOT_FOUND          QUIC_STATUS_NOT_FOUND
#define QUIC_STATUS_BUFFER_TOO_SMALL        75U         /* EOVERFLOW */
#define QUIC_STATUS_HANDSHAKE_FAILURE       103U        /* ECONNABORTED */
#define QUIC_STATUS_ABORTED                 125U        /* ECANCELED */
#define QUIC_STATUS_ADDRESS_IN_USE          98U         /* EADDRINUSE */
#define QUIC_STATUS_INVALID_ADDRESS         97U         /* EAFNOSUPPORT */
#define QUIC_STATUS_CONNECTION_TIMEOUT      110U        /* ETIMEDOUT */
#define QUIC_STATUS_CONNECTION_IDLE         62U         /* ETIME */
#define QUIC_STATUS_INTERNAL_ERROR          5U          /* EIO */
#define QUIC_STATUS_CONNECTION_REFUSED      111U        /* ECONNREFUSED */
#define QUIC_STATUS_PROTOCOL_ERROR          71U         /* EPROTO */
#define QUIC_STATUS_VER_NEG_ERROR           93U         /* EPROTONOSUPPORT */
#define QUIC_STATUS_UNREACHABLE             113U        /* EHOSTUNREACH */
#define QUIC_STATUS_TLS_ERROR               126U        /* ENOKEY */
#define QUIC_STATUS_USER_CANCELED           130U        /* EOWNERDEAD */
#define QUIC_STATUS_ALPN_NEG_FAILURE        92U         /* ENOPROTOOPT */
#define QUIC_STATUS_STREAM_LIMIT_REACHED    86U         /* ESTRPIPE */
#define QUIC_STATUS_ALPN_IN_USE             91U         /* EPROTOTYPE */
#define QUIC_STATUS_ADDRESS_NOT_AVAILABLE   99U         /* EADDRNOTAVAIL */

/* A TLS alert (RFC 8446 §6) received from or sent to the peer, as a status. */
#define QUIC_STATUS_TLS_ALERT(Alert)        ((QUIC_STATUS)(0xff & (Alert)) + TLS_ERROR_BASE)

#define QUIC_STATUS_CLOSE_NOTIFY            (TLS_ERROR_BASE + 0U)   /* close_notify */
#define QUIC_STATUS_BAD_CERTIFICATE         (TLS_ERROR_BASE + 42U)  /* bad_certificate */
#define QUIC_STATUS_UNSUPPORTED_CERTIFICATE (TLS_ERROR_BASE + 43U)  /* unsupported_certificate */
#define QUIC_STATUS_REVOKED_CERTIFICATE     (TLS_ERROR_BASE + 44U)  /* certificate_revoked */
#define QUIC_STATUS_EXPIRED_CERTIFICATE     (TLS_ERROR_BASE + 45U)  /* certificate_expired */
#define QUIC_STATUS_UNKNOWN_CERTIFICATE     (TLS_ERROR_BASE + 46U)  /* certificate_unknown */
#define QUIC_STATUS_REQUIRED_CERTIFICATE    (TLS_ERROR_BASE + 116U) /* certificate_required */

/* A failure found while validating the peer's certificate chain, as a status. */
#define QUIC_STATUS_CERT_ERROR(Value)       ((QUIC_STATUS)(Value) + CERT_ERROR_BASE)

#define QUIC_STATUS_CERT_EXPIRED            (CERT_ERROR_BASE + 1U)  /* outside its validity */
#define QUIC_STATUS_CERT_UNTRUSTED_ROOT     (CERT_ERROR_BASE + 2U)  /* chain ends at an unknown root */
#define QUIC_STATUS_CERT_NO_CERT            (CERT_ERROR_BASE + 3U)  /* peer sent no certificate */

/*
 * Basic types.
 */
typedef unsigned char BOOLEAN;
typedef struct in_addr IN_ADDR;
typedef struct in6_addr IN6_ADDR;
typedef struct addrinfo ADDRINFO;
typedef sa_family_t QUIC_ADDRESS_FAMILY;

#ifndef FALSE
#define FALSE 0
#define TRUE 1
#endif

/* Address families accepted by the API (ConnectionStart, QUIC_ADDR). */
#define QUIC_ADDRESS_FAMILY_UNSPEC  AF_UNSPEC
#define QUIC_ADDRESS_FAMILY_INET    AF_INET
#define QUIC_ADDRESS_FAMILY_INET6   AF_INET6

/*
 * An IPv4 or IPv6 socket address. The family field (Ip.sa_family) says which
 * view is valid; the port sits at the same offset in both views and is kept in
 * network byte order (use QuicAddrGetPort/QuicAddrSetPort for host order).
 */
typedef union QUIC_ADDR {
    struct sockaddr Ip;
    struct sockaddr_in Ipv4;
    struct sockaddr_in6 Ipv6;
} QUIC_ADDR;

/* Size and offset of a structure member. */
#ifndef RTL_FIELD_SIZE
#define RTL_FIELD_SIZE(Type, Field)     (sizeof(((Type*)0)->Field))
#endif
#define FIELD_OFFSET(Type, Field)       offsetof(Type, Field)

/* Where the port and the address bytes sit inside QUIC_ADDR, per family. */
#define QUIC_ADDR_V4_PORT_OFFSET        FIELD_OFFSET(struct sockaddr_in, sin_port)
#define QUIC_ADDR_V4_IP_OFFSET          FIELD_OFFSET(struct sockaddr_in, sin_addr)
#define QUIC_ADDR_V6_PORT_OFFSET        FIELD_OFFSET(struct sockaddr_in6, sin6_port)
#define QUIC_ADDR_V6_IP_OFFSET          FIELD_OFFSET(struct sockaddr_in6, sin6_addr)

/* The host name that resolves to the loopback address of a family. */
#define QUIC_LOCALHOST_FOR_AF(Af) (((Af) == QUIC_ADDRESS_FAMILY_INET) ? "localhost" : "ip6-localhost")

/*
 * Certificate problems an application may choose to ignore; these are the
 * bits reported in QUIC_CONNECTION_EVENT.PEER_CERTIFICATE_RECEIVED.DeferredErrorFlags.
 */
#define QUIC_CERTIFICATE_FLAG_IGNORE_REVOCATION                 0x00000080
#define QUIC_CERTIFICATE_FLAG_IGNORE_UNKNOWN_CA                 0x00000100
#define QUIC_CERTIFICATE_FLAG_IGNORE_WRONG_USAGE                0x00000200
#define QUIC_CERTIFICATE_FLAG_IGNORE_CERTIFICATE_CN_INVALID     0x00001000
#define QUIC_CERTIFICATE_FLAG_IGNORE_CERTIFICATE_DATE_INVALID   0x00002000
#define QUIC_CERTIFICATE_FLAG_IGNORE_WEAK_SIGNATURE             0x00010000

/* Turns off a sanitizer check for one function (clang only). */
#if defined(__clang__)
#define QUIC_NO_SANITIZE(Check) __attribute__((no_sanitize(Check)))
#else
#define QUIC_NO_SANITIZE(Check)
#endif

/* Spellings of the Windows string functions used by MsQuic samples. */
#define _strnicmp strncasecmp
#define sprintf_s(Dst, DstLen, Format, ...) snprintf(Dst, DstLen, Format, __VA_ARGS__)
#define _vsnprintf_s(Dst, DstLen, Flag, Format, ...) vsnprintf(Dst, DstLen, Format, __VA_ARGS__)

#ifdef __cplusplus
extern "C" {
#endif

/*
 * QUIC_ADDR helpers.
 */

/* TRUE for the families the API accepts: unspecified, IPv4 and IPv6. */
QUIC_INLINE
BOOLEAN
QuicAddrFamilyIsValid(
    QUIC_ADDRESS_FAMILY Family
    )
{
    return (BOOLEAN)(Family == QUIC_ADDRESS_FAMILY_UNSPEC ||
                     Family == QUIC_ADDRESS_FAMILY_INET ||
                     Family == QUIC_ADDRESS_FAMILY_INET6);
}

/* TRUE when the address carries one of the accepted families. */
QUIC_INLINE
BOOLEAN
QuicAddrIsValid(
    const QUIC_ADDR* const Addr
    )
{
    return QuicAddrFamilyIsValid(Addr->Ip.sa_family);
}

/* Compares only the IP bytes, as IPv4 if Addr1 is IPv4 and as IPv6 otherwise. */
QUIC_INLINE
BOOLEAN
QuicAddrCompareIp(
    const QUIC_ADDR* const Addr1,
    const QUIC_ADDR* const Addr2
    )
{
    if (Addr1->Ip.sa_family == QUIC_ADDRESS_FAMILY_INET) {
        return (BOOLEAN)(memcmp(&Addr1->Ipv4.sin_addr, &Addr2->Ipv4.sin_addr, sizeof(IN_ADDR)) == 0);
    }
    return (BOOLEAN)(memcmp(&Addr1->Ipv6.sin6_addr, &Addr2->Ipv6.sin6_addr, sizeof(IN6_ADDR)) == 0);
}

/* TRUE when family, port and IP bytes are all equal. */
QUIC_INLINE
BOOLEAN
QuicAddrCompare(
    const QUIC_ADDR* const Addr1,
    const QUIC_ADDR* const Addr2
    )
{
    if (Addr1->Ip.sa_family != Addr2->Ip.sa_family) {
        return FALSE;
    }
    /* The port has the same offset in sockaddr_in and sockaddr_in6. */
    if (Addr1->Ipv4.sin_port != Addr2->Ipv4.sin_port) {
        return FALSE;
    }
    return QuicAddrCompareIp(Addr1, Addr2);
}

/* The address family (QUIC_ADDRESS_FAMILY_*). */
QUIC_INLINE
QUIC_ADDRESS_FAMILY
QuicAddrGetFamily(
    const QUIC_ADDR* const Addr
    )
{
    return Addr->Ip.sa_family;
}

/* Sets the address family; the other fields are left as they are. */
QUIC_INLINE
void
QuicAddrSetFamily(
    QUIC_ADDR* Addr,
    QUIC_ADDRESS_FAMILY Family
    )
{
    Addr->Ip.sa_family = Family;
}

/* The port in host byte order. */
QUIC_INLINE
uint16_t
QuicAddrGetPort(
    const QUIC_ADDR* const Addr
    )
{
    if (Addr->Ip.sa_family == QUIC_ADDRESS_FAMILY_INET) {
        return ntohs(Addr->Ipv4.sin_port);
    }
    return ntohs(Addr->Ipv6.sin6_port);
}

/* Sets the port, given in host byte order. */
QUIC_INLINE
void
QuicAddrSetPort(
    QUIC_ADDR* Addr,
    uint16_t Port
    )
{
    if (Addr->Ip.sa_family == QUIC_ADDRESS_FAMILY_INET) {
        Addr->Ipv4.sin_port = htons(Port);
    } else {
        Addr->Ipv6.sin6_port = htons(Port);
    }
}

/* Adds one to the last byte of the IP address (tests use it to make distinct addresses). */
QUIC_INLINE
void
QuicAddrIncrement(
    QUIC_ADDR* Addr
    )
{
    if (Addr->Ip.sa_family == QUIC_ADDRESS_FAMILY_INET) {
        uint8_t* Bytes = (uint8_t*)&Addr->Ipv4.sin_addr;
        Bytes[sizeof(IN_ADDR) - 1]++;
    } else {
        uint8_t* Bytes = (uint8_t*)&Addr->Ipv6.sin6_addr;
        Bytes[sizeof(IN6_ADDR) - 1]++;
    }
}

/* Sets the IP to 127.0.0.1 (IPv4) or ::1 (any other family); the port is kept. */
QUIC_INLINE
void
QuicAddrSetToLoopback(
    QUIC_ADDR* Addr
    )
{
    if (Addr->Ip.sa_family == QUIC_ADDRESS_FAMILY_INET) {
        Addr->Ipv4.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    } else {
        memset(&Addr->Ipv6.sin6_addr, 0, sizeof(IN6_ADDR));
        ((uint8_t*)&Addr->Ipv6.sin6_addr)[sizeof(IN6_ADDR) - 1] = 1;
    }
}

/*
 * Hash of port and IP bytes (wire order), for hash tables keyed by address:
 * starting from 5387, each byte b updates the hash to Hash * 31 + b.
 */
#define UPDATE_HASH(Byte) (Hash = Hash * 31u + (uint32_t)(Byte))

QUIC_INLINE
uint32_t
QUIC_NO_SANITIZE("unsigned-integer-overflow")
QuicAddrHash(
    const QUIC_ADDR* Addr
    )
{
    uint32_t Hash = 5387;
    const uint8_t* Ip;
    size_t IpLength;
    uint16_t Port;
    size_t i;
    if (Addr->Ip.sa_family == QUIC_ADDRESS_FAMILY_INET) {
        Port = Addr->Ipv4.sin_port;
        Ip = (const uint8_t*)&Addr->Ipv4.sin_addr;
        IpLength = sizeof(IN_ADDR);
    } else {
        Port = Addr->Ipv6.sin6_port;
        Ip = (const uint8_t*)&Addr->Ipv6.sin6_addr;
        IpLength = sizeof(IN6_ADDR);
    }
    UPDATE_HASH(Port & 0xFF);
    UPDATE_HASH(Port >> 8);
    for (i = 0; i < IpLength; ++i) {
        UPDATE_HASH(Ip[i]);
    }
    return Hash;
}

/* TRUE for an unspecified family or an all-zero IP (0.0.0.0 or ::). */
QUIC_INLINE
BOOLEAN
QuicAddrIsWildCard(
    const QUIC_ADDR* const Addr
    )
{
    const uint8_t* Ip;
    size_t IpLength;
    size_t i;
    if (Addr->Ip.sa_family == QUIC_ADDRESS_FAMILY_UNSPEC) {
        return TRUE;
    }
    if (Addr->Ip.sa_family == QUIC_ADDRESS_FAMILY_INET) {
        Ip = (const uint8_t*)&Addr->Ipv4.sin_addr;
        IpLength = sizeof(IN_ADDR);
    } else {
        Ip = (const uint8_t*)&Addr->Ipv6.sin6_addr;
        IpLength = sizeof(IN6_ADDR);
    }
    for (i = 0; i < IpLength; ++i) {
        if (Ip[i] != 0) {
            return FALSE;
        }
    }
    return TRUE;
}

/*
 * Parses "a.b.c.d" or "a.b.c.d:port" into an IPv4 address. On success the
 * family and IP are set, and the port too when the string has one.
 */
QUIC_INLINE
BOOLEAN
QuicAddr4FromString(
    const char* AddrStr,
    QUIC_ADDR* Addr
    )
{
    char Ip[16];
    const char* Colon;
    const char* Digit;
    size_t IpLength;
    uint16_t Port = 0;
    if (AddrStr[0] == '[') {
        return FALSE;
    }
    Colon = strchr(AddrStr, ':');
    if (Colon == NULL) {
        if (inet_pton(AF_INET, AddrStr, &Addr->Ipv4.sin_addr) != 1) {
            return FALSE;
        }
    } else {
        if (strchr(Colon + 1, ':') != NULL) {
            return FALSE;   /* more than one colon: not IPv4 */
        }
        IpLength = (size_t)(Colon - AddrStr);
        if (IpLength >= sizeof(Ip)) {
            return FALSE;
        }
        memcpy(Ip, AddrStr, IpLength);
        Ip[IpLength] = '\0';
        if (inet_pton(AF_INET, Ip, &Addr->Ipv4.sin_addr) != 1) {
            return FALSE;
        }
        /* Decimal digits up to the first non-digit, as atoi reads them. */
        for (Digit = Colon + 1; *Digit >= '0' && *Digit <= '9'; ++Digit) {
            Port = (uint16_t)(Port * 10u + (unsigned)(*Digit - '0'));
        }
        Addr->Ipv4.sin_port = htons(Port);
    }
    Addr->Ip.sa_family = QUIC_ADDRESS_FAMILY_INET;
    return TRUE;
}

/*
 * Parses "x:y::z" or "[x:y::z]:port" into an IPv6 address. On success the
 * family and IP are set, and the port too for the bracketed form.
 */
QUIC_INLINE
BOOLEAN
QuicAddr6FromString(
    const char* AddrStr,
    QUIC_ADDR* Addr
    )
{
    char Ip[64];
    const char* Close;
    const char* Digit;
    size_t IpLength;
    uint16_t Port = 0;
    if (AddrStr[0] != '[') {
        if (inet_pton(AF_INET6, AddrStr, &Addr->Ipv6.sin6_addr) != 1) {
            return FALSE;
        }
    } else {
        Close = strchr(AddrStr, ']');
        if (Close == NULL || Close[1] != ':') {
            return FALSE;
        }
        IpLength = (size_t)(Close - AddrStr - 1);
        if (IpLength >= sizeof(Ip)) {
            return FALSE;
        }
        memcpy(Ip, AddrStr + 1, IpLength);
        Ip[IpLength] = '\0';
        if (inet_pton(AF_INET6, Ip, &Addr->Ipv6.sin6_addr) != 1) {
            return FALSE;
        }
        /* Decimal digits up to the first non-digit, as atoi reads them. */
        for (Digit = Close + 2; *Digit >= '0' && *Digit <= '9'; ++Digit) {
            Port = (uint16_t)(Port * 10u + (unsigned)(*Digit - '0'));
        }
        Addr->Ipv6.sin6_port = htons(Port);
    }
    Addr->Ip.sa_family = QUIC_ADDRESS_FAMILY_INET6;
    return TRUE;
}

/*
 * Parses an IPv4 or IPv6 address string. Port (host order) is stored first;
 * a port inside the string ("1.2.3.4:443", "[::1]:443") replaces it.
 */
QUIC_INLINE
BOOLEAN
QuicAddrFromString(
    const char* AddrStr,
    uint16_t Port,
    QUIC_ADDR* Addr
    )
{
    Addr->Ipv4.sin_port = htons(Port);
    if (QuicAddr4FromString(AddrStr, Addr)) {
        return TRUE;
    }
    return QuicAddr6FromString(AddrStr, Addr);
}

/* TRUE when the string is a bare IPv4 or IPv6 address (not a host name). */
QUIC_INLINE
BOOLEAN
CxPlatIsIpLiteral(
    const char* Str
    )
{
    struct in6_addr Scratch;
    if (Str == NULL) {
        return FALSE;
    }
    return (BOOLEAN)(inet_pton(AF_INET, Str, &Scratch) == 1 ||
                     inet_pton(AF_INET6, Str, &Scratch) == 1);
}

/* Text form of an address: "a.b.c.d[:port]" or "x::y" / "[x::y]:port". */
typedef struct QUIC_ADDR_STR {
    char Address[64];
} QUIC_ADDR_STR;

/*
 * Writes the text form of Addr. The port is appended when it is not zero
 * (IPv6 addresses are then bracketed). Any family other than IPv4 is
 * printed as IPv6.
 */
QUIC_INLINE
BOOLEAN
QuicAddrToString(
    const QUIC_ADDR* Addr,
    QUIC_ADDR_STR* AddrStr
    )
{
    const int IsV4 = Addr->Ip.sa_family == QUIC_ADDRESS_FAMILY_INET;
    const uint16_t PortBE = IsV4 ? Addr->Ipv4.sin_port : Addr->Ipv6.sin6_port;
    const int Bracket = !IsV4 && PortBE != 0;
    char* Out = AddrStr->Address;
    size_t Used;
    if (Bracket) {
        *Out++ = '[';
    }
    if (inet_ntop(IsV4 ? AF_INET : AF_INET6,
                  IsV4 ? (const void*)&Addr->Ipv4.sin_addr : (const void*)&Addr->Ipv6.sin6_addr,
                  Out,
                  (socklen_t)(sizeof(AddrStr->Address) - (size_t)Bracket)) == NULL) {
        return FALSE;
    }
    if (PortBE != 0) {
        Used = strlen(AddrStr->Address);
        if (Bracket) {
            AddrStr->Address[Used++] = ']';
        }
        snprintf(AddrStr->Address + Used, sizeof(AddrStr->Address) - Used,
                 ":%u", (unsigned)ntohs(PortBE));
    }
    return TRUE;
}

#ifdef __cplusplus
}
#endif

/*
 * Event queue of the execution API (preview): an application that drives
 * MsQuic's work itself hands it an epoll descriptor; submissions carry a
 * completion function that is called with the epoll event.
 */
#include <sys/epoll.h>

typedef int QUIC_EVENTQ;
typedef struct epoll_event QUIC_CQE;

typedef void (QUIC_EVENT_COMPLETION)(QUIC_CQE* Cqe);
typedef QUIC_EVENT_COMPLETION* QUIC_EVENT_COMPLETION_HANDLER;

typedef struct QUIC_SQE {
    int fd;
    QUIC_EVENT_COMPLETION_HANDLER Completion;
} QUIC_SQE;

/* Handle of an XDP socket map (a file descriptor on Linux). */
typedef int QUIC_XDP_MAP_HANDLE;

#endif /* SWIFTQUIC_MSQUIC_POSIX_H */
