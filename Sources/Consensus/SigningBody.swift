import TotemCrypto

/// The exact bytes each consensus signature covers (big-endian, TCE style). Votes use PROTOCOL.md's
/// body; view changes and new views start with a tag byte so the two never share a body.
public enum SigningBody {
    static let viewChangeTag: UInt8 = 1
    static let newViewTag: UInt8 = 2

    /// `height:u64 | view:u32 | blockHash:bytes32`, for `totem/prepare/v1` and `totem/commit/v1`.
    public static func vote(height: UInt64, view: UInt32, blockHash: Bytes32) -> [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity(44)
        append(height, to: &out)
        append(view, to: &out)
        blockHash.append(to: &out)
        return out
    }

    /// `1:u8 | height:u64 | view:u32 | optional<lockView:u32 | lockHash:bytes32>`.
    public static func viewChange(height: UInt64, view: UInt32, lock: QuorumCertificate?) -> [UInt8] {
        var out: [UInt8] = [viewChangeTag]
        append(height, to: &out)
        append(view, to: &out)
        if let lock {
            out.append(1)
            append(lock.view, to: &out)
            lock.blockHash.append(to: &out)
        } else {
            out.append(0)
        }
        return out
    }

    /// `2:u8 | height:u64 | view:u32 | blockHash:bytes32 | list<bytes32>` of the view changes' signers.
    public static func newView(height: UInt64, view: UInt32, blockHash: Bytes32, signers: [Bytes32]) -> [UInt8] {
        var out: [UInt8] = [newViewTag]
        append(height, to: &out)
        append(view, to: &out)
        blockHash.append(to: &out)
        append(UInt32(truncatingIfNeeded: signers.count), to: &out)
        for s in signers { s.append(to: &out) }
        return out
    }

    static func append(_ v: UInt64, to out: inout [UInt8]) {
        for shift in stride(from: 56, through: 0, by: -8) { out.append(UInt8(truncatingIfNeeded: v >> UInt64(shift))) }
    }

    static func append(_ v: UInt32, to out: inout [UInt8]) {
        for shift in stride(from: 24, through: 0, by: -8) { out.append(UInt8(truncatingIfNeeded: v >> UInt32(shift))) }
    }
}
