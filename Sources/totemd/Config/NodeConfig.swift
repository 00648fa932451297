import ChainModel
import Foundation
import TOMLKit
import TotemCrypto

/// One node's settings (`config.toml`). Every setting has a default; `config/node.toml` documents
/// each one. Consensus parameters that all nodes must agree on live in the genesis file instead.
struct NodeConfig: Sendable {
    enum Role: String, Sendable { case validator, observer }

    struct Peer: Sendable, Equatable {
        let publicKey: Bytes32
        let host: String
        let port: Int
    }

    var moniker = "totem-node"
    var role = Role.validator
    /// Absolute paths, resolved against the config file's folder.
    var dataDir = ""
    var keyFile = ""
    var genesisFile = ""

    var p2pListenHost = "127.0.0.1"
    var p2pListenPort = 26601
    var persistentPeers: [Peer] = []
    var allowedObservers: [Bytes32] = []
    var maxFrameBytes = 12 << 20
    var maxPeers = 64

    var apiListenHost = "127.0.0.1"
    var apiListenPort = 26701
    var apiMaxBodyBytes = 16 << 20
    var apiRequestsPerSecond = 500
    var apiBurst = 1000
    /// Serve the explorer (`/explorer`) and verifier (`/verify`) pages (`api.explorer`).
    var apiExplorer = false
    /// Timeouts and the connection cap (defaults in `ConnectionLimits`).
    var apiConnections = ConnectionLimits()

    var mempoolMaxTxs = 100_000
    /// 8 MiB, about 200 txs of 500 works (seven proposals of 15,000 works): with 56 MB of such txs
    /// pending a devnet node had 550 MiB of heap in use (decoded txs, the content index, the queues
    /// on their way in; config/node.toml). A full pool still takes txs that close nonce gaps.
    var mempoolMaxBytes = 8 << 20
    var mempoolMaxPerSender = 64

    var storeInitialMapMiB = 1024
    var storeMinFreeMiB = NodeLimits.diskFreeMinMiBDefault

    var logLevel = "info"
    /// `[sync] state_sync`: a node with an empty store starts from the newest certified snapshot
    /// its peers offer instead of replaying every block (docs/state-sync.md).
    var stateSync = false

    /// Reads and checks a config file; a wrong setting names itself and the file.
    static func load(path: String) throws -> NodeConfig {
        let url = URL(fileURLWithPath: path).standardizedFileURL
        let text: String
        do {
            text = try String(contentsOf: url, encoding: .utf8)
        } catch {
            throw ConfigError(file: path, setting: "", message: "cannot read the config file (\(error.localizedDescription))")
        }
        let table: TOMLTable
        do {
            table = try TOMLTable(string: text)
        } catch let e as TOMLParseError {
            throw ConfigError(file: path, setting: "", message: "not valid TOML at \(e.source.begin): \(e.description)")
        }
        return try parse(table, file: path, baseDir: url.deletingLastPathComponent().path)
    }

    static func parse(_ table: TOMLTable, file: String, baseDir: String) throws -> NodeConfig {
        var c = NodeConfig()
        var root = TOMLSection(table, file: file, path: "")
        func resolve(_ p: String) -> String { p.hasPrefix("/") ? p : URL(fileURLWithPath: baseDir).appendingPathComponent(p).path }

        var node = try root.section("node")
        c.moniker = try node.string("moniker", default: c.moniker)
        let role = try node.string("role", default: c.role.rawValue)
        guard let r = Role(rawValue: role) else { throw node.error("role", "must be \"validator\" or \"observer\"") }
        c.role = r
        c.dataDir = resolve(try node.string("data_dir", default: "data"))
        c.keyFile = resolve(try node.string("key_file", default: "node_key.json"))
        c.genesisFile = resolve(try node.string("genesis_file", default: "genesis.json"))
        try node.finish()

        var p2p = try root.section("p2p")
        (c.p2pListenHost, c.p2pListenPort) = try address(p2p.string("listen", default: "127.0.0.1:26601"), p2p, "listen")
        c.persistentPeers = try p2p.strings("persistent_peers", default: []).map { try peer($0, p2p) }
        c.allowedObservers = try p2p.strings("allowed_observers", default: []).map { s in
            guard let k = Bytes32(hex: s) else { throw p2p.error("allowed_observers", "\"\(s)\" is not 64 lowercase hex digits") }
            return k
        }
        c.maxFrameBytes = try p2p.int("max_frame_bytes", default: c.maxFrameBytes, in: (1 << 16)...(64 << 20))
        c.maxPeers = try p2p.int("max_peers", default: c.maxPeers, in: 1...1024)
        try p2p.finish()

        var api = try root.section("api")
        (c.apiListenHost, c.apiListenPort) = try address(api.string("listen", default: "127.0.0.1:26701"), api, "listen")
        c.apiMaxBodyBytes = try api.int("max_body_bytes", default: c.apiMaxBodyBytes, in: 1024...(64 << 20))
        c.apiRequestsPerSecond = try api.int("requests_per_second", default: c.apiRequestsPerSecond, in: 1...1_000_000)
        c.apiBurst = try api.int("burst", default: c.apiBurst, in: 1...1_000_000)
        c.apiConnections = try connectionLimits(&api)
        c.apiExplorer = try api.bool("explorer", default: c.apiExplorer)
        try api.finish()

        var mempool = try root.section("mempool")
        c.mempoolMaxTxs = try mempool.int("max_txs", default: c.mempoolMaxTxs, in: 1...10_000_000)
        c.mempoolMaxBytes = try mempool.int("max_bytes", default: c.mempoolMaxBytes, in: (1 << 16)...(16 << 30))
        c.mempoolMaxPerSender = try mempool.int("max_per_sender", default: c.mempoolMaxPerSender, in: 1...64)
        try mempool.finish()

        var store = try root.section("store")
        c.storeInitialMapMiB = try store.int("initial_map_mib", default: c.storeInitialMapMiB, in: 1...(1 << 22))
        c.storeMinFreeMiB = try store.int("min_free_mib", default: c.storeMinFreeMiB, in: 0...(1 << 30))
        try store.finish()

        var log = try root.section("log")
        c.logLevel = try log.string("level", default: c.logLevel)
        guard ["trace", "debug", "info", "notice", "warning", "error", "critical"].contains(c.logLevel) else {
            throw log.error("level", "must be one of trace, debug, info, notice, warning, error, critical")
        }
        try log.finish()

        var sync = try root.section("sync")
        c.stateSync = try sync.bool("state_sync", default: c.stateSync)
        try sync.finish()
        try root.finish()
        return c
    }

