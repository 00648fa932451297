import Certificates
import ChainModel
import ChainState
import Consensus
import Hummingbird
import ServiceLifecycle
import Storage
import TotemCrypto

extension APIServer {
    /// `GET /v1/status`.
    func status() throws -> Response {
        let tip = try chain.tip()
        let d = node.driver.current
        let timeMs: UInt64 = tip.height > 0 ? (try chain.store.header(at: tip.height)?.timestampMs ?? 0) : 0
        return JSONResponse.make(.object([
            ("chainId", .string(node.genesis.chainId)), ("genesisHash", Self.h(node.genesis.genesisHash)),
            ("height", Self.u(tip.height)), ("latestBlockHash", Self.h(tip.lastBlockHash)),
            ("latestBlockTimeMs", Self.u(timeMs)), ("stateRoot", Self.h(tip.stateRoot)),
            ("view", Self.u(UInt64(d.view))), ("viewChanges", Self.u(UInt64(d.viewChanges))),
            ("role", .string(node.config.role.rawValue)), ("moniker", .string(node.config.moniker)),
            ("nodeKey", Self.h(node.key.publicKey)), ("peers", Self.u(UInt64(node.network.peers().count))),
            ("mempoolTxs", Self.u(UInt64(chain.mempool.count))), ("catchingUp", .bool(d.catchingUp)),
        ]))
    }

    /// `GET /v1/accounts/{publicKey}`.
    func account(_ key: Bytes32) throws -> Response {
        let (nonce, identity, registrar) = try chain.store.withState { r in
            (r.lastNonce(key) &+ 1, r.identity(key), r.registrar(key))
        }
        let id: JSONValue = identity.map { i in
            .object([("displayName", .string(i.displayName)), ("role", .string(i.role.name)),
                     ("registrar", Self.h(i.registrar)), ("revoked", .bool(i.revoked))])
        } ?? .null
        return JSONResponse.make(.object([
            ("publicKey", Self.h(key)), ("nextNonce", Self.u(nonce)), ("identity", id),
            ("registrar", registrar.map { .object([("name", .string($0.name))]) } ?? .null),
            ("rootRegistrar", .bool(key == node.genesis.rootRegistrar)),
        ]))
    }

    static func workJSON(_ w: WorkRecord) -> JSONValue {
        var members: [(key: String, value: JSONValue)] = [
            ("contentHash", h(w.work.contentHash)), ("registrant", h(w.registrant)), ("owner", h(w.owner)),
            ("title", .string(w.work.title)), ("imageCode", TxJSON.imageCode(w.work.imageCode)),
            ("registeredAtMs", u(w.registeredAtMs)), ("height", u(w.height)), ("txHash", h(w.txHash)),
            ("mediaType", .string(w.work.mediaType)), ("widthPx", u(UInt64(w.work.width))),
            ("heightPx", u(UInt64(w.work.height))), ("license", .string(w.work.license)),
        ]
        if let b = w.batchIndex { members.append(("batchIndex", u(UInt64(b)))) }
        return .object(members)
    }

    /// `GET /v1/works/{contentHash}`.
    func work(_ contentHash: Bytes32) throws -> Response {
        guard let w = try chain.store.withState({ $0.work(contentHash) }) else {
            throw APIError.notFound("work_not_found", "no work with content hash \(contentHash) is registered")
        }
        return JSONResponse.make(Self.workJSON(w))
    }

    /// `GET /v1/works/{contentHash}/history`: transfers, licences (active and expired) and claims.
    func history(_ contentHash: Bytes32) throws -> Response {
        guard let w = try chain.store.withState({ $0.work(contentHash) }) else {
            throw APIError.notFound("work_not_found", "no work with content hash \(contentHash) is registered")
        }
        let dbs = chain.store.databases
        let nowMs = ConsensusDriver.nowMs()
        let (transfers, licences, claims) = try chain.store.environment.read { txn in
            let limit = NodeLimits.historyEntriesMax
            return (try txn.entries(dbs.table(.transfers), prefix: contentHash.bytes, limit: limit),
                    try txn.entries(dbs.table(.licences), prefix: contentHash.bytes, limit: limit),
                    try txn.entries(dbs.table(.claims), prefix: contentHash.bytes, limit: limit))
        }
        let t: [JSONValue] = transfers.map { e in
            let r = TransferRecord.decodeStored(e.value, .transfers)
            return .object([("from", Self.h(r.from)), ("to", Self.h(r.to)), ("atMs", Self.u(r.atMs)), ("txHash", Self.h(r.txHash))])
        }
        let l: [JSONValue] = licences.map { e in
            let r = LicenceRecord.decodeStored(e.value, .licences)
            let active = r.validUntilMs == 0 || r.validUntilMs > nowMs
            return .object([("grantor", Self.h(r.grantor)), ("licensee", Self.h(r.licensee)), ("terms", .string(r.terms)),
                             ("validUntilMs", Self.u(r.validUntilMs)), ("grantedAtMs", Self.u(r.grantedAtMs)),
                             ("active", .bool(active)), ("txHash", Self.h(r.txHash))])
        }
        let c: [JSONValue] = claims.map { e in
            let r = ClaimRecord.decodeStored(e.value, .claims)
            return .object([("claimant", Self.h(r.claimant)), ("infringingDigest", Self.h(r.infringingDigest)),
                             ("locator", .string(r.locator)), ("note", .string(r.note)), ("filedAtMs", Self.u(r.filedAtMs)),
                             ("txHash", Self.h(r.txHash))])
        }
        return JSONResponse.make(.object([("work", Self.workJSON(w)), ("transfers", .array(t)),
                                          ("licences", .array(l)), ("claims", .array(c))]))
    }

