import ChainModel
import Consensus
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import TotemCrypto

/// The request context: the remote address, for per-client rate limits.
struct APIContext: RequestContext {
    var coreContext: CoreRequestContextStorage
    let remoteIP: String

    init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        remoteIP = source.channel.remoteAddress?.ipAddress ?? "unknown"
    }
}

/// Counts every answer by status class, the error answers `JSONErrorMiddleware` makes included
/// (the outermost middleware).
struct ResponseCountMiddleware: RouterMiddleware {
    let metrics: NodeMetrics

    func handle(_ request: Request, context: APIContext, next: (Request, APIContext) async throws -> Response) async throws -> Response {
        do {
            let response = try await next(request, context)
            metrics.apiResponses.count(status: response.status.code)
            return response
        } catch {
            metrics.apiResponses.count(status: 500)
            throw error
        }
    }
}

/// Per-client rate limit before any other work.
struct RateLimitMiddleware: RouterMiddleware {
    let limiter: RateLimiter
    let metrics: NodeMetrics

    func handle(_ request: Request, context: APIContext, next: (Request, APIContext) async throws -> Response) async throws -> Response {
        metrics.apiRequests.increment()
        let now = DispatchTime.now().uptimeNanoseconds
        guard limiter.allow(context.remoteIP, nowNs: now) else {
            throw APIError(.tooManyRequests, "rate_limited", "too many requests from \(context.remoteIP); slow down")
        }
        return try await next(request, context)
    }
}

/// The node's HTTP API (docs/openapi.yaml): the public routes of PROTOCOL.md and the project's own.
struct APIServer {
    let node: Node
    var queries: QueryService { node.queries }

    typealias Handler = @Sendable (Request, APIContext) async throws -> Response

