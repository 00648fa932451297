import ChainModel
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import TotemCrypto

/// A small client of the public HTTP API, for the CLI and the load generator.
struct APIClient: Sendable {
    let base: String
    let session: URLSession

    init(base: String, session: URLSession = .shared) {
        self.base = base.hasSuffix("/") ? String(base.dropLast()) : base
        self.session = session
    }

    struct Failure: Error, CustomStringConvertible {
        let status: Int
        let code: String
        let message: String
        var description: String { "HTTP \(status) \(code): \(message)" }
    }

    /// Sends a request and returns the parsed JSON body of a 2xx answer; a 4xx/5xx becomes `Failure`
    /// with the API's error code.
    func request(_ method: String, _ path: String, body: [UInt8]? = nil) async throws -> JSONValue {
        guard let url = URL(string: base + path) else { throw Failure(status: 0, code: "bad_url", message: base + path) }
        var req = URLRequest(url: url)
        req.httpMethod = method
        req.timeoutInterval = 30
        if let body {
            req.httpBody = Data(body)
            req.setValue("application/json", forHTTPHeaderField: "Content-Type")
        }
        let (data, response) = try await session.data(for: req)
        let status = (response as? HTTPURLResponse)?.statusCode ?? 0
        let parsed = Result { try JSONParser.parse(Array(data)) }
        guard (200..<300).contains(status) else {
            let json = (try? parsed.get()) ?? .null  // an error body that is not JSON is reported raw below
            let err = json["error"]
            if case .string(let code)? = err?["code"], case .string(let message)? = err?["message"] {
                throw Failure(status: status, code: code, message: message)
            }
            throw Failure(status: status, code: "http_\(status)", message: String(decoding: data, as: UTF8.self))
        }
        do {
            return try parsed.get()
        } catch {
            throw Failure(status: status, code: "malformed_response", message: "the node's answer is not JSON: \(error)")
        }
    }

    func get(_ path: String) async throws -> JSONValue { try await request("GET", path) }

    struct ChainInfo: Sendable {
        let chainId: String
        let genesisHash: Bytes32
        let height: UInt64
        /// The genesis limit on a signed transaction (`maxTxBytes`; a node that does not say gives
        /// the protocol's largest).
        let maxTxBytes: Int
    }

    func status() async throws -> ChainInfo {
        let s = try await get("/v1/status")
        guard case .string(let chainId)? = s["chainId"], case .string(let g)? = s["genesisHash"],
              let genesisHash = Bytes32(hex: g), case .number(let h)? = s["height"], let height = UInt64(h) else {
            throw Failure(status: 200, code: "bad_answer", message: "unexpected /v1/status answer")
        }
        var maxTxBytes = Limits.signedTxMaxBytes
        if case .number(let m)? = s["maxTxBytes"], let given = Int(m) { maxTxBytes = given }
        return ChainInfo(chainId: chainId, genesisHash: genesisHash, height: height, maxTxBytes: maxTxBytes)
    }

    func nextNonce(_ key: Bytes32) async throws -> UInt64 {
        let a = try await get("/v1/accounts/\(key.hex)")
        guard case .number(let n)? = a["nextNonce"], let nonce = UInt64(n) else {
            throw Failure(status: 200, code: "bad_answer", message: "unexpected account answer")
        }
        return nonce
    }

    struct SubmitResult: Sendable {
        let txHash: String
        let accepted: Bool
        let errorCode: String?
        let errorMessage: String?
    }

    func submit(_ txs: [SignedTx]) async throws -> [SubmitResult] {
        let body = JSONValue.object([("txs", .array(txs.map { .string(Hex.encode($0.bytes)) }))])
        let answer = try await request("POST", "/v1/txs", body: JSONWriter.write(body))
        guard case .array(let results)? = answer["results"] else {
            throw Failure(status: 200, code: "bad_answer", message: "no results")
        }
        return results.map { r in
            var hash = "", code: String?, message: String?
            if case .string(let h)? = r["txHash"] { hash = h }
            if case .string(let c)? = r["error"]?["code"] { code = c }
            if case .string(let m)? = r["error"]?["message"] { message = m }
            let accepted: Bool = if case .bool(let a)? = r["accepted"] { a } else { false }
            return SubmitResult(txHash: hash, accepted: accepted, errorCode: code, errorMessage: message)
        }
    }

    /// Polls a transaction until it is committed or rejected, or `timeout` passes.
    func waitForTx(_ hash: String, timeout: Duration = .seconds(30)) async throws -> JSONValue {
        let clock = ContinuousClock()
        let deadline = clock.now + timeout
        var lastError: (any Error)?
        while clock.now < deadline {
            // A failed poll (the node restarting, the tx not seen yet) is retried; the last failure
            // is reported if the wait times out.
            do {
                let s = try await get("/v1/txs/\(hash)")
                if case .string(let status)? = s["status"], status != "pending" { return s }
            } catch {
                lastError = error
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        let last = lastError.map { "; last poll failed: \($0)" } ?? ""
        throw Failure(status: 0, code: "timeout", message: "transaction \(hash) not committed within \(timeout)\(last)")
    }
}
