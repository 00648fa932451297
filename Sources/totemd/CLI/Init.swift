import ArgumentParser
import ChainModel
import Foundation
import TOMLKit
import TotemCrypto

/// `totemd init --home DIR …`: a node home (key, config, and the genesis when it is known), each
/// value checked by the node's own config parser before anything is written.
struct Init: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Create a node home folder: a node key (mode 0600), a config.toml and, with --genesis, the genesis file.",
        discussion: """
            Refuses a home that already has a key or a config.toml. Every value is checked as the node \
            checks its config before anything is written. A validator of a new chain runs init first, \
            then `totemd genesis validator-entry` (docs/ops/genesis-ceremony.md); when the genesis is \
            published, `totemd genesis install` puts it in the home and sets the peers.
            """)

    @Option(name: .long, help: "The node's home folder (created if missing).")
    var home: String
    @Option(name: .long, help: "validator or observer.")
    var role: String = "validator"
    @Option(name: .long, help: "A name for logs (and the default name of this validator's genesis entry).")
    var moniker: String = "totem-node"
    @Option(name: .long, help: "Address to listen on for peers, host:port ([v6]:port for IPv6; 0.0.0.0 for all interfaces).")
    var p2pListen: String = "127.0.0.1:26601"
    @Option(name: .long, help: "Address of the HTTP API, host:port.")
    var apiListen: String = "127.0.0.1:26701"
    @Option(name: .long, parsing: .singleValue, help: "A peer to keep connected, <hex public key>@host:port (repeatable).")
    var peer: [String] = []
    @Option(name: .long, parsing: .singleValue, help: "Public key of an observer allowed to connect (repeatable).")
    var allowObserver: [String] = []
    @Flag(name: .long, help: "Serve the explorer and verifier pages from the API (api.explorer).")
    var explorer = false
    @Option(name: .long, help: "The chain's genesis file, checked and copied into the home byte for byte.")
    var genesis: String?

    /// The flag behind each config setting init writes, for errors.
    static let flagOfSetting = ["node.moniker": "--moniker", "node.role": "--role", "p2p.listen": "--p2p-listen",
                                "api.listen": "--api-listen", "p2p.persistent_peers": "--peer",
                                "p2p.allowed_observers": "--allow-observer"]

    func run() throws {
        let configPath = (home as NSString).appendingPathComponent("config.toml")
        let text = NodeConfigFile.render(moniker: moniker, role: role, p2pListen: p2pListen, apiListen: apiListen,
                                         peers: peer, observers: allowObserver, explorer: explorer)
        let config = try checked(text, configPath)
        let genesisBytes = try genesis.map { try Self.readGenesis($0) }

        let fm = FileManager.default
        for path in [config.keyFile, configPath] where fm.fileExists(atPath: path) {
            throw ValidationError("\(path) already exists; init never replaces a key or a config (use another --home)")
        }
        if let genesisBytes, let existing = fm.contents(atPath: config.genesisFile), Array(existing) != genesisBytes {
            throw ValidationError("\(config.genesisFile) already exists and differs from \(genesis ?? "")")
        }
        do {
            try fm.createDirectory(atPath: home, withIntermediateDirectories: true)
        } catch {
            throw ValidationError("cannot create \(home): \(error.localizedDescription)")
        }
        let key = SigningKey.generate()
        do {
            try KeyFile.write(key, path: config.keyFile)  // never replaces a file (atomic link)
        } catch {
            throw ValidationError(error.message)
        }
        try PublicFile.write(Array(text.utf8), to: configPath, replacing: false)
        if let genesisBytes, !fm.fileExists(atPath: config.genesisFile) {
            try PublicFile.write(genesisBytes, to: config.genesisFile, replacing: false)
        }
        print("node key \(key.publicKey.hex)")
        print("wrote \(config.keyFile) (mode 0600) and \(configPath)"
              + (genesisBytes == nil ? "" : " and \(config.genesisFile)"))
        if genesisBytes == nil {
            print("next: `totemd genesis validator-entry --home \(home) --p2p-address HOST:PORT` (a validator of a new chain), "
                  + "or `totemd genesis install GENESIS --home \(home)`")
        } else {
            print("next: totemd doctor --home \(home); totemd start --home \(home)")
        }
    }

    /// The config as the node will read it; a refused value names the flag that gave it.
    private func checked(_ text: String, _ configPath: String) throws -> NodeConfig {
        let config: NodeConfig
        do {
            config = try NodeConfig.parse(try TOMLTable(string: text), file: configPath, baseDir: home)
        } catch let e as ConfigError {
            throw ValidationError("\(Self.flagOfSetting[e.setting] ?? e.setting): \(e.message)")
        }
        guard (config.p2pListenHost, config.p2pListenPort) != (config.apiListenHost, config.apiListenPort) else {
            throw ValidationError("--api-listen: \(apiListen) is also the P2P address")
        }
        return config
    }

    /// The genesis file's bytes, read and checked as the node reads it at start.
    static func readGenesis(_ path: String) throws -> [UInt8] {
        var probe = NodeConfig()
        probe.genesisFile = path
        do {
            return try probe.readGenesis().fileBytes
        } catch {
            throw ValidationError("--genesis: \(error)")
        }
    }
}

/// Writes config.toml files (the sample in config/node.toml documents every setting).
enum NodeConfigFile {
    static func render(moniker: String, role: String, p2pListen: String, apiListen: String,
                       peers: [String], observers: [String], explorer: Bool = false) -> String {
        func list(_ xs: [String]) -> String { "[" + xs.map(quoted).joined(separator: ", ") + "]" }
        return """
        # Totem node configuration; config/node.toml in the repository documents every setting.
        [node]
        moniker = \(quoted(moniker))
        role = \(quoted(role))
        data_dir = "data"
        key_file = "node_key.json"
        genesis_file = "genesis.json"

        [p2p]
        listen = \(quoted(p2pListen))
        persistent_peers = \(list(peers))
        allowed_observers = \(list(observers))

        [api]
        listen = \(quoted(apiListen))
        explorer = \(explorer)

        [log]
        level = "info"

        """
    }

    /// A TOML basic string holding `s` exactly (quotes, backslashes and control characters escaped).
    static func quoted(_ s: String) -> String {
        var out = "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case _ where u.value < 0x20 || u.value == 0x7F: out += String(format: "\\u%04X", u.value)
            default: out.unicodeScalars.append(u)
            }
        }
        return out + "\""
    }
}
