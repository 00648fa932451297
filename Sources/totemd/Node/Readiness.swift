/// Whether a node is ready to serve and to take part (`GET /readyz`), as a pure function of what
/// the node observes, so each reason is tested with values. A node that is not ready says why,
/// with every reason that holds, each with a stable code.
enum Readiness {
    struct Inputs: Sendable, Equatable {
        /// The node's key is in the validator set in force (it votes).
        var isVoting: Bool
        /// Validators of the set in force, and how many commits decide (q).
        var validatorCount: Int
        var quorum: Int
        /// Connected peers, and how many of them are validators of the set in force (not this node).
        var peersConnected: Int
        var validatorPeersConnected: Int
        /// The catch-up state: behind the peers' tip, or not yet heard from a peer since start.
        var catchingUp: Bool
        var blocksBehind: UInt64
        /// The committed height these were read at (said with the answer, judged by nothing).
        var height: UInt64 = 0
        /// Free bytes on the data directory's disk (nil: unknown) and the configured minimum.
        var freeBytes: UInt64?
        var minFreeBytes: UInt64
        /// This node's clock minus the time of the last committed block another validator proposed
        /// (nil: none seen since start), and the genesis bound on proposal times.
        var clockOffsetMs: Int64?
        var maxClockDriftMs: UInt64
        /// Why this validator signs nothing at its height, if it does not (nil: it votes, or it is
        /// not a validator).
        var abstention: Abstention? = nil
        /// A state sync under way: chunks in the store and in all (nil: none; total 0 while the
        /// node still looks for a snapshot).
        var stateSync: (done: Int, total: Int)? = nil

        static func == (a: Inputs, b: Inputs) -> Bool {
            a.isVoting == b.isVoting && a.validatorCount == b.validatorCount && a.quorum == b.quorum
                && a.peersConnected == b.peersConnected && a.validatorPeersConnected == b.validatorPeersConnected
                && a.catchingUp == b.catchingUp && a.blocksBehind == b.blocksBehind && a.height == b.height && a.freeBytes == b.freeBytes
                && a.minFreeBytes == b.minFreeBytes && a.clockOffsetMs == b.clockOffsetMs
                && a.maxClockDriftMs == b.maxClockDriftMs && a.abstention == b.abstention
                && a.stateSync?.done == b.stateSync?.done && a.stateSync?.total == b.stateSync?.total
        }
    }

    /// Why a validator signs nothing at its current height (`ConsensusDriver.abstention`).
    enum Abstention: Sendable, Equatable {
        /// Started with no signing state: it waits to know the network's height (`SigningFence`).
        case awaitingNetworkHeight
        /// A fence, a restored backup or a damaged signing state: nothing up to this height.
        case through(UInt64)
    }

    struct Reason: Sendable, Equatable {
        let code: String
        let message: String
    }

    static func reasons(_ i: Inputs) -> [Reason] {
        var out: [Reason] = []
        if i.isVoting {
            // This node plus the validators it hears must make a quorum, or nothing it signs commits.
            let reachable = i.validatorPeersConnected + 1
            if reachable < i.quorum {
                out.append(Reason(code: "no_quorum_of_peers",
                                  message: "connected to \(i.validatorPeersConnected) of the \(i.validatorCount - 1) other validators; "
                                      + "with this one that is \(reachable), and \(i.quorum) are needed to commit"))
            }
        } else if i.peersConnected == 0 {
            out.append(Reason(code: "no_peers", message: "connected to no peer: this node cannot follow the chain"))
        }
        if let sync = i.stateSync {
            out.append(Reason(code: "syncing", message: sync.total == 0 ? "state sync: looking for a certified snapshot"
                                  : "state sync: \(sync.done) of \(sync.total) chunks (\(sync.done * 100 / sync.total) %)"))
        } else if i.catchingUp {
            out.append(Reason(code: "catching_up",
                              message: i.blocksBehind > 0 ? "\(i.blocksBehind) blocks behind the peers' tip, catching up"
                                  : "not yet heard the peers' tip since start"))
        }
        switch i.abstention {
        case .awaitingNetworkHeight:
            out.append(Reason(code: "abstaining",
                              message: "no signing state: not voting until the network's height is known (docs/operations.md)"))
        case .through(let height):
            out.append(Reason(code: "abstaining", message: "abstaining (fenced through height \(height)): signing nothing until "
                                  + "the others decide it"))
        case nil:
            break
        }
        if let free = i.freeBytes, free < i.minFreeBytes {
            out.append(Reason(code: "disk_nearly_full",
                              message: "\(free >> 20) MiB free on the data directory's disk, under the configured \(i.minFreeBytes >> 20) MiB"))
        }
        // The offset includes the block's way from proposal to commit (tens to hundreds of ms), so
        // only one beyond the bound itself is a reason; the log warns from half of it.
        if let offset = i.clockOffsetMs, offset.magnitude > i.maxClockDriftMs {
            out.append(Reason(code: "clock_offset",
                              message: "this node's clock is \(offset) ms from the time of the last block another validator proposed; "
                                  + "proposals more than \(i.maxClockDriftMs) ms off are refused (check NTP)"))
        }
        return out
    }
}
