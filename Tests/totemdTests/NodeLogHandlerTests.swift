import Foundation
import Testing
@testable import totemd

/// Log hygiene (issue 11): timestamps had 1-second resolution; events of one block are
/// milliseconds apart.
@Suite struct NodeLogHandlerTests {
    @Test func timestampsAreUTCWithMilliseconds() throws {
        let ts = NodeLogHandler.timestamp()
        #expect(ts.wholeMatch(of: /\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z/) != nil, "\(ts)")
        // It is now, to the second.
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        let date = try #require(f.date(from: ts))
        #expect(abs(date.timeIntervalSinceNow) < 5)
    }
}
