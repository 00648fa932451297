import ChainModel
import HTTPTypes
import Hummingbird
import NIOCore
import NIOHTTP1
import Storage

/// An API error: HTTP status, a stable snake_case code (public contract) and a message for people.
/// Rendered as `{"error": {"code", "message"}}`.
struct APIError: Error, Sendable {
    let status: HTTPResponse.Status
    let code: String
    let message: String
    /// The `Allow` header of a 405.
    var allow: String?

    init(_ status: HTTPResponse.Status, _ code: String, _ message: String) {
        self.status = status
        self.code = code
        self.message = message
    }

    static func badRequest(_ code: String, _ message: String) -> APIError { APIError(.badRequest, code, message) }
    static func notFound(_ code: String, _ message: String) -> APIError { APIError(.notFound, code, message) }

    var body: JSONValue {
        .object([("error", .object([("code", .string(code)), ("message", .string(message))]))])
    }

    var response: Response {
        var r = JSONResponse.make(body, status: status)
        if let allow { r.headers[.allow] = allow }
        return r
    }
}

enum JSONResponse {
    static func make(_ value: JSONValue, status: HTTPResponse.Status = .ok) -> Response {
        var bytes = JSONWriter.write(value)
        bytes.append(0x0A)
        return Response(status: status, headers: [.contentType: "application/json"],
                        body: ResponseBody(byteBuffer: ByteBuffer(bytes: bytes)))
    }
}

/// Turns every error into the JSON error form: ours as they are, Hummingbird's by status (an
/// unknown route, an oversize body), a body that is not valid HTTP or not read in time as a 4xx,
/// anything else as a 500 without internals.
struct JSONErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let e as APIError {
            return e.response
        } catch let e as HTTPError {
            switch e.status {
            case .notFound:
                return APIError(.notFound, "not_found", "no route \(request.method) \(request.uri.path)").response
            case .contentTooLarge:
                return APIError(.contentTooLarge, "body_too_large", "request body is larger than the limit").response
            case .methodNotAllowed:
                return APIError(.methodNotAllowed, "method_not_allowed", "\(request.method) is not allowed here").response
            default:
                let code = e.status.code < 500 ? "bad_request" : "internal_error"
                return APIError(e.status, code, e.body ?? e.status.reasonPhrase).response
            }
        } catch let e as StoreError where e.isDamage {
            // Never an answer from damaged data: the operator has to restore the store.
            context.logger.error("stored data is damaged", metadata: ["path": "\(request.uri.path)", "error": "\(e)"])
            return APIError(.internalServerError, "store_corrupted",
                            "the node's store is damaged and cannot answer this request; its operator has to restore it").response
        } catch is HTTPParserError {
            return APIError.badRequest("malformed_http", "the request body is not valid HTTP/1.1").response
        } catch is RequestReadTimeout {
            return APIError(.requestTimeout, "request_timeout", "the request body was not complete in time").response
        } catch {
            context.logger.error("request failed", metadata: ["path": "\(request.uri.path)", "error": "\(error)"])
            return APIError(.internalServerError, "internal_error", "the node could not answer this request").response
        }
    }
}
