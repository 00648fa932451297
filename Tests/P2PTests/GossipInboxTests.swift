import ChainModel
import NIOConcurrencyHelpers
import P2PWire
import Testing
import TotemCrypto
@testable import P2P

/// Holds whoever calls `wait()` until `open()`, and records each caller as it arrives.
final class Gate: Sendable {
    private let state = NIOLockedValueBox<(open: Bool, waiters: [CheckedContinuation<Void, Never>])>((false, []))
    let entered = Recorder<Int>()

    func wait() async {
        entered.append(1)
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            let passes = state.withLockedValue { s -> Bool in
                if s.open { return true }
                s.waiters.append(c)
                return false
            }
            if passes { c.resume() }
        }
    }

    func open() {
        let waiting = state.withLockedValue { s in
            s.open = true
            defer { s.waiters = [] }
            return s.waiters
        }
        for c in waiting { c.resume() }
    }
}

extension SocketTests {
/// A connection's reader hands transaction batches to their own admission task (`GossipInbox`):
/// a consensus message behind a batch whose admission takes long is delivered at once.
@Suite struct GossipInboxTests {
    @Test func aConsensusMessageIsNotHeldBehindABatchBeingAdmitted() async throws {
        let keys = (30..<32).map { T.key($0) }
        let gate = Gate()
        let admissions = [RecordingAdmission(), RecordingAdmission(before: { await gate.wait() })]
        let nodes = try await startMesh(keys, allow: AllowList(validatorsInForce: Set(keys.map(\.publicKey))),
                                        admissions: admissions)
        defer {
            gate.open()
            Task { for n in nodes { await n.kill() } }
        }
        // Both dial each other: wait until they keep the same single connection, so that the batch
        // and the message below travel on one connection (a replaced one closes when its
        // admission returns, which is what this test holds).
        try await eventually("one connection between the two") {
            guard let there = nodes[0].node.peers().first, let back = nodes[1].node.peers().first else { return false }
            return nodes[0].node.peers().count == 1 && nodes[1].node.peers().count == 1 && there.direction != back.direction
        }
        let txs = T.txs(10)
        nodes[0].node.gossip(txs)
        // The batch has reached node 1's admission, which holds it.
        try await gate.entered.wait("the batch in admission") { !$0.isEmpty }
        let payload: [UInt8] = [7, 7, 7]
        try nodes[0].node.broadcast(consensus: payload)
        try await nodes[1].events.wait("the consensus message while the batch is held") { events in
            events.contains { if case .consensus(_, let p) = $0 { p == payload } else { false } }
        }
        #expect(admissions[1].seen.items.isEmpty, "the batch is still held")
        gate.open()
        let admitted = try await admissions[1].seen.wait("the batch admitted once released") { $0.count >= txs.count }
        #expect(admitted.map(\.hash) == txs.map(\.hash), "in the order sent")
    }

    @Test func batchesComeOutInOrderAndAFullInboxHasNoRoomUntilOneIsAdmitted() async throws {
        let inbox = GossipInbox()
        let txs = T.txs(P2PLimits.gossipBatchesPendingMax)
        for tx in txs {
            #expect(inbox.hasRoom)
            inbox.enqueue([tx])
        }
        #expect(!inbox.hasRoom, "full: the reader drops the next batch")
        inbox.finish()
        var got: [Bytes32] = []
        var first = true
        for await batch in inbox.batches {
            got += batch.txs.map(\.hash)
            inbox.done(batch)
            if first { #expect(inbox.hasRoom, "one admitted: room again") }
            first = false
        }
        #expect(got == txs.map(\.hash))
        #expect(inbox.pendingBytes == 0)
    }

    @Test func theInboxIsBoundedInBytesAsWellAsInBatches() async throws {
        let txs = T.txs(3)
        let size = txs[0].bytes.count
        // Room for one batch and a bit: the second fills it past the bound.
        let inbox = GossipInbox(maxBatches: 16, maxBytes: size + 1)
        #expect(inbox.hasRoom)
        inbox.enqueue([txs[0]])
        #expect(inbox.pendingBytes == size)
        #expect(inbox.hasRoom, "under the byte bound")
        inbox.enqueue([txs[1], txs[2]])
        #expect(inbox.pendingBytes == txs.reduce(0) { $0 + $1.bytes.count })
        #expect(!inbox.hasRoom, "over the byte bound with 2 of 16 batches: the next batch is dropped")
        inbox.finish()
        var drained: [GossipInbox.Batch] = []
        for await batch in inbox.batches { drained.append(batch) }
        inbox.done(drained[1])
        #expect(inbox.hasRoom, "the large batch admitted")
        inbox.done(drained[0])
        #expect(inbox.pendingBytes == 0)

        // A batch bigger than the bound still passes an empty inbox.
        let small = GossipInbox(maxBatches: 16, maxBytes: 1)
        #expect(small.hasRoom)
        small.enqueue(txs)
        #expect(!small.hasRoom)
    }
}
}
