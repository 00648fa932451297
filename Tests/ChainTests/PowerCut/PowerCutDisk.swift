import ChainModel

/// What a power cut can leave on disk, replayed from a journal (`JournalOp`s) and pure: no files.
///
/// The model is POSIX's promise and no more. A file's bytes and size are durable as of its last
/// fsync/fdatasync (or an O_DSYNC write). What was written since may be on disk or not, per
/// 512-byte sector: each sector holds its synced content with some prefix of the later writes that
/// touch it (the page cache writes a sector back whole, at any time, in any order across sectors),
/// so a write can be torn at sector boundaries. The size is the size after some prefix of the
/// unsynced writes and truncations. A directory's entries are durable as of its last fsync; of the
/// creations, renames, unlinks and mkdirs since, some prefix reached the disk (a rename across
/// directories is a removal in one and an addition in the other, each durable with its own
/// directory, so the file may end up under both names or neither). A file whose name
/// is not durable is lost with its data, however often the file itself was synced; a directory
/// whose own entry is lost takes everything under it along.
struct PowerCutDisk: Sendable {
    static let sectorBytes = 512

    /// How the unsynced part is chosen.
    enum Cut: Sendable, CaseIterable {
        /// Nothing that was not synced (the harshest cut for promises).
        case syncedOnly
        /// Everything written (what a kill -9 leaves: the page cache survives).
        case everything
        /// A seeded random choice per sector, file size and directory.
        case random
    }

    enum Entry: Equatable, Sendable {
        case file(Int)
        case directory
    }

    enum Pending: Equatable, Sendable {
        case write(offset: Int, bytes: [UInt8], durable: Bool)
        case resize(Int)
    }

    struct File: Sendable {
        var synced: [UInt8] = []
        var pending: [Pending] = []
    }

    enum NameOp: Equatable, Sendable {
        case add(String, Entry)
        case remove(String)
        case rename(String, String)
    }

    struct Directory: Sendable {
        var synced: [String: Entry] = [:]
        var pending: [NameOp] = []
    }

    /// Files by id (an id per created or base file; inodes map to ids).
    private(set) var files: [Int: File] = [:]
    /// Directories by path relative to the root ("" is the root, which always exists).
    private(set) var directories: [String: Directory] = ["": Directory()]
    /// The namespace as the process saw it (every operation applied).
    private(set) var live: [String: Entry] = [:]
    private var fileOfInode: [UInt64: Int] = [:]
    private var nextFile = 0
    /// Operations the model cannot represent (the test fails on any).
    private(set) var problems: [String] = []
    /// Paths of files mapped shared and writable (writes through them are invisible to the journal).
    private(set) var mappedShared: [String] = []

    /// A disk holding `base` (relative path → bytes; directories as paths in `directories`), all durable.
    init(base files: [String: [UInt8]] = [:], directories: [String] = []) {
        for dir in directories.sorted() {
            self.directories[dir] = Directory()
            self.directories[Self.parent(of: dir), default: Directory()].synced[Self.name(of: dir)] = .directory
            live[dir] = .directory
        }
        for (path, bytes) in files.sorted(by: { $0.key < $1.key }) {
            let id = newFile(File(synced: bytes))
            self.directories[Self.parent(of: path), default: Directory()].synced[Self.name(of: path)] = .file(id)
            live[path] = .file(id)
        }
    }

    // MARK: Replaying the journal

    mutating func apply(_ op: JournalOp) {
        switch op {
        case .create(let path, let inode):
            let id = newFile(File())
            fileOfInode[inode] = id
            addName(path, .file(id))
        case .open(let path, let inode):
            guard case .file(let id) = live[path] else { return problem("open of \(path), which the model does not hold") }
            fileOfInode[inode] = id
        case .write(let inode, let offset, let bytes, let durable):
            change(inode) { $0.pending.append(.write(offset: offset, bytes: bytes, durable: durable)) }
        case .truncate(let inode, let size):
            change(inode) { $0.pending.append(.resize(size)) }
        case .fsync(let inode):
            change(inode) { $0 = File(synced: Self.content($0, choice: .all)) }
        case .dirsync(let path):
            guard var dir = directories[path] else { return problem("fsync of directory \(path), which the model does not hold") }
            dir.synced = Self.entries(dir, prefix: dir.pending.count)
            dir.pending = []
            directories[path] = dir
        case .rename(let from, let to):
            guard case .file = live[from] else { return problem("rename \(from) to \(to) (a directory or an unknown name)") }
            if Self.parent(of: from) == Self.parent(of: to) {
                directories[Self.parent(of: from), default: Directory()].pending.append(.rename(Self.name(of: from), Self.name(of: to)))
                live[to] = live[from]
            } else {
                // Two directories, each durable at its own fsync: the file may end up under both names or neither.
                addName(to, live[from] ?? .directory)
                directories[Self.parent(of: from), default: Directory()].pending.append(.remove(Self.name(of: from)))
            }
            live[from] = nil
        case .unlink(let path):
            directories[Self.parent(of: path), default: Directory()].pending.append(.remove(Self.name(of: path)))
            live[path] = nil
        case .mkdir(let path):
            directories[path] = Directory()
            addName(path, .directory)
        case .note:
            break
        case .mapShared(let inode):
            let path = live.first { $0.value == fileOfInode[inode].map(Entry.file) }?.key ?? "inode \(inode)"
            mappedShared.append(path)
        case .syncAll:
            for id in files.keys { files[id] = File(synced: Self.content(files[id] ?? File(), choice: .all)) }
            for path in directories.keys { apply(.dirsync(path: path)) }
        case .unsupported(let what):
            problem(what)
        }
    }

