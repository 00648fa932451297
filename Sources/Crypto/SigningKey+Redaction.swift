/// A signing key prints, logs and reflects as its public key only: string interpolation,
/// `dump`, debuggers and test-failure messages never show the seed.
extension SigningKey: CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    public var description: String { "SigningKey(publicKey: \(publicKey.hex))" }
    public var debugDescription: String { description }
    public var customMirror: Mirror { Mirror(self, children: ["publicKey": publicKey], displayStyle: .struct) }
}
