/*
 * flood.c - a bounded Initial flood for loopback measurements (never point it elsewhere:
 * it refuses any address outside 127.0.0.0/8).
 *
 *   flood junk  PORT SECONDS MAXPACKETS
 *   flood valid PORT SECONDS MAXPACKETS CLIENTHELLO_HEX_FILE
 *
 * junk:  1200-byte QUIC v1 long-header Initials with random DCIDs and SCIDs whose payload
 *        is random bytes (they fail decryption: what MsQuic's quicattack -type:3 sends).
 * valid: 1200-byte QUIC v1 client Initials carrying a real ClientHello (from
 *        make_clienthello.py), each with a fresh random DCID and SCID (the SCID also replaced
 *        in the ClientHello's initial_source_connection_id, RFC 9000 §7.3) and so protected
 *        with that DCID's Initial keys (RFC 9001 §5.2): every one is a new, decryptable,
 *        consistent connection attempt from a client that never answers.
 *
 * Datagrams go from 64 sockets (64 source ports) to 127.0.0.1:PORT until SECONDS or
 * MAXPACKETS, whichever first, as fast as the machine allows, or at FLOOD_PPS datagrams per
 * second when that is set in the environment. Answers are counted by kind and printed at the
 * end as "sent=N answers=N retry=N initial=N vn=N short=N".
 * Build: cc -O2 flood.c -lcrypto -o flood
 */
#define _GNU_SOURCE 1
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define SOCKETS 64
#define BATCH 32
#define DATAGRAM 1200

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static uint64_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* HKDF-Expand-Label (RFC 8446 §7.1) with SHA-256 for outputs of at most 32 bytes. */
static void expand_label(const uint8_t* secret, const char* label, uint8_t* out, size_t length)
{
    uint8_t info[64];
    size_t n = 0, l = strlen(label);
    info[n++] = (uint8_t)(length >> 8);
    info[n++] = (uint8_t)length;
    info[n++] = (uint8_t)(6 + l);
    memcpy(info + n, "tls13 ", 6); n += 6;
    memcpy(info + n, label, l); n += l;
    info[n++] = 0;
    info[n++] = 1; /* T(1) */
    uint8_t t[32];
    unsigned int tl = 0;
    HMAC(EVP_sha256(), secret, 32, info, n, t, &tl);
    memcpy(out, t, length);
}

static const uint8_t salt_v1[20] = {0x38, 0x76, 0x2c, 0xf7, 0xf5, 0x59, 0x34, 0xb3, 0x4d, 0x17,
                                    0x9a, 0xe6, 0xa4, 0xc8, 0x0c, 0xad, 0xcc, 0xbb, 0x7f, 0x0a};

static uint8_t clienthello[4096];
static size_t clienthello_len;
static uint8_t scid[20];
static size_t scid_len;
/* Where the captured SCID sits inside the ClientHello (its transport parameters). */
static long scid_in_hello = -1;

static int hexval(int c) { return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1; }

static size_t read_hex_line(FILE* f, uint8_t* out, size_t cap)
{
    size_t n = 0;
    int hi = -1, c;
    while ((c = fgetc(f)) != EOF && c != '\n') {
        int v = hexval(c);
        if (v < 0) continue;
        if (hi < 0) { hi = v; continue; }
        if (n < cap) out[n++] = (uint8_t)(hi << 4 | v);
        hi = -1;
    }
    return n;
}

