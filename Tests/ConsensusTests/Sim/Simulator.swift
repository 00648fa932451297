import ChainModel
import TotemCrypto
@testable import Consensus

/// What travels between simulated nodes: consensus messages and the node-level block transfer of
/// catch-up.
enum Packet: Sendable {
    case consensus(Message<TestBlock>)
    case blockRequest(fromHeight: UInt64)
    case blockResponse([CertifiedBlock<TestBlock>])
    /// The P2P status: the sender's committed height (node-fault seeds only, see `statusTick`).
    case status(height: Int)
}

enum SimEvent: Sendable {
    case deliver(Packet, from: Int, to: Int)
    case timer(node: Int, Timeout, incarnation: Int)
    case build(node: Int, height: UInt64, view: UInt32, incarnation: Int)
    case crash(Int)
    case restart(Int)
    case partition([Int])
    case unpartition
    case heal
    case byzantineTick(Int)
    /// The node's next step with at least two actions crashes between two of them.
    case armMidStepCrash(Int)
    /// The node's next signing-state or decided-block persist fails (or tears, on a flaky disk).
    case armPersistFault(Int)
    /// The node announces its height to its peers (and again a second later).
    case statusTick(Int)
}

struct SimNode: Sendable {
    let index: Int
    let signer: FakeSigner
    var replica: Replica<TestBlock>?
    /// The disk: the signing-state slots, the decided-block log's slots, and the stored blocks
    /// (LMDB), which only grow.
    var signingFile = SimSlotFile<SigningState<TestBlock>>()
    var decidedLog = SimSlotFile<CertifiedBlock<TestBlock>>()
    var chain: [CertifiedBlock<TestBlock>] = []
    /// Heights this node reported committed (its decided-block log was synced): never lost.
    var reported = 0
    var incarnation = 0
    var byzantine: Byzantine?
    var clock = SimClock()
    /// Node faults (`NodeFaults`): a clock beyond the bound, a disk that tears and damages records.
    var farClock = false
    var flakyDisk = false
    var midStepCrashArmed = false
    var persistFaultArmed = false

    var isHonest: Bool { byzantine == nil }
    /// The signing state the running node last synced.
    var persisted: SigningState<TestBlock>? { signingFile.current }
    var head: Bytes32 { chain.last?.block.hash ?? Simulator.genesisHash }
}

struct SimResult: Sendable {
    var seed: UInt64
    var options: SimOptions
    var violation: String?
    var trace: [String]
    /// Lowest height committed by every honest replica at the end.
    var heightAllHonest: Int
    var stats: SimStats
    var messages: Int
    var simulatedMs: UInt64
}

/// Runs real `Replica` values in one process on a virtual clock (STYLE.md §3). The seed decides
/// message delays, drops, duplicates, reordering, partitions, crashes and restarts (from the
/// persisted signing state and committed blocks only) and Byzantine behaviour. Safety invariants
/// are checked after every step; after the faults heal, liveness within a bound.
struct Simulator {
    static let genesisHash = SHA256.hash(Array("totem simulator genesis".utf8))
    static let traceLinesMax = 400

    let seed: UInt64
    let options: SimOptions
    let tracing: Bool
    let keyring: FakeKeyring
    /// Every simulated node's key, in node order: addresses, not a validator set in force.
    let everyone: ValidatorSet
    /// A validator-set change adopted in block `adoptedAt` (in force from `adoptedAt + 2`) that
    /// removes a Byzantine validator.
    let setChange: (adoptedAt: UInt64, removed: Int, after: ValidatorSet)?
    let verifier: FakeVerifier
    var rng: PRNG
    /// The node faults' own randomness, so seeds without them draw exactly what they drew before.
    var faultRng: PRNG
    var nodes: [SimNode] = []
    var queue = EventQueue<SimEvent>()
    var now: UInt64 = 0
    var healed = false
    var group: [Int]?
    var decided: [UInt64: Bytes32] = [:]
    var signedVotes: [SlotKey: Bytes32] = [:]
    var messages = 0
    var violation: String?
    let traceLog: TraceLog?
    var stats = SimStats()
    var livenessTarget = 0
    var deadline: UInt64 = 0
    /// (node, block) pairs whose time the honest node checked against its clock and found within
    /// the bound (or, as leader, built from its clock); and per block, the honest nodes that then
    /// prepared it: the validators the certificate-time guarantee of PROTOCOL.md counts on.
    var timeChecks: Set<TimeCheck> = []
    var timeCheckedBy: [Bytes32: Set<Int>] = [:]

