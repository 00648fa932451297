import ArgumentParser
import ChainModel
import Foundation
import TotemCrypto

/// `totemd genesis …`: the genesis ceremony of a chain whose validators run on separate hosts
/// (docs/ops/genesis-ceremony.md). Each agency publishes its validator entry (public key and
/// address, nothing secret); the operator assembles, checks and publishes the genesis file; every
/// agency checks its hash and installs it in its home.
struct GenesisCmd: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "genesis",
        abstract: "The genesis ceremony: validator entries, assembling, checking and installing a genesis file.",
        subcommands: [ValidatorEntry.self, New.self, AddValidator.self, AddRegistrar.self, Validate.self, Hash.self,
                      Install.self])
}

/// The rules the ceremony adds to the node's own genesis rules (`Genesis.parse`): peers dial a
/// validator at its `p2pAddress`, so it must be host:port (as the config's addresses), not a
/// wildcard, and not another validator's.
enum GenesisCeremony {
    static let wildcardHosts: Set<String> = ["0.0.0.0", "::", "*"]

    /// The first problem of one validator address, or nil.
    static func addressProblem(_ address: String) -> String? {
        do {
            let (host, _) = try NodeConfig.hostPort(address)
            if wildcardHosts.contains(host) {
                return "\"\(address)\" is a listen-on-all address; give the address peers dial (a host name or IP)"
            }
            return nil
        } catch {
            return error.message
        }
    }

    /// Every validator's address checked, each problem naming its field.
    static func check(_ validators: [GenesisValidator]) throws {
        var firstWith: [String: Int] = [:]
        for (i, v) in validators.enumerated() {
            let field = "validators[\(i)].p2pAddress"
            if let problem = addressProblem(v.p2pAddress) { throw CommandFailure("\(field): \(problem)") }
            if let j = firstWith[v.p2pAddress] {
                throw CommandFailure("\(field): \(v.p2pAddress) is also the address of validators[\(j)] (\(validators[j].name))")
            }
            firstWith[v.p2pAddress] = i
        }
    }

    /// A finished genesis: the node's rules, then the ceremony's.
    static func readGenesis(_ path: String) throws -> Genesis {
        let genesis: Genesis
        do {
            genesis = try Genesis.parse(fileBytes: try PublicFile.read(path))
        } catch let e as GenesisError {
            throw CommandFailure("\(path): \(e.code.rawValue): \(e.field): \(e.message)")
        }
        do {
            try check(genesis.validators)
        } catch let e as CommandFailure {
            throw CommandFailure("\(path): \(e.description)")
        }
        return genesis
    }

    static func readDraft(_ path: String) throws -> GenesisDraft {
        do {
            return try GenesisDraft.parse(fileBytes: try PublicFile.read(path))
        } catch let e as GenesisError {
            throw CommandFailure("\(path): \(e.code.rawValue): \(e.field): \(e.message)")
        }
    }

    /// Checks a draft as it will be written (the parser's rules, empty validator list allowed, and
    /// the addresses) and writes it.
    static func writeDraft(_ draft: GenesisDraft, to path: String) throws {
        do {
            _ = try GenesisDraft.parse(fileBytes: draft.fileBytes)
        } catch {
            throw CommandFailure("\(error.code.rawValue): \(error.field): \(error.message)")
        }
        try check(draft.validators)
        try PublicFile.write(draft.fileBytes, to: path, replacing: true)
    }

    static func key(_ hex: String, _ option: String) throws -> Bytes32 {
        guard let k = Bytes32(hex: hex) else { throw ValidationError("\(option): \"\(hex)\" is not 64 lowercase hex digits") }
        return k
    }

    /// The config's `p2p.listen` as host:port: the address peers dial unless given another.
    static func listenAddress(_ config: NodeConfig) -> String {
        "\(config.p2pListenHost.contains(":") ? "[\(config.p2pListenHost)]" : config.p2pListenHost):\(config.p2pListenPort)"
    }

    static func loadConfig(home: String) throws -> NodeConfig {
        let path = (home as NSString).appendingPathComponent("config.toml")
        do {
            return try NodeConfig.load(path: path)
        } catch let e as ConfigError {
            throw CommandFailure(e.description)
        }
    }
}

