import ChainModel
import P2PWire
import TotemCrypto

/// A peer to dial: its node key and address (host name or IP, and port).
public struct PeerAddress: Sendable, Hashable, CustomStringConvertible {
    public var key: Bytes32
    public var host: String
    public var port: Int

    public init(key: Bytes32, host: String, port: Int) {
        self.key = key; self.host = host; self.port = port
    }

    /// `host:port`, an IPv6 host in brackets (the form `parseHostPort` reads).
    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
}

/// Identifies one TCP connection for the life of the process.
public struct ConnectionID: Hashable, Sendable, Comparable, CustomStringConvertible {
    public let raw: UInt64
    public init(_ raw: UInt64) { self.raw = raw }
    public static func < (a: ConnectionID, b: ConnectionID) -> Bool { a.raw < b.raw }
    public var description: String { "c\(raw)" }
}

/// Who opened a connection, from this node's point of view.
public enum ConnectionDirection: Sendable, Hashable {
    case inbound, outbound
}


/// The peer manager as a pure state machine (STYLE.md §6): which peers to dial and when, which of
/// two connections with one peer to keep, and what to close. No sockets, clocks or randomness of its
/// own: time comes in events and jitter from the seeded generator it is given.
///
/// Invariants: at most one active connection per peer key; a target peer that is not connected has
/// exactly one dial in flight or a redial time; this node's own key is never a target; redial delays grow as
/// `min(cap, base * 2^failures)`, jittered to between half and all of that.
public struct PeerManager: Sendable {
    public struct Config: Sendable {
        public var localKey: Bytes32
        public var backoffBaseMs: Int64
        public var backoffCapMs: Int64

        public init(localKey: Bytes32, backoffBaseMs: Int64 = P2PLimits.dialBackoffBaseMsDefault,
                    backoffCapMs: Int64 = P2PLimits.dialBackoffCapMsDefault) {
            self.localKey = localKey; self.backoffBaseMs = backoffBaseMs; self.backoffCapMs = backoffCapMs
        }
    }

    public enum Event: Sendable {
        /// Time passes; due dials fire.
        case tick(nowMs: Int64)
        /// A dial to this peer failed (connect, handshake or status).
        case dialFailed(Bytes32, nowMs: Int64)
        /// A connection finished its handshake and status exchange.
        case established(Bytes32, ConnectionID, ConnectionDirection, nowMs: Int64)
        /// A connection (active or not) has closed.
        case closed(Bytes32, ConnectionID, nowMs: Int64)
        /// The allow-list changed: active peers outside it are closed.
        case allowListChanged(Set<Bytes32>)
        /// The peers to dial changed (the validator set, or the config on reload): new ones are
        /// dialled at the next tick, removed ones are no longer redialled (a connection they have
        /// stays while the allow-list lets it), and one whose address changed is dialled there next.
        case targetsChanged([PeerAddress])
        /// Shut down: close everything, dial nothing more.
        case stop
    }

    public enum Action: Sendable, Equatable {
        case dial(PeerAddress)
        /// Make this connection the peer's one connection (replacing any other, which is closed by
        /// a separate action); the peer is up if it was not.
        case activate(Bytes32, ConnectionID)
        case close(ConnectionID, DisconnectReason)
        /// The peer has no connection any more.
        case peerDown(Bytes32)
    }

    private struct Target: Sendable {
        var address: PeerAddress
        var dialing = false
        var failures = 0
        var dueMs: Int64 = 0
    }

    private struct Active: Sendable {
        var id: ConnectionID
        var direction: ConnectionDirection
    }

    public let config: Config
    private var targets: [Bytes32: Target] = [:]
    /// Target keys in a fixed order, so dials replay in the same order from a seed.
    private var targetOrder: [Bytes32] = []
    private var active: [Bytes32: Active] = [:]
    private var rng: SplitMix64
    private var stopped = false

    public init(config: Config, peers: [PeerAddress], rng: SplitMix64) {
        self.config = config
        self.rng = rng
        setTargets(peers)
    }

    /// The dial targets' keys, in dial order.
    public var targetKeys: [Bytes32] { targetOrder }

    public func isActive(_ key: Bytes32) -> Bool { active[key] != nil }
    public func activeConnection(_ key: Bytes32) -> ConnectionID? { active[key]?.id }
    public var activeKeys: [Bytes32] { active.keys.sorted() }
    /// When the next dial of `key` is due, if it waits for one.
    public func redialDueMs(_ key: Bytes32) -> Int64? {
        guard let t = targets[key], !t.dialing, active[key] == nil else { return nil }
        return t.dueMs
    }