/* Builds one Initial in out (DATAGRAM bytes). */
static void build(uint8_t* out, int valid, EVP_CIPHER_CTX* gcm, EVP_CIPHER_CTX* ecb)
{
    uint8_t dcid[8];
    uint64_t r = rnd();
    memcpy(dcid, &r, 8);
    r = rnd();
    memcpy(scid, &r, scid_len < 8 ? scid_len : 8);
    if (scid_in_hello >= 0) memcpy(clienthello + scid_in_hello, scid, scid_len);
    size_t n = 0;
    out[n++] = 0xc3; /* long header, fixed bit, Initial, 4-byte packet number */
    out[n++] = 0; out[n++] = 0; out[n++] = 0; out[n++] = 1;
    out[n++] = 8; memcpy(out + n, dcid, 8); n += 8;
    out[n++] = (uint8_t)scid_len; memcpy(out + n, scid, scid_len); n += scid_len;
    out[n++] = 0; /* token length */
    size_t payload_len = DATAGRAM - (n + 2 + 4) - 16; /* plaintext bytes */
    size_t length = 4 + payload_len + 16;
    out[n++] = (uint8_t)(0x40 | length >> 8);
    out[n++] = (uint8_t)length;
    size_t pn_offset = n;
    out[n++] = 0; out[n++] = 0; out[n++] = 0; out[n++] = 0;
    uint8_t* payload = out + n;
    if (!valid) {
        for (size_t i = 0; i < payload_len + 16; i += 8) {
            uint64_t v = rnd();
            memcpy(payload + i, &v, (payload_len + 16 - i) < 8 ? (payload_len + 16 - i) : 8);
        }
        return;
    }
    /* CRYPTO frame (offset 0) with the ClientHello, then PADDING. */
    uint8_t plain[DATAGRAM];
    size_t p = 0;
    plain[p++] = 0x06;
    plain[p++] = 0;
    plain[p++] = (uint8_t)(0x40 | clienthello_len >> 8);
    plain[p++] = (uint8_t)clienthello_len;
    memcpy(plain + p, clienthello, clienthello_len); p += clienthello_len;
    memset(plain + p, 0, payload_len - p);
    /* Keys from this DCID (RFC 9001 §5.2). */
    uint8_t initial[32], client[32], key[16], iv[12], hp[16];
    unsigned int l = 0;
    HMAC(EVP_sha256(), salt_v1, sizeof salt_v1, dcid, 8, initial, &l);
    expand_label(initial, "client in", client, 32);
    expand_label(client, "quic key", key, 16);
    expand_label(client, "quic iv", iv, 12);
    expand_label(client, "quic hp", hp, 16);
    /* Packet number 0: the nonce is the IV. */
    int outl = 0;
    EVP_EncryptInit_ex(gcm, NULL, NULL, key, iv);
    EVP_EncryptUpdate(gcm, NULL, &outl, out, (int)n);
    EVP_EncryptUpdate(gcm, payload, &outl, plain, (int)payload_len);
    EVP_EncryptFinal_ex(gcm, payload + outl, &outl);
    EVP_CIPHER_CTX_ctrl(gcm, EVP_CTRL_GCM_GET_TAG, 16, payload + payload_len);
    /* Header protection (RFC 9001 §5.4): sample 4 bytes after the packet number start. */
    uint8_t mask[32];
    EVP_EncryptInit_ex(ecb, NULL, NULL, hp, NULL);
    EVP_EncryptUpdate(ecb, mask, &outl, out + pn_offset + 4, 16);
    out[0] ^= mask[0] & 0x0f;
    for (int i = 0; i < 4; i++) out[pn_offset + i] ^= mask[1 + i];
}

