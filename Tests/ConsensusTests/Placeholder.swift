import Testing
@testable import Consensus

@Test func moduleLinks() { #expect(Bool(true)) }
