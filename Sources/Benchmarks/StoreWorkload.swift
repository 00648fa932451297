import Storage

/// The block sources the crash-safety harness (and benchmarks) can drive, by name, so a child
/// process and its parent build the same one.
public enum StoreWorkload: String, Sendable, CaseIterable {
    /// `SyntheticBlockSource`: raw puts and deletes across the schema's databases.
    case synthetic
    /// `ChainBlockSource`: real blocks, certificates and state changes through `ChainStore`.
    case chain

    /// A store opened for a workload, with its block source.
    public struct Opened: Sendable {
        public let environment: LMDBEnvironment
        public let source: any StoreBlockSource
        /// The `meta` database, where the committed height is.
        public let meta: Database
    }

    /// Opens (creating if needed) the workload's store in `directory`.
    public func open(directory: String, transactionsPerBlock: Int,
                     options: LMDBEnvironment.Options = .init()) throws -> Opened {
        switch self {
        case .synthetic:
            let environment = try LMDBEnvironment(directory: directory, databases: SyntheticBlockSource.databaseNames,
                                                  options: options)
            let source = try SyntheticBlockSource(environment: environment, transactionsPerBlock: transactionsPerBlock)
            return Opened(environment: environment, source: source, meta: try environment.database(StoreSchema.meta))
        case .chain:
            let source = try ChainBlockSource(directory: directory, transactionsPerBlock: transactionsPerBlock,
                                              options: options)
            let environment = source.store.environment
            return Opened(environment: environment, source: source, meta: source.store.databases.meta)
        }
    }
}
