// The one cryptodev-linux ABI header of the repository
// (include/crypto/cryptodev.h), included from C++: it checks its x86-64
// layouts with C11's _Static_assert, which C++ spells static_assert.
#ifndef VCRYPTODEV_BINDING_CRYPTODEV_ABI_H
#define VCRYPTODEV_BINDING_CRYPTODEV_ABI_H

#if defined(__cplusplus) && !defined(_Static_assert)
#define _Static_assert static_assert
#include <crypto/cryptodev.h>
#undef _Static_assert
#else
#include <crypto/cryptodev.h>
#endif

#endif  // VCRYPTODEV_BINDING_CRYPTODEV_ABI_H
