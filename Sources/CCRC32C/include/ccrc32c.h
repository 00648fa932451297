// CRC-32C (Castagnoli) with the CPU's own instruction: SSE 4.2 `crc32` on x86-64, the ARMv8 CRC
// extension on AArch64. Storage's CRC32C uses it when `totem_crc32c_hardware()` says the CPU has
// it, and its table otherwise.
#ifndef TOTEM_CCRC32C_H
#define TOTEM_CCRC32C_H

#include <stddef.h>
#include <stdint.h>

/// 1 if this CPU computes CRC-32C itself (and `totem_crc32c_update` may be called), else 0.
int totem_crc32c_hardware(void);

/// Continues `crc` (the CRC-32C of earlier bytes; 0 for none) over `count` bytes at `bytes`.
uint32_t totem_crc32c_update(uint32_t crc, const void *bytes, size_t count);

#endif
