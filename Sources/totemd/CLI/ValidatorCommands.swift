import ArgumentParser
import ChainModel
import Foundation
import TotemCrypto

/// `totemd validator join|vote`: joining and leaving the validator set safely
/// (docs/ops/validator-changes.md). The chain only tallies ValidatorChange votes; these commands
/// add the checks operators need around them: the candidate shows it is ready and holds its key,
/// and each validator refuses to vote for a change that would leave fewer than a quorum live.
struct ValidatorCmd: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "validator", abstract: "Join or leave the validator set: a candidate's preflight, and validators' checked votes.",
        subcommands: [Join.self, Vote.self])
}

/// What the commands read of a node's API, parsed once.
struct NodeView {
    let chainId: String
    let genesisHash: Bytes32
    let height: UInt64
    let nodeKey: Bytes32
    let catchingUp: Bool
    let role: String

    static func read(_ client: APIClient) async throws -> NodeView {
        let s = try await client.get("/v1/status")
        guard case .string(let chainId)? = s["chainId"], case .string(let g)? = s["genesisHash"],
              let genesisHash = Bytes32(hex: g), case .number(let h)? = s["height"], let height = UInt64(h),
              case .string(let k)? = s["nodeKey"], let nodeKey = Bytes32(hex: k) else {
            throw CommandFailure("\(client.base)/v1/status: unexpected answer")
        }
        let catchingUp: Bool = if case .bool(let c)? = s["catchingUp"] { c } else { false }
        let role: String = if case .string(let r)? = s["role"] { r } else { "?" }
        return NodeView(chainId: chainId, genesisHash: genesisHash, height: height, nodeKey: nodeKey,
                        catchingUp: catchingUp, role: role)
    }
}

/// `GET /v1/validators` as the commands use it.
struct ValidatorsView {
    /// The set in force, with what the answering node knows of each member.
    let members: [QuorumSafety.Member]
    let quorum: Int
    /// The keys of the newest adopted set (the one a change applies to; the set in force when
    /// none is adopted).
    let latestKeys: Set<Bytes32>
    let latestFromHeight: UInt64?
    let pending: [JSONValue]

    static func read(_ client: APIClient) async throws -> ValidatorsView {
        let v = try await client.get("/v1/validators")
        guard case .array(let list)? = v["validators"], case .number(let q)? = v["quorum"], let quorum = Int(q) else {
            throw CommandFailure("\(client.base)/v1/validators: unexpected answer")
        }
        var members: [QuorumSafety.Member] = []
        for item in list {
            guard case .string(let k)? = item["publicKey"], let key = Bytes32(hex: k) else {
                throw CommandFailure("\(client.base)/v1/validators: a validator without a public key")
            }
            let name: String = if case .string(let n)? = item["name"] { n } else { String(k.prefix(16)) }
            let signed: UInt64? = if case .number(let h)? = item["lastSignedHeight"] { UInt64(h) } else { nil }
            let voted: UInt64? = if case .number(let h)? = item["lastVoteHeight"] { UInt64(h) } else { nil }
            let connected: Bool = if case .bool(let c)? = item["connected"] { c } else { false }
            let isSelf: Bool = if case .bool(let s)? = item["self"] { s } else { false }
            members.append(.init(key: key, name: name, lastSignedHeight: signed, lastVoteHeight: voted, connected: connected,
                                 isSelf: isSelf))
        }
        var latestKeys = Set(members.map(\.key))
        var latestFrom: UInt64?
        if case .array(let adopted)? = v["adopted"], let last = adopted.last,
           case .array(let keys)? = last["validators"] {
            latestKeys = Set(keys.compactMap { keyField($0, "publicKey") })
            if case .number(let f)? = last["fromHeight"] { latestFrom = UInt64(f) }
        }
        let pending: [JSONValue] = if case .array(let p)? = v["pending"] { p } else { [] }
        return ValidatorsView(members: members, quorum: quorum, latestKeys: latestKeys, latestFromHeight: latestFrom,
                              pending: pending)
    }
}

