/// Faults of one node rather than of the network (issue 13): its clock, its disk, and crashes in
/// the middle of a step. Off in most seeds; `SimOptions.random` turns them on in a share of them.
struct NodeFaults: Sendable, CustomStringConvertible {
    /// Each replica reads its own clock (`SimClock`), in-bound ones within ±`inBoundOffsetMaxMs`
    /// and 1% of the true rate; blocks carry a time and proposals are checked against the
    /// reader's clock. Off: blocks carry no time and nothing checks it (the runs before clocks).
    var clocks = false
    /// Honest replicas whose clock is beyond `maxClockDriftMs`: 2.5-40 s off, or running at half or
    /// 1.6 times the true rate (so its timers fire late or early too).
    var farClocks = 0
    /// A signing-state or decided-block persist fails part-way: the node stops (as totemd does when
    /// a store write throws), leaving the old record, or the new one if it reached the disk anyway.
    var persistFaults = false
    /// Honest replicas whose disk also tears a write in progress or damages the newest synced record
    /// when they crash: on restart the loader finds a damaged slot and the replica abstains.
    var flakyDisks = 0
    /// A crash between two actions of one step: the actions before it were performed, not the rest.
    var midStepCrashes = false
    /// A defect of the node around the replica, to show the faults above find it (debug builds
    /// only exist for the replica's own bugs; these live in the simulator's node model).
    var nodeBug: NodeBug = .none
    /// The genesis `maxClockDriftMs` (its default).
    var maxClockDriftMs: UInt64 = 2_000

    static let inBoundOffsetMaxMs: Int64 = 500

    enum NodeBug: String, Sendable {
        case none
        /// Performs a `persistSigningState` after the message that follows it, not before.
        case sendsBeforePersist
        /// Restarts after a damaged signing-state slot without abstaining.
        case ignoresDamagedSlot
        /// The chain's proposal check skips the clock-drift rule.
        case skipsDriftCheck
    }

    var isOn: Bool { clocks || persistFaults || midStepCrashes }

    /// Honest replicas that do not count as correct for liveness: a clock beyond the bound refuses
    /// the others' proposals, an abstaining replica signs nothing for a height.
    var faultyHonest: Int { farClocks + flakyDisks }

    var description: String {
        guard isOn else { return "" }
        return " clocks=\(clocks)(far \(farClocks)) persistFaults=\(persistFaults)(flaky disks \(flakyDisks)) "
            + "midStepCrashes=\(midStepCrashes)" + (nodeBug == .none ? "" : " nodeBug=\(nodeBug)")
    }

    /// A random mix of the node faults for `n` replicas. Far clocks and flaky disks are honest
    /// replicas that count as faulty for liveness: in most seeds they take the place of Byzantine
    /// ones (at most f faulty in all, liveness checked); in the rest they come on top (safety only).
    static func random(n: Int, byzantine: inout Int, rng: inout PRNG) -> NodeFaults {
        var x = NodeFaults()
        x.clocks = rng.chance(permille: 600)
        x.persistFaults = rng.chance(permille: 600)
        x.midStepCrashes = rng.chance(permille: 600)
        if !x.isOn { x.midStepCrashes = true }
        let f = (n - 1) / 3
        if x.clocks || x.persistFaults {
            let k = rng.int(0...f)
            for _ in 0..<k {
                if x.clocks && (!x.persistFaults || rng.chance(permille: 500)) { x.farClocks += 1 } else { x.flakyDisks += 1 }
            }
            if rng.chance(permille: 800) { byzantine = max(0, f - k) }
        }
        return x
    }
}

/// A replica's wall clock at simulated time `t`: `epochMs + offsetMs + t * ratePermille / 1000`.
/// A constant offset moves the times it reads (block times, the drift check); a rate other than
/// 1000 also stretches its timers.
struct SimClock: Sendable {
    /// Simulated time 0 on a true clock.
    static let epochMs: UInt64 = 1_700_000_000_000
    /// The genesis time: block 1's time is at least this.
    static let genesisTimeMs: UInt64 = epochMs - 60_000
    var offsetMs: Int64 = 0
    var ratePermille: UInt64 = 1000

    func nowMs(at t: UInt64) -> UInt64 {
        UInt64(Int64(Self.epochMs) + offsetMs + Int64(t * ratePermille / 1000))
    }

    /// Simulated time for `ms` to pass on this clock (a timer of `ms`).
    func duration(_ ms: UInt64) -> UInt64 { ms * 1000 / ratePermille }

    /// A clock within the drift bound, or (`far`) beyond it.
    static func random(far: Bool, rng: inout PRNG) -> SimClock {
        guard far else {
            return SimClock(offsetMs: Int64(rng.int(-Int(NodeFaults.inBoundOffsetMaxMs)...Int(NodeFaults.inBoundOffsetMaxMs))),
                            ratePermille: rng.uint64(990...1010))
        }
        if rng.chance(permille: 500) { return SimClock(offsetMs: 0, ratePermille: rng.chance(permille: 500) ? 500 : 1600) }
        let off = Int64(rng.int(2_500...40_000))
        return SimClock(offsetMs: rng.chance(permille: 500) ? off : -off)
    }
}

/// The node's two-slot record file (`SlotFile`, Sources/Chain/Storage) as the simulator models it:
/// record n + 1 goes to the slot that does not hold record n, both slots start holding an empty
/// record (sequence 0), and opening takes the valid record with the highest sequence and reports a
/// slot without one as damage.
struct SimSlotFile<Payload: Sendable>: Sendable {
    enum Slot: Sendable {
        case record(sequence: UInt64, payload: Payload?)
        case damaged
    }

    private var slots: [Slot] = [.record(sequence: 0, payload: nil), .record(sequence: 0, payload: nil)]
    /// The newest record as the running process knows it (`SlotFile`'s in-memory state).
    private(set) var sequence: UInt64 = 0
    private(set) var current: Payload?
    private var newestSlot = 0

    var isDamaged: Bool { slots.contains { if case .damaged = $0 { true } else { false } } }

    /// A write whose sync returned.
    mutating func write(_ payload: Payload) {
        sequence += 1
        newestSlot = 1 - newestSlot
        slots[newestSlot] = .record(sequence: sequence, payload: payload)
        current = payload
    }

    /// A write torn by a crash: its slot holds no valid record (the process stops with it).
    mutating func tear() { slots[1 - newestSlot] = .damaged }

    /// The newest record damaged after its sync returned: what it covered may have been sent.
    mutating func damageNewest() { slots[newestSlot] = .damaged }

    /// What a restarted node reads: the newest valid record's payload and whether a slot is
    /// damaged; nil if neither slot is valid (the node refuses to start).
    mutating func open() -> (payload: Payload?, damaged: Bool)? {
        var newest: (sequence: UInt64, payload: Payload?, slot: Int)?
        for (i, slot) in slots.enumerated() {
            guard case let .record(s, p) = slot else { continue }
            // Equal sequences (the two creation records): slot a counts as the newest, as in SlotFile.
            if newest == nil || s > newest!.sequence { newest = (s, p, i) }
        }
        guard let newest else { return nil }
        sequence = newest.sequence
        current = newest.payload
        newestSlot = newest.slot
        return (newest.payload, isDamaged)
    }
}
