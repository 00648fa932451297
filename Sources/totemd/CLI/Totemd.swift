import ArgumentParser

@main
struct Totemd: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "totemd",
        abstract: "Totem node daemon and client: register image copyrights on a permissioned BFT chain.",
        subcommands: [
            Keygen.self, Init.self, GenesisCmd.self, Testnet.self, Start.self, Doctor.self, Status.self,
            TxCommand.self, Query.self, Verify.self, FingerprintCmd.self, SimilarCmd.self, CertificateCmd.self, ExportCertificatesCmd.self, Bench.self,
            BackupCmd.self, ValidatorCmd.self,
        ])
}

/// Options shared by the client subcommands.
struct ClientOptions: ParsableArguments {
    @Option(name: .long, help: "Base URL of a node's HTTP API.")
    var api: String = "http://127.0.0.1:26701"
}
