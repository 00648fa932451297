/// Something that writes numbered blocks into a store: the synthetic workload of the crash-safety
/// harness and benchmarks today, the real chain (blocks applied through `ChainStore`) later. The
/// harness only relies on this protocol, so it drives either.
public protocol StoreBlockSource: Sendable {
    /// Writes everything block `height` changes into `txn`, including the meta record
    /// (`StoreSchema.MetaKey.height` set to `height`). Must be deterministic: applied to the store
    /// that blocks `1..<height` produced, it writes the same bytes every time.
    func writeBlock(height: UInt64, into txn: WriteTxn) throws
}

/// Commits blocks of a `StoreBlockSource` one transaction each, on top of what a store holds.
public enum StoreBlockReplay {
    /// The height recorded in `meta` (0 for an empty store).
    public static func committedHeight(_ txn: ReadTxn, meta: Database) throws -> UInt64 {
        guard let height = try txn.withValue(meta, key: StoreSchema.MetaKey.height, { raw -> UInt64? in
            raw.count == 8 ? StoreKey.readU64(raw) : nil
        }) else { return 0 }
        guard let height else { throw StoreError(.malformedRecord, "meta height is not 8 bytes") }
        return height
    }

    /// Writes blocks `from+1 ... to` into `txn`, where `from` is the store's height; returns the
    /// new height. Stops the process if the source does not record each height it writes.
    @discardableResult
    public static func apply(_ source: some StoreBlockSource, upTo target: UInt64,
                             into txn: WriteTxn, meta: Database) throws -> UInt64 {
        var height = try committedHeight(txn, meta: meta)
        while height < target {
            height += 1
            try source.writeBlock(height: height, into: txn)
            let recorded = try committedHeight(txn, meta: meta)
            precondition(recorded == height, "block source wrote meta height \(recorded) for block \(height)")
        }
        return height
    }
}
