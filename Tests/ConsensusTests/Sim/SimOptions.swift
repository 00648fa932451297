@testable import Consensus

/// Everything a seed decides about one simulated run.
struct SimOptions: Sendable, CustomStringConvertible {
    var n = 4
    var byzantine = 1
    /// Faults are on during `[0, faultPhaseMs)`; then the network heals and is synchronous.
    var faultPhaseMs: UInt64 = 4_000
    /// After healing, every honest replica must commit `newBlocksAfterHeal` more blocks within this.
    var healBoundMs: UInt64 = 20_000
    var newBlocksAfterHeal = 2
    var dropPermille = 0
    var duplicatePermille = 0
    var delayMs: ClosedRange<UInt64> = 5...50
    var healDelayMs: ClosedRange<UInt64> = 5...30
    var partitions = false
    var crashes = false
    /// Stop after this much simulated time even without faults (statistics runs).
    var runMs: UInt64?
    #if TOTEM_FAULT_INJECTION
    /// The bug injected into every honest replica (debug builds only; see `InjectedBug`).
    var bug: InjectedBug = .none
    #endif
    /// A block that adopts removing one Byzantine validator (in force two heights later), if any.
    var setChangeAdoptedAt: UInt64?
    /// Scripted outages on top of the random ones: node, crash time, restart time (nil: never).
    var outages: [(node: Int, crashMs: UInt64, restartMs: UInt64?)] = []
    /// Nodes that get no `workPending` at boot (they still start their timer on a proposal).
    var idle: Set<Int> = []
    var config = ReplicaConfig(proposalTimeoutMs: 200, maxProposalTimeoutMs: 1600, emptyBlockIntervalMs: 1000)
    /// Clock skew, failing and torn persists, crashes in the middle of a step.
    var faults = NodeFaults()
    /// Check at each send that the persisted signing state covers the vote. Off only where a test
    /// shows that the comparison of everything sent across restarts catches a defect on its own.
    var checkPersistCover = true

    /// Liveness is promised only while at most f validators are faulty: Byzantine ones, and honest
    /// ones with a clock beyond the bound or a disk that makes them abstain.
    var livenessExpected: Bool { byzantine + faults.faultyHonest <= (n - 1) / 3 }

    var description: String {
        "n=\(n) byzantine=\(byzantine) faultPhase=\(faultPhaseMs)ms drop=\(dropPermille)‰ dup=\(duplicatePermille)‰ "
            + "delay=\(delayMs.lowerBound)-\(delayMs.upperBound)ms partitions=\(partitions) crashes=\(crashes) "
            + "setChange=\(setChangeAdoptedAt.map { "at \($0)" } ?? "none")\(bugDescription)\(faults)"
    }

    var bugDescription: String {
        #if TOTEM_FAULT_INJECTION
        " bug=\(bug)"
        #else
        ""
        #endif
    }

    /// The fault mix of `seed`: n = 4 or 7 with f Byzantine replicas, and a random share of every
    /// network and crash fault; node faults in `nodeFaultsPermille` of the seeds unless `nodeFaults`
    /// is false (the mix before they existed).
    static func random(seed: UInt64, harsh: Bool = false, nodeFaults: Bool = true) -> SimOptions {
        var rng = PRNG(seed: seed ^ 0x5151_5151)
        var o = SimOptions()
        o.n = rng.chance(permille: 500) ? 4 : 7
        o.byzantine = (o.n - 1) / 3
        o.faultPhaseMs = rng.uint64(2_000...(harsh ? 12_000 : 5_000))
        o.dropPermille = rng.int(0...(harsh ? 450 : 250))
        o.duplicatePermille = rng.int(0...150)
        let maxDelay = rng.uint64(10...400)
        o.delayMs = 1...maxDelay
        o.partitions = rng.chance(permille: 500)
        o.crashes = rng.chance(permille: 600)
        if rng.chance(permille: 300) { o.setChangeAdoptedAt = rng.uint64(1...4) }
        // Drawn last, so the seeds without node faults run exactly as before they existed.
        if nodeFaults, rng.chance(permille: nodeFaultsPermille) { o.faults = NodeFaults.random(n: o.n, byzantine: &o.byzantine, rng: &rng) }
        return o
    }

    /// The share of seeds with node faults (clocks, persists, crashes inside a step).
    static let nodeFaultsPermille = 300

    /// The mix of the node-bug tests (`SimulatorScenarioTests`): the normal mix with crashes, with
    /// every node fault on and one flaky disk (or, for `skipsDriftCheck`, one far clock), no
    /// Byzantine replica, and the at-send persist check off (so only the comparison of everything
    /// sent across restarts, or the certificate-time check, can catch the bug).
    static func nodeBugMix(seed: UInt64, bug: NodeFaults.NodeBug) -> SimOptions {
        var o = random(seed: seed)
        o.crashes = true
        o.faults.clocks = true
        o.faults.persistFaults = true
        o.faults.midStepCrashes = true
        o.faults.farClocks = bug == .skipsDriftCheck ? 1 : 0
        o.faults.flakyDisks = bug == .skipsDriftCheck ? 0 : 1
        o.byzantine = 0
        o.faults.nodeBug = bug
        o.checkPersistCover = false
        return o
    }
}
