import TotemCrypto

/// Why the mempool refused a transaction. `code` is part of the public API contract.
public struct MempoolError: CodedError, Hashable {
    public enum Code: String, Sendable {
        case txTooLarge = "tx_too_large"
        case wrongChain = "wrong_chain"
        case badSignature = "bad_signature"
        case unknownSender = "unknown_sender"
        case nonceTooLow = "nonce_too_low"
        case nonceTooHigh = "nonce_too_high"
        case conflictingNonce = "conflicting_nonce"
        case mempoolFull = "mempool_full"
        case senderQuotaExceeded = "sender_quota_exceeded"
        /// A block was committed while the transaction was being checked: check it again (the node
        /// does so itself; a client sees this code only if that keeps happening).
        case stateChanged = "state_changed"

        /// Whether the same transaction may be admitted later without any change to it: the pool
        /// has room again, the sender's earlier nonces or its registration arrive, a block ends.
        public var isForTheMoment: Bool {
            switch self {
            case .mempoolFull, .senderQuotaExceeded, .nonceTooHigh, .unknownSender, .stateChanged: true
            case .txTooLarge, .wrongChain, .badSignature, .nonceTooLow, .conflictingNonce: false
            }
        }
    }

    public let code: Code
    public let message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }
}
