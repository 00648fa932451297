/// Test-only fault injection: bugs the simulator's mutation tests switch on in a replica to show
/// that the simulator catches them (SimulatorScenarioTests, `TOTEM_SIM_BUG`).
///
/// Compiled only where `TOTEM_FAULT_INJECTION` is defined, which Package.swift does for the
/// Consensus target in the debug configuration (the one `swift test` builds). A release build
/// (`swift build -c release`, what operators run) has neither `InjectedBug` nor the replica's `bug`
/// field, and the places that consult it (`threshold`, `makeViewChange`, `onTimeout`, `leader(view:)`) compile
/// their `#if TOTEM_FAULT_INJECTION` branch away, so no switch can weaken the protocol there.
#if TOTEM_FAULT_INJECTION
enum InjectedBug: Sendable, Hashable {
    case none
    /// Prepared and decided on f+1 votes instead of a quorum.
    case weakQuorum
    /// View changes never carry the lock.
    case forgetLock
    /// Every view timer expiry moves to the next view (no waiting for q view changes): the
    /// livelock DESIGN.md warns about.
    case noViewTimerRule
    /// Leaders follow the base rotation `V[(height + view) mod n]`: a failed validator is never
    /// benched (`LeaderRotation`), as before the rotation existed.
    case baseRotation
}
#endif