    /// `GET /v1/owners/{publicKey}/works?limit=&after=`: in the order the owner acquired them.
    func worksByOwner(_ owner: Bytes32, _ request: Request) throws -> Response {
        let limit = try query(request, "limit", default: 20, in: 1...100)
        var lower = owner.bytes
        if let after = request.uri.queryParameters.get("after") {
            guard let cursor = Hex.decode(String(after)), cursor.count == 40 else {
                throw APIError.badRequest("bad_parameter", "after must be the `next` value of the previous page (80 lowercase hex digits)")
            }
            lower += cursor + [0]
        }
        let upper = StoreKey.successor(ofPrefix: owner.bytes)
        let dbs = chain.store.databases
        var keys: [[UInt8]] = []
        try chain.store.environment.read { txn in
            try txn.scan(dbs.table(.worksByOwner), range: KeyRange(lower: lower, upper: upper)) { entry in
                keys.append(entry.keyBytes)
                return keys.count <= limit
            }
        }
        let more = keys.count > limit
        let page = keys.prefix(limit)
        let works: [JSONValue] = try chain.store.withState { r in
            page.compactMap { key in Bytes32(key.suffix(32)).flatMap { r.work($0) }.map(Self.workJSON) }
        }
        let next: JSONValue = more ? page.last.map { .string(Hex.encode($0.suffix(40))) } ?? .null : .null
        return JSONResponse.make(.object([("owner", Self.h(owner)), ("works", .array(works)), ("next", next)]))
    }

    /// `GET /v1/works/similar?imageCode=&maxDistance=&limit=`: nearest first, ties by contentHash.
    func similar(_ request: Request) throws -> Response {
        guard let text = request.uri.queryParameters.get("imageCode"), text.count == 16,
              let bytes = Hex.decode(String(text)) else {
            throw APIError.badRequest("bad_parameter", "imageCode must be 16 lowercase hex digits")
        }
        let code = bytes.reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        let maxDistance = try query(request, "maxDistance", default: 8, in: 0...16)
        let limit = try query(request, "limit", default: 20, in: 1...100)
        let matches = try node.similarity.query(code: code, maxDistance: maxDistance, limit: limit)
        let owners: [Bytes32?] = try chain.store.withState { r in matches.map { r.work($0.contentHash)?.owner } }
        let items: [JSONValue] = zip(matches, owners).map { m, owner in
            .object([("contentHash", Self.h(m.contentHash)), ("distance", Self.u(UInt64(m.distance))),
                     ("owner", owner.map(Self.h) ?? .null)])
        }
        return JSONResponse.make(.object([("matches", .array(items))]))
    }

    /// `GET /v1/blocks/{height}?waitMs=`: with `waitMs`, a block not committed yet is waited for
    /// up to that long (an extension of PROTOCOL.md's route: followers need not poll).
    func block(_ request: Request, _ context: APIContext) async throws -> Response {
        guard let text = context.parameters.get("height"), let height = Self.decimal(text), height >= 1 else {
            throw APIError.badRequest("bad_parameter", "height must be an integer in 1...\(UInt64.max)")
        }
        let waitMs = try query(request, "waitMs", default: 0, in: 0...NodeLimits.heightWaitMaxMs)
        if waitMs > 0, try chain.tip().height < height {
            // A graceful shutdown ends the wait (no block will come): the node need not wait for it.
            let commits = node.commits
            _ = await cancelWhenGracefulShutdown { await commits.wait(forHeight: height, timeout: .milliseconds(waitMs)) }
        }
        guard let b = try chain.store.block(at: height), let cert = try chain.store.certificate(at: height) else {
            throw APIError.notFound("block_not_found", "no block at height \(height) yet")
        }
        return JSONResponse.make(Self.blockJSON(b, cert))
    }

