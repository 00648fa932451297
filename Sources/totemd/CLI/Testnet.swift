import ArgumentParser
import ChainModel
import Foundation
import TotemCrypto

struct Testnet: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Generate a local network: genesis, and keys and configs for N validators and M observers on loopback.",
        discussion: """
        Writes <dir>/node0 … (validators; node0 is the anchor node), <dir>/observer0 …, each with \
        node_key.json, config.toml and genesis.json, and the operator's root-registrar key as \
        <dir>/root_registrar.json, beside the network and in no node's config.
        """)

    @Option(name: .long, help: "Output folder.")
    var dir: String = "devnet"
    @Option(name: .long, help: "Number of validators.")
    var validators: Int = 4
    @Option(name: .long, help: "Number of observers.")
    var observers: Int = 1
    @Option(name: .long, help: "Chain id ([a-z0-9-], 1 to 64 characters).")
    var chainId: String = "totem-devnet"
    @Option(name: .long, help: "Host the nodes listen on and dial.")
    var host: String = "127.0.0.1"
    @Option(name: .long, help: "P2P port of node0; node i uses base + i.")
    var p2pBasePort: Int = 26601
    @Option(name: .long, help: "API port of node0; node i uses base + i.")
    var apiBasePort: Int = 26701
    @OptionGroup(title: "Consensus parameters")
    var params: GenesisParamOptions

    func validate() throws {
        guard (1...64).contains(validators) else { throw ValidationError("--validators must be 1 to 64") }
        guard (0...16).contains(observers) else { throw ValidationError("--observers must be 0 to 16") }
    }

    func run() throws {
        let fm = FileManager.default
        if fm.fileExists(atPath: dir) {
            let entries: [String]
            do {
                entries = try fm.contentsOfDirectory(atPath: dir)
            } catch {
                throw ValidationError("\(dir) exists and cannot be listed (\(error.localizedDescription))")
            }
            guard entries.isEmpty else { throw ValidationError("\(dir) exists and is not empty; remove it first") }
        }
        try fm.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let root = SigningKey.generate()
        try writeKey(root, "\(dir)/root_registrar.json")

        let total = validators + observers
        let keys = (0..<total).map { _ in SigningKey.generate() }
        let names = (0..<total).map { $0 < validators ? "node\($0)" : "observer\($0 - validators)" }
        let p2p = (0..<total).map { "\(host):\(p2pBasePort + $0)" }
        let genesisValidators = (0..<validators).map {
            GenesisValidator(name: names[$0], publicKey: keys[$0].publicKey, p2pAddress: p2p[$0])
        }
        let nowMs = UInt64(Date().timeIntervalSince1970 * 1000)
        let genesis: Genesis
        do {
            genesis = try Genesis.build(chainId: chainId, genesisTimeMs: nowMs, rootRegistrar: root.publicKey,
                                        registrars: [], validators: genesisValidators,
                                        params: params.applied(to: .testnet))
        } catch {
            throw ValidationError("genesis: \(error)")
        }
        try Data(genesis.fileBytes).write(to: URL(fileURLWithPath: "\(dir)/genesis.json"))

        let observerKeys = (validators..<total).map { keys[$0].publicKey.hex }
        for i in 0..<total {
            let home = "\(dir)/\(names[i])"
            try fm.createDirectory(atPath: home, withIntermediateDirectories: true)
            try writeKey(keys[i], "\(home)/node_key.json")
            try Data(genesis.fileBytes).write(to: URL(fileURLWithPath: "\(home)/genesis.json"))
            // Validators dial every other validator; observers dial the validators.
            let peers = (0..<validators).filter { $0 != i }.map { "\(keys[$0].publicKey.hex)@\(p2p[$0])" }
            let config = NodeConfigFile.render(
                moniker: names[i], role: i < validators ? "validator" : "observer", p2pListen: p2p[i],
                apiListen: "\(host):\(apiBasePort + i)", peers: peers, observers: i < validators ? observerKeys : [],
                explorer: i == 0)
            try Data(config.utf8).write(to: URL(fileURLWithPath: "\(home)/config.toml"))
        }
        print("genesis \(genesis.genesisHash.hex) chain \(chainId)")
        for i in 0..<total {
            print("\(names[i]) \(keys[i].publicKey.hex) p2p \(p2p[i]) api http://\(host):\(apiBasePort + i)")
        }
        print("root registrar key: \(dir)/root_registrar.json (\(root.publicKey.hex))")
    }

    private func writeKey(_ key: SigningKey, _ path: String) throws {
        do {
            try KeyFile.write(key, path: path)
        } catch {
            throw ValidationError(error.message)
        }
    }
}
