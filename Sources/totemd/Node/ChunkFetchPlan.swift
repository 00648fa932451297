import TotemCrypto

/// Which snapshot chunk to ask which peer for, as a value with no I/O (STYLE.md §1), in the manner
/// of `BlockSync`: at most `inflightMax` requests out, at most `perPeerMax` to one peer, spread
/// over every peer that offers the checkpoint (least recently asked first); a request unanswered
/// in `timeoutMs` is asked again of another peer; a peer that sent a chunk failing its proof is
/// banned: asked nothing again, whatever it offers later.
struct ChunkFetchPlan: Sendable {
    struct Limits: Sendable {
        var inflightMax = 8
        var perPeerMax = 2
        var timeoutMs: UInt64 = 10_000
    }

    struct Request: Sendable, Equatable {
        let peer: Bytes32
        let index: UInt32
    }

    let limits: Limits
    /// Chunks neither in the store nor asked for, ascending.
    private(set) var waiting: [UInt32]
    private(set) var inflight: [UInt32: (peer: Bytes32, sentMs: UInt64)] = [:]
    /// Peers offering the checkpoint; those asked least recently first.
    private(set) var sources: [Bytes32] = []
    private(set) var banned: Set<Bytes32> = []

    init(missing: [UInt32], limits: Limits = Limits()) {
        self.limits = limits
        waiting = missing.sorted()
    }

    /// Nothing waits and nothing is out: every chunk is in.
    var isComplete: Bool { waiting.isEmpty && inflight.isEmpty }

    mutating func addSource(_ peer: Bytes32) {
        guard !banned.contains(peer), !sources.contains(peer) else { return }
        sources.insert(peer, at: 0)
    }

    /// The peer went away: what it was asked is asked of others.
    mutating func removeSource(_ peer: Bytes32) {
        sources.removeAll { $0 == peer }
        requeue { $0 == peer }
    }

    /// The peer sent a chunk that failed its check: it is never asked again.
    mutating func ban(_ peer: Bytes32) {
        banned.insert(peer)
        removeSource(peer)
    }

    /// A response for `index` from `peer`: true when it was asked of that peer (the request is
    /// then no longer out); an unasked response is ignored.
    mutating func answered(_ index: UInt32, by peer: Bytes32) -> Bool {
        guard inflight[index]?.peer == peer else { return false }
        inflight[index] = nil
        return true
    }

    /// The chunk asked for did not come (the peer had none, or it failed its check): it waits again.
    mutating func retry(_ index: UInt32) {
        guard inflight[index] == nil, !waiting.contains(index) else { return }
        waiting.insert(index, at: waiting.firstIndex { $0 > index } ?? waiting.count)
    }

    /// New requests: expired ones go back first, then the lowest waiting chunks go to the peers
    /// asked least recently that have room.
    mutating func plan(nowMs: UInt64) -> [Request] {
        let expired = inflight.filter { nowMs >= $0.value.sentMs + limits.timeoutMs }
        for (index, request) in expired {
            inflight[index] = nil
            retry(index)
            demote(request.peer)
        }
        var out: [Request] = []
        while inflight.count < limits.inflightMax, let index = waiting.first,
              let peer = sources.first(where: { p in inflight.values.filter { $0.peer == p }.count < limits.perPeerMax }) {
            waiting.removeFirst()
            inflight[index] = (peer, nowMs)
            out.append(Request(peer: peer, index: index))
            demote(peer)
        }
        return out
    }

    private mutating func requeue(_ matching: (Bytes32) -> Bool) {
        for (index, request) in inflight where matching(request.peer) {
            inflight[index] = nil
            retry(index)
        }
    }

    private mutating func demote(_ peer: Bytes32) {
        guard let i = sources.firstIndex(of: peer) else { return }
        sources.remove(at: i)
        sources.append(peer)
    }
}
