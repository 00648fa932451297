import Foundation
import Testing
import TotemCrypto

/// The conformance vectors, read in place from `<package root>/testdata/` (testdata/README.md).
/// When they are missing, every test that needs them fails with `TestDataError`: a conformance
/// test that passes without its vectors proves nothing.
enum TestData {
    /// `<package root>/testdata`, found from this file's path
    /// (`<package root>/Tests/TotemCryptoTests/TestData.swift`).
    static let directory: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent() // TotemCryptoTests
        .deletingLastPathComponent() // Tests
        .deletingLastPathComponent() // package root
        .appendingPathComponent("testdata", isDirectory: true)

    /// The URL of `relativePath` under the test-data folder, which must exist.
    static func url(_ relativePath: String) throws -> URL {
        let url = directory.appendingPathComponent(relativePath)
        guard FileManager.default.fileExists(atPath: url.path) else {
            throw TestDataError("test vectors not found at \(url.path); the conformance tests read "
                                + "them in place from testdata/ in the repository")
        }
        return url
    }

    static func data(_ relativePath: String) throws -> Data {
        try Data(contentsOf: url(relativePath))
    }

    /// The top-level JSON object of a vector file.
    static func jsonObject(_ relativePath: String) throws -> [String: Any] {
        guard let object = try JSONSerialization.jsonObject(with: data(relativePath)) as? [String: Any] else {
            throw TestDataError("\(relativePath) is not a JSON object")
        }
        return object
    }

    /// Every `.json` file under `relativeFolder`, recursively, as paths relative to the
    /// test-data folder, sorted. Never empty: an empty list would make parameterised tests
    /// pass vacuously.
    static func jsonFiles(under relativeFolder: String) throws -> [String] {
        let base = try url(relativeFolder)
        guard let walker = FileManager.default.enumerator(at: base, includingPropertiesForKeys: nil) else {
            throw TestDataError("cannot list \(base.path)")
        }
        var files = [String]()
        for case let file as URL in walker where file.pathExtension == "json" {
            let relative = file.path.dropFirst(base.path.count).drop { $0 == "/" }
            files.append("\(relativeFolder)/\(relative)")
        }
        guard !files.isEmpty else { throw TestDataError("no .json vectors under \(base.path)") }
        return files.sorted()
    }
}

struct TestDataError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Test-side decoding helpers for vector fields.
enum Decode {
    static func hex(_ text: String) throws -> [UInt8] {
        guard let bytes = Hex.decode(text) else { throw TestDataError("not lowercase hex: \(text)") }
        return bytes
    }

    static func bytes32(_ text: String) throws -> Bytes32 {
        guard let value = Bytes32(hex: text) else { throw TestDataError("not 32 bytes of lowercase hex: \(text)") }
        return value
    }

    static func base64(_ text: String) throws -> [UInt8] {
        guard let data = Data(base64Encoded: text) else { throw TestDataError("not base64: \(text)") }
        return Array(data)
    }
}
