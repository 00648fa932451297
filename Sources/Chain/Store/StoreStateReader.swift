/// The committed state tables read through one LMDB read transaction: the `StateReader` the pure
/// state machine runs over in the node. Valid only inside the `ChainStore.withState` closure that
/// made it, on that thread.
public struct StoreStateReader: StateReader {
    let txn: ReadTxn
    let databases: StoreDatabases

    /// The stored value of `key` in `table`; nil when absent.
    ///
    /// `StateReader` cannot throw: an LMDB read fails only on a damaged environment or a key
    /// outside LMDB's limits (state keys are fixed-width fields, at most 76 bytes), so a failure
    /// here stops the node rather than letting it vote on state it could not read.
    public func get(_ table: StateTable, _ key: [UInt8]) -> [UInt8]? {
        do {
            return try txn.get(databases.table(table), key: key)
        } catch {
            preconditionFailure("reading state table \(table.name): \(error)")
        }
    }
}