    public mutating func step(_ event: Event) -> [Action] {
        switch event {
        case .tick(let now): return tick(now)
        case .dialFailed(let key, let now): return dialFailed(key, now)
        case .established(let key, let id, let direction, let now): return established(key, id, direction, now)
        case .closed(let key, let id, let now): return closed(key, id, now)
        case .allowListChanged(let allowed): return allowListChanged(allowed)
        case .targetsChanged(let peers):
            setTargets(peers)
            return []
        case .stop: return stop()
        }
    }

    private mutating func tick(_ now: Int64) -> [Action] {
        guard !stopped else { return [] }
        var actions: [Action] = []
        for key in targetOrder {
            guard var t = targets[key], !t.dialing, active[key] == nil, t.dueMs <= now else { continue }
            t.dialing = true
            targets[key] = t
            actions.append(.dial(t.address))
        }
        return actions
    }

    private mutating func dialFailed(_ key: Bytes32, _ now: Int64) -> [Action] {
        guard var t = targets[key] else { return [] }
        t.dialing = false
        t.dueMs = now + backoffMs(failures: t.failures)
        t.failures += 1
        targets[key] = t
        return []
    }

    /// Delay before the next dial after `failures` consecutive failures: the capped exponential
    /// delay, jittered to between half and all of it.
    mutating func backoffMs(failures: Int) -> Int64 {
        let doublings = min(failures, P2PLimits.dialBackoffMaxDoublings)
        let full = min(config.backoffCapMs, config.backoffBaseMs << doublings)
        let half = full / 2
        return half + Int64.random(in: 0...max(0, full - half), using: &rng)
    }

    private mutating func established(_ key: Bytes32, _ id: ConnectionID, _ direction: ConnectionDirection,
                                      _ now: Int64) -> [Action] {
        if direction == .outbound, var t = targets[key] {
            t.dialing = false
            t.failures = 0
            targets[key] = t
        }
        guard !stopped else { return [.close(id, .shutdown)] }
        guard let current = active[key] else {
            active[key] = Active(id: id, direction: direction)
            return [.activate(key, id)]
        }
        if keepsNew(current: current.direction, new: direction, peer: key) {
            active[key] = Active(id: id, direction: direction)
            return [.close(current.id, .duplicate), .activate(key, id)]
        }
        return [.close(id, .duplicate)]
    }

    /// The tie-break, the same on both sides: of two connections in opposite directions, keep the
    /// one dialled by the smaller node key; of two in the same direction, the newer (the older is
    /// from before a restart of one side).
    func keepsNew(current: ConnectionDirection, new: ConnectionDirection, peer: Bytes32) -> Bool {
        if current == new { return true }
        let preferred: ConnectionDirection = config.localKey < peer ? .outbound : .inbound
        return new == preferred
    }

    private mutating func closed(_ key: Bytes32, _ id: ConnectionID, _ now: Int64) -> [Action] {
        guard let current = active[key], current.id == id else { return [] }
        active[key] = nil
        if var t = targets[key], !t.dialing {
            t.dueMs = now + backoffMs(failures: 0)
            targets[key] = t
        }
        return [.peerDown(key)]
    }

    private mutating func allowListChanged(_ allowed: Set<Bytes32>) -> [Action] {
        var actions: [Action] = []
        for key in active.keys.sorted() where !allowed.contains(key) {
            if let a = active[key] { actions.append(.close(a.id, .notAllowed)) }
        }
        return actions
    }

    /// Replaces the targets, keeping the dial state (in flight, failures, redial time) of a peer that
    /// stays at the same address; the first entry of a key wins.
    private mutating func setTargets(_ peers: [PeerAddress]) {
        var next: [Bytes32: Target] = [:]
        var order: [Bytes32] = []
        for p in peers where p.key != config.localKey && next[p.key] == nil {
            guard order.count < P2PLimits.dialTargetsMaxCount else { break }
            var t = targets[p.key] ?? Target(address: p)
            if t.address != p {
                // A new address is worth a dial at once: the old one's failures say nothing of it.
                t.address = p
                t.failures = 0
                if !t.dialing { t.dueMs = 0 }
            }
            next[p.key] = t
            order.append(p.key)
        }
        targets = next
        targetOrder = order
    }

    private mutating func stop() -> [Action] {
        stopped = true
        return active.keys.sorted().compactMap { key in active[key].map { .close($0.id, .shutdown) } }
    }
}
