import TotemCrypto
@testable import Consensus

/// The node around each replica as totemd is, with the node faults of `NodeFaults`: its clock, its
/// disk (signing-state slots, decided-block log, stored blocks) and where it can stop.
extension Simulator {
    /// Picks the honest replicas with a far clock or a flaky disk, and every replica's clock.
    mutating func assignNodeFaults() {
        let faults = options.faults
        guard faults.isOn else { return }
        var honest = nodes.indices.filter { nodes[$0].isHonest }
        for _ in 0..<faults.farClocks where !honest.isEmpty {
            nodes[honest.remove(at: faultRng.int(0...(honest.count - 1)))].farClock = true
        }
        for _ in 0..<faults.flakyDisks where !honest.isEmpty {
            nodes[honest.remove(at: faultRng.int(0...(honest.count - 1)))].flakyDisk = true
        }
        guard faults.clocks else { return }
        for i in nodes.indices { nodes[i].clock = SimClock.random(far: nodes[i].farClock, rng: &faultRng) }
    }

    /// Arms crashes inside steps and failing persists at random times of the fault phase.
    mutating func scheduleNodeFaults() {
        let faults = options.faults
        guard faults.isOn else { return }
        for i in nodes.indices { queue.push(.statusTick(i), at: faultRng.uint64(0...Self.statusIntervalMs)) }
        let honest = nodes.indices.filter { nodes[$0].isHonest }
        guard !honest.isEmpty else { return }
        if faults.midStepCrashes {
            for _ in 0..<faultRng.int(1...3) {
                queue.push(.armMidStepCrash(faultRng.pick(honest)), at: faultRng.uint64(0...options.faultPhaseMs))
            }
        }
        if faults.persistFaults {
            for _ in 0..<faultRng.int(1...3) {
                queue.push(.armPersistFault(faultRng.pick(honest)), at: faultRng.uint64(0...options.faultPhaseMs))
            }
        }
    }

    /// The node's P2P status, in node-fault seeds: every second each node tells its peers its
    /// height, and a node more than one block behind a peer asks it for blocks (totemd's
    /// `BlockSync`). Without it a replica that abstains after a restart, sending nothing, would
    /// never hear of the heights decided while it was down; in the other seeds every restarted
    /// replica times out and sends a view change, which peers ahead answer with a certificate.
    mutating func statusTick(_ i: Int) {
        if nodes[i].replica != nil {
            for j in nodes.indices where j != i { send(.status(height: nodes[i].chain.count), from: i, to: j) }
        }
        queue.push(.statusTick(i), at: now + Self.statusIntervalMs)
    }

    static let statusIntervalMs: UInt64 = 1_000

    mutating func statusReceived(_ h: Int, from: Int, to: Int) {
        guard h > nodes[to].chain.count + 1 else { return }
        log("r\(to) is behind r\(from) (height \(h)): asks for blocks")
        stats.catchUpRequests += 1
        send(.blockRequest(fromHeight: UInt64(nodes[to].chain.count + 1)), from: to, to: from)
    }

    /// What node `i` reads as "now": simulated time itself without clocks (as before they existed).
    func clockNow(_ i: Int) -> UInt64 { options.faults.clocks ? nodes[i].clock.nowMs(at: now) : now }

    /// The block node `i` builds at `height`: its time is its clock, raised above the parent's as
    /// the chain's `buildBlock` does. A Byzantine proposer sometimes builds an invalid block, or
    /// (with clocks) one whose time is far off.
    mutating func build(_ i: Int, height h: UInt64) -> TestBlock {
        let proposer = nodes[i].signer.publicKey
        var time: UInt64 = 0
        if options.faults.clocks {
            time = max(clockNow(i), parentTimeMs(i) + 1)
            if !nodes[i].isHonest, faultRng.chance(permille: 250) {
                time = faultRng.chance(permille: 500) ? time + faultRng.uint64(3_000...20_000) : parentTimeMs(i) + 1
            }
        }
        var block = TestBlock(height: h, parentHash: nodes[i].head, label: rng.next(), proposer: proposer, timestampMs: time)
        if !nodes[i].isHonest, rng.chance(permille: 200) {
            block = TestBlock(height: h, parentHash: nodes[i].head, label: block.label, valid: false, proposer: proposer,
                              timestampMs: time)
        }
        if nodes[i].isHonest, options.faults.clocks, distance(time, clockNow(i)) <= options.faults.maxClockDriftMs {
            timeChecks.insert(TimeCheck(node: i, block: block.hash))
        }
        return block
    }

