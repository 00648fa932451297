import TotemCrypto

/// An error of P2P or its wire format (targets P2P and P2PWire): a stable code (part of the
/// contract, used in logs and metrics) and a message for people.
public struct P2PError: CodedError, Hashable {
    public enum Code: String, Sendable, Hashable {
        // Handshake refusals.
        case malformedHandshake = "malformed_handshake"
        case versionMismatch = "version_mismatch"
        case chainIdMismatch = "chain_id_mismatch"
        case genesisMismatch = "genesis_mismatch"
        case peerNotAllowed = "peer_not_allowed"
        case selfConnection = "self_connection"
        case keyExchangeFailed = "key_exchange_failed"
        case badSignature = "bad_signature"
        case handshakeTimeout = "handshake_timeout"
        /// The dialled peer closed the connection before the handshake finished.
        case refusedByPeer = "refused_by_peer"
        // Framing and session.
        case frameTooLarge = "frame_too_large"
        case authenticationFailed = "authentication_failed"
        case nonceExhausted = "nonce_exhausted"
        case malformedMessage = "malformed_message"
        case protocolViolation = "protocol_violation"
        case connectionClosed = "connection_closed"
        // Local.
        case queueFull = "queue_full"
        case tooManyPendingConnections = "too_many_pending_connections"
        case invalidConfig = "invalid_config"
    }

    public let code: Code
    public let message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }
}
