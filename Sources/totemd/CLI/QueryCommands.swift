import ArgumentParser
import ChainModel
import Foundation

/// Prints a node's answer as indented JSON.
func printJSON(_ v: JSONValue) {
    print(String(decoding: JSONWriter.write(v, style: .pretty(indent: 2)), as: UTF8.self), terminator: "")
}

struct Status: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Show a node's status (height, view, peers).")
    @OptionGroup var client: ClientOptions

    func run() async throws {
        printJSON(try await APIClient(base: client.api).get("/v1/status"))
    }
}

struct Query: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Query a node: account, work, works of an owner, tx, block, certificate.",
        discussion: "Examples: totemd query work <contentHash>; totemd query block 12; totemd query owner <key>")

    @OptionGroup var client: ClientOptions
    @Argument(help: "account | work | history | owner | tx | block | certificate | validators | similar")
    var what: String
    @Argument(help: "The key, hash, height or image code asked about.")
    var id: String = ""
    @Option(help: "Batch item, for a certificate of a RegisterWorkBatch.")
    var item: Int?
    @Option(help: "Largest Hamming distance, for similar (0-16).")
    var maxDistance: Int = 8
    @Option(help: "Write the answer to this file instead of printing it.")
    var out: String?

    func run() async throws {
        let path: String
        switch what {
        case "account": path = "/v1/accounts/\(id)"
        case "work": path = "/v1/works/\(id)"
        case "history": path = "/v1/works/\(id)/history"
        case "owner": path = "/v1/owners/\(id)/works"
        case "tx": path = "/v1/txs/\(id)"
        case "block": path = "/v1/blocks/\(id)"
        case "certificate": path = "/v1/certificates/\(id)" + (item.map { "?item=\($0)" } ?? "")
        case "validators": path = "/v1/validators"
        case "similar": path = "/v1/works/similar?imageCode=\(id)&maxDistance=\(maxDistance)"
        default: throw ValidationError("unknown query \"\(what)\"")
        }
        let answer = try await APIClient(base: client.api).get(path)
        if let out {
            try Data(JSONWriter.write(answer, style: .pretty(indent: 2))).write(to: URL(fileURLWithPath: out))
            print("wrote \(out)")
        } else {
            printJSON(answer)
        }
    }
}
