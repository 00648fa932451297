import Foundation
@testable import Storage

/// A fresh directory under the system temp directory, removed when the value is dropped.
final class TemporaryDirectory: Sendable {
    let path: String

    /// A new directory under `base` (the system's temporary directory if nil).
    init(_ label: String = "store", under base: String? = nil) throws {
        let base = base ?? FileManager.default.temporaryDirectory.path
        path = "\(base)/totem-\(label)-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    /// A path inside the directory.
    func sub(_ name: String) -> String { "\(path)/\(name)" }

    deinit {
        try? FileManager.default.removeItem(atPath: path)
    }
}

/// Opens an environment with databases `names` in `directory`.
func openEnvironment(_ directory: String, _ names: [String] = ["a", "b"],
                     initialMapSizeBytes: Int = 8 << 20,
                     maxMapSizeBytes: Int = StoreLimits.mapSizeMaxBytes) throws -> LMDBEnvironment {
    try LMDBEnvironment(directory: directory, databases: names,
                        options: .init(initialMapSizeBytes: initialMapSizeBytes, maxMapSizeBytes: maxMapSizeBytes))
}

func bytes(_ s: String) -> [UInt8] { Array(s.utf8) }
