import Testing
@testable import totemd

/// What signing state a restore writes (issue 14): never older than the newest record known, a
/// fence when a validator's own record is missing or damaged, a refusal when there is nothing to
/// fence with.
@Suite struct SigningStateChoiceTests {
    typealias Known = SigningStateChoice.Known
    static func at(_ height: UInt64, _ view: UInt32 = 0) -> SigningPosition { SigningPosition(height: height, view: view) }

    @Test func theHomesNewerRecordIsKept() throws {
        let known = Known(home: Self.at(120, 1), backupOfThisNode: Self.at(80), isValidator: true)
        #expect(try SigningStateChoice.choose(known) == .home(Self.at(120, 1)))
    }

    @Test func aNewerBackupOfThisNodeWinsAndAnEqualOneDoesNot() throws {
        #expect(try SigningStateChoice.choose(Known(home: Self.at(50), backupOfThisNode: Self.at(50, 2), isValidator: true))
                == .backup(Self.at(50, 2)))
        #expect(try SigningStateChoice.choose(Known(home: Self.at(50, 2), backupOfThisNode: Self.at(50, 2), isValidator: true))
                == .home(Self.at(50, 2)))
    }

    @Test func aFenceAboveEveryRecordIsWrittenOneAboveTheHeightVotedAtMost() throws {
        let known = Known(home: Self.at(120), backupOfThisNode: Self.at(80), votedAtMost: 300, isValidator: true)
        #expect(try SigningStateChoice.choose(known) == .fence(height: 301))
    }

    @Test func aRecordAtTheFenceHeightBeatsTheFence() throws {
        // The record may hold votes at 301 that a fence (nothing signed) would let it contradict.
        let known = Known(home: Self.at(301), votedAtMost: 300, isValidator: true)
        #expect(try SigningStateChoice.choose(known) == .home(Self.at(301)))
    }

    @Test func aValidatorWithoutItsOwnRecordNeedsAFence() throws {
        #expect(throws: BackupError.self) { try SigningStateChoice.choose(Known(isValidator: true)) }
        // The backup's record is older than the votes sent since: not enough on its own.
        #expect(throws: BackupError.self) {
            try SigningStateChoice.choose(Known(backupOfThisNode: Self.at(80), isValidator: true))
        }
        #expect(try SigningStateChoice.choose(Known(backupOfThisNode: Self.at(80), votedAtMost: 90, isValidator: true))
                == .fence(height: 91))
    }

    @Test func aDamagedHomeRecordIsNotTrustedButStillAFloor() throws {
        #expect(throws: BackupError.self) {
            try SigningStateChoice.choose(Known(home: Self.at(200), homeDamaged: true, isValidator: true))
        }
        // The surviving record (200) is above the fence given: the lost one was newer still.
        let known = Known(home: Self.at(200), homeDamaged: true, votedAtMost: 150, isValidator: true)
        #expect(try SigningStateChoice.choose(known) == .fence(height: 201))
    }

    @Test func anObserverWithoutARecordGetsNone() throws {
        #expect(try SigningStateChoice.choose(Known(isValidator: false)) == .none)
    }

    @Test func theChoiceIsNeverOlderThanAnyRecordKnown() throws {
        // Every combination of small positions: the result is at or above each trusted input.
        let positions: [SigningPosition?] = [nil, Self.at(3), Self.at(3, 1), Self.at(5)]
        for home in positions {
            for backup in positions {
                for voted: UInt64? in [nil, 2, 4] {
                    let known = Known(home: home, backupOfThisNode: backup, votedAtMost: voted, isValidator: true)
                    guard let choice = try? SigningStateChoice.choose(known) else {
                        #expect(home == nil && voted == nil)
                        continue
                    }
                    let written: SigningPosition
                    switch choice {
                    case .home(let p), .backup(let p): written = p
                    case .fence(let h): written = Self.at(h)
                    case .none: Issue.record("a validator got no signing state"); continue
                    }
                    for p in [home, backup].compactMap({ $0 }) { #expect(written >= p, "\(known) chose \(choice)") }
                    if let voted { #expect(written.height > voted, "\(known) chose \(choice)") }
                }
            }
        }
    }
}
