import ChainModel
import Testing
import TotemCrypto
@testable import totemd

/// `totemd validator join` and `vote` as values: the join request's signature (its own domain,
/// over every field) and the quorum-safety rule a validator applies before voting.
@Suite("Validator join and leave")
struct ValidatorJoinTests {
    static let genesisHash = Bytes32(w0: 0x1111, w1: 0x2222, w2: 0x3333, w3: 0x4444)
    static let now: UInt64 = 1_800_000_000_000
    let candidate = SigningKey(seed: Bytes32(w0: 7, w1: 7, w2: 7, w3: 7))

    func request(timeMs: UInt64 = now) -> JoinRequest {
        JoinRequest.signed(by: candidate, chainId: "totem-test", genesisHash: Self.genesisHash, name: "agency-e",
                           p2pAddress: "e.example.org:26601", timeMs: timeMs)
    }

    func problem(_ r: JoinRequest, chainId: String = "totem-test", genesisHash: Bytes32 = genesisHash,
                 nowMs: UInt64 = now) -> String? {
        do {
            try r.verify(chainId: chainId, genesisHash: genesisHash, nowMs: nowMs)
            return nil
        } catch {
            return "\(error)"
        }
    }

    @Test func aSignedRequestVerifiesAndSurvivesItsFile() throws {
        let r = request()
        #expect(problem(r) == nil)
        #expect(r.validator == candidate.publicKey)
        let parsed = try JoinRequest.parse(JSONWriter.write(r.json, style: .pretty(indent: 2)))
        #expect(parsed == r)
        #expect(problem(parsed) == nil)
    }

    @Test func theSignatureCoversEveryFieldAndTheChain() {
        var r = request()
        r.name = "agency-f"
        #expect(problem(r)?.contains("does not verify") == true, "a changed name")
        r = request()
        r.p2pAddress = "evil.example.org:26601"
        #expect(problem(r)?.contains("does not verify") == true, "a changed address")
        r = request()
        r.timeMs += 1
        #expect(problem(r)?.contains("does not verify") == true, "a changed time")
        r = request()
        r.validator = SigningKey(seed: Bytes32(w0: 8, w1: 8, w2: 8, w3: 8)).publicKey
        #expect(problem(r)?.contains("does not verify") == true, "someone else's key named in a request this key signed")
        let other = Bytes32(w0: 9, w1: 9, w2: 9, w3: 9)
        #expect(problem(request(), genesisHash: other)?.contains("not this chain") == true)
        #expect(problem(request(), chainId: "totem-other")?.contains("not this chain") == true)
        // Signed for another chain with the same chain id: the genesis hash is in what is signed.
        r = request()
        r.genesisHash = other
        #expect(problem(r, genesisHash: other)?.contains("does not verify") == true)
    }

    @Test func theSignatureIsInItsOwnDomain() {
        let r = request()
        // The same body signed as a transaction is no join request, and the request's signature is
        // no signature in any other domain.
        var forged = r
        forged.signature = candidate.sign(.tx, genesisHash: Self.genesisHash, body: r.body)
        #expect(problem(forged)?.contains("does not verify") == true)
        for domain in SigningDomain.allCases where domain != .joinRequest {
            #expect(!Ed25519.verify(r.signature, domain, genesisHash: Self.genesisHash, body: r.body, publicKey: r.validator))
        }
        #expect(SigningDomain.joinRequest.rawValue == "totem/join-request/v1")
    }

    @Test func staleAndFutureRequestsAreRefused() {
        #expect(problem(request(timeMs: Self.now - JoinRequest.ageMaxMs)) == nil)
        #expect(problem(request(timeMs: Self.now - JoinRequest.ageMaxMs - 1))?.contains("hours old") == true)
        #expect(problem(request(timeMs: Self.now + JoinRequest.futureMaxMs)) == nil)
        #expect(problem(request(timeMs: Self.now + JoinRequest.futureMaxMs + 1_000))?.contains("in the future") == true)
    }