    /// The time of node `i`'s head block (just below the genesis time at genesis, so block 1 may
    /// carry the genesis time itself).
    func parentTimeMs(_ i: Int) -> UInt64 { nodes[i].chain.last?.block.timestampMs ?? SimClock.genesisTimeMs - 1 }

    func distance(_ a: UInt64, _ b: UInt64) -> UInt64 { a > b ? a - b : b - a }

    /// The chain's check of a proposal as node `i` runs it: the block's validity bit and, with
    /// clocks, a time after its parent's and (unless re-proposed) within `maxClockDriftMs` of
    /// `nowMs`, the clock reading the replica passed on from the message's arrival.
    mutating func checkProposal(_ i: Int, _ block: TestBlock, reproposal: Bool, nowMs: UInt64) -> Bool {
        guard block.valid else { return false }
        guard options.faults.clocks else { return true }
        guard block.timestampMs > parentTimeMs(i) else { return false }
        if reproposal { return true }
        let skips = options.faults.nodeBug == .skipsDriftCheck && nodes[i].isHonest
        guard distance(block.timestampMs, nowMs) <= options.faults.maxClockDriftMs else {
            stats.driftRefusals += 1
            return skips
        }
        if nodes[i].isHonest { timeChecks.insert(TimeCheck(node: i, block: block.hash)) }
        return true
    }

    /// The node stops: its replica and timers are gone, its disk stays. A flaky disk may also lose
    /// its newest signing-state record (damaged after it was synced, so its votes may have gone out).
    mutating func crash(_ i: Int, _ why: String = "") {
        log("r\(i) CRASH" + (why.isEmpty ? "" : " " + why))
        nodes[i].replica = nil
        nodes[i].incarnation += 1
        nodes[i].midStepCrashArmed = false
        nodes[i].persistFaultArmed = false
        // Only a record that holds a signing state: damage to the empty record the files are
        // created with loses nothing. (Seed 18852 damaged one and tore the first write, which
        // SlotFile then put beside the only valid record; it now writes to the other slot.)
        if nodes[i].flakyDisk, !nodes[i].signingFile.isDamaged, faultRng.chance(permille: 400), nodes[i].signingFile.sequence > 0 {
            nodes[i].signingFile.damageNewest()
            stats.damagedSlots += 1
            log("r\(i) newest signing-state record damaged")
        }
    }

    /// A node stopped by a node fault comes back later (or at the heal).
    mutating func scheduleRestart(_ i: Int) {
        if faultRng.chance(permille: 800) { queue.push(.restart(i), at: now + faultRng.uint64(50...2_000)) }
    }

