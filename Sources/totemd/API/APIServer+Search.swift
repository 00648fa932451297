import ChainModel
import Foundation
import Hummingbird
import ImageCodes
import TotemCrypto

extension APIServer {
    /// `GET /v1/search?q=`: what a height, block hash, tx hash, content hash, public key or image
    /// code names, as the kind of page that shows it and its key (docs/openapi.yaml). Hex may be
    /// in either case and surrounding spaces (also sent as "+") are ignored: this is a search box,
    /// not the protocol.
    /// Text of no form it knows, like a value it does not find, is a 404 `not_found` that says
    /// what it takes; only a missing, empty or over-long `q` is a 400.
    func search(_ request: Request) throws -> Response {
        // A search box submitted as an HTML form sends spaces as "+" (form encoding), which the
        // query parser leaves as is; no form that search takes contains a "+".
        guard let raw = request.uri.queryParameters.get("q").map({ $0.replacingOccurrences(of: "+", with: " ") }) else {
            throw APIError.badRequest("bad_parameter", "q is required: a height, a 64-hex-digit hash or key, or an image code")
        }
        guard !raw.isEmpty, raw.unicodeScalars.count <= NodeLimits.searchQueryMaxCharacters else {
            throw APIError.badRequest("bad_parameter", "q must be 1 to \(NodeLimits.searchQueryMaxCharacters) characters")
        }
        let q = raw.trimmingCharacters(in: .whitespaces)
        func answer(_ kind: String, _ key: String) -> Response {
            JSONResponse.make(.object([("query", .string(String(raw))), ("kind", .string(kind)), ("key", .string(key))]))
        }
        func notFound() -> APIError {
            APIError.notFound("not_found", "nothing on this chain matches \(q)")
        }
        let forms = "a height, 64 hex digits (a block, tx or content hash, or a key), or an image code (16 hex digits or ISCC:…)"
        if let height = Self.decimal(q) {
            guard height >= 1, try queries.find(height: height) != nil else { throw notFound() }
            return answer("block", String(height))
        }
        let lower = q.lowercased()
        if lower.utf8.count == 64, let value = Bytes32(hex: lower) {
            switch try queries.find(value, rootRegistrar: node.genesis.rootRegistrar) {
            case .block(let height): return answer("block", String(height))
            case .tx(let v): return answer("tx", v.hex)
            case .work(let v): return answer("work", v.hex)
            case .account(let v): return answer("account", v.hex)
            case nil: throw notFound()
            }
        }
        if lower.utf8.count == 16, let bytes = Hex.decode(lower) {
            return answer("imageCode", Hex.encode(bytes))
        }
        if q.uppercased().hasPrefix(ImageCode.displayPrefix) {
            do {
                let code = try ImageCode.parse(q.uppercased())
                return answer("imageCode", TxJSON.imageCodeHex(code))
            } catch {
                throw APIError.notFound("not_found", "\(error.description); search takes \(forms)")
            }
        }
        throw APIError.notFound("not_found", "\(q) is none of what search takes: \(forms)")
    }

}
