/// Bounds the state machine keeps on state that transactions make grow, beyond the protocol's
/// field limits (`Limits`) and the genesis parameters.
public enum StateLimits {
    /// How many open validator-change tallies one validator may have voted in. Bounds the tally
    /// list (at most this many per validator), so a faulty validator cannot make it grow without
    /// end and slow every later ValidatorChange.
    public static let openTalliesPerValidatorMax = 16
}
