import ArgumentParser
import ChainModel
import Foundation
import P2P
import Storage
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import TotemCrypto
#if canImport(Glibc)
import Glibc
#endif

/// `totemd doctor --home DIR`: checks a node home before it starts and names what is wrong, one
/// line per check, so an operator fixes everything in one pass instead of one failed start at a time.
struct Doctor: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check a node home before starting it: config, genesis, key file, membership, ports, disk, clock.",
        discussion: """
            Exits 1 when a check fails. With --api (a running node of the same chain, repeatable), also \
            checks the key against the validator set in force on chain and this machine's clock against \
            those nodes'.
            """)
    @Option(name: .long, help: "The node's home folder (holds config.toml).") var home: String
    @Option(name: .long, parsing: .singleValue, help: "A running node's API, e.g. http://10.0.0.2:26701 (repeatable).")
    var api: [String] = []

    func run() async throws {
        var report = DoctorReport()
        defer { report.print() }
        let configPath = (home as NSString).appendingPathComponent("config.toml")
        let config: NodeConfig
        do {
            config = try NodeConfig.load(path: configPath)
            report.ok("config", "\(configPath): role \(config.role.rawValue), moniker \(config.moniker)")
        } catch {
            report.fail("config", "\(error)")
            throw ExitCode(1)
        }
        let genesis = Self.genesis(config, &report)
        let key = Self.key(config, &report)
        if let genesis, let key { Self.membership(config, genesis: genesis, key: key, &report) }
        for (name, host, port) in [("p2p port", config.p2pListenHost, config.p2pListenPort),
                                   ("api port", config.apiListenHost, config.apiListenPort)] {
            if let problem = PortProbe.bindProblem(host: host, port: port) {
                report.fail(name, "\(host):\(port) \(problem)")
            } else {
                report.ok(name, "\(host):\(port) is free")
            }
        }
        Self.dataDirectory(config, &report)
        for url in api { await Self.peer(url, genesis: genesis, key: key, config: config, &report) }
        if report.failed { throw ExitCode(1) }
    }

    /// Read as the node reads them at start (`NodeConfig.readGenesis`, `readKey`).
    static func genesis(_ config: NodeConfig, _ report: inout DoctorReport) -> Genesis? {
        do {
            let genesis = try config.readGenesis()
            report.ok("genesis", "chain \(genesis.chainId), hash \(genesis.genesisHash.hex), \(genesis.validators.count) validators")
            return genesis
        } catch {
            report.fail("genesis", error.description)
            return nil
        }
    }

    static func key(_ config: NodeConfig, _ report: inout DoctorReport) -> SigningKey? {
        do {
            let key = try config.readKey()
            report.ok("key file", "\(config.keyFile): mode 0600, public key \(key.publicKey.hex)")
            return key
        } catch {
            report.fail("key file", error.description)
            return nil
        }
    }

    static func membership(_ config: NodeConfig, genesis: Genesis, key: SigningKey, _ report: inout DoctorReport) {
        let inGenesis = genesis.validators.first { $0.publicKey == key.publicKey }
        switch (config.role, inGenesis) {
        case (.validator, let v?):
            report.ok("membership", "a validator of the genesis set, as \(v.name)")
        case (.validator, nil):
            report.fail("membership", "role is validator but key \(key.publicKey.hex.prefix(16))… is not in the genesis "
                        + "validator set (give --api to check the set in force on chain, or set role = \"observer\")")
        case (.observer, let v?):
            report.warn("membership", "role is observer but this key is the genesis validator \(v.name): it will not vote")
        case (.observer, nil):
            report.ok("membership", "an observer; each validator must list \(key.publicKey.hex) in allowed_observers")
        }
        peers(config, genesis: genesis, key: key, &report)
    }

    /// The node dials the validators at the addresses the chain records (at first the genesis
    /// file's) and adds `persistent_peers`, which win for a key in both: checked as the node will
    /// compute them at its first start.
    static func peers(_ config: NodeConfig, genesis: Genesis, key: SigningKey, _ report: inout DoctorReport) {
        if config.persistentPeers.contains(where: { $0.publicKey == key.publicKey }) {
            report.fail("peers", "persistent_peers lists this node's own key")
            return
        }
        let configured = config.persistentPeers.map { PeerAddress(key: $0.publicKey, host: $0.host, port: $0.port) }
        let outcome = DialTargets.compute(recorded: genesis.validators.map { RecordedAddress(key: $0.publicKey, address: $0.p2pAddress) },
                                          configured: configured, localKey: key.publicKey)
        let fromConfig = Set(configured.map(\.key)).count
        let summary = "\(outcome.targets.count - fromConfig) genesis validators at their p2pAddress, \(fromConfig) persistent peers"
        if !outcome.malformed.isEmpty {
            let named = outcome.malformed.map { m in
                "\(genesis.validators.first { $0.publicKey == m.key }?.name ?? m.key.hex): \(m.problem)"
            }
            report.warn("peers", "p2pAddress of a genesis validator cannot be dialled, list its key@host:port in "
                        + "persistent_peers (\(named.joined(separator: "; "))); dials \(summary)")
        } else if outcome.targets.isEmpty && genesis.validators.count > 1 {
            report.warn("peers", "no peer to dial: this node will wait for others to dial it")
        } else {
            report.ok("peers", summary)
        }
    }

    static func dataDirectory(_ config: NodeConfig, _ report: inout DoctorReport) {
        let dir = config.dataDir
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: dir, isDirectory: &isDirectory), !isDirectory.boolValue {
            report.fail("data dir", "\(dir) exists and is not a folder (node.data_dir)")
            return
        }
        // The nearest folder that exists: the node creates the rest.
        var existing = dir
        while !FileManager.default.fileExists(atPath: existing) && existing != "/" {
            existing = (existing as NSString).deletingLastPathComponent
        }
        guard access(existing, W_OK) == 0 else {
            report.fail("data dir", "\(existing) is not writable by this user (node.data_dir \(dir))")
            return
        }
        guard let space = DiskSpace.of(path: existing) else {
            report.warn("data dir", "cannot read the free space of \(existing)")
            return
        }
        let needed = UInt64(config.storeMinFreeMiB) << 20
        let free = "\(space.freeBytes >> 20) MiB free of \(space.totalBytes >> 20) MiB"
        if space.freeBytes < needed {
            report.fail("disk", "\(existing): \(free), under store.min_free_mib (\(config.storeMinFreeMiB) MiB)")
        } else {
            report.ok("disk", "\(existing): \(free)")
        }
    }

    /// The chain, the key's membership in force and the clock, against a running node.
    static func peer(_ url: String, genesis: Genesis?, key: SigningKey?, config: NodeConfig,
                     _ report: inout DoctorReport) async {
        let client = APIClient(base: url)
        do {
            let status = try await client.status()
            if let genesis, status.genesisHash != genesis.genesisHash {
                report.fail("chain", "\(url) runs genesis \(status.genesisHash.hex), this home has \(genesis.genesisHash.hex)")
                return
            }
            report.ok("chain", "\(url) is at height \(status.height) of the same chain")
            let offsetMs = try await clockOffsetMs(client)
            let limit = genesis?.params.maxClockDriftMs ?? 2_000
            if let offsetMs {
                // The HTTP Date header has whole seconds and a server may stamp it from a clock it
                // refreshes once a second: the reading is off by up to about 1.5 s (a CI run saw a
                // healthy home fail at the old bound, half the limit). Beyond the limit plus that,
                // the clock is surely off; between the two, it may be.
                let noiseMs: UInt64 = 1_500
                if offsetMs.magnitude > limit + noiseMs {
                    report.fail("clock", "this machine's clock is \(offsetMs) ms from \(url)'s (proposals are refused "
                                + "beyond \(limit) ms): check NTP")
                } else if offsetMs.magnitude > noiseMs {
                    report.warn("clock", "this machine's clock may be \(offsetMs) ms from \(url)'s (the HTTP Date header "
                                + "is read to about \(noiseMs) ms; proposals are refused beyond \(limit) ms): check NTP")
                } else {
                    report.ok("clock", "within \(offsetMs.magnitude) ms of \(url)'s (to about \(noiseMs) ms)")
                }
            }
            guard let key else { return }
            let answer = try await client.get("/v1/validators")
            var inForce = false
            if case .array(let vs)? = answer["validators"] {
                inForce = vs.contains { v in if case .string(let k)? = v["publicKey"] { k == key.publicKey.hex } else { false } }
            }
            switch (config.role, inForce) {
            case (.validator, true): report.ok("on chain", "the key is in the validator set in force at \(url)")
            case (.validator, false):
                report.fail("on chain", "role is validator but the key is not in the set in force at \(url): join first "
                            + "(validators vote it in with tx validator-change) or set role = \"observer\"")
            case (.observer, true): report.warn("on chain", "role is observer but the key is a validator in force: it will not vote")
            case (.observer, false): report.ok("on chain", "not a validator in force, as an observer should be")
            }
        } catch {
            report.fail("chain", "\(url): \(error)")
        }
    }

    /// This clock minus the node's, from the HTTP `Date` header (whole seconds: the offset is
    /// known to within about a second plus the round trip); nil when the node sends no date.
    static func clockOffsetMs(_ client: APIClient) async throws -> Int64? {
        guard let url = URL(string: client.base + "/livez") else { return nil }
        let start = Date()
        let (_, response) = try await client.session.data(for: URLRequest(url: url))
        let end = Date()
        guard let header = (response as? HTTPURLResponse)?.value(forHTTPHeaderField: "Date") else { return nil }
        let format = DateFormatter()
        format.locale = Locale(identifier: "en_US_POSIX")
        format.timeZone = TimeZone(identifier: "GMT")
        format.dateFormat = "EEE, dd MMM yyyy HH:mm:ss zzz"
        guard let theirs = format.date(from: header) else { return nil }
        // Their clock read somewhere in [start, end] of ours, truncated to the second.
        let ours = start.addingTimeInterval(end.timeIntervalSince(start) / 2)
        let offset = ours.timeIntervalSince(theirs.addingTimeInterval(0.5))
        return Int64((offset * 1000).rounded())
    }
}

