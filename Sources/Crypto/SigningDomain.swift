/// The signing domains of PROTOCOL.md. Every signature in Totem is over
/// `domain || 0x00 || genesisHash || body`, so no signature is valid on another chain or in
/// another role. Project-internal domains are listed here too, so no two roles share one.
public enum SigningDomain: String, Sendable, CaseIterable {
    case tx = "totem/tx/v1"
    case prepare = "totem/prepare/v1"
    case commit = "totem/commit/v1"
    case handshake = "totem/handshake/v1"
    /// Consensus messages other than prepare/commit votes (proposal, view change, new view).
    case consensus = "totem/consensus/v1"
    /// A candidate validator's join request (`totemd validator join`; docs/ops/validator-changes.md):
    /// proves it holds the key the validators are asked to vote in. Not a consensus message.
    case joinRequest = "totem/join-request/v1"
    /// A validator's signature on a `Checkpoint` (PROTOCOL.md "Checkpoints"): the commitment a
    /// state-syncing node checks a snapshot against, since `stateRoot` commits to history only.
    case checkpoint = "totem/checkpoint/v1"

    /// The exact bytes that are signed for `body` on the chain with `genesisHash`.
    public func message<C: Collection>(genesisHash: Bytes32, body: C) -> [UInt8] where C.Element == UInt8 {
        var out = [UInt8]()
        out.reserveCapacity(rawValue.utf8.count + 1 + 32 + body.count)
        out.append(contentsOf: rawValue.utf8)
        out.append(0)
        genesisHash.append(to: &out)
        out.append(contentsOf: body)
        return out
    }
}
