import TotemCrypto

extension Genesis {
    static let topKeys = ["chainId", "genesisTimeMs", "rootRegistrar", "registrars", "validators", "params"]
    static let registrarKeys = ["name", "publicKey"]
    static let validatorKeys = ["name", "publicKey", "p2pAddress"]
    static let paramKeys = ["maxBlockTxs", "maxBlockBytes", "maxTxBytes", "proposalTimeoutMs", "maxProposalTimeoutMs",
                            "emptyBlockIntervalMs", "maxClockDriftMs", "validatorChangeTtlBlocks"]
    /// Parameters a file may leave out (added after the first chains were started: their files
    /// must keep their bytes, so they are written only when set).
    static let optionalParamKeys = ["checkpointIntervalBlocks", "snapshotChunkBytes"]

    /// Parses and checks a genesis file. Every field is required (`registrars` may be empty);
    /// unknown fields, duplicate keys, keys other than 64 lowercase hex digits and numbers other
    /// than JSON integers in 0...2^53 - 1 are refused, as are the values `GenesisLimits` bounds.
    /// `genesisHash` is SHA-256 of `fileBytes` exactly as given.
    public static func parse(fileBytes: [UInt8]) throws(GenesisError) -> Genesis {
        let d = try parseFields(fileBytes, validatorsCount: GenesisLimits.validatorsCount)
        return Genesis(chainId: d.chainId, genesisTimeMs: d.genesisTimeMs, rootRegistrar: d.rootRegistrar,
                       registrars: d.registrars, validators: d.validators, params: d.params, fileBytes: fileBytes)
    }

    /// The fields of a genesis file under every rule of `parse`, with `validatorsCount` as the
    /// bound on the validator list (a draft may have none yet).
    static func parseFields(_ fileBytes: [UInt8], validatorsCount: ClosedRange<Int>) throws(GenesisError) -> GenesisDraft {
        do {
            let root = try JSONParser.parse(fileBytes, maxInputBytes: GenesisLimits.fileMaxBytes).object(at: .root)
            try root.expectKeys(topKeys)
            let chainId = try root.string("chainId")
            try checkChainId(chainId, path: root.path.appending("chainId"))
            let genesisTimeMs = try root.uint("genesisTimeMs")
            let rootRegistrar = try root.bytes32("rootRegistrar")
            let registrars = try parseRegistrars(root)
            let validators = try parseValidators(root, count: validatorsCount)
            let params = try parseParams(try root.object("params"))
            return GenesisDraft(chainId: chainId, genesisTimeMs: genesisTimeMs, rootRegistrar: rootRegistrar,
                                registrars: registrars, validators: validators, params: params)
        } catch {
            throw GenesisError(wrapping: error)
        }
    }

    /// One validator entry as a file of its own (`{"name", "publicKey", "p2pAddress"}`), under the
    /// rules of an item of a genesis file's `validators`; paths in errors start at the entry.
    public static func parseValidatorEntry(fileBytes: [UInt8]) throws(GenesisError) -> GenesisValidator {
        do {
            let o = try JSONParser.parse(fileBytes, maxInputBytes: GenesisLimits.validatorEntryMaxBytes).object(at: .root)
            return try parseValidator(o)
        } catch {
            throw GenesisError(wrapping: error)
        }
    }

