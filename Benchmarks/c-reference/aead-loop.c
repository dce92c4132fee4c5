/* The same per-packet AEAD sequence as QuicCrypto's PacketAEAD, written directly in C, as a
 * floor for what the Swift layer can reach: for each 1200-byte packet, re-initialise the
 * context with a new nonce, 13 bytes of AAD, 1171 bytes in place, final, get the tag; then the
 * same to open it (set tag, AAD, decrypt, final). Reports seal+open bytes/s counted like
 * quic-bench (each packet's 1200 bytes once per operation), per second of CPU time of the
 * process as quic-bench and `openssl speed` (without -elapsed) do.
 *
 *   cc -O2 -o /tmp/aead-loop Benchmarks/c-reference/aead-loop.c -lcrypto
 *   /tmp/aead-loop [aes-128-gcm|aes-256-gcm|chacha20-poly1305] [seconds]
 */
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double clock_seconds(clockid_t id) {
    struct timespec ts;
    clock_gettime(id, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}
static double now(void) { return clock_seconds(CLOCK_MONOTONIC); }
static double cpu(void) { return clock_seconds(CLOCK_PROCESS_CPUTIME_ID); }

int main(int argc, char **argv) {
    const char *name = argc > 1 ? argv[1] : "aes-128-gcm";
    double seconds = argc > 2 ? atof(argv[2]) : 1.0;
    const EVP_CIPHER *cipher = strcmp(name, "aes-256-gcm") == 0 ? EVP_aes_256_gcm()
        : strcmp(name, "chacha20-poly1305") == 0 ? EVP_chacha20_poly1305() : EVP_aes_128_gcm();
    unsigned char key[32] = {1}, iv[12] = {2}, packet[1200];
    memset(packet, 0x5a, sizeof packet);
    const int header = 13, payload = 1200 - 13 - 16;
    EVP_CIPHER_CTX *seal = EVP_CIPHER_CTX_new(), *open = EVP_CIPHER_CTX_new();
    EVP_CipherInit_ex(seal, cipher, NULL, key, NULL, 1);
    EVP_CipherInit_ex(open, cipher, NULL, key, NULL, 0);
    double best = 0;
    for (int run = 0; run < 3; run++) {
        long pairs = 0;
        double start = now(), cpu_start = cpu(), elapsed;
        do {
            for (int i = 0; i < 64; i++) {
                int outl;
                iv[11]++;
                EVP_CipherInit_ex(seal, NULL, NULL, NULL, iv, 1);
                EVP_CipherUpdate(seal, NULL, &outl, packet, header);
                EVP_CipherUpdate(seal, packet + header, &outl, packet + header, payload);
                EVP_CipherFinal_ex(seal, packet + header + payload, &outl);
                EVP_CIPHER_CTX_ctrl(seal, EVP_CTRL_AEAD_GET_TAG, 16, packet + header + payload);
                EVP_CipherInit_ex(open, NULL, NULL, NULL, iv, 0);
                EVP_CIPHER_CTX_ctrl(open, EVP_CTRL_AEAD_SET_TAG, 16, packet + header + payload);
                EVP_CipherUpdate(open, NULL, &outl, packet, header);
                EVP_CipherUpdate(open, packet + header, &outl, packet + header, payload);
                if (EVP_CipherFinal_ex(open, packet + header + payload, &outl) != 1) {
                    fprintf(stderr, "tag mismatch\n");
                    return 1;
                }
            }
            pairs += 64;
            elapsed = now() - start;
        } while (elapsed < seconds);
        elapsed = cpu() - cpu_start;
        if (elapsed > 0 && pairs / elapsed > best) best = pairs / elapsed;
    }
    printf("C reference %s seal+open: %.1f k pairs/s = %.1f MB/s\n", name, best / 1e3, 2 * best * 1200 / 1e6);
    return 0;
}
