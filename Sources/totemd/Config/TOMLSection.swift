import TOMLKit

/// Strict reading of one TOML table: every key read is remembered, and `finish` reports any key
/// the node does not know (a typo must not silently fall back to a default).
struct TOMLSection {
    let table: TOMLTable
    let file: String
    let path: String
    private var seen: Set<String> = []

    init(_ table: TOMLTable, file: String, path: String) {
        self.table = table
        self.file = file
        self.path = path
    }

    private func name(_ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

    func error(_ key: String, _ message: String) -> ConfigError {
        ConfigError(file: file, setting: name(key), message: message)
    }

    mutating func section(_ key: String) throws -> TOMLSection {
        seen.insert(key)
        guard let v = table[key] else {
            return TOMLSection(TOMLTable(), file: file, path: name(key))
        }
        guard let t = v.table else { throw error(key, "must be a table ([\(name(key))])") }
        return TOMLSection(t, file: file, path: name(key))
    }

    mutating func string(_ key: String, default d: String) throws -> String {
        seen.insert(key)
        guard let v = table[key] else { return d }
        guard let s = v.string else { throw error(key, "must be a string") }
        return s
    }

    mutating func int(_ key: String, default d: Int, in range: ClosedRange<Int>) throws -> Int {
        seen.insert(key)
        guard let v = table[key] else { return d }
        guard let i = v.int else { throw error(key, "must be an integer") }
        guard range.contains(i) else {
            throw error(key, "must lie in \(range.lowerBound)...\(range.upperBound), got \(i)")
        }
        return i
    }

    mutating func bool(_ key: String, default d: Bool) throws -> Bool {
        seen.insert(key)
        guard let v = table[key] else { return d }
        guard let b = v.bool else { throw error(key, "must be true or false") }
        return b
    }

    mutating func strings(_ key: String, default d: [String]) throws -> [String] {
        seen.insert(key)
        guard let v = table[key] else { return d }
        guard let a = v.array else { throw error(key, "must be an array of strings") }
        var out: [String] = []
        for item in a {
            guard let s = item.string else { throw error(key, "must be an array of strings") }
            out.append(s)
        }
        return out
    }

    func finish() throws {
        for key in table.keys.sorted() where !seen.contains(key) {
            throw error(key, "unknown setting")
        }
    }
}
