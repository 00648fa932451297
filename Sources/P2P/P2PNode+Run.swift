import ChainModel
import NIOCore
import NIOPosix
import P2PWire
import TotemCrypto

extension P2PNode {
    /// Runs the node until `shutdown()` completes or the task is cancelled (once per node): binds the listener,
    /// then drives the peer manager from one control loop (STYLE.md §1: receive an event, step the
    /// state machine, perform its actions).
    public func run() async throws {
        let first = shared.withLockedValue { s in
            defer { s.started = true }
            return !s.started
        }
        guard first else { throw P2PError(.invalidConfig, "run() called twice on one node") }
        let server = try await listen()
        var loop = ControlLoop(manager: PeerManager(
            config: .init(localKey: nodeKey, backoffBaseMs: config.dialBackoffBaseMs, backoffCapMs: config.dialBackoffCapMs),
            peers: config.peers, rng: SplitMix64(seed: config.rngSeed)))
        try await withThrowingDiscardingTaskGroup { group in
            group.addTask { await self.acceptLoop(server) }
            group.addTask { await self.tickLoop() }
            control.yield(.tick)
            for await event in controlStream {
                if case .stop = event, loop.stopDeadlineMs == nil {
                    loop.stopDeadlineMs = nowMs() + P2PLimits.shutdownGraceMs
                    server.channel.close(promise: nil)
                    log(.info, "shutting down", ("peers", "\(loop.links.count)"))
                }
                for action in step(&loop, event) { perform(action, links: loop.links, group: &group) }
                if let deadline = loop.stopDeadlineMs, loop.links.isEmpty || nowMs() >= deadline { break }
            }
            // Stopped, or cancelled: whatever is still open closes with its task.
            for link in loop.links.values { link.close(nil) }
            server.channel.close(promise: nil)
            group.cancelAll()
        }
        log(.info, "stopped")
    }

    /// What the control loop owns: the peer manager and every established connection not yet closed.
    struct ControlLoop {
        var manager: PeerManager
        var links: [ConnectionID: PeerLink] = [:]
        var stopDeadlineMs: Int64?
    }

    private func listen() async throws -> NIOAsyncChannel<Framing.Connection, Never> {
        do { try config.validate() } catch {
            resolveBound(.failure(error))
            throw error
        }
        let server: NIOAsyncChannel<Framing.Connection, Never>
        do {
            server = try await ServerBootstrap(group: config.eventLoopGroup)
                .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                .bind(host: config.listenHost, port: config.listenPort) { channel in
                    channel.eventLoop.makeCompletedFuture { try Framing.setUp(channel) }
                }
        } catch {
            let e = P2PError(.invalidConfig, "cannot listen on \(config.listenHost):\(config.listenPort): \(error)")
            resolveBound(.failure(e))
            throw e
        }
        let port = server.channel.localAddress?.port ?? config.listenPort
        resolveBound(.success(port))
        log(.info, "listening", ("address", "\(config.listenHost):\(port)"), ("node", nodeKey.hex))
        return server
    }

    /// Turns one control event into peer-manager steps; no await, so the loop's state changes in one piece.
    private func step(_ loop: inout ControlLoop, _ event: Control) -> [PeerManager.Action] {
        switch event {
        case .tick:
            shared.withLockedValue { $0.tickPending = false }
            flushPendingStatus()
            return loop.manager.step(.tick(nowMs: nowMs()))
        case .dialFailed(let key):
            return loop.manager.step(.dialFailed(key, nowMs: nowMs()))
        case .established(let link):
            loop.links[link.id] = link
            return loop.manager.step(.established(link.key, link.id, link.direction, nowMs: nowMs()))
        case .closed(let link):
            loop.links[link.id] = nil
            shared.withLockedValue { s in
                if s.active[link.key] === link { s.active[link.key] = nil }
            }
            return loop.manager.step(.closed(link.key, link.id, nowMs: nowMs()))
        case .allowList(let allowed):
            return loop.manager.step(.allowListChanged(allowed))
        case .targets(let peers):
            let before = Set(loop.manager.targetKeys)
            let actions = loop.manager.step(.targetsChanged(peers))
            let after = Set(loop.manager.targetKeys)
            log(before == after ? .debug : .info, "dial targets set", ("targets", "\(after.count)"),
                ("added", "\(after.subtracting(before).count)"), ("removed", "\(before.subtracting(after).count)"))
            return actions
        case .stop:
            return loop.manager.step(.stop)
        }
    }

