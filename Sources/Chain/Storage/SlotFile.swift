import Synchronization
import TotemCrypto
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One small record on disk, replaced with a single `fdatasync`: the validator's signing state
/// (`signing-state.a|b`) and the last decided block (`decided-block.a|b`, see `ChainStore`).
///
/// Two slot files, `<name>.a` and `<name>.b`, take turns: record number n goes to slot n % 2 as
/// one `pwrite` of a header and the payload, then `fdatasync`. A record is
/// `magic(8) | sequence u64 | length u32 | SHA-256(sequence | length | payload) | payload` (big
/// endian). Reading picks the valid record with the highest sequence. A write torn by a crash
/// fails its checksum and leaves the other slot, the previous record, in force, which is exact:
/// the caller acts on nothing the torn record implies before `write` returns.
///
/// Both slots are created holding a valid empty record (sequence 0) before either is used, so
/// from then on at least one slot is always valid; finding none is damage, reported, never read
/// as "no record". Creation is itself crash-safe: `.b` is written and synced first, then `.a`
/// appears by an atomic rename; a directory without `.a` is (re)initialised from scratch.
///
/// `write` blocks on the disk: `ChainStore` calls it on its writer thread.
final class SlotFile: Sendable {
    static let magic = Array("TOTEMSS1".utf8)
    static let headerBytes = 8 + 8 + 4 + 32

    private struct State {
        var sequence: UInt64
        /// The payload of the newest record (empty for sequence 0).
        var current: [UInt8]
        /// The slot holding the newest valid record: the next write goes to the other one, so a
        /// torn write always leaves that record.
        var newestSlot: Int
    }

    private let directory: String
    /// `<name>.a` and `<name>.b`.
    let slotNames: [String]
    private let maxPayloadBytes: Int
    /// The payloads of the valid records found at open (sequence 0 excluded), oldest first.
    let recordsAtOpen: [[UInt8]]
    /// Slots that held no valid record at open, with the surviving record's sequence: a write torn
    /// by a crash, or damage after it was synced. The two cannot be told apart, and the lost record
    /// may have been the newest (see `SlotDamage`).
    let damageAtOpen: SlotDamage?
    /// The slot files, open for the object's life (none when opened read-only without files).
    private let descriptors: [Int32]
    private let readOnly: Bool
    private let state: Mutex<State>

    /// Opens (creating if needed) the node's slot files of `kind` in `directory`, which must exist.
    /// `readOnly`: opens existing files for reading only (a backup being checked, perhaps on
    /// read-only media) and creates nothing; missing files read as "no record", and `write` fails.
    convenience init(directory: String, kind: SlotKind, readOnly: Bool = false) throws {
        try self.init(directory: directory, name: kind.rawValue, maxPayloadBytes: kind.maxPayloadBytes, holds: kind.holds,
                      readOnly: readOnly)
    }

    /// Opens (creating if needed, unless `readOnly`) the slot files in `directory`, which must
    /// exist. `holds` says what the files keep and what losing it costs, for the error when neither
    /// slot is valid.
    init(directory: String, name: String, maxPayloadBytes: Int, holds: String, readOnly: Bool = false) throws {
        let slotNames = [name + ".a", name + ".b"]
        let paths = slotNames.map { directory + "/" + $0 }
        self.readOnly = readOnly
        if access(paths[0], F_OK) != 0 {
            if readOnly {
                // Nothing to read; the files' absence is the caller's to judge (a backup's manifest).
                self.directory = directory
                self.slotNames = slotNames
                self.maxPayloadBytes = maxPayloadBytes
                recordsAtOpen = []
                damageAtOpen = nil
                descriptors = []
                state = Mutex(State(sequence: 0, current: [], newestSlot: 0))
                return
            }
            try Self.initialise(directory, paths)
        }
        var descriptors: [Int32] = []
        for path in paths {
            let fd = open(path, (readOnly ? O_RDONLY : O_RDWR) | O_CLOEXEC)
            guard fd >= 0 else {
                let error = Self.ioError("open \(path)")
                descriptors.forEach { close($0) }
                throw error
            }
            descriptors.append(fd)
        }
        var records: [(sequence: UInt64, payload: [UInt8], slot: Int)] = []
        var invalid: [String] = []
        do {
            for (index, (fd, slot)) in zip(descriptors, slotNames).enumerated() {
                if let record = try Self.readRecord(fd, maxPayloadBytes: maxPayloadBytes) {
                    records.append((record.sequence, record.payload, index))
                } else {
                    invalid.append(slot)
                }
            }
        } catch {
            descriptors.forEach { close($0) }
            throw error
        }
        // Oldest first; of equal sequences (the two creation records) slot a counts as the newest,
        // so a new file's first record goes to slot b.
        records.sort { ($0.sequence, 1 - $0.slot) < ($1.sequence, 1 - $1.slot) }
        guard let newest = records.last else {
            descriptors.forEach { close($0) }
            throw StoreError(.corrupted, "neither \(slotNames[0]) nor \(slotNames[1]) in \(directory) holds a valid record "
                             + "(\(holds)); restore the data directory")
        }
        damageAtOpen = invalid.first.map { SlotDamage(directory: directory, slot: $0, survivingSequence: newest.sequence) }
        self.directory = directory
        self.slotNames = slotNames
        recordsAtOpen = records.filter { $0.sequence > 0 }.map(\.payload)
        self.maxPayloadBytes = maxPayloadBytes
        self.descriptors = descriptors
        state = Mutex(State(sequence: newest.sequence, current: newest.payload, newestSlot: newest.slot))
    }

    deinit {
        for fd in descriptors { close(fd) }
    }

