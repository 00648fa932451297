import ArgumentParser
import ChainModel

/// The quorum-safety check of every command that sends a ValidatorChange vote (`validator vote`
/// and `tx validator-change`): one set of options and one code path, so no way of voting skips it
/// unless the operator says `--force` (docs/ops/validator-changes.md, "The quorum check").
struct QuorumCheckOptions: ParsableArguments {
    @Option(name: .long, help: "Heights within which a validator's commit makes it live.") var liveWithin: UInt64 = 20
    @Flag(name: .long, help: "Vote even when the change would leave fewer than a quorum live.") var force = false

    func validate() throws {
        guard liveWithin >= 1 else { throw ValidationError("--live-within must be at least 1") }
    }

    /// Judges `change` as the node at `client` sees the set (`node` and `set`, read from it), prints
    /// the verdict, and throws the refusal when the change would leave fewer than a quorum live and
    /// `force` is off. For an add the candidate counts as live when that node has a link to it.
    func enforce(_ change: ValidatorChange, client: APIClient, node: NodeView, set: ValidatorsView) async throws {
        let judged: QuorumSafety.Change = switch change.op {
        case .add: .add(key: change.validator, name: change.name,
                        reachable: try await connectedPeers(client).contains(change.validator))
        case .remove: .remove(key: change.validator)
        }
        let verdict = QuorumSafety.judge(judged, members: set.members, tipHeight: node.height, window: liveWithin)
        print(try QuorumSafety.gate(verdict, force: force))
    }
}
