/// Where a value sits in a JSON document, for error messages: `params.maxTxBytes`,
/// `validators[2].publicKey`; the document itself is `(root)`.
public struct JSONPath: Sendable, Hashable, CustomStringConvertible {
    public enum Component: Sendable, Hashable {
        case key(String)
        case index(Int)
    }

    public private(set) var components: [Component]

    public init(_ components: [Component] = []) { self.components = components }

    public static let root = JSONPath()

    public func appending(_ key: String) -> JSONPath {
        var p = self
        p.components.append(.key(key))
        return p
    }

    public func appending(index: Int) -> JSONPath {
        var p = self
        p.components.append(.index(index))
        return p
    }

    mutating func push(_ c: Component) { components.append(c) }
    mutating func pop() { components.removeLast() }

    public var description: String {
        guard !components.isEmpty else { return "(root)" }
        var out = ""
        for c in components {
            switch c {
            case .key(let k): out += out.isEmpty ? k : ".\(k)"
            case .index(let i): out += "[\(i)]"
            }
        }
        return out
    }
}
