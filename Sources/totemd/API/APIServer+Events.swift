import ChainModel
import HTTPTypes
import Hummingbird
import NIOCore
import ServiceLifecycle
import Synchronization

/// How many event streams are open, against `NodeLimits.eventStreamsMax`.
final class EventStreamSlots: Sendable {
    private let open = Mutex(0)

    /// Takes a slot; false when all are taken.
    func acquire() -> Bool {
        open.withLock { n in
            guard n < NodeLimits.eventStreamsMax else { return false }
            n += 1
            return true
        }
    }

    func release() {
        open.withLock { $0 = max(0, $0 - 1) }
    }

    var count: Int { open.withLock { $0 } }
}

extension APIServer {
    static let lastEventIDField = HTTPField.Name("Last-Event-ID")!

    /// `GET /v1/events?fromHeight=`: Server-Sent Events of committed blocks and what their
    /// transactions did (`ChainEvent`), from `Last-Event-ID` (right after that event), else from
    /// `fromHeight`, else from the next block. Blocks already committed are sent at once, in order;
    /// then each block as it is committed. A comment line every `NodeLimits.eventKeepaliveMs`
    /// keeps idle connections (and proxies) open. At most `NodeLimits.eventStreamsMax` at once.
    func events(_ request: Request) throws -> Response {
        var next: EventPosition
        if let text = request.headers[Self.lastEventIDField] {
            guard let last = EventPosition(id: text) else {
                throw APIError.badRequest("bad_event_id", "Last-Event-ID must be an event id, <height>:<seq> in decimal digits")
            }
            next = EventPosition(height: last.height, seq: last.seq + 1)
        } else if request.uri.queryParameters.get("fromHeight") != nil {
            let from = try query(request, "fromHeight", default: 1, in: 1...Int(Int64.max))
            next = EventPosition(height: UInt64(from), seq: 0)
        } else {
            next = EventPosition(height: try queries.tip().tip.height + 1, seq: 0)
        }
        let slots = node.eventStreams
        guard slots.acquire() else {
            throw APIError(.serviceUnavailable, "too_many_streams",
                           "\(NodeLimits.eventStreamsMax) event streams are open on this node; retry later")
        }
        let queries = self.queries, commits = node.commits, metrics = node.metrics
        let start = next
        metrics.eventStreamsOpen.record(slots.count)
        let body = ResponseBody { writer in
            defer {
                slots.release()
                metrics.eventStreamsOpen.record(slots.count)
            }
            var next = start
            try await writer.write(ByteBuffer(string: "retry: \(NodeLimits.eventRetryMs)\n\n"))
            var quietMs = 0
            while !Task.isCancelled, !Task.isShuttingDownGracefully {
                if let found = try queries.blockForEvents(at: next.height) {
                    var out: [UInt8] = []
                    for event in ChainEvent.events(of: found.block, commit: found.commit, adopted: found.adopted)
                    where event.seq >= next.seq {
                        out += event.sse
                        metrics.eventsSent.increment()
                        if out.count >= NodeLimits.eventWriteChunkBytes {
                            try await writer.write(ByteBuffer(bytes: out))
                            out.removeAll(keepingCapacity: true)
                        }
                    }
                    if !out.isEmpty { try await writer.write(ByteBuffer(bytes: out)) }
                    next = EventPosition(height: next.height + 1, seq: 0)
                    quietMs = 0
                    continue
                }
                // Short waits, so a graceful shutdown ends the stream within one of them.
                let waitMs = NodeLimits.eventWaitSliceMs
                if await commits.wait(forHeight: next.height, timeout: .milliseconds(waitMs)) {
                    // Committed: readable once its write or log entry is visible; do not spin.
                    if try queries.blockForEvents(at: next.height) == nil { try await Task.sleep(for: .milliseconds(20)) }
                    continue
                }
                quietMs += waitMs
                if quietMs >= NodeLimits.eventKeepaliveMs {
                    try await writer.write(ByteBuffer(string: ": keepalive\n\n"))
                    quietMs = 0
                }
            }
            try await writer.finish(nil)
        }
        return Response(status: .ok, headers: [.contentType: "text/event-stream", .cacheControl: "no-cache"], body: body)
    }
}
