import ChainModel
import Hummingbird
import TotemCrypto

extension APIServer {
    /// `POST /v1/txs`: `{"txs": ["<hex SignedTx>", …]}`, one result per tx in order.
    func submitHex(_ request: Request) async throws -> Response {
        let txs = try hexTxList(try await body(request))
        var results = [JSONValue?](repeating: nil, count: txs.count)
        var decoded: [SignedTx] = []
        var positions: [Int] = []
        for (i, item) in txs.enumerated() {
            // An empty string holds no transaction: no hash (the SHA-256 of nothing names no tx).
            guard case .string(let text) = item, let bytes = Hex.decode(text), !bytes.isEmpty else {
                results[i] = refused(nil, "malformed_tx", "tx \(i) is not a non-empty string of lowercase hex digits")
                continue
            }
            do {
                decoded.append(try SignedTx.decode(bytes))
                positions.append(i)
            } catch {
                results[i] = refused(SHA256.hash(bytes).hex, "malformed_tx", "tx \(i): \(error.description)")
            }
        }
        try await admit(decoded, positions, into: &results)
        return JSONResponse.make(.object([("results", .array(results.map { $0 ?? .null }))]))
    }

    /// `POST /v1/txs/json`: the same, with transactions in their JSON form.
    func submitJSON(_ request: Request) async throws -> Response {
        let txs = try jsonTxList(try await body(request))
        var results = [JSONValue?](repeating: nil, count: txs.count)
        var decoded: [SignedTx] = []
        var positions: [Int] = []
        for (i, item) in txs.enumerated() {
            do {
                decoded.append(try TxJSON.decodeSigned(item, at: JSONPath.root.appending("txs").appending(index: i)))
                positions.append(i)
            } catch {
                results[i] = refused(nil, error.code, error.message)
            }
        }
        try await admit(decoded, positions, into: &results)
        return JSONResponse.make(.object([("results", .array(results.map { $0 ?? .null }))]))
    }

    private func txList(_ body: JSONValue) throws -> [JSONValue] {
        guard case .object(let members) = body, members.count == 1, members[0].key == "txs",
              case .array(let txs) = members[0].value else {
            throw APIError.badRequest("malformed_request", "the body must be {\"txs\": [...]}")
        }
        guard (1...NodeLimits.submitMaxTxs).contains(txs.count) else {
            throw APIError.badRequest("bad_tx_count", "txs must hold 1 to \(NodeLimits.submitMaxTxs) transactions, not \(txs.count)")
        }
        return txs
    }

    /// `POST /v1/txs` holds strings only; anything else in the list is a body of another shape.
    private func hexTxList(_ body: JSONValue) throws -> [JSONValue] {
        try txList(body, each: "a hex string") { if case .string = $0 { true } else { false } }
    }

    /// `POST /v1/txs/json` holds objects only, likewise; an object that is not a transaction gets
    /// its own result.
    private func jsonTxList(_ body: JSONValue) throws -> [JSONValue] {
        try txList(body, each: "an object") { if case .object = $0 { true } else { false } }
    }

    private func txList(_ body: JSONValue, each what: String, _ isOfType: (JSONValue) -> Bool) throws -> [JSONValue] {
        let txs = try txList(body)
        if let i = txs.firstIndex(where: { !isOfType($0) }) {
            throw APIError.badRequest("malformed_request", "txs[\(i)] is a \(txs[i].typeName), not \(what)")
        }
        return txs
    }

    private func refused(_ hash: String?, _ code: String, _ message: String) -> JSONValue {
        .object([("txHash", hash.map(JSONValue.string) ?? .null), ("accepted", .bool(false)),
                 ("error", .object([("code", .string(code)), ("message", .string(message))]))])
    }

    private func admit(_ txs: [SignedTx], _ positions: [Int], into results: inout [JSONValue?]) async throws {
        guard !txs.isEmpty else { return }
        for (k, outcome) in try await node.admission.submitOffPool(txs, from: .api).enumerated() {
            let hash = txs[k].hash.hex
            switch outcome {
            case .accepted, .duplicate:
                results[positions[k]] = .object([("txHash", .string(hash)), ("accepted", .bool(true))])
            case .rejected(let code, let message):
                results[positions[k]] = refused(hash, code, message)
            }
        }
    }

    /// `GET /v1/txs/{txHash}`.
    func txStatus(_ hash: Bytes32) throws -> Response {
        switch try queries.txStatus(hash) {
        case .committed(let location, let tx):
            var members: [(key: String, value: JSONValue)] = [("txHash", Self.h(hash)), ("status", .string("committed")),
                                                              ("height", Self.u(location.height)),
                                                              ("index", Self.u(UInt64(location.index)))]
            if let tx { members.append(("tx", TxJSON.encode(tx))) }
            return JSONResponse.make(.object(members))
        case .pending(let tx):
            return JSONResponse.make(.object([("txHash", Self.h(hash)), ("status", .string("pending")), ("tx", TxJSON.encode(tx))]))
        case .rejected(let error):
            return JSONResponse.make(.object([("txHash", Self.h(hash)), ("status", .string("rejected")),
                                              ("error", .object([("code", .string(error.code.rawValue)),
                                                                 ("message", .string(error.message))]))]))
        case .unknown:
            // A state-synced node cannot tell a tx below its snapshot from one it never saw: the
            // code stays (clients poll on it), the message says where to look.
            throw APIError.notFound("tx_not_found", "no transaction \(hash) is pending, committed or recently rejected here"
                                    + ((try queries.prunedThrough()).map(Self.prunedNote) ?? ""))
        }
    }
}
