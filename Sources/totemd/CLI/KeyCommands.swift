import ArgumentParser
import ChainModel
import Foundation
import TotemCrypto

struct Keygen: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Create an Ed25519 key file (mode 0600).")

    @Option(name: .shortAndLong, help: "Where to write the key file.")
    var out: String

    @Flag(help: "Replace an existing file.")
    var overwrite = false

    func run() throws {
        let key = SigningKey.generate()
        do {
            try KeyFile.write(key, path: out, overwrite: overwrite)
        } catch {
            throw ValidationError("\(error.message)")
        }
        print(key.publicKey.hex)
    }
}

struct Init: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Create a node home folder: a node key and a config.toml with the defaults.")

    @Option(name: .long, help: "The node's home folder.")
    var home: String

    @Option(name: .long, help: "validator or observer.")
    var role: String = "validator"

    @Option(name: .long, help: "A name for logs.")
    var moniker: String = "totem-node"

    func run() throws {
        guard role == "validator" || role == "observer" else { throw ValidationError("--role must be validator or observer") }
        try FileManager.default.createDirectory(atPath: home, withIntermediateDirectories: true)
        let keyPath = (home as NSString).appendingPathComponent("node_key.json")
        let key = SigningKey.generate()
        do {
            try KeyFile.write(key, path: keyPath)
        } catch {
            throw ValidationError(error.message)
        }
        let config = NodeConfigFile.render(moniker: moniker, role: role, p2pListen: "127.0.0.1:26601",
                                           apiListen: "127.0.0.1:26701", peers: [], observers: [])
        let configPath = (home as NSString).appendingPathComponent("config.toml")
        guard FileManager.default.createFile(atPath: configPath, contents: Data(config.utf8)) else {
            throw ValidationError("cannot write \(configPath)")
        }
        print("node key \(key.publicKey.hex)")
        print("wrote \(keyPath) and \(configPath); put the chain's genesis.json beside them, then: totemd start --home \(home)")
    }
}

/// Writes config.toml files (the sample in config/node.toml documents every setting).
enum NodeConfigFile {
    static func render(moniker: String, role: String, p2pListen: String, apiListen: String,
                       peers: [String], observers: [String], explorer: Bool = false) -> String {
        func list(_ xs: [String]) -> String { "[" + xs.map { "\"\($0)\"" }.joined(separator: ", ") + "]" }
        return """
        # Totem node configuration; config/node.toml in the repository documents every setting.
        [node]
        moniker = "\(moniker)"
        role = "\(role)"
        data_dir = "data"
        key_file = "node_key.json"
        genesis_file = "genesis.json"

        [p2p]
        listen = "\(p2pListen)"
        persistent_peers = \(list(peers))
        allowed_observers = \(list(observers))

        [api]
        listen = "\(apiListen)"
        explorer = \(explorer)

        [log]
        level = "info"

        """
    }
}
