import ChainModel
import ChainState
import Logging
import P2P
import Storage
import Synchronization
import TotemCrypto

/// The one path by which transactions enter the node, whoever offers them: a client through the
/// API, a peer through gossip, or consensus with equivocation evidence. It admits them into the
/// mempool (`ChainService.submit`), gossips the accepted ones (except those a peer sent: P2P
/// forwards what `GossipAdmission` returns, so gossiping them here too would send them twice),
/// counts them in the metrics and wakes consensus when any was accepted. A store failure during
/// admission is counted (`totem_store_read_failures_total`), logged, and thrown to the caller.
final class AdmissionService: Sendable {
    /// Where transactions come from.
    enum Origin: String, Sendable, CaseIterable {
        /// A client, through the HTTP API.
        case api
        /// A peer, through gossip.
        case peer
        /// This node's consensus runtime: a SubmitEvidence tx for an equivocation it saw.
        case evidence
    }

    /// The parts admitted transactions go on to. They are built after this service (P2P takes the
    /// gossip admission at its creation, and consensus takes this service), so they are connected
    /// once they exist, before the node runs.
    struct Outlets: Sendable {
        let network: P2PNode
        let consensus: ConsensusDriver
    }

    let chain: ChainService
    /// The thread that admits what clients and peers offer (`submitOffPool`).
    private let worker = SerialThread(name: "totem-admission", queueCapacity: NodeLimits.admissionQueueMax)
    private let metrics: NodeMetrics
    private let logger: Logger
    private let outlets = Mutex<Outlets?>(nil)
    /// Bytes of API batches on their way through admission (`NodeLimits.apiAdmissionPendingMaxBytes`).
    private let apiPending = Mutex(ByteBudget(maxBytes: NodeLimits.apiAdmissionPendingMaxBytes))

    init(chain: ChainService, metrics: NodeMetrics, logger: Logger) {
        self.chain = chain
        self.metrics = metrics
        self.logger = logger
    }

    /// Connects the network (for gossip) and consensus (to wake it). Until then accepted
    /// transactions only enter the mempool, which consensus reads when it starts.
    func connect(network: P2PNode, consensus: ConsensusDriver) {
        outlets.withLock { $0 = Outlets(network: network, consensus: consensus) }
    }

    /// `submit` on the node's admission thread, one batch at a time. Admitting a batch takes long
    /// when its txs carry many works (each is looked up in the store and indexed in the mempool:
    /// hundreds of milliseconds for 100 batches of 100 works on a busy machine). Run on the
    /// cooperative pool, which has a thread per core, four peers' gossip and the API took every
    /// thread for seconds, and consensus messages waited there to be decoded and stamped: voters
    /// then found proposals older than `maxClockDriftMs` (`bench --works-per-tx 100`).
    ///
    /// A client's batch that would take the API's batches on their way through admission past
    /// their byte bound, while others are under way, is refused whole (`overloaded`) before it
    /// queues; a peer's batches are bounded by its gossip inbox.
    func submitOffPool(_ txs: [SignedTx], from origin: Origin) async throws -> [ChainService.SubmitOutcome] {
        guard !txs.isEmpty else { return [] }
        guard origin == .api else { return try await worker.run { try self.submit(txs, from: origin) } }
        let bytes = txs.reduce(0) { $0 + $1.bytes.count }
        guard let held = apiPending.withLock({ $0.reserve(bytes) }) else {
            metrics.txsSubmitted.increment(by: txs.count)
            metrics.txsRejected.increment(by: txs.count)
            let message = "the node is admitting \(apiPending.withLock { $0.bytes } >> 20) MiB of other requests' transactions; "
                + "submit again shortly"
            return Array(repeating: .rejected(code: Self.overloaded, message: message), count: txs.count)
        }
        defer { apiPending.withLock { $0.release(held) } }
        return try await worker.run { try self.submit(txs, from: origin) }
    }

    /// The refusal of a client's batch while admission holds too many bytes already (retriable).
    static let overloaded = "overloaded"

