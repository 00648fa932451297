import CCRC32C

/// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), the checksum every value the store
/// writes carries (`RecordChecksum`). With the CPU's instruction where it has one (SSE 4.2 on
/// x86-64, the CRC extension on AArch64: `CCRC32C`), else table-driven, slicing-by-8: eight bytes
/// per step. Both give the same checksums (CRC32CTests compares them).
public enum CRC32C {
    /// Whether this CPU computes CRC-32C itself.
    public static let hardware = totem_crc32c_hardware() != 0
    private static let polynomial: UInt32 = 0x82F6_3B78
    private static let bytesPerStep = 8

    /// Eight tables of 256 entries, flat: entry `k * 256 + b` is the CRC of byte `b` followed by
    /// `k` zero bytes.
    private static let table: [UInt32] = {
        var t = [UInt32](repeating: 0, count: 256 * bytesPerStep)
        for b in 0..<256 {
            var c = UInt32(b)
            for _ in 0..<8 { c = c & 1 == 1 ? (c >> 1) ^ polynomial : c >> 1 }
            t[b] = c
        }
        for k in 1..<bytesPerStep {
            for b in 0..<256 {
                let previous = t[(k - 1) * 256 + b]
                t[k * 256 + b] = (previous >> 8) ^ t[Int(previous & 0xFF)]
            }
        }
        return t
    }()

    /// The CRC-32C of `bytes`.
    public static func checksum(_ bytes: [UInt8]) -> UInt32 {
        bytes.withUnsafeBytes { update(0, $0) }
    }

    /// Continues `crc` (the checksum of earlier bytes; 0 for none) over `bytes`.
    public static func update(_ crc: UInt32, _ bytes: UnsafeRawBufferPointer) -> UInt32 {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return crc }
        return hardware ? totem_crc32c_update(crc, base, bytes.count) : tableUpdate(crc, bytes)
    }

    /// `update` with the table, whatever the CPU.
    static func tableUpdate(_ crc: UInt32, _ bytes: UnsafeRawBufferPointer) -> UInt32 {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return crc }
        return table.withUnsafeBufferPointer { t in
            var c = ~crc
            var p = base
            var left = bytes.count
            while left >= bytesPerStep {
                let x = c ^ UInt32(littleEndian: p.loadUnaligned(as: UInt32.self))
                let y = UInt32(littleEndian: p.loadUnaligned(fromByteOffset: 4, as: UInt32.self))
                c = t[7 * 256 + Int(x & 0xFF)] ^ t[6 * 256 + Int((x >> 8) & 0xFF)]
                    ^ t[5 * 256 + Int((x >> 16) & 0xFF)] ^ t[4 * 256 + Int(x >> 24)]
                    ^ t[3 * 256 + Int(y & 0xFF)] ^ t[2 * 256 + Int((y >> 8) & 0xFF)]
                    ^ t[256 + Int((y >> 16) & 0xFF)] ^ t[Int(y >> 24)]
                p += bytesPerStep
                left -= bytesPerStep
            }
            while left > 0 {
                c = (c >> 8) ^ t[Int((c ^ UInt32(p.load(as: UInt8.self))) & 0xFF)]
                p += 1
                left -= 1
            }
            return ~c
        }
    }
}
