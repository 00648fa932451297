/// The simulator's only source of randomness: xoshiro256** seeded through SplitMix64, so a seed
/// replays exactly on every platform (Swift's default generator is never used).
struct PRNG: Sendable {
    private var s0: UInt64, s1: UInt64, s2: UInt64, s3: UInt64

    init(seed: UInt64) {
        var x = seed
        func splitMix() -> UInt64 {
            x &+= 0x9E37_79B9_7F4A_7C15
            var z = x
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        s0 = splitMix(); s1 = splitMix(); s2 = splitMix(); s3 = splitMix()
    }

    mutating func next() -> UInt64 {
        let result = ((s1 &* 5) << 7 | (s1 &* 5) >> 57) &* 9
        let t = s1 << 17
        s2 ^= s0; s3 ^= s1; s1 ^= s2; s0 ^= s3
        s2 ^= t
        s3 = s3 << 45 | s3 >> 19
        return result
    }

    /// Uniform in `0..<bound` (bound > 0), by rejection so there is no modulo bias.
    mutating func below(_ bound: UInt64) -> UInt64 {
        precondition(bound > 0)
        let limit = UInt64.max - UInt64.max % bound
        while true {
            let x = next()
            if x < limit { return x % bound }
        }
    }

    mutating func int(_ range: ClosedRange<Int>) -> Int {
        range.lowerBound + Int(below(UInt64(range.upperBound - range.lowerBound + 1)))
    }

    mutating func uint64(_ range: ClosedRange<UInt64>) -> UInt64 {
        range.lowerBound + below(range.upperBound - range.lowerBound + 1)
    }

    /// True with probability `p` (in per-mille, 0...1000).
    mutating func chance(permille p: Int) -> Bool { p > 0 && below(1000) < UInt64(p) }

    mutating func pick<T>(_ items: [T]) -> T {
        precondition(!items.isEmpty)
        return items[Int(below(UInt64(items.count)))]
    }
}
