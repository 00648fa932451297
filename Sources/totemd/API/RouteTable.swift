import HTTPTypes
import Hummingbird

/// The API's routes and their methods, so that a known path asked with another method is answered
/// 405 with `Allow` (RFC 9110 15.5.6), not 404. A path is matched as the router does: segment by
/// segment, a literal segment before a `:parameter` one (so `/v1/txs/json` is the submit route,
/// not a tx hash).
struct RouteTable: Sendable {
    private struct Route: Sendable {
        let segments: [Substring]
        var methods: [HTTPRequest.Method]
    }

    private var routes: [Route] = []

    init(_ entries: [(method: HTTPRequest.Method, path: String)]) {
        for (method, path) in entries {
            let segments = path.split(separator: "/")
            // The router answers HEAD wherever GET (autoGenerateHeadEndpoints).
            let methods: [HTTPRequest.Method] = method == .get ? [.get, .head] : [method]
            if let i = routes.firstIndex(where: { $0.segments == segments }) {
                routes[i].methods += methods
            } else {
                routes.append(Route(segments: segments, methods: methods))
            }
        }
    }

    /// The methods of the route that serves `path`, or nil when no route does.
    func methods(for path: String) -> [HTTPRequest.Method]? {
        let parts = path.split(separator: "/", omittingEmptySubsequences: true)
        var best: Route?
        for route in routes where Self.matches(route.segments, parts) {
            if best.map({ Self.moreLiteral(route.segments, than: $0.segments) }) ?? true { best = route }
        }
        return best?.methods
    }

    private static func matches(_ pattern: [Substring], _ parts: [Substring]) -> Bool {
        pattern.count == parts.count && zip(pattern, parts).allSatisfy { p, s in p.hasPrefix(":") || p == s }
    }

    /// At the first position where one has a literal segment and the other a parameter, the literal wins.
    private static func moreLiteral(_ a: [Substring], than b: [Substring]) -> Bool {
        for (x, y) in zip(a, b) where x.hasPrefix(":") != y.hasPrefix(":") {
            return !x.hasPrefix(":")
        }
        return false
    }

    /// The `Allow` header value for `methods`.
    static func allow(_ methods: [HTTPRequest.Method]) -> String {
        methods.map(\.rawValue).joined(separator: ", ")
    }
}

/// An answer to HEAD has no body (RFC 9110 9.3.2), errors included (an unknown path, a 405), or the
/// next answer on the connection would be misread; the router answers HEAD on GET routes itself
/// (`autoGenerateHeadEndpoints`). Outermost, so it sees the final answer.
struct HeadMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var response = try await next(request, context)
        guard request.method == .head else { return response }
        let length = response.headers[.contentLength]
        response.body = ResponseBody()
        response.headers[.contentLength] = length
        return response
    }
}

/// Answers 405 `method_not_allowed` with `Allow` for a known path asked with a method it does not
/// serve, before routing.
struct MethodNotAllowedMiddleware<Context: RequestContext>: RouterMiddleware {
    let routes: RouteTable

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        if let methods = routes.methods(for: request.uri.path), !methods.contains(request.method) {
            var e = APIError(.methodNotAllowed, "method_not_allowed", "\(request.method) is not allowed here; use \(RouteTable.allow(methods))")
            e.allow = RouteTable.allow(methods)
            throw e
        }
        return try await next(request, context)
    }
}