/// Connected peer keys of a node (`GET /v1/peers`).
func connectedPeers(_ client: APIClient) async throws -> Set<Bytes32> {
    guard case .array(let peers)? = try await client.get("/v1/peers")["peers"] else {
        throw CommandFailure("\(client.base)/v1/peers: unexpected answer")
    }
    return Set(peers.compactMap { keyField($0, "publicKey") })
}

/// A key given as hex in an object's `field`; nil when absent or not a key.
func keyField(_ object: JSONValue, _ field: String) -> Bytes32? {
    guard case .string(let k)? = object[field] else { return nil }
    return Bytes32(hex: k)
}

extension NodeConfig {
    /// The base URL of this node's own API, from `api.listen` (a listen-on-all host is reached on loopback).
    var localAPIBase: String {
        switch apiListenHost {
        case "0.0.0.0", "*": "http://127.0.0.1:\(apiListenPort)"
        case "::": "http://[::1]:\(apiListenPort)"
        case let h where h.contains(":"): "http://[\(h)]:\(apiListenPort)"
        case let h: "http://\(h):\(apiListenPort)"
        }
    }
}

extension ValidatorCmd {
    /// The candidate's side: preflight, then the signed join request to hand to the validators.
    struct Join: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Preflight a candidate validator's node and write its signed join request.",
            discussion: """
                Run on the candidate's host with its node running (role = "validator": it follows without \
                voting until its key is in force). Checks that the node is on the validators' chain and \
                caught up, that it holds P2P links to at least a quorum of the validators in force (so \
                they admitted its key), and that the home's key is the node's; then writes the join request, \
                signed with that key, for the validators' `totemd validator vote add --request`. Each check \
                prints ok or FAIL with the reason; exit 1, and no request, when one fails.
                """)
        @Option(name: .long, help: "The candidate's home folder (its config.toml, key and genesis).") var home: String
        @Option(name: .long, help: "The API of a validator in force, e.g. http://10.0.0.2:26701.") var api: String
        @Option(name: .long, help: "Where to write the join request (default: HOME/join-request.json).") var out: String?
        @Option(name: .long, help: "host:port the validators dial (default: the config's p2p.listen).") var p2pAddress: String?
        @Option(name: .long, help: "The validator's name (default: the config's moniker).") var name: String?
        @Option(name: .long, help: "Most blocks the candidate's node may be behind the validator's.") var maxLag: UInt64 = 3

        func run() async throws {
            var report = DoctorReport(name: "validator join")
            defer { report.print() }
            let config = try GenesisCeremony.loadConfig(home: home)
            let genesis: Genesis, key: SigningKey
            do {
                genesis = try config.readGenesis()
                key = try config.readKey()
            } catch {
                report.fail("home", "\(error)")
                throw ExitCode(1)
            }
            let address = p2pAddress ?? GenesisCeremony.listenAddress(config)
            if let problem = GenesisCeremony.addressProblem(address) {
                throw ValidationError("--p2p-address: \(problem)")
            }
            let own = APIClient(base: config.localAPIBase), validator = APIClient(base: api)
            let mine: NodeView, theirs: NodeView
            do {
                mine = try await NodeView.read(own)
            } catch {
                report.fail("node", "this home's node does not answer at \(own.base) (is it running?): \(error)")
                throw ExitCode(1)
            }
            do {
                theirs = try await NodeView.read(validator)
            } catch {
                report.fail("validator", "the validator's API does not answer at \(api): \(error)")
                throw ExitCode(1)
            }
            guard Self.sameChain(genesis, mine, theirs, key: key, role: config.role, &report) else { throw ExitCode(1) }
            let set = try await ValidatorsView.read(validator)
            if set.latestKeys.contains(key.publicKey) {
                report.fail("membership", "\(key.publicKey.hex) is already a validator (in force or adopted)")
                throw ExitCode(1)
            }
            Self.caughtUp(mine, theirs, maxLag: maxLag, &report)
            try await Self.reachable(set, own: own, validator: validator, key: key.publicKey, &report)
            if report.failed { throw ExitCode(1) }
            let request = JoinRequest.signed(by: key, chainId: genesis.chainId, genesisHash: genesis.genesisHash,
                                             name: name ?? config.moniker, p2pAddress: address,
                                             timeMs: ConsensusDriver.nowMs())
            let path = out ?? (home as NSString).appendingPathComponent("join-request.json")
            try PublicFile.write(JSONWriter.write(request.json, style: .pretty(indent: 2)), to: path, replacing: true)
            report.ok("key proof", "wrote \(path): \(request.name) \(key.publicKey.hex) \(address), signed by that key")
        }

        /// The home, its running node and the validator agree on the chain, and the node runs this
        /// home's key as a validator.
        static func sameChain(_ genesis: Genesis, _ mine: NodeView, _ theirs: NodeView, key: SigningKey, role: NodeConfig.Role,
                              _ report: inout DoctorReport) -> Bool {
            guard mine.genesisHash == genesis.genesisHash, theirs.genesisHash == genesis.genesisHash else {
                report.fail("chain", "genesis hashes differ: home \(genesis.genesisHash.hex), node \(mine.genesisHash.hex), "
                            + "validator \(theirs.genesisHash.hex)")
                return false
            }
            report.ok("chain", "\(genesis.chainId), genesis \(genesis.genesisHash.hex)")
            guard mine.nodeKey == key.publicKey else {
                report.fail("node key", "the node at the home's API runs key \(mine.nodeKey.hex), not the home's \(key.publicKey.hex)")
                return false
            }
            guard role == .validator, mine.role == "validator" else {
                report.fail("role", "the node runs as \(mine.role): set role = \"validator\" in config.toml and restart it "
                            + "(it follows without voting until its key is in force)")
                return false
            }
            report.ok("node key", "the running node holds \(key.publicKey.hex), role validator")
            return true
        }

        static func caughtUp(_ mine: NodeView, _ theirs: NodeView, maxLag: UInt64, _ report: inout DoctorReport) {
            let behind = theirs.height > mine.height ? theirs.height - mine.height : 0
            if mine.catchingUp || behind > maxLag {
                report.fail("caught up", "height \(mine.height), the validator's \(theirs.height): \(behind) behind "
                            + "(at most \(maxLag))\(mine.catchingUp ? ", still catching up" : ""); wait and run again")
            } else {
                report.ok("caught up", "height \(mine.height), the validator's \(theirs.height)")
            }
        }

        /// Links to a quorum of the validators in force, as the candidate's node sees them, and the
        /// validator asked sees the candidate too (it admitted its key).
        static func reachable(_ set: ValidatorsView, own: APIClient, validator: APIClient, key: Bytes32,
                              _ report: inout DoctorReport) async throws {
            let linked = try await connectedPeers(own)
            let connected = set.members.filter { linked.contains($0.key) }
            let missing = set.members.filter { !linked.contains($0.key) }.map(\.name)
            let detail = "linked to \(connected.count) of the \(set.members.count) validators in force (\(set.quorum) needed)"
                + (missing.isEmpty ? "" : "; not linked: \(missing.joined(separator: ", "))")
            if connected.count >= set.quorum { report.ok("reachable", detail) } else {
                report.fail("reachable", detail + " (each validator lists this key in p2p.allowed_observers and reloads; this node dials them at their addresses on the chain)")
            }
            if try await connectedPeers(validator).contains(key) {
                report.ok("admitted", "the validator at \(validator.base) has a link to this node")
            } else {
                report.fail("admitted", "the validator at \(validator.base) has no link to this node")
            }
        }
    }
}
