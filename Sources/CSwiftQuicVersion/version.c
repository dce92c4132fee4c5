#include "CSwiftQuicVersion.h"

#ifndef SWIFTQUIC_GIT_HASH
#define SWIFTQUIC_GIT_HASH "unknown"
#endif

const char *swiftquic_git_hash(void) { return SWIFTQUIC_GIT_HASH; }
