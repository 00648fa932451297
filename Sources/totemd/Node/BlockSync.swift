import Foundation
import TotemCrypto

/// Catching up with the chain, as a value with no I/O (STYLE.md §1): which block ranges to ask
/// which peers for, and which received blocks the node commits next.
///
/// A node behind keeps up to `inflightRequestsMax` requests out at once, each for the next range
/// nobody was asked for, each to a different peer whose status shows the blocks; it asks again as
/// soon as an answer arrives or a block is applied, not when the next status comes. Answers wait in
/// a reorder buffer (bounded in blocks and bytes); the node takes the run that follows its tip
/// (`takeReady`), checks each commit certificate and commits the run in one write. A request
/// unanswered in time is asked again, preferring other peers; blocks the node refused are dropped
/// and asked of other peers (`refused`).
struct BlockSync<Item: Sendable>: Sendable {
    struct Limits: Sendable {
        var blocksPerRequest: UInt64 = 64
        var inflightRequestsMax = 4
        var inflightPerPeerMax = 2
        /// Blocks ahead of the applied height that may be requested or buffered.
        var windowBlocks: UInt64 = 512
        var bufferMaxBytes = 64 << 20
        var requestTimeoutMs: UInt64 = 3_000
        /// With blocks fed and none applied for this long, the buffer is dropped and asked again.
        var stallMs: UInt64 = 5_000
        /// Peer heights remembered (one per connected peer).
        var peersMax = 256
        /// A peer one block ahead is normal (it committed a moment before us); still one behind
        /// after this long, the node asks for that block too.
        var oneBehindGraceMs: UInt64 = 1_000
        /// After a start, the node counts as catching up until a peer reports its height, or for
        /// this long if none does (a lone node): until then it cannot know it is at the tip.
        var startGraceMs: UInt64 = 5_000
    }

    struct Request: Sendable, Equatable {
        let peer: Bytes32
        let fromHeight: UInt64
        let count: UInt64
        var sentMs: UInt64
        var lastHeight: UInt64 { fromHeight + count - 1 }
    }

    struct Buffered: Sendable {
        let item: Item
        let bytes: Int
        let peer: Bytes32
    }

    let limits: Limits
    private(set) var applied: UInt64
    private(set) var peerHeights: [Bytes32: UInt64] = [:]
    private(set) var inflight: [Request] = []
    private var buffer: [UInt64: Buffered] = [:]
    private(set) var bufferBytes = 0
    /// The highest height handed over by `takeReady`.
    private(set) var fedThrough: UInt64
    private var lastProgressMs: UInt64
    /// Since when a peer has been exactly one block ahead (nil: not so).
    private var oneBehindSinceMs: UInt64?
    /// Peers asked least recently come first.
    private var peerOrder: [Bytes32] = []
    /// Until when, with no peer heard yet, the node counts as catching up (nil: a peer was heard,
    /// or the grace is over).
    private var unknownUntilMs: UInt64?

    init(applied: UInt64, nowMs: UInt64, limits: Limits = Limits()) {
        self.limits = limits
        self.applied = applied
        self.fedThrough = applied
        self.lastProgressMs = nowMs
        self.unknownUntilMs = nowMs + limits.startGraceMs
    }

    /// The highest height a peer reported.
    var targetHeight: UInt64 { peerHeights.values.max() ?? 0 }
    /// Behind by more than the block a peer commits a moment before us, or just started and not
    /// yet told by any peer where the tip is.
    var isCatchingUp: Bool { unknownUntilMs != nil || targetHeight > applied + 1 }
    var blocksBehind: UInt64 { targetHeight > applied ? targetHeight - applied : 0 }
    var bufferedCount: Int { buffer.count }

    // MARK: Events

    /// A peer's status (or the first status of a new connection).
    mutating func peerStatus(_ peer: Bytes32, height: UInt64, nowMs: UInt64) -> [Request] {
        unknownUntilMs = nil
        if peerHeights[peer] == nil {
            guard peerHeights.count < limits.peersMax else { return plan(nowMs: nowMs) }
            peerOrder.insert(peer, at: 0)  // never asked: first in line
        }
        peerHeights[peer] = height
        return plan(nowMs: nowMs)
    }

