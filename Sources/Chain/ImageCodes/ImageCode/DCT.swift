import Foundation

/// The unnormalised DCT-II that ISCC Image-Code v0 specifies: the recursive even/odd split of
/// B. G. Lee (1984), in the form iscc-core uses. Image-Codes compare DCT values against their median,
/// so a code is only reproducible if every floating-point operation happens in the same order as in
/// the reference; this is why the transform is written out rather than taken from a faster library.
enum DCT {
    /// Transforms `values`, whose count must be a power of two (the caller passes 32).
    static func transform(_ values: [Double]) -> [Double] {
        let n = values.count
        precondition(n > 0 && n & (n - 1) == 0, "DCT length must be a power of two")
        if n == 1 { return values }
        let half = n / 2
        var alpha = [Double](repeating: 0, count: half)
        var beta = [Double](repeating: 0, count: half)
        for i in 0..<half {
            let a = values[i], b = values[n - 1 - i]
            alpha[i] = a + b
            // ((i + 0.5) * pi) / n, evaluated left to right as the reference does.
            beta[i] = (a - b) / (cos((Double(i) + 0.5) * Double.pi / Double(n)) * 2.0)
        }
        alpha = transform(alpha)
        beta = transform(beta)
        var out = [Double]()
        out.reserveCapacity(n)
        for i in 0..<(half - 1) {
            out.append(alpha[i])
            out.append(beta[i] + beta[i + 1])
        }
        out.append(alpha[half - 1])
        out.append(beta[half - 1])
        return out
    }
}