    private static func connectionLimits(_ api: inout TOMLSection) throws -> ConnectionLimits {
        var l = ConnectionLimits()
        let read = ConnectionLimits.readTimeoutRangeMs
        l.headerReadTimeoutMs = try api.int("header_timeout_ms", default: l.headerReadTimeoutMs, in: read)
        l.bodyReadTimeoutMs = try api.int("body_timeout_ms", default: l.bodyReadTimeoutMs, in: read)
        l.idleTimeoutMs = try api.int("idle_timeout_ms", default: l.idleTimeoutMs, in: read)
        l.responseTimeoutMs = try api.int("response_timeout_ms", default: l.responseTimeoutMs,
                                          in: ConnectionLimits.responseTimeoutMinMs...read.upperBound)
        l.maxConnections = try api.int("max_connections", default: l.maxConnections, in: ConnectionLimits.maxConnectionsRange)
        return l
    }

    private static func address(_ s: String, _ section: TOMLSection, _ key: String) throws -> (String, Int) {
        do {
            return try hostPort(s)
        } catch {
            throw section.error(key, error.message)
        }
    }

    private static func peer(_ s: String, _ section: TOMLSection) throws -> Peer {
        do {
            return try peer(s)
        } catch {
            throw section.error("persistent_peers", error.message)
        }
    }

    /// Why an address or peer string was refused (the caller names the setting or flag).
    struct AddressError: Error {
        let message: String
    }

    /// `host:port`, or `[v6 address]:port`; the host without brackets.
    static func hostPort(_ s: String) throws(AddressError) -> (host: String, port: Int) {
        guard let colon = s.lastIndex(of: ":"), let port = Int(s[s.index(after: colon)...]), (0...65535).contains(port) else {
            throw AddressError(message: "\"\(s)\" is not host:port")
        }
        var host = String(s[..<colon])
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        guard !host.isEmpty else { throw AddressError(message: "\"\(s)\" has no host") }
        return (host, port)
    }

    /// `<hex public key>@host:port`.
    static func peer(_ s: String) throws(AddressError) -> Peer {
        let parts = s.split(separator: "@", maxSplits: 1).map(String.init)
        guard parts.count == 2, let key = Bytes32(hex: parts[0]) else {
            throw AddressError(message: "\"\(s)\" is not <64 hex digits>@host:port")
        }
        let (host, port) = try hostPort(parts[1])
        return Peer(publicKey: key, host: host, port: port)
    }
}

extension NodeConfig {
    /// The genesis file the config names, parsed and checked; an error names the file and setting.
    func readGenesis() throws(ConfigError) -> Genesis {
        guard let bytes = FileManager.default.contents(atPath: genesisFile) else {
            throw ConfigError(file: genesisFile, setting: "node.genesis_file", message: "cannot read the genesis file")
        }
        do {
            return try Genesis.parse(fileBytes: Array(bytes))
        } catch {
            throw ConfigError(file: genesisFile, setting: error.field, message: error.message)
        }
    }

    /// The node's key, from the key file the config names (refused unless its mode is 0600).
    func readKey() throws(ConfigError) -> SigningKey {
        do {
            return try KeyFile.read(path: keyFile)
        } catch {
            throw ConfigError(file: keyFile, setting: "node.key_file", message: error.message)
        }
    }
}
