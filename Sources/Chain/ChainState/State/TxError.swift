import TotemCrypto

/// Every stable error code of the state machine, in one place so the API can map them to HTTP
/// statuses. Codes are part of the public contract (`{"error": {"code", "message"}}`); messages
/// are for people and may change.
public enum ChainErrorCode: String, Sendable, CaseIterable, Hashable {
    // Any transaction.
    case wrongChainId = "wrong_chain_id"
    case txTooLarge = "tx_too_large"
    case badNonce = "bad_nonce"
    case badSignature = "bad_signature"

    // Identities and registrars.
    case notRegistrar = "not_registrar"
    case notRootRegistrar = "not_root_registrar"
    case notIdentityRegistrar = "not_identity_registrar"
    case identityExists = "identity_exists"
    case identityNotFound = "identity_not_found"
    case identityAlreadyRevoked = "identity_already_revoked"
    case registrarExists = "registrar_exists"
    case registrarNotFound = "registrar_not_found"

    // Works, transfers, licences, claims.
    case senderNotIdentity = "sender_not_identity"
    case senderIdentityRevoked = "sender_identity_revoked"
    case workAlreadyRegistered = "work_already_registered"
    case batchDuplicateWork = "batch_duplicate_work"
    case workNotFound = "work_not_found"
    case notWorkOwner = "not_work_owner"
    case newOwnerNotIdentity = "new_owner_not_identity"
    case newOwnerRevoked = "new_owner_revoked"
    case transferToSelf = "transfer_to_self"
    case licenseExpired = "license_expired"
    case notOwnerOrAgency = "not_owner_or_agency"

    // Validator changes and evidence.
    case notValidator = "not_validator"
    case validatorChangeFields = "validator_change_fields"
    case validatorPresent = "validator_present"
    case validatorAbsent = "validator_absent"
    case validatorLast = "validator_last"
    case validatorSetFull = "validator_set_full"
    case validatorVoteDuplicate = "validator_vote_duplicate"
    case validatorVoteLimit = "validator_vote_limit"
    case evidenceHeight = "evidence_height"
    case evidenceNotInSet = "evidence_not_in_set"
    case evidenceBadSignature = "evidence_bad_signature"
    case evidenceDuplicate = "evidence_duplicate"

    // Blocks.
    case blockChainId = "block_chain_id"
    case blockHeight = "block_height"
    case blockParentHash = "block_parent_hash"
    case blockTimestamp = "block_timestamp"
    case blockClockDrift = "block_clock_drift"
    case blockTxCount = "block_tx_count"
    case blockTooManyTxs = "block_too_many_txs"
    case blockTooLarge = "block_too_large"
    case blockTxRoot = "block_tx_root"
    case blockTxRejected = "block_tx_rejected"
    case blockValidatorSetHash = "block_validator_set_hash"
    case blockNextValidatorSetHash = "block_next_validator_set_hash"
    case blockStateRoot = "block_state_root"
}

/// Why a transaction does not apply to the state.
public struct TxError: CodedError, Hashable {
    public let code: ChainErrorCode
    public let message: String

    public init(_ code: ChainErrorCode, _ message: String) { self.code = code; self.message = message }
}

/// Why a block is invalid. When one of its transactions does not apply, `txIndex` and `txError`
/// say which and why.
public struct BlockError: CodedError, Hashable {
    public let code: ChainErrorCode
    public let message: String
    public let txIndex: Int?
    public let txError: TxError?

    public init(_ code: ChainErrorCode, _ message: String) {
        self.code = code; self.message = message; self.txIndex = nil; self.txError = nil
    }

    public init(txIndex: Int, txHash: String, _ error: TxError) {
        self.code = .blockTxRejected
        self.message = "tx \(txIndex) (\(txHash)) does not apply: \(error)"
        self.txIndex = txIndex
        self.txError = error
    }
}
