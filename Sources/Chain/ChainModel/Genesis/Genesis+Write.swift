import TotemCrypto

extension Genesis {
    /// Writes a genesis file from its fields (keys in PROTOCOL.md's order, two-space indentation,
    /// a final newline) and parses it back, so what is returned is exactly what nodes will read
    /// from the file, and a value the parser would refuse is refused here with the same error.
    public static func build(chainId: String, genesisTimeMs: UInt64, rootRegistrar: Bytes32,
                             registrars: [GenesisRegistrar], validators: [GenesisValidator],
                             params: GenesisParams) throws(GenesisError) -> Genesis {
        func int(_ v: Int) -> JSONValue { .number(String(v)) }
        let document: JSONValue = .object([
            (key: "chainId", value: .string(chainId)),
            (key: "genesisTimeMs", value: .integer(genesisTimeMs)),
            (key: "rootRegistrar", value: .string(rootRegistrar.hex)),
            (key: "registrars", value: .array(registrars.map { r in
                .object([(key: "name", value: .string(r.name)), (key: "publicKey", value: .string(r.publicKey.hex))])
            })),
            (key: "validators", value: .array(validators.map { v in
                .object([(key: "name", value: .string(v.name)), (key: "publicKey", value: .string(v.publicKey.hex)),
                         (key: "p2pAddress", value: .string(v.p2pAddress))])
            })),
            (key: "params", value: .object([
                (key: "maxBlockTxs", value: int(params.maxBlockTxs)),
                (key: "maxBlockBytes", value: int(params.maxBlockBytes)),
                (key: "maxTxBytes", value: int(params.maxTxBytes)),
                (key: "proposalTimeoutMs", value: .integer(params.proposalTimeoutMs)),
                (key: "maxProposalTimeoutMs", value: .integer(params.maxProposalTimeoutMs)),
                (key: "emptyBlockIntervalMs", value: .integer(params.emptyBlockIntervalMs)),
                (key: "maxClockDriftMs", value: .integer(params.maxClockDriftMs)),
                (key: "validatorChangeTtlBlocks", value: .integer(params.validatorChangeTtlBlocks)),
            ])),
        ])
        return try parse(fileBytes: JSONWriter.write(document, style: .pretty(indent: 2)))
    }
}
