/// Where a signing state stands: its height and view.
struct SigningPosition: Sendable, Equatable, Comparable, CustomStringConvertible {
    let height: UInt64
    let view: UInt32

    static func < (a: SigningPosition, b: SigningPosition) -> Bool { (a.height, a.view) < (b.height, b.view) }
    var description: String { "height \(height) view \(view)" }
}

/// Which signing state `totemd backup restore` writes into a home (docs/ops/backup.md, "The
/// signing state"). Pure: the command reads the records and writes the one chosen.
///
/// The signing state is a safety record: a validator that restarts from an older one than the last
/// it synced may sign a vote contradicting one it sent (a double sign). A backup's record is as old
/// as the backup, and the validator went on voting after it. So the restore never writes a record
/// older than the newest one it knows of, and when it knows of none it can trust, it writes a fence:
/// a record at a height above every height the validator may have voted at, with nothing signed.
/// A record above the stored chain makes the node follow without voting through its height
/// (`ConsensusDriver.makeReplica`, `Replica.abstainThroughHeight`), then vote afresh.
enum SigningStateChoice: Equatable {
    /// Keep the home's own record (intact, and the newest known).
    case home(SigningPosition)
    /// The backup's record, taken from this same node, is newer than the home's.
    case backup(SigningPosition)
    /// A new record at `height` with nothing signed: the validator signs nothing below it.
    case fence(height: UInt64)
    /// No record: a node that is not a validator, with none anywhere.
    case none

    /// What the restore knows.
    struct Known: Equatable {
        /// The record in the home before the restore, and whether one of its slots was damaged
        /// (then the newest record may be lost, and the survivor is not trusted).
        var home: SigningPosition?
        var homeDamaged = false
        /// The backup's record, when the backup was taken from this node's key (another node's
        /// record says nothing about this one's votes).
        var backupOfThisNode: SigningPosition?
        /// The highest height this validator may have voted at, from the operator (`--fence-height`)
        /// or a running node (`--api`: its tip plus `BackupLimits.fenceMarginHeights`).
        var votedAtMost: UInt64?
        /// Whether the home is a validator's (config `role`).
        var isValidator: Bool
    }

    /// The choice for `known`, or a refusal saying what to give. Of the candidates the newest wins;
    /// at equal positions a real record beats a fence (it may hold votes at that height that a
    /// fence would let the validator contradict) and the home's beats the backup's.
    static func choose(_ known: Known) throws(BackupError) -> SigningStateChoice {
        let trustedHome = known.homeDamaged ? nil : known.home
        if known.isValidator && trustedHome == nil && known.votedAtMost == nil {
            let why = known.homeDamaged ? "the home's signing state is damaged (its newest record may be lost)"
                : "the home has no signing state"
            throw BackupError("\(why), so the votes this validator sent since the backup are unknown and restoring could "
                              + "let it contradict them. Give --api URL (a running node of the network: the validator "
                              + "will not vote up to its height + \(BackupLimits.fenceMarginHeights)) or --fence-height H "
                              + "(it will not vote at or below H)")
        }
        // Rank breaks ties: home 2, backup 1, fence 0.
        var candidates: [(position: SigningPosition, rank: Int, choice: SigningStateChoice)] = []
        if let home = trustedHome { candidates.append((home, 2, .home(home))) }
        if let backup = known.backupOfThisNode { candidates.append((backup, 1, .backup(backup))) }
        // A damaged home's surviving record is a floor: the lost one was newer.
        let votedAtMost = known.homeDamaged ? known.home.map { max($0.height, known.votedAtMost ?? 0) } ?? known.votedAtMost
            : known.votedAtMost
        if let voted = votedAtMost {
            let fence = voted == .max ? voted : voted + 1
            candidates.append((SigningPosition(height: fence, view: 0), 0, .fence(height: fence)))
        }
        let best = candidates.max { ($0.position, $0.rank) < ($1.position, $1.rank) }
        return best?.choice ?? .none
    }
}
