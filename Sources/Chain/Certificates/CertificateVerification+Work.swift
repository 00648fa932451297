import ChainModel
import TotemCrypto

extension CertificateVerification {
    // MARK: 8. work

    /// `work` is present exactly for RegisterWork and RegisterWorkBatch (with `batchIndex` for a
    /// batch only), and states the registered item's contentHash and title (as bytes), the tx's
    /// sender as registrant, and the block's time. Returns the item and the summary.
    func checkWork(_ doc: CertificateDocument, tx: SignedTx,
                   header: Header) throws(CertificateFailure) -> (Work?, CertificateWork?) {
        let kind = tx.tx.kind
        let works: [Work]? = switch tx.tx.payload {
        case .registerWork(let w): [w]
        case .registerWorkBatch(let ws): ws
        default: nil
        }
        switch (works, doc.work) {
        case (nil, nil):
            return (nil, nil)
        case (nil, _?):
            throw CertificateFailure(.work, "unexpected", "a \(kind.name) certificate carries no work")
        case (_?, nil):
            throw CertificateFailure(.work, "missing", "a \(kind.name) certificate must carry its work")
        case (let works?, let object?):
            let isBatch = kind == .registerWorkBatch
            let summary = try CertificateReader.work(object, batch: isBatch)
            let item = try self.item(works, summary: summary, isBatch: isBatch)
            try compare(summary, item: item, tx: tx, header: header)
            return (item, summary)
        }
    }

    private func item(_ works: [Work], summary: CertificateWork, isBatch: Bool) throws(CertificateFailure) -> Work {
        guard isBatch else { return works[0] }
        guard let index = summary.batchIndex, index < UInt64(works.count) else {
            throw CertificateFailure(.work, "batch_index", "batchIndex \(summary.batchIndex.map(String.init) ?? "-") "
                                     + "is not an item of the \(works.count)-item batch")
        }
        return works[Int(index)]
    }

    private func compare(_ summary: CertificateWork, item: Work, tx: SignedTx,
                         header: Header) throws(CertificateFailure) {
        guard summary.contentHash == item.contentHash else {
            throw CertificateFailure(.work, "content_hash", "work.contentHash is not the registered work's")
        }
        guard sameBytes(summary.title, item.title) else {
            throw CertificateFailure(.work, "title", "work.title is not, byte for byte, the registered title")
        }
        guard summary.registrant == tx.tx.sender else {
            throw CertificateFailure(.work, "registrant", "work.registrant is not the tx's sender \(tx.tx.sender)")
        }
        guard summary.registeredAtMs == header.timestampMs else {
            throw CertificateFailure(.work, "registered_at", "work.registeredAtMs \(summary.registeredAtMs) is not "
                                     + "the block's timestampMs \(header.timestampMs)")
        }
    }
}