    private mutating func newFile(_ file: File) -> Int {
        defer { nextFile += 1 }
        files[nextFile] = file
        return nextFile
    }

    private mutating func addName(_ path: String, _ entry: Entry) {
        directories[Self.parent(of: path), default: Directory()].pending.append(.add(Self.name(of: path), entry))
        live[path] = entry
    }

    private mutating func change(_ inode: UInt64, _ body: (inout File) -> Void) {
        guard let id = fileOfInode[inode], var file = files[id] else { return problem("a write to inode \(inode), never opened") }
        body(&file)
        files[id] = file
    }

    private mutating func problem(_ what: String) {
        problems.append(what)
    }

    // MARK: The image

    /// The files and directories a power cut at this point could leave: relative path → bytes
    /// (nil for a directory).
    func image(_ cut: Cut, random: inout SplitMix64) -> [String: [UInt8]?] {
        var out: [String: [UInt8]?] = [:]
        collect("", cut, &random, into: &out)
        return out
    }

    private func collect(_ path: String, _ cut: Cut, _ random: inout SplitMix64, into out: inout [String: [UInt8]?]) {
        guard let dir = directories[path] else { return }
        let prefix = Self.pick(dir.pending.count, minimum: 0, cut, &random)
        for (name, entry) in Self.entries(dir, prefix: prefix).sorted(by: { $0.key < $1.key }) {
            let child = path.isEmpty ? name : path + "/" + name
            switch entry {
            case .directory:
                out[child] = .some(nil)
                collect(child, cut, &random, into: &out)
            case .file(let id):
                out[child] = Self.content(files[id] ?? File(), choice: .cut(cut, random.next()))
            }
        }
    }

    /// A directory's entries with the first `prefix` pending operations applied.
    static func entries(_ dir: Directory, prefix: Int) -> [String: Entry] {
        var entries = dir.synced
        for op in dir.pending.prefix(prefix) {
            switch op {
            case .add(let name, let entry): entries[name] = entry
            case .remove(let name): entries[name] = nil
            case .rename(let from, let to):
                entries[to] = entries[from]
                entries[from] = nil
            }
        }
        return entries
    }

    enum Choice {
        /// Every pending operation (what fsync makes durable).
        case all
        /// As `cut` decides, seeded.
        case cut(Cut, UInt64)
    }

    /// A file's bytes after a cut: per sector, the synced bytes with a prefix of the pending
    /// operations that touch the sector (at least up to its last O_DSYNC write); the size after a
    /// prefix of all of them.
    static func content(_ file: File, choice: Choice) -> [UInt8] {
        let ops = file.pending
        var sizes = [file.synced.count]
        for op in ops {
            switch op {
            case .write(let offset, let bytes, _): sizes.append(max(sizes[sizes.count - 1], offset + bytes.count))
            case .resize(let size): sizes.append(size)
            }
        }
        let lastDurable = ops.lastIndex { if case .write(_, _, true) = $0 { return true } else { return false } }
        var random = SplitMix64(seed: 0)
        let cut: Cut
        switch choice {
        case .all: cut = .everything
        case .cut(let c, let seed): cut = c; random = SplitMix64(seed: seed)
        }
        let sizeIndex = pick(ops.count, minimum: lastDurable.map { $0 + 1 } ?? 0, cut, &random)
        let maxSize = sizes.max() ?? 0
        var bytes = file.synced + [UInt8](repeating: 0, count: maxSize - file.synced.count)
        // The operations touching each sector, in order.
        var touching: [Int: [Int]] = [:]
        for (index, op) in ops.enumerated() {
            let range: Range<Int>
            switch op {
            case .write(let offset, let data, _): range = offset..<(offset + data.count)
            case .resize(let size): range = size..<max(size, maxSize)
            }
            guard !range.isEmpty else { continue }
            for sector in (range.lowerBound / sectorBytes)...((range.upperBound - 1) / sectorBytes) {
                touching[sector, default: []].append(index)
            }
        }
        for sector in touching.keys.sorted() {
            let list = touching[sector] ?? []
            let forced = list.lastIndex { index in lastDurable.map { index <= $0 } ?? false }.map { $0 + 1 } ?? 0
            let start = sector * sectorBytes, end = min(start + sectorBytes, maxSize)
            for index in list.prefix(pick(list.count, minimum: forced, cut, &random)) {
                switch ops[index] {
                case .write(let offset, let data, _):
                    for at in max(start, offset)..<min(end, offset + data.count) { bytes[at] = data[at - offset] }
                case .resize(let size):
                    for at in max(start, size)..<max(end, max(start, size)) { bytes[at] = 0 }
                }
            }
        }
        return Array(bytes.prefix(sizes[sizeIndex]))
    }

    /// How many of `count` pending operations reach the disk (at least `minimum`).
    static func pick(_ count: Int, minimum: Int, _ cut: Cut, _ random: inout SplitMix64) -> Int {
        switch cut {
        case .syncedOnly: return minimum
        case .everything: return count
        case .random: return minimum + Int(random.next() % UInt64(count - minimum + 1))
        }
    }

    static func parent(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "" }
        return String(path[..<slash])
    }

    static func name(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return path }
        return String(path[path.index(after: slash)...])
    }
}
