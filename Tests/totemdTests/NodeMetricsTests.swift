import Testing
@testable import totemd

/// The parts of `/metrics` computed here rather than counted: status classes, resident memory.
@Suite("Node metrics")
struct NodeMetricsTests {
    @Test func apiAnswersAreCountedByStatusClass() {
        let metrics = NodeMetrics()
        for status in [100, 200, 204, 301, 404, 429, 500, 503, 599] { metrics.apiResponses.count(status: status) }
        let text = String(decoding: metrics.render(), as: UTF8.self)
        for (cls, n) in [("2xx", 3), ("3xx", 1), ("4xx", 2), ("5xx", 3)] {
            #expect(text.contains("totem_api_responses_total{class=\"\(cls)\"} \(n)\n"), "\(text)")
        }
    }

    @Test func residentMemoryIsTheSecondStatmFieldInPages() {
        #expect(ProcessMemory.residentBytes(statm: "12345 678 90 1 0 500 0\n", pageBytes: 4096) == 678 * 4096)
        #expect(ProcessMemory.residentBytes(statm: "garbage", pageBytes: 4096) == nil)
        #expect(ProcessMemory.residentBytes(statm: "1 \(UInt64.max) 2", pageBytes: 4096) == nil)
        let status = "Name:\ttotemd\nVmRSS:\t  200000 kB\nRssAnon:\t  123456 kB\nRssFile:\t   76544 kB\n"
        #expect(ProcessMemory.anonymousBytes(status: status) == 123_456 * 1024)
        #expect(ProcessMemory.anonymousBytes(status: "RssAnon:\t123456 kB") == 123_456 * 1024)
        #expect(ProcessMemory.anonymousBytes(status: "Name:\ttotemd\n") == nil)
        #expect(ProcessMemory.anonymousBytes(status: "RssAnon:\t  12 MB\n") == nil, "a unit other than kB is not guessed")
        #expect(ProcessMemory.anonymousBytes() ?? 0 > 0, "this process has a heap")
        #expect(ProcessMemory.residentBytes() ?? 0 > 0, "this process has resident memory")
    }

    /// Trims start above the threshold, at most every interval, and again only once the memory grew
    /// by the regrowth margin over what the last trim left.
    @Test func trimsWaitForTheIntervalAndForTheHeapToGrowAgain() {
        var p = TrimPolicy()
        let above = NodeLimits.memoryTrimAboveBytes + 1
        var starts: [Int] = []
        func run(_ seconds: ClosedRange<Int>, _ anonymous: UInt64) {
            for s in seconds where p.tick(anonymous: anonymous) { starts.append(s) }
        }
        run(1...10, NodeLimits.memoryTrimAboveBytes)  // not above: never
        #expect(starts.isEmpty)
        let interval = NodeLimits.memoryTrimIntervalSeconds
        run(11...(10 + 3 * interval), above)
        #expect(starts == [interval], "one trim (the interval counts from the start), then none while the heap stays")
        p.trimmed(after: above - (1 << 20))
        run(1...(2 * interval), above + NodeLimits.memoryTrimRegrowthBytes)
        #expect(starts.count == 2, "grown by the margin: trimmed again")
        // Then below the margin: trimmed again only once the quiet time passed since that trim.
        p.trimmed(after: above)
        let quiet = NodeLimits.memoryTrimQuietSeconds
        let sinceSecond = 2 * interval - starts[1]  // ticks since the second trim so far
        starts = []
        run(1...(2 * quiet), above + NodeLimits.memoryTrimRegrowthBytes - 1)
        #expect(quiet > interval)
        #expect(starts.first == quiet - sinceSecond, "after the quiet time, not before")
        #expect(starts.count == 2, "then every quiet time while the heap stays")
        // A trim that could not reopen the store sets no hurdle: the next comes after the interval,
        // not after the quiet time.
        var q = TrimPolicy()
        let firstAt = (1...interval).first { _ in q.tick(anonymous: above) }
        #expect(firstAt == interval)
        q.trimmed(after: above, storeReopened: false)
        let nextAt = (1...quiet).first { _ in q.tick(anonymous: above) }
        #expect(nextAt == interval, "tried again once the interval passed")
    }

    /// A trim runs on its own thread, is counted, and reports the anonymous memory around it (how
    /// much it gives back depends on the heap: measured on the devnet: docs/devnet-and-bench.md).
    @Test func aTrimIsCountedAndReportsTheMemoryAroundIt() async throws {
        let trim = MemoryTrim()
        let report = AsyncStream.makeStream(of: (UInt64?, UInt64?).self)
        trim.start { before, after in report.continuation.yield((before, after)); report.continuation.finish() }
        var got: (UInt64?, UInt64?)?
        for await r in report.stream { got = r }
        #expect(trim.count == 1)
        let (before, after) = try #require(got)
        #expect(try #require(before) > 0 && (try #require(after)) > 0)
    }
}

