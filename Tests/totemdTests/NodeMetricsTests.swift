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
        #expect(ProcessMemory.residentBytes() ?? 0 > 0, "this process has resident memory")
    }
}