    /// The newest record's payload, or nil if none was ever written (the sequence-0 record only
    /// marks the files as created).
    var current: [UInt8]? {
        state.withLock { $0.sequence > 0 ? $0.current : nil }
    }

    /// Replaces the record with `payload`; returns after `fdatasync`. Sequence n + 1 goes to the slot
    /// that does not hold n: the first write after a damaged slot was found overwrites that slot,
    /// even when the survivor is the sequence-0 record the files were created with.
    func write(_ payload: [UInt8]) throws {
        guard !readOnly else { throw StoreError(.io, "\(directory)/\(slotNames[0]): opened read-only") }
        guard payload.count <= maxPayloadBytes else {
            throw StoreError(.invalidValue, "signing state of \(payload.count) bytes exceeds \(maxPayloadBytes)")
        }
        try state.withLock { s in
            let next = s.sequence + 1
            let slot = 1 - s.newestSlot
            try Self.writeRecord(Self.record(sequence: next, payload: payload), to: descriptors[slot],
                                 name: directory + "/" + slotNames[slot])
            s.sequence = next
            s.current = payload
            s.newestSlot = slot
        }
    }

    // MARK: Format

    static func record(sequence: UInt64, payload: [UInt8]) -> [UInt8] {
        var covered = StoreKey(capacity: 12 + payload.count)
        covered.append(sequence)
        covered.append(UInt32(payload.count))
        var bytes = magic
        bytes.reserveCapacity(headerBytes + payload.count)
        bytes += covered.bytes
        bytes += SHA256.hash(covered.bytes + payload).bytes
        bytes += payload
        return bytes
    }

    /// The record in `fd`, or nil if it is torn or not a record.
    static func readRecord(_ fd: Int32, maxPayloadBytes: Int) throws -> (sequence: UInt64, payload: [UInt8])? {
        let header = try read(fd, offset: 0, count: headerBytes)
        guard header.count == headerBytes, Array(header[0..<8]) == magic else { return nil }
        let sequence = header[8..<16].reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        let length = Int(header[16..<20].reduce(UInt32(0)) { $0 << 8 | UInt32($1) })
        guard length <= maxPayloadBytes else { return nil }
        let payload = try read(fd, offset: headerBytes, count: length)
        guard payload.count == length,
              SHA256.hash(Array(header[8..<20]) + payload).bytes == Array(header[20..<52]) else { return nil }
        return (sequence, payload)
    }

    // MARK: Files

    private static func initialise(_ directory: String, _ paths: [String]) throws {
        let empty = record(sequence: 0, payload: [])
        let temporary = paths[0] + ".tmp"
        try create(paths[1], with: empty)
        try DirectorySync.sync(directory)
        try create(temporary, with: empty)
        guard rename(temporary, paths[0]) == 0 else { throw ioError("rename \(temporary)") }
        try DirectorySync.sync(directory)
    }

    private static func create(_ path: String, with bytes: [UInt8]) throws {
        let fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, mode_t(StoreLimits.fileMode))
        guard fd >= 0 else { throw ioError("create \(path)") }
        defer { close(fd) }
        try writeRecord(bytes, to: fd, name: path)
    }

    private static func writeRecord(_ bytes: [UInt8], to fd: Int32, name: String) throws {
        var done = 0
        while done < bytes.count {
            let n = bytes.withUnsafeBytes { pwrite(fd, $0.baseAddress! + done, bytes.count - done, off_t(done)) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { throw ioError("write \(name)") }
            done += n
        }
        guard fdatasync(fd) == 0 else { throw ioError("fdatasync \(name)") }
        DiskSyncs.count(.slotFile)
    }

    private static func read(_ fd: Int32, offset: Int, count: Int) throws -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        var done = 0
        while done < count {
            let n = bytes.withUnsafeMutableBytes { pread(fd, $0.baseAddress! + done, count - done, off_t(offset + done)) }
            if n < 0 && errno == EINTR { continue }
            guard n >= 0 else { throw ioError("read signing state") }
            if n == 0 { break }
            done += n
        }
        return Array(bytes[0..<done])
    }

    private static func ioError(_ what: String) -> StoreError {
        let code = errno
        return StoreError(.io, "\(what): \(String(cString: strerror(code)))", status: code)
    }
}

/// A slot found without a valid record at open, while the other one held one.
public struct SlotDamage: Sendable, Equatable, CustomStringConvertible {
    /// The directory and the file name of the damaged slot.
    public let directory: String
    public let slot: String
    /// The sequence of the record that survived in the other slot: the damaged slot held either
    /// the record before it or the one after it (the newest, lost).
    public let survivingSequence: UInt64

    public var description: String {
        "\(directory)/\(slot) holds no valid record (a write torn by a crash, or damage after it was synced); "
            + "the other slot's record \(survivingSequence) is in force, and the lost one may have been newer"
    }
}

/// The node's two slot-file pairs: their file names, record bound and what they hold.
public enum SlotKind: String, Sendable, CaseIterable {
    case signingState = "signing-state"
    case decidedLog = "decided-block"

    var maxPayloadBytes: Int {
        switch self {
        case .signingState: StoreLimits.signingStateMaxBytes
        case .decidedLog: StoreLimits.decidedRecordMaxBytes
        }
    }

    /// What the files keep and what losing it costs (for the error when neither slot is valid).
    var holds: String {
        switch self {
        case .signingState: "the signing state: starting without it could sign conflicting votes"
        case .decidedLog: "the decided-block log: the last decided blocks, which may not be in data.mdb yet"
        }
    }

    /// `<name>.a` and `<name>.b`.
    public var fileNames: [String] { [rawValue + ".a", rawValue + ".b"] }
}
