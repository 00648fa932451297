import ChainModel
import Testing
import TotemCrypto
@testable import totemd

/// `tx register-works`' pure parts: cutting an archive into batches, and reading its manifest back.
@Suite struct RegisterWorksTests {
    static func work(_ i: Int, titleBytes: Int) -> Work {
        Work(contentHash: SHA256.hash(Array("work \(i)".utf8)), imageCode: UInt64(i), title: String(repeating: "t", count: titleBytes),
             mediaType: "image/png", width: 640, height: 480, license: "All rights reserved")
    }

    /// Every batch, once signed, is within maxTxBytes and the item limit; together they hold every
    /// work once, in order; and each batch but the last could not have taken the next work.
    @Test(arguments: [(65_536, 1_000), (65_536, 37), (4_096, 1_000), (1_024, 1_000)])
    func batchesFillTransactionsUpToTheChainsLimits(maxTxBytes: Int, maxItems: Int) {
        let key = SigningKey(seed: SHA256.hash(Array("register-works".utf8)))
        let works = (0..<2_500).map { Self.work($0, titleBytes: $0 % 97) }
        let sizes = works.map { $0.encoded.count }
        let overhead = WorkBatches.overhead(chainId: "totem-test", sender: key.publicKey)
        let batches = WorkBatches.cut(itemBytes: sizes, overhead: overhead, maxTxBytes: maxTxBytes, maxItems: maxItems)
        #expect(batches.flatMap { Array($0) } == Array(0..<works.count))
        for (n, range) in batches.enumerated() {
            let signed = Tx(chainId: "totem-test", sender: key.publicKey, nonce: UInt64(n + 1),
                            payload: .registerWorkBatch(Array(works[range]))).signed(by: key, genesisHash: .zero)
            #expect(signed.bytes.count == overhead + sizes[range].reduce(0, +), "the overhead is exact")
            #expect(signed.bytes.count <= maxTxBytes && range.count <= maxItems)
            if n < batches.count - 1 {
                #expect(signed.bytes.count + sizes[range.upperBound] > maxTxBytes || range.count == maxItems,
                        "batch \(n) stopped early")
            }
        }
    }

    @Test func aWorkTooLargeForATransactionIsABatchOfItsOwn() {
        #expect(WorkBatches.cut(itemBytes: [10, 5_000, 10, 10], overhead: 100, maxTxBytes: 1_024, maxItems: 1_000)
                == [0..<1, 1..<2, 2..<4])
        #expect(WorkBatches.cut(itemBytes: [], overhead: 100, maxTxBytes: 1_024, maxItems: 1_000).isEmpty)
    }

    @Test func manifestRoundTripsAndDropsOnlyATornLastLine() throws {
        let entries = [
            ManifestEntry(file: "a/b.png", status: .registered, contentHash: String(repeating: "ab", count: 32),
                          imageCode: "0011223344556677", txHash: String(repeating: "cd", count: 32), item: 3, height: 120),
            ManifestEntry(file: "a/c.png", status: .duplicate, contentHash: String(repeating: "ab", count: 32), duplicateOf: "a/b.png"),
            ManifestEntry(file: "a/d.txt.png", status: .notAnImage, error: "not an image \"quoted\""),
            ManifestEntry(file: "é/ü.jpg", status: .registeredByAnother, registrant: String(repeating: "ef", count: 32)),
        ]
        let text = WorkManifest.lines(entries)
        #expect(try WorkManifest.parse(text) == entries)
        // A kill in the middle of an append leaves a line without its newline: dropped.
        let torn = text + Array(#"{"file": "x.png", "status": "regis"#.utf8)
        #expect(try WorkManifest.parse(torn) == entries)
        // Damage anywhere else is an error that names the line.
        var damaged = text
        damaged.insert(contentsOf: Array("{oops\n".utf8), at: 0)
        #expect(throws: ManifestError.self) { try WorkManifest.parse(damaged) }
        do { _ = try WorkManifest.parse(damaged) } catch { #expect(error.description.hasPrefix("line 1:")) }
        let unknown = Array(#"{"file": "x.png", "status": "lost"}"#.utf8) + [10]
        #expect(throws: ManifestError.self) { try WorkManifest.parse(unknown) }
    }

    @Test func progressLineShowsCountsRateAndETA() {
        let line = ProgressLine.text(total: 1_000, label: "files", fingerprinted: 400, done: 250, elapsed: .seconds(10))
        #expect(line == "[#####...............] 250/1000 files  fingerprinted 400  25.0/s  ETA 0:30")
        #expect(ProgressLine.text(total: 10, label: "files", fingerprinted: 0, done: 0, elapsed: .zero).hasSuffix("ETA -"))
    }
}
