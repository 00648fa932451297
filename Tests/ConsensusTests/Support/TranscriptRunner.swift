import ChainModel
import Foundation

/// Runs a transcript file (STYLE.md §2): blocks of one command, a `----` line, and the expected
/// output lines, separated by blank lines; `#` lines are comments. With TOTEM_REWRITE_TRANSCRIPTS=1
/// the file is rewritten with the actual output (review the diff).
enum TranscriptRunner {
    static var directory: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("transcripts")
    }

    struct Block {
        var comments: [String]
        var command: String
        var expected: [String]
    }

    static func parse(_ text: String) throws -> [Block] {
        var blocks = [Block]()
        var comments = [String]()
        var lines = text.components(separatedBy: "\n")[...]
        while let line = lines.popFirst() {
            if line.hasPrefix("#") || line.trimmingCharacters(in: .whitespaces).isEmpty {
                if line.hasPrefix("#") { comments.append(line) }
                continue
            }
            guard lines.popFirst() == "----" else { throw TranscriptError("expected ---- after: \(line)") }
            var expected = [String]()
            while let next = lines.first, !next.isEmpty {
                expected.append(next)
                lines.removeFirst()
            }
            blocks.append(Block(comments: comments, command: line, expected: expected))
            comments = []
        }
        return blocks
    }

    /// Runs `name`.txt; returns a readable diff of every mismatch (empty when all match).
    static func run(_ name: String) throws -> (mismatches: [String], commands: Int) {
        let url = directory.appendingPathComponent(name + ".txt")
        let text = try String(contentsOf: url, encoding: .utf8)
        let blocks = try parse(text)
        var harness = TranscriptHarness()
        var mismatches = [String]()
        var rewritten = [String]()
        for b in blocks {
            let actual: [String]
            do { actual = try harness.run(b.command) } catch { actual = ["error: \(error)"] }
            if actual != b.expected {
                mismatches.append("\(name): \(b.command)\n  expected:\n    " + b.expected.joined(separator: "\n    ")
                                  + "\n  actual:\n    " + actual.joined(separator: "\n    "))
            }
            rewritten.append((b.comments + [b.command, "----"] + actual).joined(separator: "\n"))
        }
        if ProcessInfo.processInfo.environment["TOTEM_REWRITE_TRANSCRIPTS"] == "1" {
            try (rewritten.joined(separator: "\n\n") + "\n").write(to: url, atomically: true, encoding: .utf8)
        }
        return (mismatches, blocks.count)
    }
}
