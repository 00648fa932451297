import ArgumentParser

@main
struct Totemd: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "totemd", abstract: "The Totem node daemon and client.")
}
