/// Every bound of the consensus core, in one place (STYLE.md §4). Units go last in names.
public enum ConsensusLimits {
    /// Views above the current one whose votes and view changes are kept.
    public static let viewsAheadMax: UInt32 = 4
    /// Views below the current one whose commit votes are still kept (a late commit quorum decides).
    public static let viewsBehindMax: UInt32 = 4
    /// Distinct blocks remembered per height (proposals, locked blocks in view changes).
    public static let blocksPerHeightMax = 16
    /// Messages for the next height buffered until the replica gets there, in total and per peer.
    public static let futureMessagesMax = 512
    public static let futureMessagesPerPeerMax = 32
    /// Proposal checks (`checkProposal`) awaiting their answer; the oldest is forgotten beyond it
    /// (its answer is then ignored). A runtime that answers at once has at most one pending.
    public static let checksPendingMax = 8
    /// Pieces of equivocation evidence remembered (to report each once).
    public static let evidenceMax = 64
    /// Blocks held from a catch-up answer that cannot be applied yet.
    public static let catchUpBlocksMax = 64
    /// Peers remembered as holding the blocks catch-up needs (asked in turn).
    public static let catchUpPeersMax = 8
    /// Laggards answered with a commit certificate per height for their votes (view changes and
    /// proposals are answered every time: they come at most once per timeout).
    public static let laggardVoteAnswersMax = 256
    /// Largest encoded block inside a consensus message or the signing state (genesis
    /// `maxBlockBytes` is 8 MiB by default; the encoding adds the header and length prefixes).
    public static let encodedBlockMaxBytes = 16 * 1024 * 1024
    /// Largest validator set in a message (one signature or view change per validator).
    public static let validatorsMax = 1024
    /// Highest view a replica moves to; reaching it would take centuries of capped timeouts.
    public static let viewMax: UInt32 = UInt32.max - 1
}
