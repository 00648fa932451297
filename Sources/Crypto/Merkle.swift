/// RFC 6962 (Certificate Transparency) Merkle tree hashing, as PROTOCOL.md uses it for `txRoot`:
/// leaf = SHA-256(0x00 || data), node = SHA-256(0x01 || left || right), empty tree = SHA-256("").
///
/// The distinct leaf and node prefixes keep a leaf from ever being read as an inner node (second
/// preimage attacks). Proofs live in `MerkleTree` (generation) and `MerkleProof` (verification).
public enum Merkle {
    /// The root of the tree with no leaves: SHA-256 of the empty string.
    public static let emptyRoot: Bytes32 = SHA256.hash([UInt8]())

    /// The leaf hash of `data`: SHA-256(0x00 || data).
    public static func leafHash(_ data: [UInt8]) -> Bytes32 {
        data.withUnsafeBytes { leafHash(raw: $0) }
    }

    /// The leaf hash of `data`: SHA-256(0x00 || data).
    public static func leafHash(_ data: ArraySlice<UInt8>) -> Bytes32 {
        data.withUnsafeBytes { leafHash(raw: $0) }
    }

    /// The leaf hash of the bytes in `raw`: SHA-256(0x00 || raw).
    public static func leafHash(raw: UnsafeRawBufferPointer) -> Bytes32 {
        var h = Hasher256()
        h.update(byte: 0x00)
        h.update(raw: raw)
        return h.finalize()
    }

    /// The hash of an inner node: SHA-256(0x01 || left || right).
    @inline(__always)
    public static func nodeHash(_ left: Bytes32, _ right: Bytes32) -> Bytes32 {
        // Nine big-endian words on the stack; the prefix byte is the last byte of the first word,
        // so the 65 hashed bytes start at offset 7 and no heap buffer is needed.
        var block = (UInt64(1).bigEndian,
                     left.w0.bigEndian, left.w1.bigEndian, left.w2.bigEndian, left.w3.bigEndian,
                     right.w0.bigEndian, right.w1.bigEndian, right.w2.bigEndian, right.w3.bigEndian)
        return withUnsafeBytes(of: &block) { raw in
            SHA256.hash(raw: UnsafeRawBufferPointer(rebasing: raw[7..<72]))
        }
    }

    /// The RFC 6962 root (Merkle Tree Hash) over `leaves`, in order: `txRoot` over SignedTx bytes.
    public static func root(leaves: [[UInt8]]) -> Bytes32 {
        var level = [Bytes32]()
        level.reserveCapacity(leaves.count)
        for leaf in leaves { level.append(leafHash(leaf)) }
        return reduceInPlace(&level)
    }

    /// The RFC 6962 root over leaves whose leaf hashes (SHA-256(0x00 || data)) are already known.
    public static func root(leafHashes: [Bytes32]) -> Bytes32 {
        var level = leafHashes
        return reduceInPlace(&level)
    }

    /// Reduces one level at a time inside `level`'s own storage: one buffer, no array per level.
    ///
    /// Pairing nodes left to right and carrying a lone last node up unchanged builds exactly the
    /// RFC 6962 tree, whose left subtree is always the largest perfect tree (a power of two) that
    /// fits; `MerkleTree` relies on the same fact.
    static func reduceInPlace(_ level: inout [Bytes32]) -> Bytes32 {
        guard !level.isEmpty else { return emptyRoot }
        return level.withUnsafeMutableBufferPointer { buf in
            var count = buf.count
            while count > 1 {
                let pairs = count / 2
                for i in 0..<pairs { buf[i] = nodeHash(buf[2 * i], buf[2 * i + 1]) }
                if count % 2 == 1 { buf[pairs] = buf[count - 1] }
                count = pairs + count % 2
            }
            return buf[0]
        }
    }
}
