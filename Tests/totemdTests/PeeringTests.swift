import ChainModel
import P2P
import Testing
import TotemCrypto
@testable import totemd

/// A reload of the config says what it changed about peers, one line each.
@Suite("Peering: config reload")
struct PeeringTests {
    let x = Bytes32(w0: 1, w1: 0, w2: 0, w3: 0)
    let y = Bytes32(w0: 2, w1: 0, w2: 0, w3: 0)
    let z = Bytes32(w0: 3, w1: 0, w2: 0, w3: 0)

    @Test func changesNameEachObserverAndPeerAddedRemovedOrMoved() {
        let old = Peering.Configured(observers: [x, y], peers: [PeerAddress(key: x, host: "h", port: 1),
                                                               PeerAddress(key: y, host: "h", port: 2)])
        let new = Peering.Configured(observers: [y, z], peers: [PeerAddress(key: y, host: "h", port: 3),
                                                               PeerAddress(key: z, host: "::1", port: 4)])
        #expect(new.changes(from: old) == [
            "observer allowed: \(z.hex)",
            "observer no longer allowed: \(x.hex)",
            "persistent peer \(y.hex) moved: h:2 -> h:3",
            "persistent peer added: \(z.hex)@[::1]:4",
            "persistent peer removed: \(x.hex)",
        ])
        #expect(new.changes(from: new).isEmpty)
    }
}
