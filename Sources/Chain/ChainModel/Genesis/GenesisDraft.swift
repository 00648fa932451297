import TotemCrypto

/// A genesis being assembled (the genesis ceremony, docs/ops/genesis-ceremony.md): the fields of a
/// genesis file, whose validator list may still be empty. Its file has the genesis form, so the
/// same file is first a draft and, once it has validators, the genesis itself.
public struct GenesisDraft: Sendable {
    public var chainId: String
    public var genesisTimeMs: UInt64
    public var rootRegistrar: Bytes32
    public var registrars: [GenesisRegistrar]
    public var validators: [GenesisValidator]
    public var params: GenesisParams

    public init(chainId: String, genesisTimeMs: UInt64, rootRegistrar: Bytes32, registrars: [GenesisRegistrar],
                validators: [GenesisValidator], params: GenesisParams) {
        self.chainId = chainId
        self.genesisTimeMs = genesisTimeMs
        self.rootRegistrar = rootRegistrar
        self.registrars = registrars
        self.validators = validators
        self.params = params
    }

    /// Reads a draft (or a finished genesis) under every rule of `Genesis.parse` except that the
    /// validator list may be empty.
    public static func parse(fileBytes: [UInt8]) throws(GenesisError) -> GenesisDraft {
        try Genesis.parseFields(fileBytes, validatorsCount: 0...GenesisLimits.validatorsCount.upperBound)
    }

    /// The genesis this draft writes, parsed back from its file with every rule (at least one
    /// validator among them).
    public func build() throws(GenesisError) -> Genesis {
        try Genesis.parse(fileBytes: fileBytes)
    }
}
