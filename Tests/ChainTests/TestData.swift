import Foundation
import Testing
import TotemCrypto

/// The conformance data, read in place from `<package root>/testdata` (testdata/README.md).
enum TestData {
    static let root: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("testdata").standardized

    static func data(_ path: String) throws -> Data {
        let url = root.appendingPathComponent(path)
        guard FileManager.default.fileExists(atPath: url.path) else {
            throw TestDataMissing(path: url.path)
        }
        return try Data(contentsOf: url)
    }

    static func json(_ path: String) throws -> VectorJSON {
        VectorJSON(try JSONSerialization.jsonObject(with: data(path), options: [.fragmentsAllowed]))
    }

    /// vectors.json, parsed once.
    static let vectors: JSONFields = {
        do {
            return JSONFields(try json("totem/vectors.json"))
        } catch {
            return JSONFields(.null)
        }
    }()

    static func section(_ name: String) -> [JSONFields] { vectors.list(name) }
}

/// A Sendable copy of what JSONSerialization parsed (unsigned integers kept exact).
enum VectorJSON: Sendable {
    case null, bool(Bool), uint(UInt64), int(Int64), double(Double), string(String)
    case array([VectorJSON]), object([String: VectorJSON])

    init(_ any: Any) {
        switch any {
        case let s as String: self = .string(s)
        case let a as [Any]: self = .array(a.map(VectorJSON.init))
        case let d as [String: Any]: self = .object(d.mapValues(VectorJSON.init))
        case let n as NSNumber:
            if String(cString: n.objCType) == "c" { self = .bool(n.boolValue) }
            else if n.doubleValue < 0 { self = .int(n.int64Value) }
            else if n.doubleValue == n.doubleValue.rounded() && n.stringValue.allSatisfy(\.isNumber) { self = .uint(n.uint64Value) }
            else { self = .double(n.doubleValue) }
        default: self = .null
        }
    }
}

struct TestDataMissing: Error, CustomStringConvertible {
    let path: String
    var description: String { "conformance data not found at \(path): the tests read testdata/ in the repository" }
}

/// Small accessors for untyped JSON in tests; a missing or mistyped value gives a value that fails
/// the comparison it is used in, loudly.
struct JSONFields: Sendable, CustomTestStringConvertible {
    let value: VectorJSON
    init(_ value: VectorJSON) { self.value = value }

    var dict: [String: VectorJSON] { if case .object(let d) = value { d } else { [:] } }
    var testDescription: String { string("name") }

    func string(_ k: String) -> String { if case .string(let s)? = dict[k] { s } else { "<missing \(k)>" } }
    func u64(_ k: String) -> UInt64 {
        switch dict[k] {
        case .uint(let v)?: v
        case .int(let v)?: UInt64(truncatingIfNeeded: v)
        default: UInt64.max
        }
    }
    func u32(_ k: String) -> UInt32 { UInt32(truncatingIfNeeded: u64(k)) }
    func u8(_ k: String) -> UInt8 { UInt8(truncatingIfNeeded: u64(k)) }
    func b32(_ k: String) -> Bytes32 { Bytes32(hex: string(k)) ?? Bytes32(w0: 0xdead, w1: 0, w2: 0, w3: 0) }
    func b64(_ k: String) -> Bytes64 { Bytes64(hex: string(k)) ?? Bytes64.zero }
    func bytes(_ k: String) -> [UInt8] { Hex.decode(string(k)) ?? [0xde, 0xad] }
    func sub(_ k: String) -> JSONFields { JSONFields(dict[k] ?? .null) }
    func list(_ k: String) -> [JSONFields] { if case .array(let a)? = dict[k] { a.map(JSONFields.init) } else { [] } }
    func strings(_ k: String) -> [String] { list(k).compactMap { if case .string(let s) = $0.value { s } else { nil } } }
    func isNull(_ k: String) -> Bool { if case .null? = dict[k] { true } else { false } }
}
