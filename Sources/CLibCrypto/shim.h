// The one-shot and incremental SHA-256 functions are the fastest path in OpenSSL 3 for small inputs
// (no EVP context allocation per hash); they are marked deprecated, not removed.
#define OPENSSL_SUPPRESS_DEPRECATED 1
#include <openssl/sha.h>
#include <openssl/crypto.h>
