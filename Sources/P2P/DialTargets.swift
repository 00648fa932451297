import ChainModel
import P2PWire
import TotemCrypto

/// Why an address string was refused (the caller names where it came from).
public struct AddressProblem: Error, Sendable, Hashable, CustomStringConvertible {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

extension PeerAddress {
    /// Parses the address peers dial: `host:port` (a host name or IPv4 address, no colon) or
    /// `[IPv6 address]:port`, port 1...65535. An address on the chain is a free string of up to
    /// `Limits.p2pAddressMaxBytes` that any validator change may set, so this refuses rather than
    /// guesses: an IPv6 address without brackets is ambiguous (which colon starts the port?).
    public static func parseHostPort(_ s: String) -> Result<(host: String, port: Int), AddressProblem> {
        let bytes = Array(s.utf8)
        guard !bytes.isEmpty, bytes.count <= Limits.p2pAddressMaxBytes else {
            return .failure(AddressProblem("an address is 1 to \(Limits.p2pAddressMaxBytes) bytes"))
        }
        guard let colon = bytes.lastIndex(of: UInt8(ascii: ":")) else {
            return .failure(AddressProblem("\(s.debugDescription) is not host:port"))
        }
        let portBytes = bytes[(colon + 1)...]
        guard (1...5).contains(portBytes.count), portBytes.allSatisfy({ (0x30...0x39).contains($0) }),
              let port = Int(String(decoding: portBytes, as: UTF8.self)), (1...65535).contains(port) else {
            return .failure(AddressProblem("\(s.debugDescription) has no port 1 to 65535 after its last colon"))
        }
        var host = bytes[..<colon]
        if host.first == UInt8(ascii: "[") {
            guard host.count > 2, host.last == UInt8(ascii: "]") else {
                return .failure(AddressProblem("\(s.debugDescription) opens a bracket it does not close before the port"))
            }
            host = host.dropFirst().dropLast()
            guard host.contains(UInt8(ascii: ":")), host.allSatisfy(isIPv6Byte) else {
                return .failure(AddressProblem("\(s.debugDescription) has no IPv6 address in its brackets"))
            }
        } else {
            guard !host.isEmpty else { return .failure(AddressProblem("\(s.debugDescription) has no host")) }
            guard !host.contains(UInt8(ascii: ":")) else {
                return .failure(AddressProblem("\(s.debugDescription): an IPv6 address needs brackets, [address]:port"))
            }
            guard host.allSatisfy(isHostNameByte) else {
                return .failure(AddressProblem("\(s.debugDescription) has a host that is neither a name nor an IP address"))
            }
        }
        return .success((String(decoding: host, as: UTF8.self), port))
    }

    private static func isHostNameByte(_ b: UInt8) -> Bool {
        (0x30...0x39).contains(b) || (0x41...0x5A).contains(b) || (0x61...0x7A).contains(b)
            || b == UInt8(ascii: ".") || b == UInt8(ascii: "-") || b == UInt8(ascii: "_")
    }

    /// Hex digits, colons and dots (an embedded IPv4), and `%zone` (a link-local address's interface).
    private static func isIPv6Byte(_ b: UInt8) -> Bool {
        isHostNameByte(b) || b == UInt8(ascii: ":") || b == UInt8(ascii: "%")
    }
}

/// A validator's address as the chain records it: from the genesis file, or from the
/// ValidatorChange that added it (the latest one, for a key removed and added again).
public struct RecordedAddress: Sendable, Hashable {
    public var key: Bytes32
    public var address: String

    public init(key: Bytes32, address: String) { self.key = key; self.address = address }
}

/// Whom a node dials: the validators the chain records (of the set in force and of adopted sets),
/// at their recorded addresses, plus the peers its config lists (`p2p.persistent_peers`), which
/// win for a key in both so that an operator can correct an address the chain holds stale.
public enum DialTargets {
    public struct Malformed: Sendable, Hashable {
        public var key: Bytes32
        public var address: String
        public var problem: AddressProblem
    }

    public struct Outcome: Sendable, Equatable {
        /// Configured peers first, in config order, then the chain's, in the order given; each key
        /// once, never this node's own.
        public var targets: [PeerAddress]
        /// Recorded addresses that do not parse and that no configured peer replaces: skipped.
        public var malformed: [Malformed]
    }

    public static func compute(recorded: [RecordedAddress], configured: [PeerAddress], localKey: Bytes32) -> Outcome {
        var outcome = Outcome(targets: [], malformed: [])
        var seen: Set<Bytes32> = [localKey]
        for p in configured where seen.insert(p.key).inserted {
            guard outcome.targets.count < P2PLimits.dialTargetsMaxCount else { break }
            outcome.targets.append(p)
        }
        for r in recorded where seen.insert(r.key).inserted {
            switch PeerAddress.parseHostPort(r.address) {
            case .success(let (host, port)):
                guard outcome.targets.count < P2PLimits.dialTargetsMaxCount else { continue }
                outcome.targets.append(PeerAddress(key: r.key, host: host, port: port))
            case .failure(let problem):
                outcome.malformed.append(Malformed(key: r.key, address: r.address, problem: problem))
            }
        }
        return outcome
    }
}