    /// What a starting node reads from its disk, as totemd does: the logged decided block that the
    /// stored blocks lack (stored first), the newest valid signing-state record, and whether a slot
    /// was damaged (the replica then abstains at the next height). Nil if the node cannot start;
    /// the invariants of a restart are checked here.
    mutating func load(_ i: Int) -> Loaded? {
        guard let signing = nodes[i].signingFile.open(), let logged = nodes[i].decidedLog.open() else {
            violation = "r\(i) cannot start: neither slot of a record file is valid"
            return nil
        }
        if let b = logged.payload, b.block.height == UInt64(nodes[i].chain.count + 1), b.block.parentHash == nodes[i].head {
            nodes[i].chain.append(b)
            log("r\(i) stored the logged block h=\(b.block.height)")
        }
        let h = UInt64(nodes[i].chain.count + 1)
        if nodes[i].chain.count < nodes[i].reported {
            violation = "r\(i) restarted at height \(h) but had reported \(nodes[i].reported) blocks committed"
            return nil
        }
        if let s = signing.payload, s.height > h {
            violation = "r\(i) restarted with a signing state at h=\(s.height) above its chain of \(nodes[i].chain.count)"
            return nil
        }
        guard signing.damaged, options.faults.nodeBug != .ignoresDamagedSlot else { return Loaded(abstainAt: nil) }
        stats.abstentions += 1
        log("r\(i) found a damaged signing-state slot: abstains at h=\(h)")
        return Loaded(abstainAt: h)
    }

    struct Loaded { let abstainAt: UInt64? }

    /// The order the node performs a step's actions in: as given, except under the injected
    /// `sendsBeforePersist`, which performs each persist after the message that follows it.
    func nodeOrder(_ i: Int, _ actions: [Action<TestBlock>]) -> [Action<TestBlock>] {
        guard options.faults.nodeBug == .sendsBeforePersist, nodes[i].isHonest else { return actions }
        var out = actions
        var k = 0
        while k + 1 < out.count {
            if case .persistSigningState = out[k] {
                switch out[k + 1] {
                case .broadcast, .send:
                    out.swapAt(k, k + 1)
                    k += 1
                default: break
                }
            }
            k += 1
        }
        return out
    }

    /// Where an armed crash inside a step falls: before one of the actions after the first, in the
    /// first step with at least two; nil for no crash in this step.
    mutating func midStepCrashPoint(_ i: Int, actionCount: Int) -> Int? {
        guard nodes[i].midStepCrashArmed, !healed, actionCount >= 2 else { return nil }
        nodes[i].midStepCrashArmed = false
        return faultRng.int(1...(actionCount - 1))
    }

    /// Syncs the signing state, or, with a persist fault armed, stops the node as totemd does when
    /// the write throws: the disk then holds the old record, the new one (written but not known to
    /// be synced), or, on a flaky disk, a torn slot.
    mutating func persist(_ i: Int, _ s: SigningState<TestBlock>) {
        guard nodes[i].persistFaultArmed, !healed else { return nodes[i].signingFile.write(s) }
        switch faultRng.int(0...(nodes[i].flakyDisk ? 2 : 1)) {
        case 0: stats.persistFailures += 1
        case 1: nodes[i].signingFile.write(s); stats.persistFailures += 1
        default: nodes[i].signingFile.tear(); stats.tornWrites += 1
        }
        crash(i, "persisting the signing state h=\(s.height) v=\(s.view) failed")
        scheduleRestart(i)
    }

    /// Commits a decided block as totemd does: synced to the decided-block log, reported committed,
    /// stored (LMDB). With a persist fault armed the node stops before the log's sync returned (the
    /// record torn on a flaky disk) or after it, before the store. True if the block was stored.
    mutating func storeDecided(_ i: Int, _ b: CertifiedBlock<TestBlock>) -> Bool {
        if nodes[i].persistFaultArmed, !healed {
            switch faultRng.int(0...2) {
            case 0:
                if nodes[i].flakyDisk { nodes[i].decidedLog.tear(); stats.tornWrites += 1 } else { stats.persistFailures += 1 }
                crash(i, "logging the decided block h=\(b.block.height) failed")
            default:
                nodes[i].decidedLog.write(b)
                nodes[i].reported = Int(b.block.height)
                stats.persistFailures += 1
                crash(i, "storing the decided block h=\(b.block.height) failed after it was logged")
            }
            scheduleRestart(i)
            return false
        }
        nodes[i].decidedLog.write(b)
        nodes[i].reported = Int(b.block.height)
        nodes[i].chain.append(b)
        return true
    }
}