    struct TimeCheck: Hashable { let node: Int; let block: Bytes32 }

    struct SlotKey: Hashable { let validator: Int; let height: UInt64; let view: UInt32; let phase: VotePhase }

    init(seed: UInt64, options: SimOptions, tracing: Bool = false, traceLinesMax: Int = Simulator.traceLinesMax) {
        self.seed = seed
        self.options = options
        self.tracing = tracing
        traceLog = tracing ? TraceLog(linesMax: traceLinesMax) : nil
        keyring = FakeKeyring(seed: seed, count: options.n)
        guard let everyone = ValidatorSet(keyring.publicKeys) else { preconditionFailure("simulator keys are distinct") }
        self.everyone = everyone
        verifier = keyring.verifier
        rng = PRNG(seed: seed)
        var byzantine = Set<Int>()
        while byzantine.count < options.byzantine { byzantine.insert(rng.int(0...(options.n - 1))) }
        if let h = options.setChangeAdoptedAt, let removed = byzantine.min(),
           let after = ValidatorSet(everyone.keys.filter { $0 != everyone.keys[removed] }) {
            setChange = (h, removed, after)
        } else {
            setChange = nil
        }
        for i in 0..<options.n {
            let signer = keyring.signer(i)
            var node = SimNode(index: i, signer: signer)
            if byzantine.contains(i) { node.byzantine = Byzantine(signer: signer, rng: &rng) }
            nodes.append(node)
        }
        faultRng = PRNG(seed: seed ^ 0x0C10_CC0D_15C0_FA17)
        assignNodeFaults()
    }

    /// Runs the seed to the end; the result names the first violation, if any.
    mutating func run() -> SimResult {
        start()
        let end = options.runMs ?? (options.faultPhaseMs + options.healBoundMs)
        while violation == nil, let (t, e) = queue.pop(), t <= end {
            now = t
            handle(e)
            if healed, options.runMs == nil, honestHeights.min() ?? 0 >= livenessTarget || !options.livenessExpected { break }
        }
        if violation == nil, options.runMs == nil, options.livenessExpected, (honestHeights.min() ?? 0) < livenessTarget {
            violation = "liveness: after healing at \(options.faultPhaseMs)ms honest heights are \(honestHeights), "
                + "wanted \(livenessTarget) by \(deadline)ms"
        }
        return SimResult(seed: seed, options: options, violation: violation, trace: traceLog?.lines ?? [],
                         heightAllHonest: honestHeights.min() ?? 0, stats: stats, messages: messages, simulatedMs: now)
    }

    /// Boots every node and schedules the faults and the heal.
    mutating func start() {
        for i in nodes.indices { boot(i) }
        scheduleFaults()
        let end = options.runMs ?? (options.faultPhaseMs + options.healBoundMs)
        queue.push(.heal, at: options.runMs == nil ? options.faultPhaseMs : end + 1)
    }

    var honestHeights: [Int] { nodes.filter(\.isHonest).map(\.chain.count) }

    /// Records a trace line (only when tracing: a failing seed is re-run with tracing on).
    func log(_ line: @autoclosure () -> String) {
        guard let traceLog else { return }
        if traceLog.lines.count == traceLog.linesMax { traceLog.lines.removeFirst(traceLog.linesMax / 4) }
        traceLog.lines.append("t=\(now) " + line())
    }

    func name(_ key: Bytes32) -> String { everyone.index(of: key).map { "r\($0)" } ?? "?" }

    /// The validator set in force at `height`.
    func validators(at height: UInt64) -> ValidatorSet {
        guard let c = setChange, height >= c.adoptedAt + 2 else { return everyone }
        return c.after
    }

    // MARK: faults