/// The doctor's findings, printed one per line: `ok`, `warn` or `FAIL`, the check, what was found.
struct DoctorReport {
    enum Level: String { case ok = "ok  ", warn = "warn", fail = "FAIL" }
    /// The command whose findings these are, for the summary line.
    let name: String
    private(set) var lines: [(Level, String, String)] = []

    init(name: String = "doctor") { self.name = name }
    var failed: Bool { lines.contains { $0.0 == .fail } }

    mutating func ok(_ check: String, _ detail: String) { lines.append((.ok, check, detail)) }
    mutating func warn(_ check: String, _ detail: String) { lines.append((.warn, check, detail)) }
    mutating func fail(_ check: String, _ detail: String) { lines.append((.fail, check, detail)) }

    /// Lines already printed by `printPending`.
    private var printedCount = 0

    /// Prints the lines not printed yet and flushes them out (before a step that could bring the
    /// process down, e.g. LMDB reading a damaged file).
    mutating func printPending() {
        for (level, check, detail) in lines[printedCount...] {
            Swift.print("\(level.rawValue)  \(check.padding(toLength: 10, withPad: " ", startingAt: 0)) \(detail)")
        }
        printedCount = lines.count
        fflush(nil)  // every output stream; `stdout` itself is a global Swift 6 will not touch
    }

