import ChainModel
import Testing
import TotemCrypto
@testable import P2P

@Suite struct PeerManagerTests {
    let low = Bytes32(w0: 1, w1: 0, w2: 0, w3: 0)
    let high = Bytes32(w0: 9, w1: 0, w2: 0, w3: 0)
    let other = Bytes32(w0: 5, w1: 0, w2: 0, w3: 0)

    func address(_ k: Bytes32) -> PeerAddress { PeerAddress(key: k, host: "10.0.0.\(k.w0)", port: 26601) }

    func manager(local: Bytes32, peers: [Bytes32], seed: UInt64 = 1) -> PeerManager {
        PeerManager(config: .init(localKey: local, backoffBaseMs: 100, backoffCapMs: 1_000),
                    peers: peers.map(address), rng: SplitMix64(seed: seed))
    }

    @Test func dialsConfiguredPeersOnceAndNotItself() {
        var m = manager(local: low, peers: [high, other, low])
        #expect(m.step(.tick(nowMs: 0)) == [.dial(address(high)), .dial(address(other))])
        #expect(m.step(.tick(nowMs: 10)).isEmpty)  // dials in flight
    }

    @Test func backoffGrowsCappedWithJitter() {
        var m = manager(local: low, peers: [high])
        var now: Int64 = 0
        var delays: [Int64] = []
        _ = m.step(.tick(nowMs: now))
        for _ in 0..<8 {
            _ = m.step(.dialFailed(high, nowMs: now))
            let due = m.redialDueMs(high) ?? -1
            delays.append(due - now)
            #expect(m.step(.tick(nowMs: due - 1)).isEmpty)
            now = due
            #expect(m.step(.tick(nowMs: now)) == [.dial(address(high))])
        }
        for (i, d) in delays.enumerated() {
            let full = min(1_000, Int64(100) << i)
            #expect(d >= full / 2 && d <= full, "attempt \(i): \(d) ms not in [\(full / 2), \(full)]")
        }
        // Same seed, same delays.
        var m2 = manager(local: low, peers: [high])
        _ = m2.step(.tick(nowMs: 0))
        _ = m2.step(.dialFailed(high, nowMs: 0))
        #expect(m2.redialDueMs(high) == delays[0])
    }

    @Test func tieBreakKeepsTheConnectionDialledByTheSmallerKeyOnBothSides() {
        // Both dial at once: low's outbound is high's inbound (c1); high's outbound is low's inbound (c2).
        var l = manager(local: low, peers: [high])
        var h = manager(local: high, peers: [low])
        _ = l.step(.tick(nowMs: 0)); _ = h.step(.tick(nowMs: 0))
        let c1 = ConnectionID(1), c2 = ConnectionID(2)
        // Each side sees them complete in a different order.
        #expect(l.step(.established(high, c2, .inbound, nowMs: 1)) == [.activate(high, c2)])
        #expect(l.step(.established(high, c1, .outbound, nowMs: 2)) == [.close(c2, .duplicate), .activate(high, c1)])
        #expect(h.step(.established(low, c1, .inbound, nowMs: 1)) == [.activate(low, c1)])
        #expect(h.step(.established(low, c2, .outbound, nowMs: 2)) == [.close(c2, .duplicate)])
        #expect(l.activeConnection(high) == c1 && h.activeConnection(low) == c1)
        // The loser closing is no peer-down.
        #expect(l.step(.closed(high, c2, nowMs: 3)).isEmpty)
        #expect(h.step(.closed(low, c2, nowMs: 3)).isEmpty)
    }

    @Test func sameDirectionKeepsTheNewer() {
        var m = manager(local: high, peers: [])
        _ = m.step(.established(low, ConnectionID(1), .inbound, nowMs: 0))
        #expect(m.step(.established(low, ConnectionID(2), .inbound, nowMs: 5))
                == [.close(ConnectionID(1), .duplicate), .activate(low, ConnectionID(2))])
    }

    @Test func closeMeansPeerDownAndRedial() {
        var m = manager(local: low, peers: [high])
        _ = m.step(.tick(nowMs: 0))
        _ = m.step(.established(high, ConnectionID(1), .outbound, nowMs: 1))
        #expect(m.step(.tick(nowMs: 1_000)).isEmpty)
        #expect(m.step(.closed(high, ConnectionID(1), nowMs: 2_000)) == [.peerDown(high)])
        let due = m.redialDueMs(high) ?? 0
        #expect(due >= 2_050 && due <= 2_100)
        #expect(m.step(.tick(nowMs: due)) == [.dial(address(high))])
    }

    @Test func allowListChangeAndStopClosePeers() {
        var m = manager(local: low, peers: [high])
        _ = m.step(.established(high, ConnectionID(1), .inbound, nowMs: 0))
        _ = m.step(.established(other, ConnectionID(2), .inbound, nowMs: 0))
        #expect(m.step(.allowListChanged([high])) == [.close(ConnectionID(2), .notAllowed)])
        // Closing is asked, not done: both stay active until their `closed` events.
        #expect(m.step(.stop) == [.close(ConnectionID(2), .shutdown), .close(ConnectionID(1), .shutdown)])
        #expect(m.step(.tick(nowMs: 100_000)).isEmpty)
        #expect(m.step(.established(other, ConnectionID(3), .outbound, nowMs: 0)) == [.close(ConnectionID(3), .shutdown)])
    }
}
