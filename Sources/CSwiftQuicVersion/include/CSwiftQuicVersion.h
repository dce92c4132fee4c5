// Build facts of libswiftquic.so that only the package manifest knows (the git commit), handed
// to Swift as a C function because SwiftPM can pass a string define to C but not to Swift.
#ifndef CSWIFTQUIC_VERSION_H
#define CSWIFTQUIC_VERSION_H

// The commit libswiftquic was built from (QUIC_PARAM_GLOBAL_LIBRARY_GIT_HASH), or "unknown"
// when the package was built outside a git checkout.
const char *swiftquic_git_hash(void);

#endif
