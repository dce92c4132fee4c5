/*
 * header_helpers.c - the inline helpers and macros of msquic.h /
 * msquic_posix.h, as C programs use them (no library call involved):
 * QUIC_ADDR family/port accessors (port in host order), comparisons,
 * wildcard and loopback, increment, hash, parsing "a.b.c.d[:port]",
 * "x::y" and "[x::y]:port", formatting, and the status macros.
 */
#define QUIC_API_ENABLE_PREVIEW_FEATURES 1
#include "testutil.h"

static QUIC_ADDR parse(const char* Text, uint16_t Port, BOOLEAN* Ok)
{
    QUIC_ADDR Addr;
    memset(&Addr, 0, sizeof(Addr));
    *Ok = QuicAddrFromString(Text, Port, &Addr);
    return Addr;
}

static const char* format(const QUIC_ADDR* Addr)
{
    static QUIC_ADDR_STR Text;
    memset(&Text, 0, sizeof(Text));
    if (!QuicAddrToString(Addr, &Text)) {
        return "<failed>";
    }
    return Text.Address;
}

/* The hash as documented: 5387, then Hash * 31 + byte over port and IP bytes in memory order. */
static uint32_t QUIC_NO_SANITIZE("unsigned-integer-overflow") reference_hash(const QUIC_ADDR* Addr)
{
    const uint8_t* Port;
    const uint8_t* Ip;
    size_t IpLength;
    size_t i;
    uint32_t Hash = 5387;
    if (Addr->Ip.sa_family == AF_INET) {
        Port = (const uint8_t*)&Addr->Ipv4.sin_port;
        Ip = (const uint8_t*)&Addr->Ipv4.sin_addr;
        IpLength = 4;
    } else {
        Port = (const uint8_t*)&Addr->Ipv6.sin6_port;
        Ip = (const uint8_t*)&Addr->Ipv6.sin6_addr;
        IpLength = 16;
    }
    Hash = Hash * 31u + Port[0];
    Hash = Hash * 31u + Port[1];
    for (i = 0; i < IpLength; i++) {
        Hash = Hash * 31u + Ip[i];
    }
    return Hash;
}

static void test_parse(void)
{
    BOOLEAN Ok;
    QUIC_ADDR A;
    const uint8_t V4[4] = {1, 2, 3, 4};
    uint8_t Loop6[16] = {0};
    Loop6[15] = 1;

    A = parse("1.2.3.4:443", 0, &Ok);
    CHECK(Ok && QuicAddrGetFamily(&A) == QUIC_ADDRESS_FAMILY_INET && QuicAddrGetPort(&A) == 443 &&
          memcmp(&A.Ipv4.sin_addr, V4, 4) == 0, "\"1.2.3.4:443\" parses as IPv4 port 443");
    A = parse("1.2.3.4", 8080, &Ok);
    CHECK(Ok && QuicAddrGetFamily(&A) == QUIC_ADDRESS_FAMILY_INET && QuicAddrGetPort(&A) == 8080,
          "\"1.2.3.4\" takes the port argument (8080)");
    A = parse("1.2.3.4:9", 8080, &Ok);
    CHECK(Ok && QuicAddrGetPort(&A) == 9, "a port in the string replaces the port argument");
    A = parse("[::1]:443", 0, &Ok);
    CHECK(Ok && QuicAddrGetFamily(&A) == QUIC_ADDRESS_FAMILY_INET6 && QuicAddrGetPort(&A) == 443 &&
          memcmp(&A.Ipv6.sin6_addr, Loop6, 16) == 0, "\"[::1]:443\" parses as IPv6 ::1 port 443");
    A = parse("::1", 4433, &Ok);
    CHECK(Ok && QuicAddrGetFamily(&A) == QUIC_ADDRESS_FAMILY_INET6 && QuicAddrGetPort(&A) == 4433,
          "\"::1\" parses as IPv6 with the port argument");
    A = parse("fe80::1:2", 7, &Ok);
    CHECK(Ok && QuicAddrGetFamily(&A) == QUIC_ADDRESS_FAMILY_INET6 && QuicAddrGetPort(&A) == 7,
          "\"fe80::1:2\" is an IPv6 address, not address:port");
    A = parse("[2001:db8::ff]:65535", 0, &Ok);
    CHECK(Ok && QuicAddrGetPort(&A) == 65535, "\"[2001:db8::ff]:65535\" port 65535");

    (void)parse("[::1]", 5, &Ok);
    CHECK(!Ok, "\"[::1]\" without a port is refused");
    (void)parse("1.2.3.4.5", 0, &Ok);
    CHECK(!Ok, "\"1.2.3.4.5\" is refused");
    (void)parse("300.1.1.1", 0, &Ok);
    CHECK(!Ok, "\"300.1.1.1\" is refused");
    (void)parse("localhost", 0, &Ok);
    CHECK(!Ok, "\"localhost\" (a name) is refused");
    (void)parse("", 0, &Ok);
    CHECK(!Ok, "\"\" is refused");
    (void)parse("[1.2.3.4]:80", 0, &Ok);
    CHECK(!Ok, "\"[1.2.3.4]:80\" (IPv4 in brackets) is refused");
    (void)parse("[::1", 0, &Ok);
    CHECK(!Ok, "\"[::1\" (no closing bracket) is refused");
    (void)parse("1.2.3.4:5:6", 0, &Ok);
    CHECK(!Ok, "\"1.2.3.4:5:6\" is refused");
    (void)parse("[0000:0000:0000:0000:0000:0000:0000:0000:0000:0000:0000:0000:0000:0000:0000:0000:1]:1", 0, &Ok);
    CHECK(!Ok, "an over-long bracketed address is refused");

    CHECK(CxPlatIsIpLiteral("10.0.0.1"), "CxPlatIsIpLiteral(\"10.0.0.1\")");
    CHECK(CxPlatIsIpLiteral("::ffff:10.0.0.1"), "CxPlatIsIpLiteral(\"::ffff:10.0.0.1\")");
    CHECK(!CxPlatIsIpLiteral("example.com"), "CxPlatIsIpLiteral(\"example.com\") is FALSE");
    CHECK(!CxPlatIsIpLiteral(""), "CxPlatIsIpLiteral(\"\") is FALSE");
}