int main(int argc, char** argv)
{
    if (argc < 5) {
        fprintf(stderr, "usage: flood junk|valid PORT SECONDS MAXPACKETS [CLIENTHELLO_HEX]\n");
        return 2;
    }
    int valid = strcmp(argv[1], "valid") == 0;
    int port = atoi(argv[2]);
    double seconds = atof(argv[3]);
    long max_packets = atol(argv[4]);
    if (port <= 0 || port > 65535 || seconds <= 0 || seconds > 120 || max_packets <= 0) {
        fprintf(stderr, "flood: bounded runs only (SECONDS in (0,120], MAXPACKETS > 0)\n");
        return 2;
    }
    if (valid) {
        FILE* f = argc > 5 ? fopen(argv[5], "r") : NULL;
        if (!f) { fprintf(stderr, "flood: valid mode needs the ClientHello file\n"); return 2; }
        scid_len = read_hex_line(f, scid, sizeof scid);
        clienthello_len = read_hex_line(f, clienthello, sizeof clienthello);
        fclose(f);
        if (clienthello_len == 0 || clienthello_len > 1000 || scid_len != 8) {
            fprintf(stderr, "flood: bad ClientHello file\n");
            return 2;
        }
        for (size_t i = 0; i + scid_len <= clienthello_len; i++) {
            if (memcmp(clienthello + i, scid, scid_len) == 0) { scid_in_hello = (long)i; break; }
        }
        if (scid_in_hello < 0) { fprintf(stderr, "flood: the SCID is not in the ClientHello\n"); return 2; }
    } else {
        scid_len = 8;
        uint64_t v = rnd();
        memcpy(scid, &v, 8);
    }
    rng_state ^= (uint64_t)getpid() << 32 ^ (uint64_t)time(NULL);

    struct sockaddr_in to = {0};
    to.sin_family = AF_INET;
    to.sin_port = htons((uint16_t)port);
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK); /* loopback only, by construction */

    int fds[SOCKETS];
    for (int i = 0; i < SOCKETS; i++) {
        fds[i] = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
        if (fds[i] < 0 || connect(fds[i], (struct sockaddr*)&to, sizeof to) != 0) {
            perror("socket");
            return 1;
        }
    }
    EVP_CIPHER_CTX* gcm = EVP_CIPHER_CTX_new();
    EVP_CIPHER_CTX* ecb = EVP_CIPHER_CTX_new();
    EVP_EncryptInit_ex(gcm, EVP_aes_128_gcm(), NULL, NULL, NULL);
    EVP_EncryptInit_ex(ecb, EVP_aes_128_ecb(), NULL, NULL, NULL);
    EVP_CIPHER_CTX_set_padding(ecb, 0);

    static uint8_t bufs[BATCH][DATAGRAM];
    struct mmsghdr msgs[BATCH];
    struct iovec iov[BATCH];
    long sent = 0, answers = 0, retry = 0, initial = 0, vn = 0, shorth = 0;
    double start = now_s(), end = start + seconds;
    int s = 0;
    uint8_t in[2048];
    double pps = getenv("FLOOD_PPS") ? atof(getenv("FLOOD_PPS")) : 0;
    while (sent < max_packets && now_s() < end) {
        if (pps > 0) {
            double ahead = sent / pps - (now_s() - start);
            if (ahead > 0.001) usleep((useconds_t)(ahead * 1e6));
        }
        int count = BATCH;
        if (max_packets - sent < count) count = (int)(max_packets - sent);
        for (int i = 0; i < count; i++) {
            build(bufs[i], valid, gcm, ecb);
            iov[i].iov_base = bufs[i];
            iov[i].iov_len = DATAGRAM;
            memset(&msgs[i], 0, sizeof msgs[i]);
            msgs[i].msg_hdr.msg_iov = &iov[i];
            msgs[i].msg_hdr.msg_iovlen = 1;
        }
        int done = sendmmsg(fds[s], msgs, (unsigned)count, 0);
        if (done > 0) sent += done;
        else if (errno != EAGAIN && errno != ECONNREFUSED) { perror("sendmmsg"); break; }
        s = (s + 1) % SOCKETS;
        /* Count what came back on this socket (not every round: the flood comes first). */
        if ((sent / BATCH) % 8 == 0) {
            for (int k = 0; k < SOCKETS; k++) {
                ssize_t r;
                while ((r = recv(fds[k], in, sizeof in, 0)) > 0) {
                    answers++;
                    if (!(in[0] & 0x80)) shorth++;
                    else if (r >= 5 && in[1] == 0 && in[2] == 0 && in[3] == 0 && in[4] == 0) vn++;
                    else if ((in[0] & 0x30) == 0x30) retry++;
                    else if ((in[0] & 0x30) == 0x00) initial++;
                }
            }
        }
    }
    /* Late answers. */
    usleep(200000);
    for (int k = 0; k < SOCKETS; k++) {
        ssize_t r;
        while ((r = recv(fds[k], in, sizeof in, 0)) > 0) {
            answers++;
            if (!(in[0] & 0x80)) shorth++;
            else if (r >= 5 && in[1] == 0 && in[2] == 0 && in[3] == 0 && in[4] == 0) vn++;
            else if ((in[0] & 0x30) == 0x30) retry++;
            else if ((in[0] & 0x30) == 0x00) initial++;
        }
        close(fds[k]);
    }
    printf("sent=%ld seconds=%.1f answers=%ld retry=%ld initial=%ld vn=%ld short=%ld\n", sent, now_s() - start,
           answers, retry, initial, vn, shorth);
    EVP_CIPHER_CTX_free(gcm);
    EVP_CIPHER_CTX_free(ecb);
    return 0;
}