    /// 1 to 64 characters of `[a-z0-9-]`.
    static func checkChainId(_ chainId: String, path: JSONPath) throws(GenesisError) {
        let bytes = Array(chainId.utf8)
        let allowed = bytes.allSatisfy { c in
            (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(c) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(c)
                || c == UInt8(ascii: "-")
        }
        guard GenesisLimits.chainIdBytes.contains(bytes.count), allowed else {
            throw GenesisError(.badChainId, field: path.description,
                               "chainId must be 1 to \(Limits.chainIdMaxBytes) characters of [a-z0-9-]")
        }
    }

    private static func parseRegistrars(_ root: JSONObjectReader) throws -> [GenesisRegistrar] {
        let path = root.path.appending("registrars")
        let items = try root.array("registrars")
        guard items.count <= GenesisLimits.registrarsMax else {
            throw GenesisError(.badRegistrars, field: path.description,
                               "\(items.count) registrars, at most \(GenesisLimits.registrarsMax)")
        }
        var seen = Set<Bytes32>()
        var out = [GenesisRegistrar]()
        for (i, item) in items.enumerated() {
            let o = try item.object(at: path.appending(index: i))
            try o.expectKeys(registrarKeys)
            let r = GenesisRegistrar(name: try o.string("name", bytes: GenesisLimits.registrarNameBytes),
                                     publicKey: try o.bytes32("publicKey"))
            guard seen.insert(r.publicKey).inserted else {
                throw GenesisError(.duplicateRegistrar, field: o.path.appending("publicKey").description,
                                   "registrar key \(r.publicKey) is listed twice")
            }
            out.append(r)
        }
        return out
    }

    private static func parseValidators(_ root: JSONObjectReader, count: ClosedRange<Int>) throws -> [GenesisValidator] {
        let path = root.path.appending("validators")
        let items = try root.array("validators")
        guard count.contains(items.count) else {
            throw GenesisError(.badValidators, field: path.description,
                               "\(items.count) validators; a genesis needs \(count.lowerBound) to \(count.upperBound)")
        }
        var seen = Set<Bytes32>()
        var out = [GenesisValidator]()
        for (i, item) in items.enumerated() {
            let o = try item.object(at: path.appending(index: i))
            let v = try parseValidator(o)
            guard seen.insert(v.publicKey).inserted else {
                throw GenesisError(.duplicateValidator, field: o.path.appending("publicKey").description,
                                   "validator key \(v.publicKey) is listed twice")
            }
            out.append(v)
        }
        return out
    }

    private static func parseValidator(_ o: JSONObjectReader) throws -> GenesisValidator {
        try o.expectKeys(validatorKeys)
        return GenesisValidator(name: try o.string("name", bytes: GenesisLimits.validatorNameBytes),
                                publicKey: try o.bytes32("publicKey"),
                                p2pAddress: try o.string("p2pAddress", bytes: GenesisLimits.p2pAddressBytes))
    }

    private static func parseParams(_ o: JSONObjectReader) throws -> GenesisParams {
        try o.expectKeys(paramKeys, optional: optionalParamKeys)
        let p = GenesisParams(
            maxBlockTxs: try int(o, "maxBlockTxs"), maxBlockBytes: try int(o, "maxBlockBytes"),
            maxTxBytes: try int(o, "maxTxBytes"), proposalTimeoutMs: try o.uint("proposalTimeoutMs"),
            maxProposalTimeoutMs: try o.uint("maxProposalTimeoutMs"),
            emptyBlockIntervalMs: try o.uint("emptyBlockIntervalMs"), maxClockDriftMs: try o.uint("maxClockDriftMs"),
            validatorChangeTtlBlocks: try o.uint("validatorChangeTtlBlocks"),
            checkpointIntervalBlocks: o.has("checkpointIntervalBlocks") ? try o.uint("checkpointIntervalBlocks") : nil,
            snapshotChunkBytes: o.has("snapshotChunkBytes") ? try int(o, "snapshotChunkBytes") : nil)
        try p.check(path: o.path)
        return p
    }

    private static func int(_ o: JSONObjectReader, _ key: String) throws -> Int {
        guard let v = Int(exactly: try o.uint(key)) else {
            throw GenesisError(.badInteger, field: o.path.appending(key).description, "does not fit this platform's Int")
        }
        return v
    }
}

extension GenesisParams {
    /// The bounds of PROTOCOL.md and `GenesisLimits`, each error naming its parameter.
    func check(path: JSONPath) throws(GenesisError) {
        func require(_ ok: Bool, _ key: String, _ rule: String) throws(GenesisError) {
            guard ok else { throw GenesisError(.badParam, field: path.appending(key).description, rule) }
        }
        try require((1...GenesisLimits.blockTxsLimitMax).contains(maxBlockTxs), "maxBlockTxs",
                    "maxBlockTxs must be 1 to \(GenesisLimits.blockTxsLimitMax)")
        try require((GenesisLimits.txBytesLimitMin...Limits.signedTxMaxBytes).contains(maxTxBytes), "maxTxBytes",
                    "maxTxBytes must be \(GenesisLimits.txBytesLimitMin) to \(Limits.signedTxMaxBytes)")
        try require((maxTxBytes...GenesisLimits.blockBytesLimitMax).contains(maxBlockBytes), "maxBlockBytes",
                    "maxBlockBytes must be at least maxTxBytes (\(maxTxBytes)) and at most \(GenesisLimits.blockBytesLimitMax)")
        try require(proposalTimeoutMs >= GenesisLimits.proposalTimeoutMinMs, "proposalTimeoutMs",
                    "proposalTimeoutMs must be at least \(GenesisLimits.proposalTimeoutMinMs)")
        try require(proposalTimeoutMs <= maxProposalTimeoutMs, "proposalTimeoutMs",
                    "proposalTimeoutMs (\(proposalTimeoutMs)) must be at most maxProposalTimeoutMs (\(maxProposalTimeoutMs))")
        try require(emptyBlockIntervalMs >= GenesisLimits.emptyBlockIntervalMinMs, "emptyBlockIntervalMs",
                    "emptyBlockIntervalMs must be at least \(GenesisLimits.emptyBlockIntervalMinMs)")
        try require(validatorChangeTtlBlocks >= GenesisLimits.validatorChangeTtlMinBlocks, "validatorChangeTtlBlocks",
                    "validatorChangeTtlBlocks must be at least \(GenesisLimits.validatorChangeTtlMinBlocks)")
        try require(snapshotChunkBytes.map(GenesisLimits.snapshotChunkBytes.contains) ?? true, "snapshotChunkBytes",
                    "snapshotChunkBytes must be \(GenesisLimits.snapshotChunkBytes.lowerBound) to "
                    + "\(GenesisLimits.snapshotChunkBytes.upperBound)")
    }
}
