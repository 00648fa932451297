import TotemCrypto

extension Genesis {
    /// Writes a genesis file from its fields (keys in PROTOCOL.md's order, two-space indentation,
    /// a final newline) and parses it back, so what is returned is exactly what nodes will read
    /// from the file, and a value the parser would refuse is refused here with the same error.
    public static func build(chainId: String, genesisTimeMs: UInt64, rootRegistrar: Bytes32,
                             registrars: [GenesisRegistrar], validators: [GenesisValidator],
                             params: GenesisParams) throws(GenesisError) -> Genesis {
        try GenesisDraft(chainId: chainId, genesisTimeMs: genesisTimeMs, rootRegistrar: rootRegistrar,
                         registrars: registrars, validators: validators, params: params).build()
    }
}

extension GenesisDraft {
    /// The file: keys in PROTOCOL.md's order, two-space indentation, a final newline.
    public var fileBytes: [UInt8] {
        func int(_ v: Int) -> JSONValue { .number(String(v)) }
        let document: JSONValue = .object([
            (key: "chainId", value: .string(chainId)),
            (key: "genesisTimeMs", value: .integer(genesisTimeMs)),
            (key: "rootRegistrar", value: .string(rootRegistrar.hex)),
            (key: "registrars", value: .array(registrars.map { r in
                .object([(key: "name", value: .string(r.name)), (key: "publicKey", value: .string(r.publicKey.hex))])
            })),
            (key: "validators", value: .array(validators.map(\.json))),
            (key: "params", value: .object([
                (key: "maxBlockTxs", value: int(params.maxBlockTxs)),
                (key: "maxBlockBytes", value: int(params.maxBlockBytes)),
                (key: "maxTxBytes", value: int(params.maxTxBytes)),
                (key: "proposalTimeoutMs", value: .integer(params.proposalTimeoutMs)),
                (key: "maxProposalTimeoutMs", value: .integer(params.maxProposalTimeoutMs)),
                (key: "emptyBlockIntervalMs", value: .integer(params.emptyBlockIntervalMs)),
                (key: "maxClockDriftMs", value: .integer(params.maxClockDriftMs)),
                (key: "validatorChangeTtlBlocks", value: .integer(params.validatorChangeTtlBlocks)),
            ] + optionalParams)),
        ])
        return JSONWriter.write(document, style: .pretty(indent: 2))
    }

    /// The optional parameters that are set, after the required ones (absent ones are not
    /// written, so a file without them keeps the bytes it had before they existed).
    private var optionalParams: [(key: String, value: JSONValue)] {
        var out: [(key: String, value: JSONValue)] = []
        if let v = params.checkpointIntervalBlocks { out.append((key: "checkpointIntervalBlocks", value: .integer(v))) }
        if let v = params.snapshotChunkBytes { out.append((key: "snapshotChunkBytes", value: .number(String(v)))) }
        return out
    }
}

extension GenesisValidator {
    /// The entry as it stands in a genesis file's `validators`.
    var json: JSONValue {
        .object([(key: "name", value: .string(name)), (key: "publicKey", value: .string(publicKey.hex)),
                 (key: "p2pAddress", value: .string(p2pAddress))])
    }

    /// The entry as a file of its own (what an agency publishes for the ceremony), in the form
    /// `Genesis.parseValidatorEntry` reads.
    public var entryFileBytes: [UInt8] {
        JSONWriter.write(json, style: .pretty(indent: 2))
    }
}
