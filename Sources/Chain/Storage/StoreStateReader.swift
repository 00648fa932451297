import ChainState

/// The committed state tables read through one LMDB read transaction: the `StateReader` the pure
/// state machine runs over in the node. Valid only inside the `ChainStore.withState` closure that
/// made it, on that thread.
public struct StoreStateReader: StateReader {
    let txn: ReadTxn
    let databases: StoreDatabases

    /// The stored value of `key` in `table`; nil when absent.
    ///
    /// `StateReader` cannot throw. A damaged record reads as absent here, and the read
    /// transaction it belongs to throws the damage when its closure returns (`ReadTxn.damage`), so
    /// nothing computed from it leaves `withState`. Any other LMDB failure (a key outside LMDB's
    /// limits: state keys are fixed-width fields, at most 76 bytes) stops the node rather than
    /// letting it vote on state it could not read.
    public func get(_ table: StateTable, _ key: [UInt8]) -> [UInt8]? {
        do {
            return try txn.get(databases.table(table), key: key)
        } catch let error as StoreError where error.code == .corrupted && txn.damage != nil {
            return nil
        } catch {
            preconditionFailure("reading state table \(table.name): \(error)")
        }
    }
}
