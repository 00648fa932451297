@testable import Consensus
import Testing
@testable import totemd

/// The consensus runtime's inbox: the control lane coalesces and stays bounded whatever its senders
/// do; network messages are bounded and dropped beyond the capacity.
@Suite("Event queue")
struct EventQueueTests {
    func timeout(_ kind: Timeout.Kind, height: UInt64 = 5, sequence: UInt64) -> ControlEvent {
        .timeout(Timeout(kind: kind, height: height, view: 0, sequence: sequence))
    }

    /// `lane.push(e)`, outside `#expect` (which cannot call a mutating method).
    func pushed(_ lane: inout ControlLane, _ e: ControlEvent) -> Bool { lane.push(e) }

    @Test func repeatedWakeUpsCoalesceIntoOne() {
        var lane = ControlLane()
        #expect(pushed(&lane, .workPending))
        #expect(!pushed(&lane, .workPending))
        #expect(pushed(&lane, .catchUpReady))
        for _ in 0..<1000 {
            lane.push(.workPending)
            lane.push(.catchUpReady)
        }
        #expect(lane.pending == [.workPending, .catchUpReady])
        #expect(lane.pop() == .workPending)
        // Taken: the next wake-up is queued again.
        #expect(pushed(&lane, .workPending))
        #expect(lane.pending == [.catchUpReady, .workPending])
    }

    @Test func onlyTheNewestTimerFiringOfAKindWaits() {
        var lane = ControlLane()
        lane.push(.workPending)
        #expect(pushed(&lane, timeout(.view, sequence: 3)))
        #expect(!pushed(&lane, timeout(.view, sequence: 2)), "an older firing is stale")
        #expect(pushed(&lane, timeout(.view, sequence: 7)))
        #expect(pushed(&lane, timeout(.heartbeat, sequence: 4)))
        // The newer view firing took the place of the older one.
        #expect(lane.pending == [.workPending, timeout(.view, sequence: 7), timeout(.heartbeat, sequence: 4)])
        // A replica started afresh at a higher height counts its sequences from 1 again.
        #expect(pushed(&lane, timeout(.view, height: 9, sequence: 1)))
        #expect(!pushed(&lane, timeout(.view, height: 5, sequence: 50)))
        #expect(lane.pending[1] == timeout(.view, height: 9, sequence: 1))
    }

    @Test(arguments: [1, 2, 3])
    func theControlLaneNeverHoldsMoreThanItsCapacity(seed: UInt64) {
        var lane = ControlLane()
        var x = seed
        var most = 0
        for _ in 0..<10_000 {
            x = x &* 6364136223846793005 &+ 1442695040888963407
            let e: ControlEvent = switch (x >> 33) % 4 {
            case 0: .workPending
            case 1: .catchUpReady
            case 2: timeout(.view, height: (x >> 40) % 3, sequence: (x >> 20) % 100)
            default: timeout(.heartbeat, height: (x >> 40) % 3, sequence: (x >> 20) % 100)
            }
            lane.push(e)
            if (x >> 50) % 7 == 0 { _ = lane.pop() }
            most = max(most, lane.count)
        }
        #expect(most <= ControlLane.capacity)
        #expect(most >= 3, "the mix filled several slots")
    }

    enum Item: Sendable, Equatable {
        case control(ControlEvent)
        case network(Int)
    }

    func makeQueue(networkCapacity: Int = 3) -> EventQueue<Item> {
        EventQueue<Item>(networkCapacity: networkCapacity) { .control($0) }
    }

    @Test func controlComesFirstAndFloodsOfWakeUpsTakeOneSlot() async {
        let q = makeQueue()
        q.pushNetwork(.network(1))
        for _ in 0..<100_000 { q.pushControl(.workPending) }
        q.pushControl(.catchUpReady)
        q.pushControl(.catchUpReady)
        #expect(q.pendingCounts.control == 2)
        #expect(q.pendingCounts.network == 1)
        #expect(q.coalescedCount == 99_999 + 1)
        #expect(await q.next() == .control(.workPending))
        #expect(await q.next() == .control(.catchUpReady))
        #expect(await q.next() == .network(1))
        #expect(q.pendingCounts.control == 0 && q.pendingCounts.network == 0)
    }

    @Test func networkMessagesBeyondTheCapacityAreDropped() async {
        let q = makeQueue(networkCapacity: 3)
        for i in 0..<5 { _ = q.pushNetwork(.network(i)) }
        #expect(q.droppedCount == 2)
        #expect(!q.pushNetwork(.network(9)))
        #expect(await q.next() == .network(0))
        #expect(q.pushNetwork(.network(10)), "room again after one was taken")
        #expect(await q.next() == .network(1))
        #expect(await q.next() == .network(2))
        #expect(await q.next() == .network(10))
    }

    @Test func aWaitingConsumerGetsTheEventAndCloseEndsIt() async throws {
        let q = makeQueue()
        async let first = q.next()
        // Give the consumer time to wait; whether it waits or not, it gets the event.
        try await Task.sleep(for: .milliseconds(20))
        q.pushControl(timeout(.view, sequence: 1))
        #expect(await first == .control(timeout(.view, sequence: 1)))
        q.close()
        #expect(await q.next() == nil)
        q.pushControl(.workPending)
        #expect(!q.pushNetwork(.network(1)))
        #expect(q.pendingCounts.control == 0, "nothing is queued after close")
    }
}