    mutating func scheduleFaults() {
        let phase = options.faultPhaseMs
        if options.partitions {
            for _ in 0..<rng.int(1...3) {
                let start = rng.uint64(0...phase)
                let groups = nodes.map { _ in rng.int(0...1) }
                queue.push(.partition(groups), at: start)
                queue.push(.unpartition, at: min(phase, start + rng.uint64(200...2_000)))
            }
        }
        if options.crashes {
            for _ in 0..<rng.int(1...options.n) {
                let i = rng.int(0...(options.n - 1))
                guard nodes[i].isHonest else { continue }
                let at = rng.uint64(0...phase)
                queue.push(.crash(i), at: at)
                if rng.chance(permille: 700) { queue.push(.restart(i), at: min(phase, at + rng.uint64(50...2_000))) }
            }
        }
        for i in nodes.indices where !nodes[i].isHonest { queue.push(.byzantineTick(i), at: rng.uint64(0...300)) }
        for o in options.outages {
            queue.push(.crash(o.node), at: o.crashMs)
            if let r = o.restartMs { queue.push(.restart(o.node), at: r) }
        }
        scheduleNodeFaults()
    }

    mutating func handle(_ e: SimEvent) {
        switch e {
        case let .deliver(p, from, to): deliver(p, from: from, to: to)
        case let .timer(i, t, inc):
            guard nodes[i].incarnation == inc else { return }
            step(i, .timeout(t))
        case let .build(i, h, v, inc):
            guard nodes[i].incarnation == inc, nodes[i].replica != nil else { return }
            step(i, .proposalBuilt(build(i, height: h), view: v))
        case let .crash(i):
            guard !healed, nodes[i].replica != nil else { return }
            crash(i)
        case let .restart(i): restart(i)
        case let .armMidStepCrash(i): if !healed { nodes[i].midStepCrashArmed = true }
        case let .armPersistFault(i): if !healed { nodes[i].persistFaultArmed = true }
        case let .statusTick(i): statusTick(i)
        case let .partition(g): group = g; log("PARTITION \(g)")
        case .unpartition: group = nil; log("PARTITION healed")
        case .heal: heal()
        case let .byzantineTick(i): byzantineTick(i)
        }
    }

    mutating func heal() {
        healed = true
        group = nil
        for i in nodes.indices {
            nodes[i].midStepCrashArmed = false
            nodes[i].persistFaultArmed = false
        }
        for i in nodes.indices where nodes[i].replica == nil { restart(i) }
        livenessTarget = (honestHeights.max() ?? 0) + options.newBlocksAfterHeal
        deadline = now + options.healBoundMs
        log("HEAL: honest heights \(honestHeights), target \(livenessTarget)")
    }

    // MARK: nodes

    func makeReplica(_ i: Int, abstainingAt: UInt64? = nil) -> Replica<TestBlock> {
        let node = nodes[i]
        let h = UInt64(node.chain.count + 1)
        // The leader rotation from the committed blocks, as the node rebuilds it from its store.
        let setFrom = setChange.map { h >= $0.adoptedAt + 2 ? $0.adoptedAt + 2 : 1 } ?? 1
        let recent = LeaderRotation.neededHeights(before: h, validatorCount: validators(at: h).count, setFromHeight: setFrom)
        let rotation = LeaderRotation(setFromHeight: setFrom, firstHeight: recent.lowerBound,
                                      proposers: recent.map { node.chain[Int($0) - 1].block.proposer })
        let position = ChainPosition(height: h, parentHash: node.head, parentCertificate: node.chain.last?.certificate,
                                     validators: validators(at: h), nextValidators: validators(at: h + 1), rotation: rotation)
        var r = Replica<TestBlock>(config: options.config, signer: node.signer, verifier: verifier,
                                   position: position, restoring: node.persisted, abstainingThrough: abstainingAt)
        #if TOTEM_FAULT_INJECTION
        if node.isHonest { r.bug = options.bug }
        #endif
        return r
    }

    mutating func boot(_ i: Int, restarting: Bool = false) {
        guard let disk = load(i) else { return }
        if restarting {
            log("r\(i) RESTART at height \(nodes[i].chain.count + 1) from \(nodes[i].persisted.map { "h=\($0.height) v=\($0.view)" } ?? "nothing")")
        }
        nodes[i].replica = makeReplica(i, abstainingAt: disk.abstainAt)
        step(i, .start)
        if !options.idle.contains(i) { step(i, .workPending) }
    }

    mutating func restart(_ i: Int) {
        guard nodes[i].replica == nil else { return }
        nodes[i].incarnation += 1
        stats.restarts += 1
        boot(i, restarting: true)
    }

