import Foundation

/// The process's memory as Linux reports it (`/proc/self/statm`), for `/metrics`.
enum ProcessMemory {
    /// Resident bytes: the second field of `statm` (pages) times the page size; nil where there is
    /// no such file or it does not parse.
    static func residentBytes() -> UInt64? {
        guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return nil }
        return residentBytes(statm: text, pageBytes: UInt64(sysconf(Int32(_SC_PAGESIZE))))
    }

    static func residentBytes(statm: String, pageBytes: UInt64) -> UInt64? {
        let fields = statm.split(separator: " ")
        guard fields.count >= 2, let pages = UInt64(fields[1]) else { return nil }
        let (bytes, overflow) = pages.multipliedReportingOverflow(by: pageBytes)
        return overflow ? nil : bytes
    }
}