    /// Prints the remaining lines and the summary.
    mutating func print() {
        printPending()
        let failures = lines.filter { $0.0 == .fail }.count
        Swift.print(failures == 0 ? "\(name): no problem found" : "\(name): \(failures) problem(s) found")
    }
}

/// Whether a TCP listener could bind an address now (the node sets SO_REUSEADDR too).
enum PortProbe {
    static func bindProblem(host: String, port: Int) -> String? {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_flags = AI_PASSIVE
        var result: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, String(port), &hints, &result) == 0, let info = result else {
            return "cannot be resolved as a listen address"
        }
        defer { freeaddrinfo(result) }
        let fd = socket(info.pointee.ai_family, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return "cannot be probed (socket failed)" }
        defer { close(fd) }
        var one: Int32 = 1
        _ = setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        guard bind(fd, info.pointee.ai_addr, info.pointee.ai_addrlen) == 0 else {
            return errno == EADDRINUSE ? "is in use (another totemd, or another program?)"
                : errno == EADDRNOTAVAIL ? "is not an address of this machine"
                : "cannot be bound: \(String(cString: strerror(errno)))"
        }
        guard listen(fd, 1) == 0 else {
            return errno == EADDRINUSE ? "is in use (another totemd, or another program?)" : "cannot be listened on"
        }
        return nil
    }
}