    mutating func deliver(_ p: Packet, from: Int, to: Int) {
        guard nodes[to].replica != nil else { return }
        switch p {
        case let .consensus(m):
            if nodes[to].byzantine != nil { nodes[to].byzantine?.observe(m) }
            log("r\(to) <- r\(from) \(render(m))")
            step(to, .message(m, from: everyone.keys[from], nowMs: clockNow(to)))
        case let .blockRequest(h):
            let start = Int(h) - 1
            guard start >= 0, start < nodes[to].chain.count else { return }
            var blocks = Array(nodes[to].chain[start..<min(nodes[to].chain.count, start + 8)])
            if let b = nodes[to].byzantine {
                guard !b.kinds.contains(.silent) else { return }
                if b.kinds.contains(.garbage) { blocks = blocks.map { b.corrupt($0, rng: &rng) } }
            }
            send(.blockResponse(blocks), from: to, to: from)
        case let .status(h): statusReceived(h, from: from, to: to)
        case let .blockResponse(blocks):
            log("r\(to) <- r\(from) \(blocks.count) blocks from \(blocks.first?.block.height ?? 0)")
            step(to, .blocksReceived(blocks, from: everyone.keys[from]))
        }
    }

    /// Steps node `i` and performs its actions, then any event they cause at once (blockApplied,
    /// proposalChecked).
    mutating func step(_ i: Int, _ event: Event<TestBlock>) {
        var pending = [event]
        while !pending.isEmpty, violation == nil {
            guard var r = nodes[i].replica else { return }
            let actions = r.step(pending.removeFirst())
            nodes[i].replica = r
            pending += perform(i, actions)
        }
    }

    mutating func perform(_ i: Int, _ stepActions: [Action<TestBlock>]) -> [Event<TestBlock>] {
        var followUps = [Event<TestBlock>]()
        let actions = nodeOrder(i, stepActions)
        let crashBefore = midStepCrashPoint(i, actionCount: actions.count)
        let incarnation = nodes[i].incarnation
        for (k, a) in actions.enumerated() where violation == nil {
            if k == crashBefore {
                stats.midStepCrashes += 1
                crash(i, "in the middle of a step, before action \(k + 1) of \(actions.count)")
                scheduleRestart(i)
            }
            // A crash (above, or a failed persist) ends the step: nothing after it is performed.
            guard nodes[i].incarnation == incarnation else { return [] }
            switch a {
            case let .persistSigningState(s): persist(i, s)
            case let .broadcast(m):
                count(m, honest: nodes[i].isHonest)
                checkOutgoing(i, m)
                log("r\(i) -> all \(render(m))")
                for j in nodes.indices where j != i { sendConsensus(m, from: i, to: j) }
            case let .send(m, to):
                count(m, honest: nodes[i].isHonest)
                checkOutgoing(i, m)
                log("r\(i) -> \(name(to)) \(render(m))")
                if let j = everyone.index(of: to) { sendConsensus(m, from: i, to: j) }
            case let .scheduleTimeout(t, after):
                let ms = options.faults.clocks ? nodes[i].clock.duration(after) : after
                queue.push(.timer(node: i, t, incarnation: nodes[i].incarnation), at: now + ms)
            case let .requestProposal(h, v, _):
                queue.push(.build(node: i, height: h, view: v, incarnation: nodes[i].incarnation), at: now + 1)
            case let .checkProposal(block, v, reproposal, nowMs):
                // The cheap fake of the chain's check, answered at once like the node's.
                let valid = checkProposal(i, block, reproposal: reproposal, nowMs: nowMs)
                followUps.append(.proposalChecked(height: block.height, view: v, blockHash: block.hash, valid: valid))
            case let .commit(block, cert):
                checkCommit(i, block, cert)
                guard storeDecided(i, CertifiedBlock(block: block, certificate: cert)) else { return [] }
                followUps.append(.blockApplied(AppliedBlock(height: block.height, blockHash: block.hash, proposer: block.proposer,
                                                            validatorsAtHeightPlus2: validators(at: block.height + 2),
                                                            workPending: true)))
            case let .requestBlocks(h, _, peer):
                log("r\(i) requests blocks from \(h) of \(name(peer))")
                stats.catchUpRequests += 1
                if let j = everyone.index(of: peer) { send(.blockRequest(fromHeight: h), from: i, to: j) }
            case let .reportEvidence(e):
                stats.evidence += 1
                if nodes[i].isHonest, let j = everyone.index(of: e.validator), nodes[j].isHonest {
                    violation = "r\(i) reported evidence against honest r\(j): \(e)"
                }
            }
        }
        return followUps
    }

