import Testing
import TotemCrypto
@testable import ChainModel

/// The test module has its own `JSONValue` (TestData.swift); these tests are about ChainModel's.
private typealias StrictJSON = ChainModel.JSONValue

private func parse(_ text: String) throws(JSONError) -> StrictJSON {
    try JSONParser.parse(Array(text.utf8))
}

private func parseError(_ bytes: [UInt8], maxInputBytes: Int = JSONLimits.inputMaxBytesDefault) -> JSONError? {
    do {
        _ = try JSONParser.parse(bytes, maxInputBytes: maxInputBytes)
        return nil
    } catch {
        return error
    }
}

private func readError(_ body: () throws(JSONError) -> Void) -> JSONError? {
    do {
        try body()
        return nil
    } catch {
        return error
    }
}

@Suite("Strict JSON")
struct JSONTests {
    @Test func parsesValuesKeepingOrderAndLiterals() throws {
        let v = try parse(#" { "b" : [1, -0.5e+3, true, false, null], "a": {"x": "y\u00e9\n"} } "#)
        guard case .object(let members) = v else { Issue.record("not an object"); return }
        #expect(members.map(\.key) == ["b", "a"])
        #expect(members[0].value == .array([.number("1"), .number("-0.5e+3"), .bool(true), .bool(false), .null]))
        #expect(members[1].value == .object([(key: "x", value: .string("yé\n"))]))
    }

    @Test func decodesEscapesAndSurrogatePairs() throws {
        let v = try parse(#""\"\\\/\b\f\n\r\t\u0041\ud83d\ude00""#)
        #expect(v == .string("\"\\/\u{8}\u{c}\n\r\tA😀"))
    }

    static let invalidTexts: [String] = [
        "", " ", "{", "}", "[1,]", "{\"a\":1,}", "{'a':1}", "01", "1.", ".5", "+1", "-", "1e", "1e+",
        "NaN", "Infinity", "tru", "nul", "\"abc", "\"\\x\"", "\"\\u12\"", "\"\\u12G4\"", "[1 2]",
        "{\"a\" 1}", "{1:2}", "\"tab\there\"", "{} {}", "[] x", "1 2", "\u{FEFF}{}", "{\"a\":1}}",
    ]

    @Test(arguments: invalidTexts)
    func rejectsInvalidJSON(_ text: String) {
        #expect(parseError(Array(text.utf8)) != nil, "accepted \(text.debugDescription)")
    }

    @Test func rejectsTrailingContentButAllowsTrailingWhitespace() throws {
        #expect(parseError(Array("{\"a\":1} x".utf8))?.code == .syntax)
        #expect(try parse("{\"a\":1} \n\t\r") == .object([(key: "a", value: .number("1"))]))
    }

    @Test func rejectsDuplicateKeysAtAnyDepthNamingThePath() {
        let top = parseError(Array(#"{"a":1,"a":1}"#.utf8))
        #expect(top?.code == .duplicateKey)
        #expect(top?.path.description == "a")
        let nested = parseError(Array(#"{"v":[{"k":1},{"w":{"r":1,"r":2}}]}"#.utf8))
        #expect(nested?.code == .duplicateKey)
        #expect(nested?.path.description == "v[1].w.r")
    }

    @Test func keysCompareAsBytesNotCanonicalEquivalence() throws {
        // "é" precomposed and "e" + combining diaeresis-like accent are different keys.
        let v = try parse("{\"\u{E9}\":1,\"e\u{301}\":2}")
        guard case .object(let members) = v else { Issue.record("not an object"); return }
        #expect(members.count == 2)
        #expect(StrictJSON.string("\u{E9}") != StrictJSON.string("e\u{301}"))
    }

    @Test func rejectsInvalidUTF8AndLoneSurrogates() {
        #expect(parseError([0x22, 0xC3, 0x28, 0x22])?.code == .invalidUTF8)
        #expect(parseError([0x22, 0xED, 0xA0, 0x80, 0x22])?.code == .invalidUTF8)
        #expect(parseError(Array(#""\ud800""#.utf8))?.code == .invalidUTF8)
        #expect(parseError(Array(#""\udc00""#.utf8))?.code == .invalidUTF8)
        #expect(parseError(Array(#""\ud800\u0041""#.utf8))?.code == .invalidUTF8)
    }

    @Test func enforcesDepthAndSizeLimits() {
        let ok = String(repeating: "[", count: JSONLimits.depthMax) + String(repeating: "]", count: JSONLimits.depthMax)
        #expect(parseError(Array(ok.utf8)) == nil)
        let deep = "[" + ok + "]"
        #expect(parseError(Array(deep.utf8))?.code == .tooDeep)
        #expect(parseError(Array("[1, 2]".utf8), maxInputBytes: 5)?.code == .tooLarge)
        #expect(parseError(Array("[1,2]".utf8), maxInputBytes: 5) == nil)
    }

    @Test(arguments: [("0", UInt64(0)), ("1", 1), ("9007199254740991", 9_007_199_254_740_991)])
    func readsSafeIntegers(_ text: String, _ expected: UInt64) throws {
        #expect(try parse(text).uint(at: .root) == expected)
    }

    @Test(arguments: ["9007199254740992", "18446744073709551616", "-1", "-0", "1.0", "1e3", "0.0", "1E0", "\"1\"", "true", "null"])
    func refusesOtherNumbersAsIntegers(_ text: String) throws {
        let v = try parse(text)
        let error = readError { () throws(JSONError) in _ = try v.uint(at: JSONPath().appending("n")) }
        #expect(error != nil, "\(text) read as an integer")
        #expect(error?.path.description == "n")
    }

    @Test func readsStrictLowercaseHex() throws {
        let good = String(repeating: "ab", count: 32)
        #expect(try StrictJSON.string(good).bytes32(at: .root).hex == good)
        for bad in [String(repeating: "AB", count: 32), String(repeating: "ab", count: 31), good + "ab",
                    " " + good.dropFirst(), String(good.dropLast()) + "g", "0x" + good.dropFirst(2)] {
            let e = readError { () throws(JSONError) in _ = try StrictJSON.string(bad).bytes32(at: .root) }
            #expect(e?.code == .badHex, "accepted \(bad)")
        }
        let e = readError { () throws(JSONError) in _ = try StrictJSON.integer(5).bytes32(at: .root) }
        #expect(e?.code == .wrongType)
    }

    @Test func base64RoundTripsEveryLength() {
        var bytes = [UInt8]()
        for n in 0..<40 {
            #expect(Base64.decode(Base64.encode(bytes)) == bytes, "length \(n)")
            bytes.append(UInt8(truncatingIfNeeded: n &* 37 &+ 11))
        }
        #expect(Base64.encode(Array("foobar".utf8)) == "Zm9vYmFy")
        #expect(Base64.encode(Array("fo".utf8)) == "Zm8=")
        #expect(Base64.encode([0xFB, 0xFF]) == "+/8=")
    }

    @Test(arguments: ["Zm8", "Zm9", "Zm9=", "Zg=", "Zh==", "Zm9vYg", "Zm8 =", " Zm8=", "Zm8=\n", "-_8=", "Zg==Zg==",
                      "=", "====", "Z===", "Zm8==", "Zm 9v"])
    func base64RejectsNonCanonicalText(_ text: String) {
        #expect(Base64.decode(text) == nil, "accepted \(text.debugDescription)")
        let e = readError { () throws(JSONError) in _ = try StrictJSON.string(text).base64(maxBytes: 100, at: .root) }
        #expect(e?.code == .badBase64)
    }

    @Test func base64ReaderEnforcesItsLimit() throws {
        let text = Base64.encode([UInt8](repeating: 7, count: 10))
        #expect(try StrictJSON.string(text).base64(maxBytes: 10, at: .root).count == 10)
        let e = readError { () throws(JSONError) in _ = try StrictJSON.string(text).base64(maxBytes: 8, at: .root) }
        #expect(e?.code == .badBase64)
    }

    @Test func objectReaderNamesMissingAndUnknownKeys() throws {
        let v = try parse(#"{"outer":{"a":1,"c":2}}"#)
        let outer = try v.object(at: .root).object("outer")
        let missing = readError { () throws(JSONError) in try outer.expectKeys(["a", "b"], optional: ["c"]) }
        #expect(missing?.code == .missingKey)
        #expect(missing?.path.description == "outer.b")
        let unknown = readError { () throws(JSONError) in try outer.expectKeys(["a"]) }
        #expect(unknown?.code == .unknownKey)
        #expect(unknown?.path.description == "outer.c")
        #expect(readError { () throws(JSONError) in try outer.expectKeys(["a"], optional: ["c", "d"]) } == nil)
        let wrong = readError { () throws(JSONError) in _ = try outer.string("a") }
        #expect(wrong?.code == .wrongType)
        #expect(wrong?.path.description == "outer.a")
    }

    @Test func compactWriterIsDeterministicAndRoundTrips() throws {
        let v: StrictJSON = .object([
            (key: "z", value: .string("q\"\\/\n\u{1}é😀")), (key: "a", value: .array([.integer(3), .null, .bool(true)])),
            (key: "e", value: .object([])), (key: "f", value: .array([])),
        ])
        let text = JSONWriter.write(v)
        #expect(String(decoding: text, as: UTF8.self) == #"{"z":"q\"\\/\n\u0001é😀","a":[3,null,true],"e":{},"f":[]}"#)
        #expect(try JSONParser.parse(text) == v)
    }

    @Test func prettyWriterMatchesTheGenesisLayout() throws {
        let v: StrictJSON = .object([(key: "a", value: .array([.integer(1), .object([(key: "b", value: .string("c"))])])),
                                     (key: "d", value: .array([]))])
        let text = String(decoding: JSONWriter.write(v, style: .pretty(indent: 2)), as: UTF8.self)
        #expect(text == "{\n  \"a\": [\n    1,\n    {\n      \"b\": \"c\"\n    }\n  ],\n  \"d\": []\n}\n")
        #expect(try parse(text) == v)
    }
}
