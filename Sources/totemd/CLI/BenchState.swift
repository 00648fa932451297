import Histogram
import TotemCrypto

/// The load generator's bookkeeping, as a state machine without I/O (postgres-nio style): the
/// workers and the block follower call it under one lock and act on what it returns. Bounded: the
/// in-flight table holds at most `identities * nonceWindow` entries, the retry queues at most as
/// many, and the pre-signed txs are freed as they are sent.
struct BenchState: Sendable {
    struct Identity: Sendable {
        /// Highest nonce seen committed (0: none yet).
        var committedNonce: UInt64 = 0
        /// Given up after a rejection that retrying cannot fix; its later txs are not sent.
        var dead = false
    }

    struct InFlight: Sendable {
        let identity: Int
        let nonce: UInt64
        /// When the first POST carrying this tx started, in ns since the start of the timed phase.
        let firstSubmitNs: UInt64
        var attempts: Int
        /// What to send again if no block brings it (a node restarted and lost its mempool).
        let outgoing: Outgoing
        var lastSubmitNs: UInt64
    }

    /// A tx to send: from the pre-signed store, a retry, or (tx nil) to be signed on the fly.
    struct Outgoing: Sendable {
        let seq: Int
        let identity: Int
        let nonce: UInt64
        var tx: PresignedTx?
        let isRetry: Bool
    }

    struct Retry: Sendable {
        let item: Outgoing
        let dueNs: UInt64
    }

    struct Group: Sendable {
        var presigned: [PresignedTx?]
        var nextSeq = 0
        /// New txs taken (retries excluded): what the rate limit counts.
        var issued = 0
        var retries: [Retry] = []
        var retryHead = 0
        var deadIdentities = 0
    }

    enum Take: Sendable {
        case send([Outgoing])
        case wait(nanoseconds: UInt64)
        case done
    }

    /// Refusals that may pass later: a full pool, a per-sender quota, a nonce beyond the window
    /// (its predecessor not yet in), a rate limit.
    /// Refusals that say the node is full or busy (retried without counting an attempt).
    static let busyCodes: Set<String> = ["mempool_full", "rate_limited", "too_many_requests", "overloaded"]
    /// Refusals worth sending again: the busy ones, and those a later try may pass.
    static let retriableCodes: Set<String> = busyCodes.union(["sender_quota_exceeded", "nonce_too_high", "state_changed"])

    let plan: BenchPlan
    let endNs: UInt64
    let drainEndNs: UInt64
    var groups: [Group]
    var identities: [Identity]
    var inFlight: [Bytes32: InFlight] = [:]
    var counters = BenchCounters()
    var latencyUs = Histogram<UInt64>(highestTrackableValue: BenchLimits.latencyMaxUs, numberOfSignificantValueDigits: .three)
    /// The same latency split at the block header's `timestampMs` (when the leader built the
    /// proposal; same host, same clock): waiting to be proposed, then consensus, commit and polling.
    var toProposalUs = Histogram<UInt64>(highestTrackableValue: BenchLimits.latencyMaxUs, numberOfSignificantValueDigits: .three)
    var proposalToSeenUs = Histogram<UInt64>(highestTrackableValue: BenchLimits.latencyMaxUs, numberOfSignificantValueDigits: .three)

    init(plan: BenchPlan, presigned: [[PresignedTx]]) {
        self.plan = plan
        self.endNs = UInt64(plan.duration * 1e9)
        self.drainEndNs = UInt64((plan.duration + plan.drain) * 1e9)
        self.groups = presigned.map { Group(presigned: $0.map { Optional($0) }) }
        self.identities = Array(repeating: Identity(), count: plan.identityCount)
    }