    @Test func malformedFilesAreNamed() {
        let text = String(decoding: JSONWriter.write(request().json), as: UTF8.self)
        let cases = [
            ("{", "not a join request"),
            (text.replacingOccurrences(of: "\"timeMs\"", with: "\"time\""), "timeMs"),
            (text.replacingOccurrences(of: "}", with: ",\"extra\":1}"), "extra"),
            (text.replacingOccurrences(of: candidate.publicKey.hex, with: "zz"), "validator"),
        ]
        for (body, expected) in cases {
            do {
                _ = try JoinRequest.parse(Array(body.utf8))
                Issue.record("parsed: \(body)")
            } catch {
                #expect("\(error)".contains(expected), "\(error)")
            }
        }
        #expect(throws: JoinRequest.Invalid.self) {
            try JoinRequest.parse([UInt8](repeating: 0x20, count: JoinRequest.fileMaxBytes + 1))
        }
    }

    // MARK: Quorum safety

    static func key(_ i: UInt64) -> Bytes32 { Bytes32(w0: i, w1: 0, w2: 0, w3: 0) }

    /// Validators a, b, c, d (a is the voting node) at tip 100; `silent` last signed at 50 and are
    /// not connected.
    static func members(silent: Set<String> = []) -> [QuorumSafety.Member] {
        ["a", "b", "c", "d"].enumerated().map { i, name in
            QuorumSafety.Member(key: key(UInt64(i + 1)), name: name,
                                lastSignedHeight: silent.contains(name) ? 50 : 99,
                                connected: !silent.contains(name), isSelf: name == "a")
        }
    }

    static func judge(_ change: QuorumSafety.Change, _ members: [QuorumSafety.Member]) -> QuorumSafety.Verdict {
        QuorumSafety.judge(change, members: members, tipHeight: 100, window: 20)
    }

    @Test func addingAReachableCandidateToALiveSetIsSafe() {
        let v = Self.judge(.add(key: Self.key(5), name: "e", reachable: true), Self.members())
        #expect((v.countAfter, v.quorumAfter, v.liveAfter, v.safe) == (5, 4, 5, true))
        #expect(v.explanation == "after adding e, 5 validators need 4 live for a quorum; 5 are live "
                + "(a (this node); b, c, d signed in the last 20 heights; e (the candidate) connected)")
    }

    @Test func addingWhileOneIsDownAndTheCandidateUnreachableIsRefused() {
        let v = Self.judge(.add(key: Self.key(5), name: "e", reachable: false), Self.members(silent: ["d"]))
        #expect((v.countAfter, v.quorumAfter, v.liveAfter, v.safe) == (5, 4, 3, false))
        #expect(v.explanation == "after adding e, 5 validators need 4 live for a quorum; 3 are live "
                + "(a (this node); b, c signed in the last 20 heights); not live: d silent since height 50, "
                + "not connected to this node; e (the candidate) not connected to this node")
        // The same with the candidate's node linked: 4 live of the 4 needed.
        #expect(Self.judge(.add(key: Self.key(5), name: "e", reachable: true), Self.members(silent: ["d"])).safe)
    }

    @Test func removingALiveValidatorWhileAnotherIsDownIsRefused() {
        // 4 validators, d down: removing b leaves a, c, d: 3 need 3, and 2 are live.
        let v = Self.judge(.remove(key: Self.key(2)), Self.members(silent: ["d"]))
        #expect((v.countAfter, v.quorumAfter, v.liveAfter, v.safe) == (3, 3, 2, false))
        #expect(v.explanation.hasPrefix("after removing b, 3 validators need 3 live for a quorum; 2 are live"))
        // Removing the one that is down is what an operator should do instead: 3 need 3, 3 live.
        let down = Self.judge(.remove(key: Self.key(4)), Self.members(silent: ["d"]))
        #expect((down.countAfter, down.quorumAfter, down.liveAfter, down.safe) == (3, 3, 3, true))
    }

    @Test func liveNeedsARecentCommitAndALink() {
        let m = QuorumSafety.Member(key: Self.key(9), name: "x", lastSignedHeight: 81, connected: true)
        #expect(QuorumSafety.notLive(m, tipHeight: 100, window: 20) == nil, "81 is within the last 20 heights of 100")
        var old = m
        old.lastSignedHeight = 80
        #expect(QuorumSafety.notLive(old, tipHeight: 100, window: 20) == "silent since height 80")
        var cut = m
        cut.connected = false
        #expect(QuorumSafety.notLive(cut, tipHeight: 100, window: 20) == "not connected to this node",
                "a validator killed a moment ago still has recent commits")
        var never = m
        never.lastSignedHeight = nil
        #expect(QuorumSafety.notLive(never, tipHeight: 100, window: 20) == "no commit or vote in the heights this node read")
        var late = old
        late.lastVoteHeight = 99
        #expect(QuorumSafety.notLive(late, tipHeight: 100, window: 20) == nil,
                "a recent vote counts: a validator slower than the others is in none of this node's certificates")
        late.lastSignedHeight = nil
        late.lastVoteHeight = 70
        #expect(QuorumSafety.notLive(late, tipHeight: 100, window: 20) == "silent since height 70")
        #expect(QuorumSafety.notLive(never, tipHeight: 5, window: 20) != nil)
        var young = m
        young.lastSignedHeight = 1
        #expect(QuorumSafety.notLive(young, tipHeight: 5, window: 20) == nil, "on a chain younger than the window any commit counts")
        var me = never
        me.connected = false
        me.isSelf = true
        #expect(QuorumSafety.notLive(me, tipHeight: 100, window: 20) == nil, "the voting node itself is live")
    }

    @Test func quorumFollowsTheSizeAfterTheChange() {
        // A single validator adding a second: 2 need 2.
        let solo = [QuorumSafety.Member(key: Self.key(1), name: "a", lastSignedHeight: 10, connected: false, isSelf: true)]
        let v = QuorumSafety.judge(.add(key: Self.key(2), name: "b", reachable: true), members: solo, tipHeight: 10, window: 20)
        #expect((v.countAfter, v.quorumAfter, v.liveAfter, v.safe) == (2, 2, 2, true))
        // 7 validators lose 1: 6 need 5.
        let seven = (1...7).map { QuorumSafety.Member(key: Self.key($0), name: "v\($0)", lastSignedHeight: 99, connected: true, isSelf: $0 == 1) }
        let r = QuorumSafety.judge(.remove(key: Self.key(7)), members: seven, tipHeight: 100, window: 20)
        #expect((r.countAfter, r.quorumAfter, r.liveAfter, r.safe) == (6, 5, 6, true))
    }

    @Test func anUnsafeChangeIsRefusedUnlessForced() throws {
        let safe = Self.judge(.remove(key: Self.key(4)), Self.members(silent: ["d"]))
        #expect(try QuorumSafety.gate(safe, force: false) == "ok    quorum    \(safe.explanation)")
        let unsafe = Self.judge(.remove(key: Self.key(2)), Self.members(silent: ["d"]))
        #expect(throws: CommandFailure.self) { try QuorumSafety.gate(unsafe, force: false) }
        do {
            _ = try QuorumSafety.gate(unsafe, force: false)
        } catch {
            #expect(error.description == "refused: \(unsafe.explanation). Bring validators back first, or vote with --force")
        }
        #expect(try QuorumSafety.gate(unsafe, force: true) == "warn  quorum    \(unsafe.explanation); voting anyway (--force)")
    }

    /// `tx validator-change` takes the quorum check's own options (the same `QuorumCheckOptions` as
    /// `validator vote`), so it cannot vote past the check without `--force`.
    @Test func bothVotingCommandsTakeTheQuorumCheckOptions() throws {
        let key = Self.key(1).hex
        let tx = try ValidatorChangeCmd.parse(["--key", "k.json", "--op", "remove", "--validator", key])
        #expect((tx.quorum.force, tx.quorum.liveWithin) == (false, 20))
        let forced = try ValidatorChangeCmd.parse(["--key", "k.json", "--op", "remove", "--validator", key, "--force",
                                                   "--live-within", "7"])
        #expect((forced.quorum.force, forced.quorum.liveWithin) == (true, 7))
        #expect(throws: (any Error).self) {
            try ValidatorChangeCmd.parse(["--key", "k.json", "--op", "remove", "--validator", key, "--live-within", "0"])
        }
        let vote = try ValidatorCmd.Vote.parse(["--home", "h", "remove", "--validator", key, "--force"])
        #expect(vote.quorum.force)
    }
}