static void test_format(void)
{
    BOOLEAN Ok;
    QUIC_ADDR A;
    const char* Text;

    A = parse("1.2.3.4:443", 0, &Ok);
    Text = format(&A);
    CHECK(strcmp(Text, "1.2.3.4:443") == 0, "IPv4 with port formats as \"1.2.3.4:443\" (%s)", Text);
    QuicAddrSetPort(&A, 0);
    Text = format(&A);
    CHECK(strcmp(Text, "1.2.3.4") == 0, "IPv4 without port formats as \"1.2.3.4\" (%s)", Text);
    A = parse("[::1]:443", 0, &Ok);
    Text = format(&A);
    CHECK(strcmp(Text, "[::1]:443") == 0, "IPv6 with port formats as \"[::1]:443\" (%s)", Text);
    QuicAddrSetPort(&A, 0);
    Text = format(&A);
    CHECK(strcmp(Text, "::1") == 0, "IPv6 without port formats as \"::1\" (%s)", Text);
    A = parse("[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff]:65535", 0, &Ok);
    Text = format(&A);
    CHECK(Ok && strcmp(Text, "[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff]:65535") == 0,
          "the longest IPv6 form with port fits (%s)", Text);
    /* Round trip. */
    A = parse("192.168.100.200:54321", 0, &Ok);
    {
        QUIC_ADDR B;
        B = parse(format(&A), 0, &Ok);
        CHECK(Ok && QuicAddrCompare(&A, &B), "format then parse gives the same address");
    }
}