    /// What worker of `group` should do at `nowNs`: send a batch (retries first, then new txs within
    /// the rate and each identity's nonce window), wait, or stop.
    mutating func take(group g: Int, nowNs: UInt64) -> Take {
        if nowNs >= drainEndNs { return .done }
        var out: [Outgoing] = []
        takeDueRetries(group: g, nowNs: nowNs, into: &out)
        let members = plan.members[g].count
        if nowNs >= endNs || groups[g].deadIdentities == members {
            if !out.isEmpty { return .send(out) }
            // In the drain a submitter stays while anything is in flight: a tx no block brought is
            // queued again later (`resubmitForgotten`), and a group with no submitter left would
            // hold it, and the drain, until the drain's end.
            return hasPendingRetries(g) || !inFlight.isEmpty ? .wait(nanoseconds: 2_000_000) : .done
        }
        // Refused txs waiting for their retry hold the new ones back: a node that says it is full
        // gets what it refused again, not more. Without this a fill sent ten resends per tx into
        // a full 8 MiB mempool (each a 40 KB batch the node parsed to refuse again).
        if hasPendingRetries(g) {
            if !out.isEmpty { return .send(out) }
            let due = groups[g].retries[groups[g].retryHead].dueNs
            return .wait(nanoseconds: max(1_000_000, due &- nowNs))
        }
        var allowed = plan.batch - out.count
        if plan.ratePerGroup > 0 {
            let tokens = Int(plan.ratePerGroup * Double(nowNs) / 1e9) - groups[g].issued
            let minPerPost = min(plan.batch, max(1, Int(plan.ratePerGroup * BenchLimits.pacingSliceSeconds)))
            if out.isEmpty, tokens < minPerPost {
                let dueNs = UInt64(Double(groups[g].issued + minPerPost) / plan.ratePerGroup * 1e9)
                return .wait(nanoseconds: max(100_000, dueNs &- nowNs))
            }
            allowed = min(allowed, max(0, tokens))
            counters.maxBacklogTxs = max(counters.maxBacklogTxs, tokens)
        }
        var skipped = 0
        while allowed > 0, skipped < members {
            let seq = groups[g].nextSeq
            let id = plan.identity(group: g, seq: seq), nonce = plan.nonce(group: g, seq: seq)
            if identities[id].dead {
                groups[g].nextSeq += 1
                skipped += 1
                continue
            }
            guard nonce <= identities[id].committedNonce + BenchLimits.nonceWindow else {
                counters.windowFullWaits += 1
                break
            }
            var tx: PresignedTx?
            if seq < groups[g].presigned.count {
                tx = groups[g].presigned[seq]
                groups[g].presigned[seq] = nil
            }
            out.append(Outgoing(seq: seq, identity: id, nonce: nonce, tx: tx, isRetry: false))
            groups[g].nextSeq += 1
            groups[g].issued += 1
            allowed -= 1
        }
        return out.isEmpty ? .wait(nanoseconds: 1_000_000) : .send(out)
    }

    private mutating func takeDueRetries(group g: Int, nowNs: UInt64, into out: inout [Outgoing]) {
        while out.count < plan.batch, groups[g].retryHead < groups[g].retries.count {
            let r = groups[g].retries[groups[g].retryHead]
            guard r.dueNs <= nowNs else { break }
            groups[g].retryHead += 1
            // Committed since it was queued (or given up): nothing to send.
            guard let hash = r.item.tx?.hash, inFlight[hash] != nil else { continue }
            if !identities[r.item.identity].dead { out.append(r.item) }
        }
        // Drop the consumed prefix: at once when all are taken, else when it is most of the array,
        // so a run with steady retries keeps the queue at the size of what is pending.
        if groups[g].retryHead == groups[g].retries.count {
            groups[g].retries.removeAll(keepingCapacity: true)
            groups[g].retryHead = 0
        } else if groups[g].retryHead > 1024, groups[g].retryHead * 2 > groups[g].retries.count {
            groups[g].retries.removeFirst(groups[g].retryHead)
            groups[g].retryHead = 0
        }
    }

    private func hasPendingRetries(_ g: Int) -> Bool { groups[g].retryHead < groups[g].retries.count }

    /// Records that a POST carrying `txs` starts at `nowNs`.
    mutating func sending(_ items: [Outgoing], nowNs: UInt64) {
        for item in items {
            guard let tx = item.tx else { continue }
            if item.isRetry {
                counters.retriesSent += 1
                inFlight[tx.hash]?.attempts += 1
                inFlight[tx.hash]?.lastSubmitNs = nowNs
            } else {
                counters.sent += 1
                inFlight[tx.hash] = InFlight(identity: item.identity, nonce: item.nonce, firstSubmitNs: nowNs, attempts: 1,
                                             outgoing: item, lastSubmitNs: nowNs)
            }
        }
        counters.posts += 1
    }

    /// Applies the answer to a POST: per-tx results in order, or nil when the request itself failed
    /// (then every tx is retried).
    mutating func answered(group g: Int, _ items: [Outgoing], results: [APIClient.SubmitResult]?, nowNs: UInt64) {
        guard let results, results.count == items.count else {
            // The node did not answer (restarting, unreachable): not the txs' fault, so no attempt
            // is counted; the submitter backs off and may move to another node.
            counters.postFailures += 1
            for item in items {
                if let tx = item.tx { inFlight[tx.hash]?.attempts -= 1 }
                retry(group: g, item, nowNs: nowNs, backoffNs: 50_000_000)
            }
            return
        }
        for (item, result) in zip(items, results) {
            guard let tx = item.tx else { continue }
            if result.accepted {
                counters.accepted += 1
                continue
            }
            let code = result.errorCode ?? "unknown"
            counters.countRejection(code)
            if Self.busyCodes.contains(code) {
                // The node is full or busy, not the tx at fault: no attempt is counted (a fill with
                // 500-work batches met a full mempool for minutes, and 50 quick retries gave up a
                // nonce, stranding the identity's later txs in every mempool), and a longer pause.
                inFlight[tx.hash]?.attempts -= 1
                retry(group: g, item, nowNs: nowNs, backoffNs: 200_000_000)
            } else if Self.retriableCodes.contains(code) {
                retry(group: g, item, nowNs: nowNs, backoffNs: 20_000_000)
            } else if code == "nonce_too_low" {
                // An earlier attempt of this very tx may have been committed: the blocks will say.
            } else {
                giveUp(item.identity, tx: tx.hash)
            }
        }
    }