    static func blockJSON(_ b: Block, _ cert: CommitCertificate) -> JSONValue {
        .object([
            ("height", u(b.height)), ("blockHash", h(b.hash)), ("header", .string(Base64.encode(b.header.encoded))),
            ("txHashes", .array(b.txs.map { h($0.hash) })),
            ("commit", .object([("view", u(UInt64(cert.view))),
                                ("signatures", .array(cert.signatures.map {
                                    .object([("validator", h($0.validator)), ("signature", .string($0.signature.hex))])
                                }))])),
            ("timestampMs", u(b.header.timestampMs)), ("proposer", h(b.header.proposer)),
            ("stateRoot", h(b.header.stateRoot)),
        ])
    }

    /// `GET /v1/blocks/latest?limit=`: newest first.
    func latestBlocks(_ request: Request) throws -> Response {
        let limit = try query(request, "limit", default: 10, in: 1...100)
        let tip = try chain.tip().height
        var blocks: [JSONValue] = []
        var h = tip
        while h >= 1, blocks.count < limit {
            if let b = try chain.store.block(at: h), let c = try chain.store.certificate(at: h) { blocks.append(Self.blockJSON(b, c)) }
            h -= 1
        }
        return JSONResponse.make(.object([("blocks", .array(blocks))]))
    }

    /// `GET /v1/validators`: the set in force at the next height, and adopted sets after it.
    func validators() throws -> Response {
        let height = try chain.tip().height + 1
        let record = try chain.store.withState { $0.validatorSetRecord() }
        func members(_ e: ValidatorEpoch) -> JSONValue {
            .array(e.members.map { .object([("publicKey", Self.h($0.key)), ("name", .string($0.name)),
                                             ("p2pAddress", .string($0.p2pAddress))]) })
        }
        let inForce = record.inForce(at: height)
        let later = record.epochs.filter { $0.fromHeight > height }
        return JSONResponse.make(.object([
            ("height", Self.u(height)), ("validators", members(inForce)),
            ("quorum", Self.u(UInt64(inForce.set.quorum))),
            ("adopted", .array(later.map { .object([("fromHeight", Self.u($0.fromHeight)), ("validators", members($0))]) })),
        ]))
    }

    /// `GET /v1/certificates/{txHash}?item=`: the `totem-certificate/1` of a committed tx.
    func certificate(_ txHash: Bytes32, _ request: Request) throws -> Response {
        guard case .committed(let location) = try chain.txStatus(txHash) else {
            throw APIError.notFound("tx_not_committed", "transaction \(txHash) is not committed (yet)")
        }
        guard let block = try chain.store.block(at: location.height), let commit = try chain.store.certificate(at: location.height),
              Int(location.index) < block.txs.count else {
            throw APIError(.internalServerError, "store_inconsistent", "block \(location.height) is missing")
        }
        let tx = block.txs[Int(location.index)]
        var item: Int?
        if tx.tx.kind == .registerWorkBatch {
            let count = tx.tx.payload.works.count
            guard let text = request.uri.queryParameters.get("item") else {
                throw APIError.badRequest("item_required", "a RegisterWorkBatch has one certificate per item: add ?item=0...\(count - 1)")
            }
            guard let i = Self.decimal(text).flatMap({ Int(exactly: $0) }), (0..<count).contains(i) else {
                throw APIError.badRequest("item_out_of_range", "item must be 0...\(count - 1)")
            }
            item = i
        } else if request.uri.queryParameters.get("item") != nil {
            throw APIError.badRequest("item_not_allowed", "only a RegisterWorkBatch has items")
        }
        let history = try validatorHistory(upTo: location.height)
        do {
            let cert = try CertificateBuilder.build(genesis: node.genesis, tx: tx, header: block.header, commit: commit,
                                                    blockTxs: block.txs, history: history, batchIndex: item)
            return Response(status: .ok, headers: [.contentType: "application/json"],
                            body: ResponseBody(byteBuffer: ByteBuffer(bytes: cert.jsonBytes())))
        } catch {
            throw APIError(.internalServerError, "certificate_unavailable", error.description)
        }
    }

    /// The validator sets from genesis to `height`, each later one certified by the header before it.
    func validatorHistory(upTo height: UInt64) throws -> [CertifiedValidatorSet] {
        let entries = try chain.store.withState { $0.validatorHistory().entries }
        var sets: [CertifiedValidatorSet] = []
        for e in entries where e.fromHeight <= height {
            guard e.fromHeight > 1 else {
                sets.append(CertifiedValidatorSet(fromHeight: 1, validators: e.set, certifiedBy: nil))
                continue
            }
            guard let h = try chain.store.header(at: e.fromHeight - 1), let c = try chain.store.certificate(at: e.fromHeight - 1) else {
                throw APIError(.internalServerError, "store_inconsistent", "certifying block \(e.fromHeight - 1) is missing")
            }
            sets.append(CertifiedValidatorSet(fromHeight: e.fromHeight, validators: e.set,
                                              certifiedBy: CertifiedHeader(header: h, commit: c)))
        }
        return sets
    }
}
