import Foundation

/// A failure of a command's work (not of its options): printed as is, without the usage text.
struct CommandFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Files the CLI writes that hold nothing secret (config, genesis, validator entries; key files go
/// through `KeyFile.write`).
enum PublicFile {
    static func read(_ path: String) throws -> [UInt8] {
        guard let data = FileManager.default.contents(atPath: path) else { throw CommandFailure("cannot read \(path)") }
        return Array(data)
    }

    /// Writes `path`: a new file only, unless `replacing`, which replaces it whole (a temporary
    /// file renamed into place, so no reader sees half a file).
    static func write(_ bytes: [UInt8], to path: String, replacing: Bool) throws {
        do {
            try Data(bytes).write(to: URL(fileURLWithPath: path), options: replacing ? .atomic : .withoutOverwriting)
        } catch {
            throw CommandFailure("cannot write \(path): \(error.localizedDescription)")
        }
    }
}
