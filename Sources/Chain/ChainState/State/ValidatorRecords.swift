import ChainModel
import TotemCrypto

/// A validator as the state knows it: key, display name and P2P address.
public struct ValidatorMember: Sendable, Equatable {
    public var key: Bytes32
    public var name: String
    public var p2pAddress: String

    public init(key: Bytes32, name: String, p2pAddress: String) {
        self.key = key; self.name = name; self.p2pAddress = p2pAddress
    }

    func encode(to w: inout TCEWriter) { w.bytes32(key); w.string(name); w.string(p2pAddress) }

    static func decode(from r: inout TCEReader) throws(DecodeError) -> ValidatorMember {
        ValidatorMember(key: try r.bytes32("member.key"),
                        name: try r.string(maxBytes: Limits.validatorNameMaxBytes, "member.name"),
                        p2pAddress: try r.string(maxBytes: Limits.p2pAddressMaxBytes, "member.p2pAddress"))
    }
}

/// A validator set and the first height at which it is in force. Members are sorted by key.
public struct ValidatorEpoch: Sendable, Equatable {
    public var fromHeight: UInt64
    public private(set) var members: [ValidatorMember]

    public init(fromHeight: UInt64, members: [ValidatorMember]) {
        self.fromHeight = fromHeight
        self.members = members.sorted { $0.key < $1.key }
        for i in self.members.indices.dropFirst() {
            precondition(self.members[i - 1].key < self.members[i].key, "validator keys repeat")
        }
        precondition(!self.members.isEmpty, "a validator set is never empty")
    }

    public var keys: [Bytes32] { members.map(\.key) }

    /// The set, for quorum and hash. Members are distinct and non-empty by construction.
    public var set: ValidatorSet {
        guard let s = ValidatorSet(keys) else { preconditionFailure("epoch members are distinct and non-empty") }
        return s
    }

    public func contains(_ key: Bytes32) -> Bool { index(of: key) != nil }

    func index(of key: Bytes32) -> Int? {
        var lo = 0, hi = members.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if members[mid].key < key { lo = mid + 1 } else { hi = mid }
        }
        return lo < members.count && members[lo].key == key ? lo : nil
    }

    /// The members after `change` (which the caller has checked applies).
    func applying(_ change: ValidatorChange, fromHeight: UInt64) -> ValidatorEpoch {
        var next = members
        switch change.op {
        case .add:
            precondition(!contains(change.validator), "adding a present validator")
            next.append(ValidatorMember(key: change.validator, name: change.name, p2pAddress: change.p2pAddress))
        case .remove:
            guard let i = index(of: change.validator) else { preconditionFailure("removing an absent validator") }
            next.remove(at: i)
        }
        return ValidatorEpoch(fromHeight: fromHeight, members: next)
    }

    func encode(to w: inout TCEWriter) {
        w.u64(fromHeight)
        w.list(members) { $1.encode(to: &$0) }
    }

    static func decode(from r: inout TCEReader) throws(DecodeError) -> ValidatorEpoch {
        let from = try r.u64("epoch.fromHeight")
        let members = try r.list(counts: 1...Limits.validatorsMaxCount, "epoch.members") {
            (r: inout TCEReader, _: Int) throws(DecodeError) in try ValidatorMember.decode(from: &r)
        }
        return ValidatorEpoch(fromHeight: from, members: members)
    }
}

/// `validators["set"]`: the set in force at the last applied height, followed by the adopted sets
/// not yet in force, by ascending `fromHeight` (one to three entries).
public struct ValidatorSetRecord: StateRecord, Sendable, Equatable {
    public internal(set) var epochs: [ValidatorEpoch]

    public init(epochs: [ValidatorEpoch]) {
        precondition(!epochs.isEmpty, "there is always a set in force")
        self.epochs = epochs
    }

    /// The set in force at `height` (at or after the first epoch's height).
    public func inForce(at height: UInt64) -> ValidatorEpoch {
        epochs.last { $0.fromHeight <= height } ?? epochs[0]
    }

    /// The members of the set in force at `height` and of the adopted sets after it, each key once
    /// with the address of the newest set that holds it (its latest adopted add), ordered by key:
    /// the validators a node dials, at the addresses the chain records.
    public func members(inForceFrom height: UInt64) -> [ValidatorMember] {
        let first = epochs.lastIndex { $0.fromHeight <= height } ?? 0
        var byKey: [Bytes32: ValidatorMember] = [:]
        for epoch in epochs[first...] {
            for m in epoch.members { byKey[m.key] = m }
        }
        return byKey.keys.sorted().compactMap { byKey[$0] }
    }

    /// The newest adopted set: a validator change applies to it.
    public var latest: ValidatorEpoch { epochs[epochs.count - 1] }

    /// Drops the epochs that `height` has left behind; true when something was dropped.
    mutating func advance(to height: UInt64) -> Bool {
        var dropped = false
        while epochs.count > 1 && epochs[1].fromHeight <= height {
            epochs.removeFirst()
            dropped = true
        }
        return dropped
    }

    public func encode(to w: inout TCEWriter) { w.list(epochs) { $1.encode(to: &$0) } }

