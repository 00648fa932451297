import Certificates
import ChainModel
import ChainState
import ImageCodes
import Storage
import Testing
import TotemCrypto

/// Every module's errors have one shape (`CodedError`): the code's snake_case name, then the message.
@Suite struct CodedErrorTests {
    @Test func errorsOfEveryLayerPrintTheirCodeThenTheirMessage() {
        let errors: [any CodedError] = [
            MerkleError(.rootMismatch, "m"), KeyFileError(.keyMismatch, "m"), CertificateError(.commitView, "m"),
            MempoolError(.stateChanged, "m"), TxError(.badNonce, "m"), StoreError(.diskFull, "m"),
            CertificateBuildError(.txNotInBlock, "m"), SimilarityIndexError(.limitOutOfRange, "m"),
        ]
        let names = errors.map(\.codeName)
        #expect(names == ["root_mismatch", "key_file_key_mismatch", "commit_view", "state_changed",
                                    "bad_nonce", "disk_full", "tx_not_in_block", "limit_out_of_range"])
        for e in errors {
            #expect(e.description == "\(e.codeName): m")
            #expect(e.codeName.allSatisfy { $0 == "_" || ($0.isLowercase && $0.isLetter) || $0.isNumber })
        }
    }

    /// JSON and genesis errors keep their own description, which also names the path at fault.
    @Test func jsonErrorsNameThePathToo() {
        let e = JSONError(.badHex, at: JSONPath.root.appending("seed"), "not hex")
        #expect(e.codeName == "json_bad_hex")
        #expect(e.description == "json_bad_hex at seed: not hex")
    }
}
