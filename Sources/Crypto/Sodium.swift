import CSodium

/// libsodium must be initialised once before use; after that it is thread-safe.
enum Sodium {
    static let ready: Bool = {
        let rc = sodium_init()
        precondition(rc >= 0, "sodium_init failed")
        return true
    }()
}
