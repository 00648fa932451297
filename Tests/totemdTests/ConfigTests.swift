import ChainModel
import Foundation
import TOMLKit
import Testing
import TotemCrypto
@testable import totemd

/// The repository's samples stay valid, and a wrong setting stops start-up with a message naming
/// the setting and the file.
@Suite("Node configuration")
struct ConfigTests {
    static let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    @Test func sampleNodeConfigParsesToTheDefaults() throws {
        let c = try NodeConfig.load(path: Self.repo.appendingPathComponent("config/node.toml").path)
        let d = NodeConfig()
        #expect(c.moniker == d.moniker && c.role == d.role && c.p2pListenPort == d.p2pListenPort)
        #expect(c.apiMaxBodyBytes == 16 << 20 && c.mempoolMaxTxs == d.mempoolMaxTxs && c.logLevel == "info")
        #expect(c.dataDir.hasSuffix("config/data"))
        #expect(c.apiConnections == ConnectionLimits())
        #expect(!c.stateSync, "the sample leaves state sync off: a new node replays the chain by default")
    }

    @Test func stateSyncIsRead() throws {
        let c = try NodeConfig.parse(try TOMLTable(string: "[sync]\nstate_sync = true\n"), file: "x.toml", baseDir: "/tmp")
        #expect(c.stateSync)
    }

    @Test func apiConnectionLimitsAreRead() throws {
        let toml = "[api]\nheader_timeout_ms = 1500\nbody_timeout_ms = 2500\nidle_timeout_ms = 3500\n"
            + "response_timeout_ms = 45000\nmax_connections = 7\n"
        let c = try NodeConfig.parse(try TOMLTable(string: toml), file: "x.toml", baseDir: "/tmp")
        #expect(c.apiConnections == ConnectionLimits(headerReadTimeoutMs: 1500, bodyReadTimeoutMs: 2500, idleTimeoutMs: 3500,
                                                     responseTimeoutMs: 45000, maxConnections: 7))
    }

    /// What `totemd init` writes is read back as given, whatever the characters of a value.
    @Test func renderedConfigQuotesItsValues() throws {
        let moniker = "agency \"a\" \\ \u{7}é"
        let text = NodeConfigFile.render(moniker: moniker, role: "observer", p2pListen: "[::1]:26601", apiListen: "0.0.0.0:80",
                                         peers: ["\(String(repeating: "ab", count: 32))@h.example:1"], observers: [])
        let c = try NodeConfig.parse(try TOMLTable(string: text), file: "x.toml", baseDir: "/tmp")
        #expect(c.moniker == moniker && c.role == .observer)
        #expect(c.p2pListenHost == "::1" && c.p2pListenPort == 26601 && c.apiListenPort == 80)
        #expect(c.persistentPeers.map(\.host) == ["h.example"])
    }

    @Test func ceremonyAddressRules() throws {
        #expect(GenesisCeremony.addressProblem("node-a.example.org:26601") == nil)
        #expect(GenesisCeremony.addressProblem("[2001:db8::1]:26601") == nil)
        #expect(GenesisCeremony.addressProblem("node-a.example.org")?.contains("is not host:port") == true)
        #expect(GenesisCeremony.addressProblem(":26601")?.contains("has no host") == true)
        #expect(GenesisCeremony.addressProblem("0.0.0.0:26601")?.contains("listen-on-all") == true)
        #expect(GenesisCeremony.addressProblem("[::]:26601")?.contains("listen-on-all") == true)
        let key = try #require(Bytes32(hex: String(repeating: "ab", count: 32)))
        let other = try #require(Bytes32(hex: String(repeating: "cd", count: 32)))
        let twice = [GenesisValidator(name: "a", publicKey: key, p2pAddress: "h:1"),
                     GenesisValidator(name: "b", publicKey: other, p2pAddress: "h:1")]
        #expect(throws: CommandFailure.self) { try GenesisCeremony.check(twice) }
    }

    @Test func sampleGenesisParses() throws {
        let bytes = try Data(contentsOf: Self.repo.appendingPathComponent("config/genesis.sample.json"))
        let g = try Genesis.parse(fileBytes: Array(bytes))
        #expect(g.validators.count == 4 && g.registrars.count == 1 && g.chainId == "totem-devnet")
    }

    func error(_ toml: String) -> ConfigError? {
        do {
            _ = try NodeConfig.parse(try TOMLTable(string: toml), file: "x.toml", baseDir: "/tmp")
            return nil
        } catch let e as ConfigError {
            return e
        } catch {
            return ConfigError(file: "?", setting: "?", message: "\(error)")
        }
    }

    @Test(arguments: [
        ("[node]\nrole = \"leader\"\n", "node.role"),
        ("[node]\nmonikr = \"x\"\n", "node.monikr"),
        ("[p2p]\nlisten = \"nowhere\"\n", "p2p.listen"),
        ("[p2p]\npersistent_peers = [\"abc@127.0.0.1:1\"]\n", "p2p.persistent_peers"),
        ("[api]\nmax_body_bytes = 10\n", "api.max_body_bytes"),
        ("[api]\nheader_timeout_ms = 0\n", "api.header_timeout_ms"),
        ("[api]\nresponse_timeout_ms = 10000\n", "api.response_timeout_ms"),
        ("[api]\nmax_connections = 0\n", "api.max_connections"),
        ("[mempool]\nmax_per_sender = 65\n", "mempool.max_per_sender"),
        ("[log]\nlevel = \"loud\"\n", "log.level"),
        ("[sync]\nstate_sync = \"yes\"\n", "sync.state_sync"),
        ("[sync]\nstatesync = true\n", "sync.statesync"),
        ("colour = 1\n", "colour"),
        ("node = 1\n", "node"),
    ])
    func wrongSettingIsNamed(_ toml: String, _ setting: String) {
        let e = error(toml)
        #expect(e?.setting == setting)
        #expect(e?.description.contains("x.toml") == true)
    }
}