static void test_accessors(void)
{
    BOOLEAN Ok;
    QUIC_ADDR A;
    QUIC_ADDR B;
    QUIC_ADDR Z;

    memset(&A, 0, sizeof(A));
    QuicAddrSetFamily(&A, QUIC_ADDRESS_FAMILY_INET);
    QuicAddrSetPort(&A, 0x1234);
    CHECK(A.Ipv4.sin_port == htons(0x1234), "QuicAddrSetPort stores network byte order");
    CHECK(QuicAddrGetPort(&A) == 0x1234, "QuicAddrGetPort returns host byte order");
    QuicAddrSetFamily(&A, QUIC_ADDRESS_FAMILY_INET6);
    QuicAddrSetPort(&A, 443);
    CHECK(A.Ipv6.sin6_port == htons(443) && QuicAddrGetPort(&A) == 443, "port of an IPv6 address");

    CHECK(QuicAddrFamilyIsValid(QUIC_ADDRESS_FAMILY_UNSPEC) && QuicAddrFamilyIsValid(QUIC_ADDRESS_FAMILY_INET) &&
          QuicAddrFamilyIsValid(QUIC_ADDRESS_FAMILY_INET6), "UNSPEC, INET and INET6 are valid families");
    CHECK(!QuicAddrFamilyIsValid(AF_UNIX), "AF_UNIX is not a valid family");
    memset(&Z, 0, sizeof(Z));
    Z.Ip.sa_family = AF_UNIX;
    CHECK(!QuicAddrIsValid(&Z), "QuicAddrIsValid refuses AF_UNIX");

    /* Compare and CompareIp. */
    A = parse("10.1.2.3:1000", 0, &Ok);
    B = parse("10.1.2.3:2000", 0, &Ok);
    CHECK(QuicAddrCompareIp(&A, &B), "same IPv4, other port: CompareIp TRUE");
    CHECK(!QuicAddrCompare(&A, &B), "same IPv4, other port: Compare FALSE");
    QuicAddrSetPort(&B, 1000);
    CHECK(QuicAddrCompare(&A, &B), "same IPv4 and port: Compare TRUE");
    B = parse("[::ffff:10.1.2.3]:1000", 0, &Ok);
    CHECK(!QuicAddrCompare(&A, &B), "IPv4 vs IPv4-mapped IPv6: Compare FALSE (families differ)");
    A = parse("[2001:db8::1]:5", 0, &Ok);
    B = parse("[2001:db8::2]:5", 0, &Ok);
    CHECK(!QuicAddrCompareIp(&A, &B) && !QuicAddrCompare(&A, &B), "different IPv6: both FALSE");

    /* Wildcards. */
    memset(&Z, 0, sizeof(Z));
    CHECK(QuicAddrIsWildCard(&Z), "an UNSPEC address is a wildcard");
    Z = parse("0.0.0.0:80", 0, &Ok);
    CHECK(QuicAddrIsWildCard(&Z), "0.0.0.0 is a wildcard");
    Z = parse("[::]:80", 0, &Ok);
    CHECK(QuicAddrIsWildCard(&Z), ":: is a wildcard");
    Z = parse("127.0.0.1", 0, &Ok);
    CHECK(!QuicAddrIsWildCard(&Z), "127.0.0.1 is not a wildcard");

    /* Loopback and increment. */
    memset(&A, 0, sizeof(A));
    QuicAddrSetFamily(&A, QUIC_ADDRESS_FAMILY_INET);
    QuicAddrSetPort(&A, 77);
    QuicAddrSetToLoopback(&A);
    CHECK(strcmp(format(&A), "127.0.0.1:77") == 0, "SetToLoopback(INET) gives 127.0.0.1, port kept (%s)", format(&A));
    memset(&A, 0, sizeof(A));
    QuicAddrSetFamily(&A, QUIC_ADDRESS_FAMILY_INET6);
    QuicAddrSetToLoopback(&A);
    CHECK(strcmp(format(&A), "::1") == 0, "SetToLoopback(INET6) gives ::1 (%s)", format(&A));
    A = parse("1.2.3.4", 0, &Ok);
    QuicAddrIncrement(&A);
    CHECK(strcmp(format(&A), "1.2.3.5") == 0, "QuicAddrIncrement(1.2.3.4) = 1.2.3.5 (%s)", format(&A));
    A = parse("::1", 0, &Ok);
    QuicAddrIncrement(&A);
    CHECK(strcmp(format(&A), "::2") == 0, "QuicAddrIncrement(::1) = ::2 (%s)", format(&A));

    /* Hash. */
    A = parse("10.1.2.3:443", 0, &Ok);
    B = parse("10.1.2.3:443", 0, &Ok);
    CHECK(QuicAddrHash(&A) == QuicAddrHash(&B), "equal addresses hash equally");
    CHECK(QuicAddrHash(&A) == reference_hash(&A), "IPv4 hash follows the documented formula");
    A = parse("[2001:db8::42]:8443", 0, &Ok);
    CHECK(QuicAddrHash(&A) == reference_hash(&A), "IPv6 hash follows the documented formula");
}