    private func perform(_ action: PeerManager.Action, links: [ConnectionID: PeerLink],
                         group: inout ThrowingDiscardingTaskGroup<any Error>) {
        switch action {
        case .dial(let address):
            log(.debug, "dialling", ("peer", address.key.hex), ("address", address.description))
            group.addTask { await self.dial(address) }
        case .activate(let key, let id):
            guard let link = links[id] else { return }
            let wasUp = shared.withLockedValue { s in
                defer { s.active[key] = link }
                return s.active[key] != nil
            }
            if !wasUp {
                log(.info, "peer up", ("peer", key.hex), ("conn", "\(id)"), ("remote", link.remote))
                emit(.peerUp(link.info))
            }
            // A height set while the handshake ran reaches the peer now.
            let height = shared.withLockedValue { $0.localHeight }
            if height != link.announcedHeight {
                enqueue(.status(height: height, role: config.role), byteCount: 9, to: link)
            }
        case .close(let id, let reason):
            guard let link = links[id] else { return }
            log(.info, "closing connection", ("peer", link.key.hex), ("conn", "\(id)"), ("reason", reason.description))
            shared.withLockedValue { s in
                if s.active[link.key] === link { s.active[link.key] = nil }
            }
            link.close(reason)
        case .peerDown(let key):
            log(.info, "peer down", ("peer", key.hex))
            emit(.peerDown(key))
        }
    }

    /// Fires the peer manager's tick; never more than one pending, so a busy loop does not pile
    /// ticks up.
    private func tickLoop() async {
        while !Task.isCancelled {
            do { try await Task.sleep(for: .milliseconds(P2PLimits.managerTickMs)) } catch { return }
            let due = shared.withLockedValue { s in
                defer { s.tickPending = true }
                return !s.tickPending
            }
            if due { control.yield(.tick) }
        }
    }

    private func acceptLoop(_ server: NIOAsyncChannel<Framing.Connection, Never>) async {
        do {
            try await server.executeThenClose { inbound in
                try await withThrowingDiscardingTaskGroup { group in
                    for try await connection in inbound {
                        let admitted = shared.withLockedValue { s in
                            guard s.pendingInbound < P2PLimits.pendingInboundMaxCount else { return false }
                            s.pendingInbound += 1
                            return true
                        }
                        guard admitted else {
                            await refuse(connection)
                            continue
                        }
                        group.addTask {
                            _ = await self.runConnection(connection, direction: .inbound, expected: nil)
                        }
                    }
                }
            }
        } catch {
            log(.debug, "listener ended", ("error", "\(error)"))
        }
    }

    /// Closes a connection refused at accept through `executeThenClose`, which finishes its async
    /// writer: dropping a `NIOAsyncChannel` whose writer is not finished stops the process (NIO's
    /// precondition), which is how ~70 idle connections once crashed a validator. The refusal is
    /// reported at most once per `refusalReportIntervalMs`, with the count since the last report.
    private func refuse(_ connection: Framing.Connection) async {
        try? await connection.channel.executeThenClose { _, _ in }
        let now = nowMs()
        guard let report = shared.withLockedValue({ $0.refusals.note(nowMs: now) }) else { return }
        log(.warning, "too many pending handshakes; closing new connections", ("refused", "\(report)"),
            ("pendingMax", "\(P2PLimits.pendingInboundMaxCount)"))
        emit(.connectionFailed(remote: "-", peer: nil, error: P2PError(
            .tooManyPendingConnections, "\(report) connections refused: \(P2PLimits.pendingInboundMaxCount) handshakes pending")))
    }

    private func dial(_ address: PeerAddress) async {
        do {
            let channel = try await ClientBootstrap(group: config.eventLoopGroup)
                .connectTimeout(.milliseconds(config.connectTimeoutMs))
                .channelOption(.socketOption(.tcp_nodelay), value: 1)
                .connect(host: address.host, port: address.port) { channel in
                    channel.eventLoop.makeCompletedFuture { try Framing.setUp(channel) }
                }
            let established = await runConnection(channel, direction: .outbound, expected: address)
            if !established { control.yield(.dialFailed(address.key)) }
        } catch {
            log(.debug, "dial failed", ("peer", address.key.hex), ("address", address.description), ("error", "\(error)"))
            control.yield(.dialFailed(address.key))
        }
    }
}