    mutating func peerDown(_ peer: Bytes32, nowMs: UInt64) -> [Request] {
        peerHeights[peer] = nil
        peerOrder.removeAll { $0 == peer }
        inflight.removeAll { $0.peer == peer }
        return plan(nowMs: nowMs)
    }

    /// A peer's answer: `blocks` are (height, item, bytes) in the order received. Heights outside
    /// the window, already applied or already held are ignored.
    mutating func received(_ blocks: [(height: UInt64, item: Item, bytes: Int)], from peer: Bytes32,
                           fromHeight: UInt64, nowMs: UInt64) -> [Request] {
        inflight.removeAll { $0.peer == peer && $0.fromHeight == fromHeight }
        for b in blocks where b.height > fedThrough && b.height <= applied + limits.windowBlocks && buffer[b.height] == nil {
            guard bufferBytes + b.bytes <= limits.bufferMaxBytes else { break }
            buffer[b.height] = Buffered(item: b.item, bytes: b.bytes, peer: peer)
            bufferBytes += b.bytes
        }
        if blocks.isEmpty, let known = peerHeights[peer], known >= fromHeight {
            // It said it has the blocks and sent none: trust its status less.
            peerHeights[peer] = fromHeight > 0 ? fromHeight - 1 : 0
        }
        return plan(nowMs: nowMs)
    }

    /// The node applied blocks up to `height`.
    mutating func applied(_ height: UInt64, nowMs: UInt64) -> [Request] {
        guard height > applied else { return plan(nowMs: nowMs) }
        applied = height
        oneBehindSinceMs = nil
        fedThrough = max(fedThrough, height)
        lastProgressMs = nowMs
        for h in Array(buffer.keys) where h <= height { drop(h) }
        return plan(nowMs: nowMs)
    }

    /// Expired requests, and blocks handed over but never applied nor refused, are forgotten and
    /// asked again.
    mutating func tick(nowMs: UInt64) -> [Request] {
        if let until = unknownUntilMs, nowMs >= until { unknownUntilMs = nil }
        let expired = inflight.filter { nowMs >= $0.sentMs + limits.requestTimeoutMs }
        inflight.removeAll { nowMs >= $0.sentMs + limits.requestTimeoutMs }
        for r in expired { demote(r.peer) }
        if fedThrough > applied, nowMs >= lastProgressMs + limits.stallMs {
            // What was handed over was neither applied nor refused: start again from the applied
            // height, asking other peers first.
            for (_, b) in buffer { demote(b.peer) }
            buffer.removeAll()
            bufferBytes = 0
            fedThrough = applied
            lastProgressMs = nowMs
        }
        return plan(nowMs: nowMs)
    }

    // MARK: Planning

    /// The run of held blocks that follows the applied height, handed over (they leave the buffer;
    /// `applied` or `refused` says what became of them): at most `maxCount` and, past the first, at
    /// most `maxWeight` in all by `weight` (the node weighs blocks by their works: one LMDB write
    /// holds the run, and LMDB keeps as many pages in memory, for good, as its largest write dirtied).
    mutating func takeReady(maxCount: Int, maxWeight: Int = .max,
                            weight: (Item) -> Int = { _ in 1 }) -> [(item: Item, peer: Bytes32)] {
        var out: [(item: Item, peer: Bytes32)] = []
        var h = max(applied, fedThrough) + 1
        var total = 0
        while out.count < maxCount, let next = buffer[h] {
            let w = weight(next.item)
            if !out.isEmpty, total + w > maxWeight { break }
            total += w
            out.append((next.item, next.peer))
            drop(h)
            fedThrough = h
            h += 1
        }
        return out
    }

    /// Whether `takeReady` would hand something over.
    var hasReady: Bool { buffer[max(applied, fedThrough) + 1] != nil }

    /// The node refused the block at `height` from `peer` (its certificate or state did not check):
    /// what was handed over from there is forgotten and asked again, of other peers first.
    mutating func refused(height: UInt64, from peer: Bytes32, nowMs: UInt64) -> [Request] {
        demote(peer)
        if peerHeights[peer] != nil, height > 0 { peerHeights[peer] = min(peerHeights[peer] ?? 0, height - 1) }
        for h in Array(buffer.keys) where h >= height { drop(h) }
        fedThrough = applied
        return plan(nowMs: nowMs)
    }

