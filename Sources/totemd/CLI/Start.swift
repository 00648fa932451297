import ArgumentParser
import Foundation
import Logging
import ServiceLifecycle

struct Start: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run a node from its home folder (config.toml).")

    @Option(name: .long, help: "The node's home folder (holds config.toml).")
    var home: String

    @Option(name: .long, help: "Override the config's log level (trace, debug, info, notice, warning, error, critical).")
    var logLevel: String?

    @Flag(name: .long, help: "Start an empty store from the newest certified snapshot the peers offer (as [sync] state_sync = true).")
    var stateSync = false

    func run() async throws {
        let configPath = (home as NSString).appendingPathComponent("config.toml")
        var config: NodeConfig
        do {
            config = try NodeConfig.load(path: configPath)
        } catch let e as ConfigError {
            throw ValidationError(e.description)
        }
        if stateSync { config.stateSync = true }
        let levelName = logLevel ?? config.logLevel
        guard let level = Logger.Level(rawValue: levelName) else { throw ValidationError("unknown log level \(levelName)") }
        LoggingSystem.bootstrap { label in NodeLogHandler(label: label, logLevel: level) }
        var logger = Logger(label: "totemd")
        logger[metadataKey: "node"] = "\(config.moniker)"
        let node: Node
        do {
            node = try Node(config: config, configPath: configPath, logger: logger)
        } catch let e as ConfigError {
            throw ValidationError(e.description)
        }
        let group = ServiceGroup(configuration: .init(services: [.init(service: node)],
                                                      gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
        logger.info("service group finished")
    }
}
