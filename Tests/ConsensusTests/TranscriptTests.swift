import Testing

/// The replica driven step by step through each scenario of issue 5, with real Ed25519 signatures.
/// Each transcript is a text file in `transcripts/`; see `TranscriptRunner` for the format.
@Suite struct TranscriptTests {
    @Test(arguments: [
        "normal", "restart-unsynced-prepare", "leader-silent", "partial-proposal", "locked-repropose", "newview-refused",
        "restart-keeps-lock", "join-higher-view", "validator-set-change", "catch-up", "livelock",
        "evidence", "laggard", "signing-state-damaged", "signing-state-fenced", "proposal-check", "observer",
    ])
    func transcript(_ name: String) throws {
        let (mismatches, commands) = try TranscriptRunner.run(name)
        #expect(commands > 3, "transcript \(name) has too few commands")
        #expect(mismatches.isEmpty, "\(mismatches.joined(separator: "\n\n"))")
    }
}
