// Microbenchmarks of the primitives the node's throughput rests on. Run in release:
//   swift run -c release Microbench
// It prints measured figures and the conditions; it asserts nothing.
import Chain
import Dispatch
import Foundation
import TotemCrypto

/// Runs `body` repeatedly for about `seconds` and returns operations per second.
func rate(_ label: String, seconds: Double = 1.5, batch: Int, _ body: () -> Void) -> Double {
    body()  // warm up
    let start = DispatchTime.now().uptimeNanoseconds
    var ops = 0
    var elapsed = 0.0
    repeat {
        body()
        ops += batch
        elapsed = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
    } while elapsed < seconds
    let r = Double(ops) / elapsed
    report(label, r, "/s")
    return r
}

func report(_ label: String, _ value: Double, _ unit: String) {
    print(label.padding(toLength: 46, withPad: " ", startingAt: 0) + String(format: "%14.0f ", value) + unit)
}

func sampleTx(_ key: SigningKey, genesis: Bytes32, nonce: UInt64) -> SignedTx {
    let work = Work(contentHash: SHA256.hash(Array("work-\(nonce)".utf8)), imageCode: 0x1234_5678_9abc_def0,
                    title: "Sunrise over the harbour, frame \(nonce)", mediaType: "image/jpeg",
                    width: 6000, height: 4000, license: "All rights reserved")
    return Tx(chainId: "totem-bench", sender: key.publicKey, nonce: nonce, payload: .registerWork(work))
        .signed(by: key, genesisHash: genesis)
}

let cpus = ProcessInfo.processInfo.activeProcessorCount
print("Totem microbenchmarks — \(cpus) CPUs, \(ProcessInfo.processInfo.operatingSystemVersionString)")
let genesis = SHA256.hash(Array("bench-genesis".utf8))
let key = SigningKey(seed: SHA256.hash(Array("bench-key".utf8)))
let txs = (1...1000).map { sampleTx(key, genesis: genesis, nonce: UInt64($0)) }
print("RegisterWork SignedTx: \(txs[0].bytes.count) bytes")

_ = rate("Ed25519 verify (1 core)", batch: 1000) {
    for t in txs { precondition(t.verifySignature(genesisHash: genesis)) }
}
_ = rate("Ed25519 verify (all cores, ParallelVerifier)", batch: 1000) {
    precondition(!ParallelVerifier.verify(txs, genesisHash: genesis).contains(false))
}
_ = rate("Ed25519 sign", batch: 1000) {
    for t in txs { _ = key.sign(.tx, genesisHash: genesis, body: t.txBytes) }
}
let mib = [UInt8](repeating: 0xa5, count: 1 << 20)
let shaRate = rate("SHA-256 (MiB, 1 MiB buffers)", batch: 16) {
    for _ in 0..<16 { _ = SHA256.hash(mib) }
}
report("SHA-256 throughput", shaRate * 1.048576, "MB/s")
_ = rate("SHA-256 of a 250-byte tx", batch: 1000) {
    for t in txs { _ = SHA256.hash(t.bytes) }
}
_ = rate("encode RegisterWork Tx", batch: 1000) {
    for t in txs { _ = t.tx.encoded }
}
_ = rate("decode RegisterWork SignedTx (with hash)", batch: 1000) {
    for t in txs { _ = try? SignedTx.decode(t.bytes) }
}
_ = rate("txRoot of 1000 txs (blocks/s x1000)", batch: 1000) {
    _ = Block.txRoot(txs)
}
