import HTTPTypes
import Hummingbird
import NIOCore

extension APIServer {
    /// The pages' routes, when `api.explorer` is on: `/` redirects to `/explorer`, the explorer's
    /// files under `/explorer/`, the verifier at `/verify` (with this chain's genesis pinned). A
    /// page whose files are not installed answers 503 `pages_not_installed`.
    func webRoutes() -> [(method: HTTPRequest.Method, path: String, handler: Handler)] {
        guard node.config.apiExplorer else { return [] }
        return [
            (.get, "/", { _, _ in
                Response(status: .found, headers: [.location: "/explorer", .contentLength: "0"])
            }),
            (.get, "/explorer", { _, _ in try page("explorer/index.html") }),
            (.get, "/explorer/:file", { _, context in
                let name = context.parameters.get("file") ?? ""
                guard !name.contains("/"), !name.hasPrefix(".") else {
                    throw APIError.notFound("page_not_found", "no page \(name)")
                }
                return try page("explorer/\(name)")
            }),
            (.get, "/verify", { _, _ in try page("verify.html") }),
        ]
    }

    /// A file of the pages, from memory. The pages load nothing from elsewhere, and say so.
    func page(_ path: String) throws -> Response {
        guard let web = node.web else {
            throw APIError(.serviceUnavailable, "pages_not_installed",
                           "this node's explorer pages are not installed beside its binary (see the node's log)")
        }
        guard let file = web.files[path] else {
            throw APIError.notFound("page_not_found", "no page \(path)")
        }
        return Response(status: .ok, headers: [
            .contentType: file.contentType, .cacheControl: "no-cache",
            .contentSecurityPolicy: "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
                + "img-src 'self' data: blob:; connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'",
            HTTPField.Name("X-Content-Type-Options")!: "nosniff",
        ], body: ResponseBody(byteBuffer: ByteBuffer(bytes: file.bytes)))
    }
}
