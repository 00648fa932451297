import ChainModel
import TotemCrypto

extension CertificateVerification {
    // MARK: 3. validatorSets

    /// The history from genesis: the genesis set first, then each change certified by the header
    /// before it takes force, signed by a quorum of the set before it. Returns the entries and
    /// their sets, oldest first (never empty).
    func checkValidatorSets(_ doc: CertificateDocument)
    throws(CertificateFailure) -> ([CertificateValidatorSet], [ValidatorSet]) {
        let entries = try CertificateReader.validatorSets(doc.validatorSets)
        guard let first = entries.first else {
            throw fail("empty", "validatorSets is empty; it must start with the genesis set")
        }
        guard first.fromHeight == 1 else {
            throw fail("first_from_height", "the first entry starts at height \(first.fromHeight), not 1")
        }
        guard let firstSet = ValidatorSet(first.validators), firstSet.count == first.validators.count else {
            throw fail("repeated_key", "the first entry lists a key twice")
        }
        guard firstSet.keys == genesis.validatorSet.keys else {
            throw fail("not_genesis", "the first entry is not the genesis validator set")
        }
        var sets = [firstSet]
        for i in entries.indices.dropFirst() {
            sets.append(try checkLaterEntry(entries[i], index: i, previous: entries[i - 1], previousSet: sets[i - 1]))
        }
        return (entries, sets)
    }

    private func checkLaterEntry(_ e: CertificateValidatorSet, index i: Int, previous: CertificateValidatorSet,
                                 previousSet: ValidatorSet) throws(CertificateFailure) -> ValidatorSet {
        let name = "validatorSets[\(i)]"
        guard e.fromHeight > previous.fromHeight else {
            throw fail("from_height", "\(name) starts at height \(e.fromHeight), not after \(previous.fromHeight)")
        }
        guard !e.validators.isEmpty, zip(e.validators, e.validators.dropFirst()).allSatisfy({ $0 < $1 }),
              let set = ValidatorSet(e.validators) else {
            throw fail("unsorted", "\(name) does not list distinct keys in ascending order")
        }
        guard let certifiedBy = e.certifiedBy else {
            throw fail("certified_by", "\(name) has no certifiedBy")
        }
        let header: Header
        do {
            header = try Header.decode(certifiedBy.header)
        } catch {
            throw fail("header_decode", "\(name).certifiedBy.header does not decode: \(error)")
        }
        guard sameBytes(header.chainId, genesis.chainId) else {
            throw fail("header_chain_id", "\(name).certifiedBy.header has chainId \"\(header.chainId)\"")
        }
        guard header.height == e.fromHeight - 1 else {
            throw fail("header_height", "\(name).certifiedBy.header has height \(header.height), not \(e.fromHeight - 1)")
        }
        guard header.validatorSetHash == previousSet.hash else {
            throw fail("header_validator_set_hash", "\(name).certifiedBy.header's validatorSetHash is not the hash "
                       + "of the previous entry's set")
        }
        guard header.nextValidatorSetHash == set.hash else {
            throw fail("header_next_validator_set_hash", "\(name).certifiedBy.header's nextValidatorSetHash is not "
                       + "the hash of this entry's set")
        }
        try checkCommit(certifiedBy.commit, header: header, blockHash: SHA256.hash(certifiedBy.header),
                        set: previousSet, step: .validatorSets, what: "\(name).certifiedBy.commit")
        return set
    }

    private func fail(_ what: String, _ message: String) -> CertificateFailure {
        CertificateFailure(.validatorSets, what, message)
    }
}
