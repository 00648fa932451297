import Testing
@testable import P2P

@Test func moduleLinks() { #expect(Bool(true)) }