extension GenesisCmd {
    struct ValidatorEntry: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "validator-entry",
            abstract: "Print this home's public validator entry (name, public key, P2P address) for the genesis.",
            discussion: "Nothing secret: publish it to the operator. The key never leaves the home.")

        @Option(name: .long, help: "The node's home folder (its config.toml and key).") var home: String
        @Option(name: .long, help: "host:port other validators dial (default: the config's p2p.listen, unless it listens on all interfaces).")
        var p2pAddress: String?
        @Option(name: .long, help: "The validator's name in the genesis (default: the config's moniker).") var name: String?
        @Option(name: .long, help: "Write the entry to this file instead of printing it.") var out: String?

        func run() throws {
            let config = try GenesisCeremony.loadConfig(home: home)
            guard config.role == .validator else {
                throw CommandFailure("\(home): role is \(config.role.rawValue); only a validator has a genesis entry")
            }
            let key: SigningKey
            do {
                key = try config.readKey()
            } catch {
                throw CommandFailure(error.description)
            }
            let address = p2pAddress ?? GenesisCeremony.listenAddress(config)
            if let problem = GenesisCeremony.addressProblem(address) {
                throw ValidationError("--p2p-address: \(problem)")
            }
            let entry = GenesisValidator(name: name ?? config.moniker, publicKey: key.publicKey, p2pAddress: address)
            do {
                _ = try Genesis.parseValidatorEntry(fileBytes: entry.entryFileBytes)
            } catch {
                throw ValidationError("\(error.field == "name" ? "--name" : error.field): \(error.message)")
            }
            if let out {
                try PublicFile.write(entry.entryFileBytes, to: out, replacing: true)
                print("wrote \(out): \(entry.name) \(entry.publicKey.hex) \(entry.p2pAddress)")
            } else {
                FileHandle.standardOutput.write(Data(entry.entryFileBytes))
            }
        }
    }

    struct New: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Start a genesis file: chain id, time, root registrar and consensus parameters, no validators yet.",
            discussion: "Then add validators (add-validator) and registrars (add-registrar), and check it (validate).")

        @Option(name: .long, help: "Where to write the genesis file (must not exist).") var out: String
        @Option(name: .long, help: "Chain id ([a-z0-9-], 1 to 64 characters).") var chainId: String
        @Option(name: .long, help: "The root registrar's public key (hex; its key file stays with the operator, off every node).")
        var rootRegistrar: String
        @Option(name: .long, help: "Genesis time in ms since 1970 (default: now); block 1's time is at least this.")
        var genesisTimeMs: UInt64?
        @OptionGroup(title: "Consensus parameters") var params: GenesisParamOptions

        func run() throws {
            guard !FileManager.default.fileExists(atPath: out) else {
                throw ValidationError("--out: \(out) already exists")
            }
            let draft = GenesisDraft(
                chainId: chainId, genesisTimeMs: genesisTimeMs ?? UInt64(Date().timeIntervalSince1970 * 1000),
                rootRegistrar: try GenesisCeremony.key(rootRegistrar, "--root-registrar"), registrars: [], validators: [],
                params: params.applied(to: .standard))
            try GenesisCeremony.writeDraft(draft, to: out)
            print("wrote \(out) (chain \(chainId), no validators yet): next, totemd genesis add-validator \(out) ENTRY…")
        }
    }

    struct AddValidator: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "add-validator",
            abstract: "Add validator entries (files written by validator-entry) to a genesis file.")

        @Argument(help: "The genesis file (changed in place).") var genesis: String
        @Argument(help: "Validator entry files.") var entries: [String]

        func validate() throws {
            guard !entries.isEmpty else { throw ValidationError("give at least one validator entry file") }
        }

        func run() throws {
            var draft = try GenesisCeremony.readDraft(genesis)
            for path in entries {
                let entry: GenesisValidator
                do {
                    entry = try Genesis.parseValidatorEntry(fileBytes: try PublicFile.read(path))
                } catch let e as GenesisError {
                    throw CommandFailure("\(path): \(e.code.rawValue): \(e.field): \(e.message)")
                }
                if let same = draft.validators.first(where: { $0.publicKey == entry.publicKey }) {
                    throw CommandFailure("\(path): validator key \(entry.publicKey.hex) is already in \(genesis) as \(same.name)")
                }
                draft.validators.append(entry)
            }
            try GenesisCeremony.writeDraft(draft, to: genesis)
            print("\(genesis): \(draft.validators.count) validators")
        }
    }

    struct AddRegistrar: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "add-registrar",
            abstract: "Add a registrar the chain starts with (an agency that may register identities from block 1).")

        @Argument(help: "The genesis file (changed in place).") var genesis: String
        @Option(name: .long, help: "The registrar's name.") var name: String
        @Option(name: .long, help: "The registrar's public key (hex).") var publicKey: String

        func run() throws {
            var draft = try GenesisCeremony.readDraft(genesis)
            draft.registrars.append(GenesisRegistrar(name: name, publicKey: try GenesisCeremony.key(publicKey, "--public-key")))
            try GenesisCeremony.writeDraft(draft, to: genesis)
            print("\(genesis): \(draft.registrars.count) registrars")
        }
    }

    struct Validate: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check a genesis file with every rule a node applies (and the ceremony's address rules); print its hash and contents.",
            discussion: "Exits non-zero with the field at fault, or when --hash is given and differs.")

        @Argument(help: "The genesis file.") var genesis: String
        @Option(name: .long, help: "The genesis hash published by the operator: fail unless the file has it.") var hash: String?

        func run() throws {
            let g = try GenesisCeremony.readGenesis(genesis)
            let n = g.validators.count
            print("hash           \(g.genesisHash.hex)")
            print("chain id       \(g.chainId)")
            let time = Date(timeIntervalSince1970: Double(g.genesisTimeMs) / 1000).ISO8601Format()
            print("genesis time   \(g.genesisTimeMs) (\(time))")
            print("root registrar \(g.rootRegistrar.hex)")
            for r in g.registrars { print("registrar      \(r.publicKey.hex) \(r.name)") }
            for v in g.validators { print("validator      \(v.publicKey.hex) \(v.p2pAddress) \(v.name)") }
            print("quorum         \(2 * n / 3 + 1) of \(n) validators (tolerates \((n - 1) / 3) faulty)")
            let p = g.params
            print("params         maxBlockTxs \(p.maxBlockTxs), maxBlockBytes \(p.maxBlockBytes), maxTxBytes \(p.maxTxBytes), "
                  + "proposalTimeoutMs \(p.proposalTimeoutMs), maxProposalTimeoutMs \(p.maxProposalTimeoutMs), "
                  + "emptyBlockIntervalMs \(p.emptyBlockIntervalMs), maxClockDriftMs \(p.maxClockDriftMs), "
                  + "validatorChangeTtlBlocks \(p.validatorChangeTtlBlocks)")
            try Self.expect(hash, g, genesis)
            print(hash == nil ? "valid" : "valid, and its hash is the one expected")
        }

        static func expect(_ hash: String?, _ g: Genesis, _ path: String) throws {
            guard let hash else { return }
            guard hash.lowercased() == g.genesisHash.hex else {
                throw CommandFailure("\(path) has hash \(g.genesisHash.hex), not the expected \(hash): "
                                          + "not the published genesis (or not its exact bytes)")
            }
        }
    }

    struct Hash: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print a genesis file's hash (SHA-256 of its exact bytes), after checking it as validate does.")

        @Argument(help: "The genesis file.") var genesis: String

        func run() throws {
            print(try GenesisCeremony.readGenesis(genesis).genesisHash.hex)
        }
    }

    struct Install: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Put a published genesis into a node home and, when the config has none, set its peers to the other validators.",
            discussion: """
                Checks the file (validate's rules, and --hash), that a validator's key is in the genesis set, \
                and that the home holds no other genesis; copies the file byte for byte to the config's \
                genesis_file. The node dials the other validators at their p2pAddress; persistent_peers is left as it is.
                """)

        @Argument(help: "The genesis file.") var genesis: String
        @Option(name: .long, help: "The node's home folder.") var home: String
        @Option(name: .long, help: "The genesis hash published by the operator: refuse a file without it.") var hash: String?

        func run() throws {
            let g = try GenesisCeremony.readGenesis(genesis)
            try Validate.expect(hash, g, genesis)
            let config = try GenesisCeremony.loadConfig(home: home)
            let key: SigningKey
            do {
                key = try config.readKey()
            } catch {
                throw CommandFailure(error.description)
            }
            let member = g.validators.first { $0.publicKey == key.publicKey }
            if config.role == .validator && member == nil {
                throw CommandFailure("this home's key \(key.publicKey.hex) is not a validator of \(genesis); "
                                          + "was its entry added? (an observer's home has role = \"observer\")")
            }
            if let existing = FileManager.default.contents(atPath: config.genesisFile) {
                guard Array(existing) == g.fileBytes else {
                    throw CommandFailure("\(config.genesisFile) already holds another genesis "
                                              + "(hash \(SHA256.hash(Array(existing)).hex)); remove it first if it is to be replaced")
                }
            } else {
                try PublicFile.write(g.fileBytes, to: config.genesisFile, replacing: false)
            }
            print("installed \(config.genesisFile): chain \(g.chainId), hash \(g.genesisHash.hex)"
                  + (member.map { ", this node is validator \($0.name)" } ?? ""))
            // persistent_peers is left alone: the node dials the validators at the addresses the
            // chain records (these, until a validator change), and the config only adds to them.
            let others = g.validators.filter { $0.publicKey != key.publicKey }.count
            print("this node will dial the \(others) other validators at their p2pAddress; "
                  + "persistent_peers (\(config.persistentPeers.count) now) adds peers or overrides an address")
        }
    }
}