    mutating func count(_ m: Message<TestBlock>, honest: Bool) {
        guard honest else { return }
        switch m {
        case let .viewChange(vc, _): stats.viewChanges += 1; stats.maxView = max(stats.maxView, vc.view)
        case .newView: stats.newViews += 1
        case .certificate: stats.certificatesAnswered += 1
        default: break
        }
    }

    mutating func sendConsensus(_ m: Message<TestBlock>, from i: Int, to j: Int) {
        guard nodes[i].byzantine != nil else { return send(.consensus(m), from: i, to: j) }
        let set = validators(at: nodes[i].replica?.height ?? 1)
        let out = nodes[i].byzantine?.transform(m, to: j, set: set, rng: &rng) ?? []
        for x in out { send(.consensus(x), from: i, to: j) }
    }

    /// The network: partitions, drops, duplicates and random delays (which reorder) while faults
    /// are on; bounded delays and nothing lost once healed.
    mutating func send(_ p: Packet, from i: Int, to j: Int) {
        messages += 1
        if !healed {
            if let g = group, g[i] != g[j] { return }
            if rng.chance(permille: options.dropPermille) { return }
            if rng.chance(permille: options.duplicatePermille) {
                queue.push(.deliver(p, from: i, to: j), at: now + rng.uint64(options.delayMs))
            }
        }
        let delay = rng.uint64(healed ? options.healDelayMs : options.delayMs)
        queue.push(.deliver(p, from: i, to: j), at: now + delay)
    }

    mutating func byzantineTick(_ i: Int) {
        guard var b = nodes[i].byzantine, let r = nodes[i].replica else { return }
        let out = b.tick(height: r.height, view: r.view, head: nodes[i].head, set: validators(at: r.height),
                         everyone: everyone, rng: &rng)
        nodes[i].byzantine = b
        for (m, j) in out { send(.consensus(m), from: i, to: j) }
        queue.push(.byzantineTick(i), at: now + rng.uint64(50...400))
    }
}

/// The trace of one run, appended to from non-mutating code. Confined to the simulator's task.
final class TraceLog {
    let linesMax: Int
    var lines: [String] = []
    init(linesMax: Int) { self.linesMax = linesMax }
}

/// What a run exercised, summed over seeds to show the fault mix reaches every path.
struct SimStats: Sendable {
    var viewChanges = 0
    var newViews = 0
    var maxView: UInt32 = 0
    var restarts = 0
    var catchUpRequests = 0
    var evidence = 0
    var certificatesAnswered = 0
    var midStepCrashes = 0
    var persistFailures = 0
    var tornWrites = 0
    var damagedSlots = 0
    var abstentions = 0
    var driftRefusals = 0

    static func + (a: SimStats, b: SimStats) -> SimStats {
        SimStats(viewChanges: a.viewChanges + b.viewChanges, newViews: a.newViews + b.newViews,
                 maxView: max(a.maxView, b.maxView), restarts: a.restarts + b.restarts,
                 catchUpRequests: a.catchUpRequests + b.catchUpRequests, evidence: a.evidence + b.evidence,
                 certificatesAnswered: a.certificatesAnswered + b.certificatesAnswered,
                 midStepCrashes: a.midStepCrashes + b.midStepCrashes, persistFailures: a.persistFailures + b.persistFailures,
                 tornWrites: a.tornWrites + b.tornWrites, damagedSlots: a.damagedSlots + b.damagedSlots,
                 abstentions: a.abstentions + b.abstentions, driftRefusals: a.driftRefusals + b.driftRefusals)
    }

    /// The counts of one chunk or seed, for the printed summaries.
    var summary: String {
        "\(viewChanges) view changes, \(newViews) new views, max view \(maxView), \(restarts) restarts, "
            + "\(catchUpRequests) catch-up requests, \(certificatesAnswered) laggard answers, \(evidence) evidence reports, "
            + "\(midStepCrashes) mid-step crashes, \(persistFailures) failed persists, \(tornWrites) torn writes, "
            + "\(damagedSlots) damaged slots, \(abstentions) abstentions, \(driftRefusals) drift refusals"
    }
}
