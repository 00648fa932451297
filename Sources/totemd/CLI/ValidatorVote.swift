import ArgumentParser
import ChainModel
import Foundation
import TotemCrypto

extension ValidatorCmd {
    /// A validator's vote for a change of the set, checked before it is sent.
    struct Vote: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Vote, as a validator in force, to add a candidate (from its join request) or remove a validator.",
            discussion: """
                add --request FILE: checks the request (this chain, fresh, signed by the candidate's key). \
                remove --validator KEY. Before voting, checks that after the change a quorum of the validators \
                would be live as this node sees them (it, or linked to it and with a commit in the last \
                --live-within heights; a candidate counts when this node has a link to its node), and refuses \
                with the counts otherwise (--force votes anyway). Then signs the ValidatorChange with the \
                home's key, submits it, and shows the tally.
                """)
        @Option(name: .long, help: "This validator's home folder (its config.toml and key).") var home: String
        @Option(name: .long, help: "The API to vote through (default: the home's own node, from api.listen).") var api: String?
        @Argument(help: "add or remove.") var op: String
        @Option(name: .long, help: "add: the candidate's join request file.") var request: String?
        @Option(name: .long, help: "remove: the validator's public key (hex).") var validator: String?
        @OptionGroup(title: "Quorum check") var quorum: QuorumCheckOptions

        func validate() throws {
            switch op {
            case "add": guard request != nil, validator == nil else { throw ValidationError("add takes --request (and no --validator)") }
            case "remove": guard validator != nil, request == nil else { throw ValidationError("remove takes --validator (and no --request)") }
            default: throw ValidationError("the operation must be add or remove")
            }
        }

        func run() async throws {
            let config = try GenesisCeremony.loadConfig(home: home)
            let key: SigningKey
            do { key = try config.readKey() } catch { throw CommandFailure(error.description) }
            let client = APIClient(base: api ?? config.localAPIBase)
            let node = try await NodeView.read(client)
            let set = try await ValidatorsView.read(client)
            guard set.members.contains(where: { $0.key == key.publicKey }) else {
                throw CommandFailure("this home's key \(key.publicKey.hex) is not a validator of the set in force: the chain would not count its vote")
            }
            if node.nodeKey != key.publicKey {
                print("note: \(client.base) is node \(node.nodeKey.hex.prefix(16)), not this home's: liveness below is as that node sees it")
            }
            if let from = set.latestFromHeight {
                // The change applies to that set; liveness is known only of the set in force.
                print("note: a change is adopted and in force from height \(from); the check below is of the set in force now")
            }
            let change = try plan(node: node, set: set)
            try await quorum.enforce(change, client: client, node: node, set: set)
            do {
                try await SignedSubmission.submit(.validatorChange(change), signer: key, api: client.base, nonce: nil, wait: true)
            } catch let refused as SignedSubmission.Refused {
                throw CommandFailure("the node refused the vote: \(refused.code): \(refused.message)")
            }
            try await Self.printTally(change, client: client)
        }

        /// The change to vote for; throws what makes the vote pointless (a request that does not
        /// verify, a key already in or not in).
        private func plan(node: NodeView, set: ValidatorsView) throws -> ValidatorChange {
            if let path = request {
                let req: JoinRequest
                do {
                    req = try JoinRequest.parse(try PublicFile.read(path))
                    try req.verify(chainId: node.chainId, genesisHash: node.genesisHash, nowMs: ConsensusDriver.nowMs())
                } catch let e as JoinRequest.Invalid {
                    throw CommandFailure("\(path): \(e.description)")
                }
                print("ok    request   \(req.name) \(req.validator.hex) \(req.p2pAddress), signed by that key")
                if set.latestKeys.contains(req.validator) {
                    throw CommandFailure("\(req.name) (\(req.validator.hex)) is already a validator (in force or adopted)")
                }
                return ValidatorChange(op: .add, validator: req.validator, name: req.name, p2pAddress: req.p2pAddress)
            }
            let target = try hex32(validator ?? "", "validator")
            guard set.latestKeys.contains(target) else {
                throw CommandFailure("\(target.hex) is not a validator (of the set in force or adopted): the chain rejects removing an absent key")
            }
            guard set.latestKeys.count > 1 else {
                throw CommandFailure("\(target.hex) is the last validator: the chain rejects removing it")
            }
            return ValidatorChange(op: .remove, validator: target, name: "", p2pAddress: "")
        }

        /// Where the change stands after this vote: votes so far of the quorum needed, or adopted.
        static func printTally(_ change: ValidatorChange, client: APIClient) async throws {
            let after = try await ValidatorsView.read(client)
            let op = change.op == .add ? "add" : "remove"
            let tally = after.pending.first { t in
                t["op"] == .string(op) && t["validator"] == .string(change.validator.hex)
                    && t["name"] == .string(change.name) && t["p2pAddress"] == .string(change.p2pAddress)
            }
            if case .array(let voters)? = tally?["voters"] {
                let names = voters.compactMap { v -> String? in
                    guard case .string(let k) = v else { return nil }
                    return after.members.first { $0.key.hex == k }?.name ?? String(k.prefix(16))
                }
                print("tally: \(voters.count) of \(after.quorum) votes (\(names.joined(separator: ", ")))")
            } else if after.latestKeys.contains(change.validator) == (change.op == .add) {
                let from = after.latestFromHeight.map { " from height \($0)" } ?? ""
                print("adopted: \(after.latestKeys.count) validators\(from)")
            } else {
                print("tally: no open tally for this change (expired?); see GET /v1/validators")
            }
        }
    }
}
