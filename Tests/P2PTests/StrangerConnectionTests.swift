#if canImport(Glibc)
import Glibc
#endif
import P2PWire
import Testing
import TotemCrypto
@testable import P2P

/// What a stranger can do to an open P2P port without knowing any key: open connections and send
/// nothing, or connect and close in a loop. Found by fault testing: about 70 idle connections made a
/// validator crash (a refused connection's async channel was dropped without finishing its writer).
extension SocketTests {
@Suite struct StrangerConnectionTests {
    /// A plain TCP connection to 127.0.0.1:`port`, or nil when the connect fails.
    static func openSocket(port: Int) -> Int32? {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return nil }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = in_port_t(UInt16(port).bigEndian)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard rc == 0 else {
            close(fd)
            return nil
        }
        return fd
    }

    @Test func idleConnectionsOverThePendingLimitAndAConnectCloseLoopLeaveTheNodeServing() async throws {
        let (a, b) = (T.key(1), T.key(2))
        let allow = AllowList(validatorsInForce: [a.publicKey, b.publicKey])
        var config = T.config(a)
        config.handshakeTimeoutMs = 1_500
        let nodeA = try await RunningNode.start(config, allow: allow)

        // Twice the pending-handshake limit of idle connections: the ones over it are refused at once.
        let idleCount = 2 * P2PLimits.pendingInboundMaxCount
        var idle: [Int32] = []
        for _ in 0..<idleCount {
            if let fd = Self.openSocket(port: nodeA.port) { idle.append(fd) }
        }
        #expect(idle.count == idleCount)
        // Connect and close at once, many times, while the idle ones hold the pending slots.
        var loopConnects = 0
        for _ in 0..<300 {
            if let fd = Self.openSocket(port: nodeA.port) {
                loopConnects += 1
                close(fd)
            }
        }
        #expect(loopConnects > 0)
        try await nodeA.events.wait("refusals reported") { events in
            events.contains { $0.failure?.code == .tooManyPendingConnections }
        }

        // The idle ones time out; a real peer still connects and talks afterwards.
        try await Task.sleep(for: .milliseconds(config.handshakeTimeoutMs + 500))
        for fd in idle { close(fd) }
        let nodeB = try await RunningNode.start(T.config(b, peers: [nodeA.address]), allow: allow)
        try await nodeA.waitForPeers([b.publicKey])
        try await nodeB.waitForPeers([a.publicKey])
        nodeB.node.setLocalHeight(5)
        try await nodeA.events.wait("status from the real peer") {
            $0.contains { if case .status(let p) = $0 { p.key == b.publicKey && p.height == 5 } else { false } }
        }
        await nodeB.kill()
        await nodeA.kill()
    }

    /// A node its peer does not allow (an observer missing from a validator's allowed_observers)
    /// used to sit at 0 peers in silence: the dialling side now reports the refusal itself.
    @Test func aNodeThePeerRefusesSaysSoOnItsOwnSide() async throws {
        let (a, b) = (T.key(1), T.key(2))
        let nodeA = try await RunningNode.start(T.config(a), allow: AllowList(validatorsInForce: [a.publicKey]))
        let nodeB = try await RunningNode.start(T.config(b, peers: [nodeA.address]),
                                                allow: AllowList(validatorsInForce: [a.publicKey, b.publicKey]))
        try await nodeB.events.wait("refusal reported by the dialling side") { events in
            events.contains { $0.failure?.code == .refusedByPeer }
        }
        #expect(nodeB.node.peers().isEmpty)
        await nodeB.kill()
        await nodeA.kill()
    }
}
}
