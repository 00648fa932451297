import ChainModel
import P2PWire
import Testing
import TotemCrypto
@testable import P2P

/// Whom a node dials: on-chain addresses parsed strictly, the config's peers added and winning,
/// never the node itself; and the peer manager following a change of targets.
@Suite struct DialTargetsTests {
    let local = Bytes32(w0: 1, w1: 0, w2: 0, w3: 0)
    let a = Bytes32(w0: 2, w1: 0, w2: 0, w3: 0)
    let b = Bytes32(w0: 3, w1: 0, w2: 0, w3: 0)
    let c = Bytes32(w0: 4, w1: 0, w2: 0, w3: 0)

    @Test(arguments: [
        ("127.0.0.1:26601", "127.0.0.1", 26601),
        ("node-1.agency.example:1", "node-1.agency.example", 1),
        ("[::1]:26601", "::1", 26601),
        ("[fe80::1%eth0]:65535", "fe80::1%eth0", 65535),
        ("[2001:db8::192.0.2.1]:80", "2001:db8::192.0.2.1", 80),
    ])
    func parsesHostAndPort(input: String, host: String, port: Int) throws {
        let parsed = try PeerAddress.parseHostPort(input).get()
        #expect(parsed.host == host && parsed.port == port)
    }

    @Test(arguments: [
        "", "127.0.0.1", "127.0.0.1:", ":26601", "127.0.0.1:0", "127.0.0.1:65536", "127.0.0.1:+80", "127.0.0.1:080080",
        "::1:26601", "[::1]", "[::1:26601", "[]:1", "[1.2.3.4]:1", "host name:1", "host\n:1", "a/b:1", "user@host:1",
        "h\u{e9}:1", String(repeating: "a", count: 300) + ":1",
    ])
    func refusesMalformedAddresses(input: String) {
        if case .success(let p) = PeerAddress.parseHostPort(input) {
            Issue.record("\(input.debugDescription) parsed as \(p)")
        }
    }

    @Test func chainAddressesAreDialledAndConfiguredPeersAddAndWin() {
        let outcome = DialTargets.compute(
            recorded: [RecordedAddress(key: local, address: "10.0.0.1:1"), RecordedAddress(key: a, address: "10.0.0.2:1"),
                       RecordedAddress(key: b, address: "stale.example:1")],
            configured: [PeerAddress(key: b, host: "fresh.example", port: 2), PeerAddress(key: c, host: "10.0.0.4", port: 3)],
            localKey: local)
        #expect(outcome.targets == [PeerAddress(key: b, host: "fresh.example", port: 2),
                                    PeerAddress(key: c, host: "10.0.0.4", port: 3),
                                    PeerAddress(key: a, host: "10.0.0.2", port: 1)])
        #expect(outcome.malformed.isEmpty)
    }

    @Test func aMalformedChainAddressIsSkippedUnlessTheConfigReplacesIt() {
        let recorded = [RecordedAddress(key: a, address: "not an address"), RecordedAddress(key: b, address: "10.0.0.3:7"),
                        RecordedAddress(key: local, address: "also bad")]
        let alone = DialTargets.compute(recorded: recorded, configured: [], localKey: local)
        #expect(alone.targets == [PeerAddress(key: b, host: "10.0.0.3", port: 7)])
        #expect(alone.malformed.map(\.key) == [a])  // its own bad address is no concern of a node
        let fixed = DialTargets.compute(recorded: recorded, configured: [PeerAddress(key: a, host: "10.0.0.2", port: 1)],
                                        localKey: local)
        #expect(fixed.targets.map(\.key) == [a, b] && fixed.malformed.isEmpty)
    }

    @Test func targetsAreBounded() {
        let recorded = (0..<UInt64(P2PLimits.dialTargetsMaxCount + 10)).map {
            RecordedAddress(key: Bytes32(w0: 100 + $0, w1: 0, w2: 0, w3: 0), address: "10.0.0.1:\($0 % 60_000 + 1)")
        }
        #expect(DialTargets.compute(recorded: recorded, configured: [], localKey: local).targets.count
                == P2PLimits.dialTargetsMaxCount)
    }

    // MARK: The peer manager following its targets

    func address(_ k: Bytes32, port: Int = 26601) -> PeerAddress { PeerAddress(key: k, host: "10.0.0.\(k.w0)", port: port) }

    func manager(peers: [Bytes32]) -> PeerManager {
        PeerManager(config: .init(localKey: local, backoffBaseMs: 100, backoffCapMs: 1_000), peers: peers.map { address($0) },
                    rng: SplitMix64(seed: 7))
    }

    @Test func newTargetsAreDialledAndRemovedOnesNoLongerRedialled() {
        var m = manager(peers: [a])
        #expect(m.step(.tick(nowMs: 0)) == [.dial(address(a))])
        #expect(m.step(.established(a, ConnectionID(1), .outbound, nowMs: 1)) == [.activate(a, ConnectionID(1))])
        // a leaves the validator set, b and c join; the node's own key is never a target.
        #expect(m.step(.targetsChanged([address(b), address(local), address(c)])).isEmpty)
        #expect(m.targetKeys == [b, c])
        #expect(m.step(.tick(nowMs: 2)) == [.dial(address(b)), .dial(address(c))])
        // a's connection stays (the allow list decides that) but is not redialled once closed.
        #expect(m.isActive(a))
        #expect(m.step(.closed(a, ConnectionID(1), nowMs: 3)) == [.peerDown(a)])
        #expect(m.redialDueMs(a) == nil)
        #expect(m.step(.tick(nowMs: 1_000_000)).isEmpty)  // b and c still in flight
        // A dial of a removed target that fails afterwards changes nothing.
        #expect(m.step(.targetsChanged([address(c)])).isEmpty)
        #expect(m.step(.dialFailed(b, nowMs: 1_000_001)).isEmpty)
        #expect(m.redialDueMs(b) == nil)
    }

    @Test func aTargetThatStaysKeepsItsBackoffAndOneThatMovesIsDialledAtOnce() {
        var m = manager(peers: [a, b])
        _ = m.step(.tick(nowMs: 0))
        _ = m.step(.dialFailed(a, nowMs: 0)); _ = m.step(.dialFailed(b, nowMs: 0))
        let dueA = m.redialDueMs(a)
        #expect((dueA ?? 0) > 0)
        _ = m.step(.targetsChanged([address(a), address(b, port: 9)]))
        #expect(m.redialDueMs(a) == dueA)
        #expect(m.step(.tick(nowMs: 1)) == [.dial(address(b, port: 9))])
    }

    @Test func targetsMaySetAfterStopButNothingIsDialled() {
        var m = manager(peers: [])
        _ = m.step(.stop)
        _ = m.step(.targetsChanged([address(a)]))
        #expect(m.step(.tick(nowMs: 0)).isEmpty)
    }
}
