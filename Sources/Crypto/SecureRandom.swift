import CSodium

/// Bytes from the operating system's CSPRNG (libsodium's `randombytes_buf`).
public enum SecureRandom {
    public static func bytes(_ count: Int) -> [UInt8] {
        _ = Sodium.ready
        var out = [UInt8](repeating: 0, count: count)
        randombytes_buf(&out, count)
        return out
    }
}
