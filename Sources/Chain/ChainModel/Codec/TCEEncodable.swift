/// A value with exactly one TCE byte string.
public protocol TCEEncodable {
    func encode(to w: inout TCEWriter)
}

extension TCEEncodable {
    public var encoded: [UInt8] {
        var w = TCEWriter()
        encode(to: &w)
        return w.bytes
    }
}
