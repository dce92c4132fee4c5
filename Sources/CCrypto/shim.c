// Translation unit for the CCrypto module; the shims are static inline in CCrypto.h.
#include "CCrypto.h"