    /// Every route, with its method: the router serves them, and `RouteTable` answers 405 for the
    /// other methods of their paths.
    func routes() -> [(method: HTTPRequest.Method, path: String, handler: Handler)] {
        let api: [(method: HTTPRequest.Method, path: String, handler: Handler)] = [
            (.get, "/healthz", { _, _ in JSONResponse.make(.object([("status", .string("ok"))])) }),
            (.get, "/livez", { _, _ in JSONResponse.make(.object([("status", .string("alive"))])) }),
            (.get, "/readyz", { _, _ in readyz() }),
            (.get, "/metrics", { _, _ in
                Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4"],
                         body: ResponseBody(byteBuffer: ByteBuffer(bytes: node.metrics.render())))
            }),
            (.get, "/v1/status", { _, _ in try await settled(); return try status() }),
            (.post, "/v1/txs", { request, _ in try await submitHex(request) }),
            (.post, "/v1/txs/json", { request, _ in try await submitJSON(request) }),
            (.get, "/v1/txs/:txHash", { _, context in try txStatus(try hash(context, "txHash")) }),
            (.get, "/v1/accounts/:publicKey", { _, context in
                try await settled()
                return try account(try hash(context, "publicKey"))
            }),
            (.get, "/v1/works/similar", { request, _ in try await settled(); return try similar(request) }),
            (.get, "/v1/works/:contentHash", { _, context in try await settled(); return try work(try hash(context, "contentHash")) }),
            (.get, "/v1/works/:contentHash/history", { _, context in
                try await settled()
                return try history(try hash(context, "contentHash"))
            }),
            (.get, "/v1/owners/:publicKey/works", { request, context in
                try await settled()
                return try worksByOwner(try hash(context, "publicKey"), request)
            }),
            (.get, "/v1/certificates/:txHash", { request, context in
                try await settled()
                return try certificate(try hash(context, "txHash"), request)
            }),
            (.get, "/v1/blocks/latest", { request, _ in try latestBlocks(request) }),
            (.get, "/v1/blocks/:height", { request, context in try await block(request, context) }),
            (.get, "/v1/validators", { _, _ in try await settled(); return try validators() }),
            (.get, "/v1/peers", { _, _ in peers() }),
            (.get, "/v1/search", { request, _ in try await settled(); return try search(request) }),
            (.get, "/v1/events", { request, _ in try events(request) }),
        ]
        return api + webRoutes()
    }

    func application() throws -> some ApplicationProtocol {
        let router = Router(context: APIContext.self, options: .autoGenerateHeadEndpoints)
        let routes = routes()
        router.middlewares.add(ResponseCountMiddleware(metrics: node.metrics))
        router.middlewares.add(HeadMiddleware<APIContext>())
        router.middlewares.add(JSONErrorMiddleware<APIContext>())
        router.middlewares.add(RateLimitMiddleware(limiter: RateLimiter(ratePerSecond: node.config.apiRequestsPerSecond,
                                                                        burst: node.config.apiBurst),
                                                        metrics: node.metrics))
        router.middlewares.add(MethodNotAllowedMiddleware<APIContext>(routes: RouteTable(routes.map { ($0.method, $0.path) })))
        for r in routes {
            router.on(RouterPath(r.path), method: r.method, use: r.handler)
        }
        let connections = ConnectionGuard(limits: node.config.apiConnections, logger: node.logger, metrics: node.metrics)
        return Application(router: router, server: .guardedHTTP1(connections),
                           configuration: .init(address: .hostname(node.config.apiListenHost, port: node.config.apiListenPort),
                                                serverName: "totemd"),
                           logger: node.logger)
    }

    /// `GET /readyz`: 200 when ready, else 503; both with every reason that holds (`Readiness`).
    func readyz() -> Response {
        let inputs = node.readinessInputs()
        let reasons = Readiness.reasons(inputs)
        return JSONResponse.make(.object([
            ("ready", .bool(reasons.isEmpty)), ("height", Self.u(inputs.height)),
            ("blocksBehind", Self.u(inputs.blocksBehind)),
            ("reasons", .array(reasons.map { .object([("code", .string($0.code)), ("message", .string($0.message))]) })),
        ]), status: reasons.isEmpty ? .ok : .serviceUnavailable)
    }

    // MARK: Helpers

    func hash(_ context: APIContext, _ name: String) throws -> Bytes32 {
        let text = context.parameters.get(name) ?? ""
        guard let v = Bytes32(hex: text) else {
            throw APIError.badRequest("bad_hex", "\(name) must be 64 lowercase hex digits")
        }
        return v
    }

    /// Waits for the LMDB write of a block already reported committed (logged, see
    /// `ChainStore.logDecided`), so state read next includes it: a client that saw its tx committed
    /// then reads its work, certificate or account sees the change.
    func settled() async throws {
        do {
            try await queries.settle()
        } catch let e as QueryService.NotSettled {
            throw APIError(.serviceUnavailable, "store_busy", "block \(e.height) is not stored yet; retry")
        }
    }

    /// A query parameter in decimal digits only (no sign, no exponent), within `range`.
    func query(_ request: Request, _ name: String, default d: Int, in range: ClosedRange<Int>) throws -> Int {
        guard let text = request.uri.queryParameters.get(name) else { return d }
        guard let v = Self.decimal(text).flatMap({ Int(exactly: $0) }), range.contains(v) else {
            throw APIError.badRequest("bad_parameter", "\(name) must be an integer in \(range.lowerBound)...\(range.upperBound)")
        }
        return v
    }

    func body(_ request: Request) async throws -> JSONValue {
        var request = request
        let buffer: ByteBuffer
        do {
            buffer = try await request.collectBody(upTo: node.config.apiMaxBodyBytes)
        } catch is NIOTooManyBytesError {
            throw APIError(.contentTooLarge, "body_too_large", "request body is larger than \(node.config.apiMaxBodyBytes) bytes")
        }
        let bytes = Array(buffer.readableBytesView)
        do {
            return try JSONParser.parse(bytes, maxInputBytes: node.config.apiMaxBodyBytes)
        } catch {
            throw APIError.badRequest("malformed_json", error.description)
        }
    }

    /// A non-negative integer in decimal digits only, nil beyond UInt64 or in any other form.
    static func decimal(_ text: some StringProtocol) -> UInt64? {
        guard !text.isEmpty, text.utf8.allSatisfy({ (0x30...0x39).contains($0) }) else { return nil }
        return UInt64(text)
    }

    static func u(_ v: UInt64) -> JSONValue { .integer(v) }
    static func s(_ v: String) -> JSONValue { .string(v) }
    static func h(_ v: Bytes32) -> JSONValue { .string(v.hex) }
}