    /// New requests: the lowest heights in the window that are neither held nor asked for, each to
    /// the peer asked least recently among those that have them.
    private mutating func plan(nowMs: UInt64) -> [Request] {
        var out: [Request] = []
        if targetHeight == applied + 1 {
            let since = oneBehindSinceMs ?? nowMs
            oneBehindSinceMs = since
            guard nowMs >= since + limits.oneBehindGraceMs else { return [] }
        } else {
            oneBehindSinceMs = nil
        }
        let top = min(targetHeight, applied + limits.windowBlocks)
        var h = fedThrough + 1
        while inflight.count < limits.inflightRequestsMax, h <= top {
            if buffer[h] != nil { h += 1; continue }
            if let r = inflight.first(where: { $0.fromHeight <= h && h <= $0.lastHeight }) { h = r.lastHeight + 1; continue }
            guard let peer = pickPeer(holding: h) else { break }
            var count: UInt64 = 0
            while count < limits.blocksPerRequest, h + count <= min(top, peerHeights[peer] ?? 0),
                  buffer[h + count] == nil, !inflight.contains(where: { $0.fromHeight == h + count }) {
                count += 1
            }
            let r = Request(peer: peer, fromHeight: h, count: count, sentMs: nowMs)
            inflight.append(r)
            out.append(r)
            demote(peer)
            h += count
        }
        return out
    }

    /// The peer asked least recently whose height reaches `height`, preferring one without a
    /// request out, and never one with `inflightPerPeerMax` out.
    private func pickPeer(holding height: UInt64) -> Bytes32? {
        let holders = peerOrder.filter { (peerHeights[$0] ?? 0) >= height }
        func out(_ p: Bytes32) -> Int { inflight.reduce(0) { $0 + ($1.peer == p ? 1 : 0) } }
        return holders.first { out($0) == 0 } ?? holders.first { out($0) < limits.inflightPerPeerMax }
    }

    private mutating func demote(_ peer: Bytes32) {
        guard let i = peerOrder.firstIndex(of: peer) else { return }
        peerOrder.remove(at: i)
        peerOrder.append(peer)
    }

    private mutating func drop(_ height: UInt64) {
        if let b = buffer.removeValue(forKey: height) { bufferBytes -= b.bytes }
    }
}

/// What a node behind says about its progress: a line every `intervalMs` while more than one block
/// behind (height, target, rate, ETA), and one when it reaches the tip.
struct CatchUpProgress: Sendable {
    struct Line: Sendable {
        let message: String
        let metadata: [String: String]
    }

    var intervalMs: UInt64 = 5_000
    private var started: (ms: UInt64, height: UInt64, txs: UInt64)?
    private var last: (ms: UInt64, height: UInt64, txs: UInt64)?

    mutating func update(applied: UInt64, target: UInt64, txsApplied: UInt64, nowMs: UInt64) -> Line? {
        let behind = target > applied ? target - applied : 0
        guard behind > 1 else {
            guard let s = started else { return nil }
            started = nil
            last = nil
            let seconds = Double(nowMs - s.ms) / 1000
            return Line(message: "caught up", metadata: [
                "height": "\(applied)", "blocks": "\(applied - s.height)", "txs": "\(txsApplied - s.txs)",
                "seconds": Self.format(seconds)])
        }
        guard let l = last else {
            started = (nowMs, applied, txsApplied)
            last = (nowMs, applied, txsApplied)
            return Line(message: "catching up", metadata: ["height": "\(applied)", "target": "\(target)", "behind": "\(behind)"])
        }
        guard nowMs >= l.ms + intervalMs else { return nil }
        let seconds = Double(nowMs - l.ms) / 1000
        let blocksPerSecond = Double(applied - l.height) / seconds
        let txsPerSecond = Double(txsApplied - l.txs) / seconds
        last = (nowMs, applied, txsApplied)
        let eta = blocksPerSecond > 0 ? Self.format(Double(behind) / blocksPerSecond) + " s" : "unknown"
        return Line(message: "catching up", metadata: [
            "height": "\(applied)", "target": "\(target)", "behind": "\(behind)",
            "blocksPerSecond": Self.format(blocksPerSecond), "txsPerSecond": Self.format(txsPerSecond), "eta": eta])
    }

    private static func format(_ x: Double) -> String { String(format: "%.1f", x) }
}