    public static func decode(from r: inout TCEReader) throws(DecodeError) -> ValidatorSetRecord {
        let epochs = try r.list(counts: 1...storedListCounts.upperBound, "epochs") {
            (r: inout TCEReader, _: Int) throws(DecodeError) in try ValidatorEpoch.decode(from: &r)
        }
        return ValidatorSetRecord(epochs: epochs)
    }
}

/// `validators["history"]`: every set ever adopted (genesis first), with the height from which it
/// is in force: enough to tell the set in force at any past height (evidence, certificates).
public struct ValidatorHistory: StateRecord, Sendable, Equatable {
    public struct Entry: Sendable, Equatable {
        public var fromHeight: UInt64
        public var set: ValidatorSet
    }

    public internal(set) var entries: [Entry]

    public init(entries: [Entry]) {
        precondition(!entries.isEmpty, "the history starts with the genesis set")
        self.entries = entries
    }

    /// The set in force at `height` (>= 1), as far as this history knows.
    public func inForce(at height: UInt64) -> ValidatorSet {
        (entries.last { $0.fromHeight <= height } ?? entries[0]).set
    }

    /// Records `epoch`, replacing an entry for the same height (two adoptions in one block).
    mutating func record(_ epoch: ValidatorEpoch) {
        let entry = Entry(fromHeight: epoch.fromHeight, set: epoch.set)
        if entries[entries.count - 1].fromHeight == epoch.fromHeight {
            entries[entries.count - 1] = entry
        } else {
            precondition(entries[entries.count - 1].fromHeight < epoch.fromHeight, "history grows by height")
            entries.append(entry)
        }
    }

    public func encode(to w: inout TCEWriter) {
        w.list(entries) { w, e in
            w.u64(e.fromHeight)
            w.list(e.set.keys) { $0.bytes32($1) }
        }
    }

    public static func decode(from r: inout TCEReader) throws(DecodeError) -> ValidatorHistory {
        let entries = try r.list(counts: 1...storedListCounts.upperBound, "entries") {
            (r: inout TCEReader, _: Int) throws(DecodeError) -> Entry in
            let from = try r.u64("entries.fromHeight")
            let keys = try r.list(counts: 1...Limits.validatorsMaxCount, "entries.keys") {
                (r: inout TCEReader, _: Int) throws(DecodeError) in try r.bytes32("entries.keys")
            }
            guard let set = ValidatorSet(keys) else { throw DecodeError(.order, field: "entries.keys") }
            return Entry(fromHeight: from, set: set)
        }
        return ValidatorHistory(entries: entries)
    }
}

/// One pending validator change and the validators that voted for it, in block order.
public struct ValidatorTally: Sendable, Equatable {
    public var op: ValidatorChangeOp
    public var validator: Bytes32
    public var name: String
    public var p2pAddress: String
    /// Height of the first vote: votes count up to `firstHeight + ttl - 1`.
    public var firstHeight: UInt64
    public var voters: [Bytes32]

    func isChange(_ c: ValidatorChange) -> Bool {
        // Strings compare as exact bytes, never Unicode-normalised (String's == would normalise).
        op == c.op && validator == c.validator && name.utf8.elementsEqual(c.name.utf8)
            && p2pAddress.utf8.elementsEqual(c.p2pAddress.utf8)
    }

    func encode(to w: inout TCEWriter) {
        w.u8(op.rawValue); w.bytes32(validator); w.string(name); w.string(p2pAddress); w.u64(firstHeight)
        w.list(voters) { $0.bytes32($1) }
    }

    static func decode(from r: inout TCEReader) throws(DecodeError) -> ValidatorTally {
        guard let op = ValidatorChangeOp(rawValue: try r.u8("tally.op")) else { throw DecodeError(.enum, field: "tally.op") }
        return ValidatorTally(
            op: op, validator: try r.bytes32("tally.validator"),
            name: try r.string(maxBytes: Limits.validatorNameMaxBytes, "tally.name"),
            p2pAddress: try r.string(maxBytes: Limits.p2pAddressMaxBytes, "tally.p2pAddress"),
            firstHeight: try r.u64("tally.firstHeight"),
            voters: try r.list(counts: storedListCounts, "tally.voters") {
                (r: inout TCEReader, _: Int) throws(DecodeError) in try r.bytes32("tally.voters")
            })
    }
}

/// `validatorTallies["tallies"]`: the open tallies in the order they were started.
public struct ValidatorTallies: StateRecord, Sendable, Equatable {
    public internal(set) var tallies: [ValidatorTally]

    public init(tallies: [ValidatorTally] = []) { self.tallies = tallies }

    public func encode(to w: inout TCEWriter) { w.list(tallies) { $1.encode(to: &$0) } }

    public static func decode(from r: inout TCEReader) throws(DecodeError) -> ValidatorTallies {
        ValidatorTallies(tallies: try r.list(counts: storedListCounts, "tallies") {
            (r: inout TCEReader, _: Int) throws(DecodeError) in try ValidatorTally.decode(from: &r)
        })
    }
}
