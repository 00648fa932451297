#!/usr/bin/env python3
"""Splits a `perf record` profile of one totemd process into the parts issue 15 asks for:
signature checks, LMDB, codec and hashing, networking, the Swift runtime (reference counting,
allocation, hashing of dictionary keys), the kernel, the rest of the node's own code, and idle.

Usage: perf_split.py PERF_DATA WALL_SECONDS CORES HZ (the -F of perf record)
Reads `perf script` output (self time: the leaf frame of each sample decides its part). "idle" is
the share of CORES x WALL_SECONDS the process was not on a CPU, which with cpu-clock sampling is
what its samples do not cover.
"""

import collections
import re
import subprocess
import sys

# First match wins, checked against "symbol dso" of the leaf frame.
PARTS = [
    # libsodium ships without symbols here and its frames carry no frame pointers, so its samples
    # are told apart by library only: the ChaCha20-Poly1305 of P2P frames is counted here too
    # (by address, ~95 % of libsodium's samples fall in one region: the Ed25519 field arithmetic).
    ("signature checks (libsodium Ed25519)", re.compile(
        r"crypto_sign|ed25519|ge25519|fe25519|sc25519|_ge_|_fe_|crypto_verify|libsodium")),
    ("LMDB", re.compile(r"\bmdb_|liblmdb|mdb\.c|\bMDB")),
    ("codec and hashing (TCE, SHA-256, CRC-32C, JSON)", re.compile(
        r"libcrypto|TCE|Codec|sha256|SHA256|sha512_block|crc32|CRC32|Checksum|JSON|Hex|encode|decode|Merkle", re.I)),
    ("networking (SwiftNIO, ChaCha20-Poly1305, sockets)", re.compile(
        r"NIO|chacha|poly1305|ChaCha|Poly1305|Hummingbird|HTTP|epoll|sendmsg|recvmsg|tcp_|__sys_sendto|__sys_recvfrom")),
    ("Swift runtime (retain/release, allocation, dictionary hashing)", re.compile(
        r"swift_retain|swift_release|swift_bridgeObject|swift_allocObject|swift_deallocObject|swift_slowAlloc|"
        r"swift_slowDealloc|swift_beginAccess|swift_endAccess|swift_isUniquelyReferenced|swift_dynamicCast|"
        r"swift_arrayInit|swift_arrayDestroy|malloc|free|_int_free|_int_malloc|cfree|memmove|memcpy|"
        r"Hasher|_hash|SipHash|libswiftCore|swift_getGenericMetadata|swift_once|libdispatch")),
    ("kernel only (scheduling, interrupts; no user frame)", re.compile(r"\[kernel\.kallsyms\]")),
]
OTHER = "the node's own code (state machine, mempool, consensus) and the rest"


def samples(perf_data: str):
    """Each sample as (the frame that decides its part, whether it was taken in the kernel). The
    deciding frame is the innermost one outside the kernel: time in a system call or a page fault
    counts for the code that made it (a socket write for networking, an fdatasync for LMDB)."""
    out = subprocess.run(["perf", "script", "-i", perf_data, "-F", "ip,sym,dso"], capture_output=True,
                         text=True, check=True).stdout
    stack: list[str] = []

    def decided():
        user = next((f for f in stack if "[kernel.kallsyms]" not in f), None)
        return (user or stack[0], "[kernel.kallsyms]" in stack[0])

    for line in out.splitlines():
        line = line.strip()
        if line:
            stack.append(line.split(" ", 1)[1] if " " in line else line)  # drop the address
        elif stack:
            yield decided()
            stack = []
    if stack:
        yield decided()


def main() -> int:
    perf_data, wall_s, cores, hz = sys.argv[1], float(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    counts = collections.Counter()
    in_kernel = 0
    for frame, kernel in samples(perf_data):
        part = next((name for name, rx in PARTS if rx.search(frame)), OTHER)
        counts[part] += 1
        in_kernel += kernel
    total = sum(counts.values())
    if total == 0:
        print("no samples")
        return 1
    # perf record -F HZ samples each on-CPU thread HZ times a second.
    cpu_s = total / hz
    busy = min(1.0, cpu_s / (wall_s * cores))
    print(f"samples {total} at {hz} Hz: {cpu_s:.1f} CPU-seconds in {wall_s:.0f} s on {cores} cores "
          f"({100 * busy:.0f} % busy, {100 * (1 - busy):.0f} % idle)")
    print(f"share of the node's CPU time ({100 * in_kernel / total:.0f} % of it in the kernel, counted for the "
          f"code that entered it):")
    for name, _ in PARTS + [(OTHER, None)]:
        print(f"  {100 * counts[name] / total:5.1f} %  {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
