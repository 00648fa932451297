import ChainModel

extension ChainConfig {
    /// The state machine's view of a parsed genesis file.
    public init(genesis g: Genesis) {
        do {
            try self.init(chainId: g.chainId, genesisHash: g.genesisHash, genesisTimeMs: g.genesisTimeMs,
                          rootRegistrar: g.rootRegistrar, maxBlockTxs: g.params.maxBlockTxs,
                          maxBlockBytes: g.params.maxBlockBytes, maxTxBytes: g.params.maxTxBytes,
                          maxClockDriftMs: g.params.maxClockDriftMs,
                          validatorChangeTtlBlocks: g.params.validatorChangeTtlBlocks,
                          registrars: g.registrars.map { Registrar(name: $0.name, publicKey: $0.publicKey) },
                          validators: g.validators.map {
                              ValidatorMember(key: $0.publicKey, name: $0.name, p2pAddress: $0.p2pAddress)
                          })
        } catch {
            preconditionFailure("a parsed genesis has 1 to \(Limits.validatorsMaxCount) validators with distinct keys: \(error)")
        }
    }
}