static void test_macros(void)
{
    CHECK(QUIC_SUCCEEDED(QUIC_STATUS_SUCCESS) && !QUIC_FAILED(QUIC_STATUS_SUCCESS), "SUCCESS succeeds");
    CHECK(QUIC_SUCCEEDED(QUIC_STATUS_PENDING) && QUIC_SUCCEEDED(QUIC_STATUS_CONTINUE),
          "PENDING and CONTINUE count as success");
    CHECK(QUIC_FAILED(QUIC_STATUS_INVALID_PARAMETER) && QUIC_FAILED(QUIC_STATUS_CERT_NO_CERT),
          "errno and certificate statuses are failures");
    CHECK(QUIC_STATUS_TLS_ALERT(42) == QUIC_STATUS_BAD_CERTIFICATE, "QUIC_STATUS_TLS_ALERT(42) is BAD_CERTIFICATE");
    CHECK(QUIC_STATUS_TLS_ALERT(0x100 + 116) == QUIC_STATUS_REQUIRED_CERTIFICATE,
          "QUIC_STATUS_TLS_ALERT keeps the low byte of the alert");
    CHECK(QUIC_STATUS_CERT_ERROR(1) == QUIC_STATUS_CERT_EXPIRED, "QUIC_STATUS_CERT_ERROR(1) is CERT_EXPIRED");
    CHECK(QUIC_STATUS_FILE_NOT_FOUND == QUIC_STATUS_NOT_FOUND, "FILE_NOT_FOUND is NOT_FOUND on Linux");
    CHECK(QUIC_STATUS_INVALID_PARAMETER == EINVAL && QUIC_STATUS_BUFFER_TOO_SMALL == EOVERFLOW &&
          QUIC_STATUS_NOT_SUPPORTED == EOPNOTSUPP && QUIC_STATUS_CONNECTION_IDLE == ETIME,
          "statuses are the errno values");
    CHECK(QUIC_PARAM_IS_GLOBAL(QUIC_PARAM_GLOBAL_SETTINGS) && QUIC_PARAM_IS_GLOBAL(QUIC_PARAM_GLOBAL_SETTINGS |
                                                                                  QUIC_PARAM_HIGH_PRIORITY),
          "QUIC_PARAM_IS_GLOBAL, also with HIGH_PRIORITY");
    CHECK(!QUIC_PARAM_IS_GLOBAL(QUIC_PARAM_CONN_SETTINGS), "QUIC_PARAM_IS_GLOBAL(CONN_SETTINGS) is FALSE");
    CHECK(!QUIC_DATAGRAM_SEND_STATE_IS_FINAL(QUIC_DATAGRAM_SEND_LOST_SUSPECT) &&
          QUIC_DATAGRAM_SEND_STATE_IS_FINAL(QUIC_DATAGRAM_SEND_LOST_DISCARDED) &&
          QUIC_DATAGRAM_SEND_STATE_IS_FINAL(QUIC_DATAGRAM_SEND_CANCELED), "QUIC_DATAGRAM_SEND_STATE_IS_FINAL");
    CHECK(QUIC_STATISTICS_V2_SIZE_5 == sizeof(QUIC_STATISTICS_V2), "QUIC_STATISTICS_V2_SIZE_5 is the full size");
    CHECK(QUIC_GLOBAL_EXECUTION_CONFIG_MIN_SIZE == 12, "QUIC_GLOBAL_EXECUTION_CONFIG_MIN_SIZE is 12");
    CHECK(sizeof(QUIC_API_TABLE) == 39 * sizeof(void*), "QUIC_API_TABLE has 39 entries with preview features");
    CHECK(QUIC_UINT62_MAX == (1ULL << 62) - 1, "QUIC_UINT62_MAX is 2^62 - 1");
    CHECK(strcmp(QUIC_LOCALHOST_FOR_AF(QUIC_ADDRESS_FAMILY_INET), "localhost") == 0, "QUIC_LOCALHOST_FOR_AF(INET)");
    {
        char Buffer[16];
        sprintf_s(Buffer, sizeof(Buffer), "%d-%s", 7, "x");
        CHECK(strcmp(Buffer, "7-x") == 0, "sprintf_s maps to snprintf");
    }
}

int main(void)
{
    tu_start_watchdog(30);
    test_parse();
    test_format();
    test_accessors();
    test_macros();
    return tu_finish();
}
