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
        let (tip, timeMs) = try queries.tip()
        let d = node.driver.current
        return JSONResponse.make(.object([
            ("chainId", .string(node.genesis.chainId)), ("genesisHash", Self.h(node.genesis.genesisHash)),
            ("height", Self.u(tip.height)), ("latestBlockHash", Self.h(tip.lastBlockHash)),
            ("latestBlockTimeMs", Self.u(timeMs)), ("stateRoot", Self.h(tip.stateRoot)),
            ("view", Self.u(UInt64(d.view))), ("viewChanges", Self.u(UInt64(d.viewChanges))),
            ("role", .string(node.config.role.rawValue)), ("moniker", .string(node.config.moniker)),
            ("nodeKey", Self.h(node.key.publicKey)), ("peers", Self.u(UInt64(node.network.peers().count))),
            ("mempoolTxs", Self.u(UInt64(queries.mempoolTxCount))), ("catchingUp", .bool(d.catchingUp)),
            ("maxTxBytes", Self.u(UInt64(node.genesis.params.maxTxBytes))),
        ]))
    }

    /// `GET /v1/accounts/{publicKey}`.
    func account(_ key: Bytes32) throws -> Response {
        let account = try queries.account(key)
        let id: JSONValue = account.identity.map { i in
            .object([("displayName", .string(i.displayName)), ("role", .string(i.role.name)),
                     ("registrar", Self.h(i.registrar)), ("revoked", .bool(i.revoked))])
        } ?? .null
        return JSONResponse.make(.object([
            ("publicKey", Self.h(key)), ("nextNonce", Self.u(account.nextNonce)), ("identity", id),
            ("registrar", account.registrar.map { .object([("name", .string($0.name))]) } ?? .null),
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
        guard let w = try queries.work(contentHash) else {
            throw APIError.notFound("work_not_found", "no work with content hash \(contentHash) is registered")
        }
        return JSONResponse.make(Self.workJSON(w))
    }

    /// `GET /v1/works/{contentHash}/history`: transfers, licences (active and expired) and claims.
    func history(_ contentHash: Bytes32) throws -> Response {
        guard let found = try queries.history(contentHash) else {
            throw APIError.notFound("work_not_found", "no work with content hash \(contentHash) is registered")
        }
        let nowMs = ConsensusDriver.nowMs()
        let t: [JSONValue] = found.transfers.map { r in
            .object([("from", Self.h(r.from)), ("to", Self.h(r.to)), ("atMs", Self.u(r.atMs)), ("txHash", Self.h(r.txHash))])
        }
        let l: [JSONValue] = found.licences.map { r in
            let active = r.validUntilMs == 0 || r.validUntilMs > nowMs
            return .object([("grantor", Self.h(r.grantor)), ("licensee", Self.h(r.licensee)), ("terms", .string(r.terms)),
                             ("validUntilMs", Self.u(r.validUntilMs)), ("grantedAtMs", Self.u(r.grantedAtMs)),
                             ("active", .bool(active)), ("txHash", Self.h(r.txHash))])
        }
        let c: [JSONValue] = found.claims.map { r in
            .object([("claimant", Self.h(r.claimant)), ("infringingDigest", Self.h(r.infringingDigest)),
                     ("locator", .string(r.locator)), ("note", .string(r.note)), ("filedAtMs", Self.u(r.filedAtMs)),
                     ("txHash", Self.h(r.txHash))])
        }
        return JSONResponse.make(.object([("work", Self.workJSON(found.work)), ("transfers", .array(t)),
                                          ("licences", .array(l)), ("claims", .array(c))]))
    }

    /// `GET /v1/owners/{publicKey}/works?limit=&after=`: in the order the owner acquired them.
    func worksByOwner(_ owner: Bytes32, _ request: Request) throws -> Response {
        let limit = try query(request, "limit", default: 20, in: 1...100)
        var cursor: [UInt8]?
        if let after = request.uri.queryParameters.get("after") {
            guard let bytes = Hex.decode(String(after)), bytes.count == 40 else {
                throw APIError.badRequest("bad_parameter", "after must be the `next` value of the previous page (80 lowercase hex digits)")
            }
            cursor = bytes
        }
        let page = try queries.works(ownedBy: owner, after: cursor, limit: limit)
        let next: JSONValue = page.next.map { .string(Hex.encode($0)) } ?? .null
        return JSONResponse.make(.object([("owner", Self.h(owner)), ("works", .array(page.works.map(Self.workJSON))),
                                          ("next", next)]))
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
        let items: [JSONValue] = try queries.similar(code: code, maxDistance: maxDistance, limit: limit).map { m in
            .object([("contentHash", Self.h(m.contentHash)), ("distance", Self.u(UInt64(m.distance))),
                     ("owner", m.owner.map(Self.h) ?? .null)])
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
        if waitMs > 0, try queries.tip().tip.height < height {
            // A graceful shutdown ends the wait (no block will come): the node need not wait for it.
            let commits = node.commits
            _ = await cancelWhenGracefulShutdown { await commits.wait(forHeight: height, timeout: .milliseconds(waitMs)) }
        }
        guard let found = try queries.block(at: height) else {
            if let base = try queries.prunedThrough(), height <= base {
                throw APIError.notFound("pruned_below", "this node started from the snapshot of height \(base) "
                                        + "(state sync) and holds blocks from \(base + 1) only")
            }
            throw APIError.notFound("block_not_found", "no block at height \(height) yet")
        }
        return JSONResponse.make(Self.blockJSON(found.block, found.commit))
    }

    /// What a state-synced node adds to a "not found" about a transaction.
    static func prunedNote(_ base: UInt64) -> String {
        "; this node started from the snapshot of height \(base) (state sync) and knows no transaction of the "
            + "blocks up to it: ask a node that holds them"
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
        let blocks = try queries.latestBlocks(limit: limit).map { Self.blockJSON($0.block, $0.commit) }
        return JSONResponse.make(.object([("blocks", .array(blocks))]))
    }

    /// `GET /v1/certificates/{txHash}?item=`: the `totem-certificate/1` of a committed tx.
    func certificate(_ txHash: Bytes32, _ request: Request) throws -> Response {
        let found: QueryService.CertificateParts?
        do {
            found = try queries.certificateParts(txHash)
        } catch let e as QueryService.Inconsistency {
            throw APIError(.internalServerError, "store_inconsistent", e.description)
        }
        guard let parts = found else {
            throw APIError.notFound("tx_not_committed", "transaction \(txHash) is not committed (yet)"
                                    + ((try queries.prunedThrough()).map(Self.prunedNote) ?? ""))
        }
        let tx = parts.tx
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
        do {
            let cert = try CertificateBuilder.build(genesis: node.genesis, tx: tx, header: parts.block.header, commit: parts.commit,
                                                    blockTxs: parts.block.txs, history: parts.history, batchIndex: item)
            return Response(status: .ok, headers: [.contentType: "application/json"],
                            body: ResponseBody(byteBuffer: ByteBuffer(bytes: cert.jsonBytes())))
        } catch {
            throw APIError(.internalServerError, "certificate_unavailable", error.description)
        }
    }
}
