/// Limits of the strict JSON parser.
public enum JSONLimits {
    /// Arrays and objects nested deeper than this are refused (the parser recurses once per level).
    public static let depthMax = 64
    /// Default maximum input size; callers pass a smaller limit where they know one.
    public static let inputMaxBytesDefault = 16 * 1024 * 1024
    /// JSON integers read as protocol numbers lie in 0...2^53 - 1 (exact in every JSON library).
    public static let safeIntegerMax: UInt64 = (1 << 53) - 1
}
