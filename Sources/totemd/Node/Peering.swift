import ChainModel
import Logging
import P2P
import Synchronization
import TotemCrypto

/// Whom the node lets in (the P2P allow list) and whom it dials, from two sources: the chain (the
/// validators of the set in force and of adopted sets, at the addresses they recorded) and the
/// config (`p2p.allowed_observers` and `p2p.persistent_peers`, which SIGHUP re-reads). Both are
/// handed to P2P together whenever either source changes: a validator-set change at commit
/// (`ConsensusDriver.afterCommit`) or a reload (`Node.reloadConfig`).
final class Peering: Sendable {
    /// What the config says about peers: the part of it a reload can change without a restart.
    struct Configured: Sendable, Equatable {
        var observers: Set<Bytes32>
        var peers: [PeerAddress]

        init(observers: Set<Bytes32>, peers: [PeerAddress]) {
            self.observers = observers; self.peers = peers
        }

        init(_ config: NodeConfig) {
            self.init(observers: Set(config.allowedObservers),
                      peers: config.persistentPeers.map { PeerAddress(key: $0.publicKey, host: $0.host, port: $0.port) })
        }

        /// What changed from `old`, one line each, for the log of a reload (empty: nothing).
        func changes(from old: Configured) -> [String] {
            var lines: [String] = []
            for k in observers.subtracting(old.observers).sorted() { lines.append("observer allowed: \(k.hex)") }
            for k in old.observers.subtracting(observers).sorted() { lines.append("observer no longer allowed: \(k.hex)") }
            let before = Dictionary(old.peers.map { ($0.key, $0) }, uniquingKeysWith: { first, _ in first })
            let after = Dictionary(peers.map { ($0.key, $0) }, uniquingKeysWith: { first, _ in first })
            for k in after.keys.sorted() {
                guard let p = after[k] else { continue }
                if let q = before[k] {
                    if q != p { lines.append("persistent peer \(k.hex) moved: \(q) -> \(p)") }
                } else {
                    lines.append("persistent peer added: \(k.hex)@\(p)")
                }
            }
            for k in before.keys.sorted() where after[k] == nil { lines.append("persistent peer removed: \(k.hex)") }
            return lines
        }
    }

    private struct State {
        var configured: Configured
        /// The on-chain addresses last found malformed: each is logged when it first appears, not
        /// at every validator-set change (bounded by the validator-set limit).
        var malformed: Set<DialTargets.Malformed> = []
    }

    private let state: Mutex<State>
    private let applying = Mutex(())
    private let chain: ChainService
    private let localKey: Bytes32
    private let logger: Logger

    init(configured: Configured, chain: ChainService, localKey: Bytes32, logger: Logger) {
        state = Mutex(State(configured: configured))
        self.chain = chain
        self.localKey = localKey
        self.logger = logger
    }

    var configured: Configured { state.withLock { $0.configured } }

    /// Validators in force at the next height and of adopted sets not yet in force, and the
    /// configured observers.
    func allowList() -> AllowList {
        let (inForce, adopted) = chain.validatorKeys()
        return AllowList(validatorsInForce: inForce, validatorsAdopted: adopted, observers: configured.observers)
    }

    /// The chain's validators at their recorded addresses, and the configured peers; a recorded
    /// address that does not parse is skipped, and logged when it first appears.
    func targets() -> [PeerAddress] {
        let outcome = DialTargets.compute(recorded: chain.recordedAddresses(), configured: configured.peers,
                                          localKey: localKey)
        let fresh = state.withLock { s in
            let now = Set(outcome.malformed)
            defer { s.malformed = now }
            return outcome.malformed.filter { !s.malformed.contains($0) }
        }
        for m in fresh {
            logger.warning("a validator's address on the chain cannot be dialled; it is skipped (list it in p2p.persistent_peers to reach it)",
                           metadata: ["validator": "\(m.key.hex)", "address": "\(m.address.debugDescription)", "problem": "\(m.problem)"])
        }
        return outcome.targets
    }

    /// Hands the current allow list and dial targets to P2P. Serialised: a commit and a reload may
    /// apply at once, and whichever hands its lists over last must have read both sources last, or
    /// a stale computation could overwrite a newer one.
    func apply(to network: P2PNode) {
        applying.withLock { _ in
            network.setAllowList(allowList())
            network.setTargets(targets())
        }
    }

    /// Replaces the configured part; returns what changed.
    func reconfigure(_ next: Configured) -> [String] {
        state.withLock { s in
            defer { s.configured = next }
            return next.changes(from: s.configured)
        }
    }
}
