// libcrypto for Swift: the OpenSSL 3 headers swiftquic uses, plus shims for what
// Swift cannot import directly (function-like macros).
#ifndef SWIFTQUIC_CCRYPTO_H
#define SWIFTQUIC_CCRYPTO_H
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/core_names.h>
#include <openssl/params.h>
#include <openssl/rand.h>
#include <openssl/err.h>
#include <openssl/hmac.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <openssl/x509_vfy.h>
#include <openssl/pem.h>
#include <openssl/pkcs12.h>
#include <openssl/pkcs7.h>
#include <openssl/bio.h>
#include <openssl/ec.h>
#include <openssl/rsa.h>
#include <openssl/crypto.h>
#include <openssl/opensslv.h>

// OpenSSL_version_num() etc. are functions already; the shims below wrap macros.
static inline int ccrypto_EVP_PKEY_base_id(const EVP_PKEY *pkey) { return EVP_PKEY_get_base_id(pkey); }
static inline STACK_OF(X509) *ccrypto_sk_X509_new_null(void) { return sk_X509_new_null(); }
static inline int ccrypto_sk_X509_push(STACK_OF(X509) *sk, X509 *x) { return sk_X509_push(sk, x); }
static inline int ccrypto_sk_X509_num(const STACK_OF(X509) *sk) { return sk_X509_num(sk); }
static inline X509 *ccrypto_sk_X509_value(const STACK_OF(X509) *sk, int i) { return sk_X509_value(sk, i); }
static inline void ccrypto_sk_X509_pop_free(STACK_OF(X509) *sk) { sk_X509_pop_free(sk, X509_free); }
static inline void ccrypto_sk_X509_free(STACK_OF(X509) *sk) { sk_X509_free(sk); }

#endif

#ifndef SWIFTQUIC_CCRYPTO_PEM_SHIM
#define SWIFTQUIC_CCRYPTO_PEM_SHIM
// Password callback that never prompts on a terminal: it hands over the caller's
// NUL-terminated password (or nothing, so encrypted keys fail instead of blocking).
static inline int ccrypto_pem_password_cb(char *buf, int size, int rwflag, void *u) {
    (void)rwflag;
    if (u == NULL || size <= 0) return 0;
    const char *p = (const char *)u;
    int n = 0;
    while (p[n] != 0 && n < size) { buf[n] = p[n]; n++; }
    return n;
}
static inline EVP_PKEY *ccrypto_read_private_key(BIO *bio, const char *password) {
    return PEM_read_bio_PrivateKey(bio, NULL, ccrypto_pem_password_cb, (void *)password);
}
#endif