    /// Offers `txs` to the mempool; one outcome per tx, in order. Throws when the store cannot be
    /// read (counted and logged here first).
    func submit(_ txs: [SignedTx], from origin: Origin) throws -> [ChainService.SubmitOutcome] {
        guard !txs.isEmpty else { return [] }
        let outcomes: [ChainService.SubmitOutcome]
        do {
            outcomes = try chain.submit(txs)
        } catch {
            metrics.storeReadFailures.increment()
            logger.error("could not admit transactions: the store read failed",
                         metadata: ["origin": "\(origin.rawValue)", "count": "\(txs.count)", "error": "\(error)"])
            throw error
        }
        let accepted = zip(txs, outcomes).filter { $0.1 == .accepted }.map(\.0)
        if origin == .api {
            metrics.txsSubmitted.increment(by: txs.count)
            let refused = outcomes.count { if case .rejected = $0 { true } else { false } }
            if refused > 0 { metrics.txsRejected.increment(by: refused) }
        }
        let outlets = outlets.withLock { $0 }
        // Evicted to make room (held behind a nonce gap): P2P forgets it saw them too, so a peer's
        // regossip brings them back. Without it, txs evicted everywhere but on a benched validator
        // stayed there for minutes, a view change at every height (seen at a million works).
        outlets?.network.forgetSeen(chain.mempool.withPool { $0.takeEvicted() })
        if origin == .peer {
            // Refused for the moment: P2P forgets it saw them, so a peer's `regossip` brings them
            // to admission again (otherwise a tx refused here while the pool was full could reach
            // this node again only in a block, and never if only one benched node held it).
            let again = zip(txs, outcomes).compactMap { tx, outcome -> Bytes32? in
                guard case .rejected(let code, _) = outcome,
                      MempoolError.Code(rawValue: code)?.isForTheMoment == true else { return nil }
                return tx.hash
            }
            outlets?.network.forgetSeen(again)
        }
        guard !accepted.isEmpty else { return outcomes }
        metrics.txsAccepted[origin].increment(by: accepted.count)
        if origin != .peer { outlets?.network.gossip(accepted) }
        outlets?.consensus.workPending()
        return outcomes
    }
}

/// Transactions received from peers enter the mempool through the node's `AdmissionService`; P2P
/// forwards to other peers the ones returned here, the accepted ones.
struct GossipAdmission: TxAdmission {
    let admission: AdmissionService
    /// This node's key.
    let ownKey: Bytes32

    func admit(_ txs: [SignedTx], from peer: Bytes32) async -> [SignedTx] {
        if Self.leavesToValidators(own: ownKey, peer: peer, keys: admission.chain.lastReadValidatorKeys()) { return [] }
        // A store failure is counted and logged by the service; the batch is then not forwarded.
        guard let outcomes = try? await admission.submitOffPool(txs, from: .peer) else { return [] }
        return zip(txs, outcomes).filter { $0.1 == .accepted }.map(\.0)
    }

    /// Whether a node of key `own` leaves gossip from `peer` to the validators: it is in no
    /// validator set (neither in force nor adopted), so it never proposes, and `peer` is a validator
    /// of the set in force, which holds the txs already and passes them to the other validators
    /// itself. Checking their signatures here would be work for nothing: on a devnet of four
    /// validators and an observer, a fifth of every signature check. Gossip from another observer is
    /// still admitted and forwarded (a chain of observers may be a tx's only way to the validators),
    /// and so is gossip to a node of an adopted set, which will propose once the set is in force.
    /// What the node's own API accepts is gossiped as before.
    static func leavesToValidators(own: Bytes32, peer: Bytes32, keys: ChainService.ValidatorKeys) -> Bool {
        !keys.inForce.contains(own) && !keys.adopted.contains(own) && keys.inForce.contains(peer)
    }
}

/// Bytes reserved by work under way, up to a bound; the first reservation always passes (so one
/// request larger than the bound is still served, alone).
struct ByteBudget: Sendable {
    let maxBytes: Int
    private(set) var bytes = 0

    init(maxBytes: Int) { self.maxBytes = maxBytes }

    /// Reserves `count` bytes; nil when others hold bytes and this would pass the bound.
    mutating func reserve(_ count: Int) -> Int? {
        guard bytes == 0 || bytes + count <= maxBytes else { return nil }
        bytes += count
        return count
    }

    mutating func release(_ count: Int) { bytes -= count }
}