    private mutating func retry(group g: Int, _ item: Outgoing, nowNs: UInt64, backoffNs: UInt64) {
        guard let tx = item.tx else { return }
        guard let entry = inFlight[tx.hash] else { return }  // committed meanwhile
        guard entry.attempts < BenchLimits.retriesPerTxMax else {
            giveUp(item.identity, tx: tx.hash)
            return
        }
        let again = Outgoing(seq: item.seq, identity: item.identity, nonce: item.nonce, tx: tx, isRetry: true)
        groups[g].retries.append(Retry(item: again, dueNs: nowNs + backoffNs))
    }

    private mutating func giveUp(_ id: Int, tx: Bytes32) {
        guard let given = inFlight.removeValue(forKey: tx) else { return }
        counters.failed += 1
        // Its later nonces can never commit now (a nonce gap): they leave the in-flight set too,
        // so the drain does not wait for them.
        for (hash, e) in inFlight where e.identity == id && e.nonce > given.nonce {
            inFlight[hash] = nil
            counters.failed += 1
        }
        guard !identities[id].dead else { return }
        identities[id].dead = true
        counters.deadIdentities += 1
        groups[id % plan.groupCount].deadIdentities += 1  // BenchPlan: identity i is in group i mod G
    }

    /// A committed block seen at `nowNs` with these tx hashes, proposed at `proposedNs` (its header
    /// time on this process's clock; nil when unknown).
    mutating func committed(_ hashes: [Bytes32], nowNs: UInt64, proposedNs: UInt64?) {
        counters.blocks += 1
        counters.txsInBlocks += hashes.count
        if nowNs <= endNs { counters.blocksInWindow += 1 }
        for h in hashes {
            guard let e = inFlight.removeValue(forKey: h) else { continue }
            let us = (nowNs &- e.firstSubmitNs) / 1000
            _ = latencyUs.record(min(us, BenchLimits.latencyMaxUs))
            if let proposedNs {
                // The header has ms resolution: a tx sent in the proposal's millisecond counts as 0.
                let waitUs = proposedNs > e.firstSubmitNs ? (proposedNs - e.firstSubmitNs) / 1000 : 0
                let restUs = nowNs > proposedNs ? (nowNs - proposedNs) / 1000 : 0
                _ = toProposalUs.record(min(waitUs, BenchLimits.latencyMaxUs))
                _ = proposalToSeenUs.record(min(restUs, BenchLimits.latencyMaxUs))
            }
            counters.committed += 1
            if nowNs <= endNs { counters.committedInWindow += 1 }
            counters.lastCommitNs = nowNs
            if e.nonce > identities[e.identity].committedNonce { identities[e.identity].committedNonce = e.nonce }
        }
    }

    /// Accepted is not committed: a node that restarts loses its mempool. Txs no block has brought
    /// `resubmitAfterNs` after their last submission are sent again (a duplicate is harmless).
    mutating func resubmitForgotten(nowNs: UInt64) {
        for (hash, e) in inFlight where nowNs >= e.lastSubmitNs + BenchLimits.resubmitAfterNs {
            inFlight[hash]?.lastSubmitNs = nowNs
            counters.resubmitted += 1
            retry(group: e.identity % plan.groupCount, e.outgoing, nowNs: nowNs, backoffNs: 0)
        }
    }

    /// Whether the timed phase is over and nothing is left to wait for.
    func drained(nowNs: UInt64) -> Bool {
        nowNs >= endNs && inFlight.isEmpty && groups.indices.allSatisfy { !hasPendingRetries($0) }
    }
}

/// Plain counts of what happened, for the report and the progress lines.
struct BenchCounters: Sendable {
    var posts = 0
    var postFailures = 0
    /// POSTs moved to another node after it stopped answering, and txs sent again after no block
    /// brought them.
    var nodeMoves = 0
    var resubmitted = 0
    var sent = 0
    var retriesSent = 0
    var accepted = 0
    var rejected = 0
    /// Rejection codes, at most `maxCodes` distinct ones (the rest count as "other").
    var rejectedByCode: [String: Int] = [:]
    var failed = 0
    var deadIdentities = 0
    var committed = 0
    var committedInWindow = 0
    var lastCommitNs: UInt64 = 0
    var blocks = 0
    var blocksInWindow = 0
    var txsInBlocks = 0
    var windowFullWaits = 0
    var maxBacklogTxs = 0
    var signedDuringRun = 0
    var blockPollErrors = 0
    var lastPostError: String?
    var lastPollError: String?

    static let maxCodes = 32

    mutating func countRejection(_ code: String) {
        rejected += 1
        let key = rejectedByCode[code] != nil || rejectedByCode.count < Self.maxCodes ? code : "other"
        rejectedByCode[key, default: 0] += 1
    }
}
