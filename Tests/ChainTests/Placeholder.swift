import Testing
@testable import Chain

@Test func moduleLinks() { #expect(Bool(true)) }
