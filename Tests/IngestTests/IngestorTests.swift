import Foundation
import GRDB
import Testing
import _LongctxTestSupport

@testable import Ingest

@Suite struct IngestorTests {
  @Test func reingestIsIncremental() async throws {
    let f = try IngestFixture()
    defer { f.remove() }
    try f.dir.write("docs/a.txt", "alpha\n")
    try f.dir.write("docs/b.txt", "beta\n")
    try f.dir.write("docs/c.txt", "gamma\n")
    let first = try await f.ingest(["docs"])
    #expect(first.new == 3 && first.extracted == 3 && first.failed == 0)

    let second = try await f.ingest(["docs"])
    #expect(second.unchanged == 3)
    #expect(second.extracted == 0)

    try f.dir.write("docs/b.txt", "beta, second edition\n")
    try FileManager.default.removeItem(at: f.dir.url.appendingPathComponent("docs/c.txt"))
    let third = try await f.ingest(["docs"])
    #expect(third.unchanged == 1)
    #expect(third.changed == 1)
    #expect(third.extracted == 1)
    #expect(third.gone == 1)
    #expect(try f.sourceStatus("docs/c.txt") == "gone")
    let b = try #require(third.files.first { $0.displayPath == "docs/b.txt" })
    let sections = try Corpus(workspace: f.workspace).sections(ofDocument: b.documentHash, displayPath: "docs/b.txt")
    #expect(sections.map(\.text) == ["beta, second edition"])
  }

  /// A document made by an older extractor version is extracted again on the next ingest,
  /// though its file is unchanged; then it is unchanged like any other.
  @Test func outdatedExtractionsAreRedone() async throws {
    let f = try IngestFixture()
    defer { f.remove() }
    try f.dir.write("src/a.py", "def f():\n    return 1\n\n\ndef g():\n    return 2\n")
    try f.dir.write("src/notes.txt", "plain text\n")
    let first = try await f.ingest(["src"])
    #expect(first.new == 2 && first.reextracted == 0)
    let code = try #require(first.files.first { $0.displayPath == "src/a.py" })
    // As a workspace made before declarations were recorded: old version, no symbols.
    try await f.workspace.db.write { db in
      try db.execute(
        sql: "UPDATE document SET extractor = 'lines-2', sectionsBlob = 'gone' WHERE hash = ?",
        arguments: [code.documentHash])
    }
    let second = try await f.ingest(["src"])
    #expect(second.reextracted == 1)
    #expect(second.unchanged == 2 && second.changed == 0 && second.new == 0)
    let row = try f.workspace.db.read { db in
      try Row.fetchOne(
        db, sql: "SELECT extractor, sectionsBlob FROM document WHERE hash = ?", arguments: [code.documentHash])
    }
    #expect(row?["extractor"] == DocumentKind.code.extractorVersion)
    #expect(row?["sectionsBlob"] != "gone")
    let sections = try Corpus(workspace: f.workspace).sections(ofDocument: code.documentHash, displayPath: "src/a.py")
    #expect(sections.flatMap { $0.symbols ?? [] } == ["def f", "def g"])

    let third = try await f.ingest(["src"])
    #expect(third.reextracted == 0 && third.unchanged == 2 && third.extracted == 0)
  }

  /// An upgrade must not lose a file that worked: when extracting an outdated document again
  /// fails (here an encrypted PDF ingested with its password, now ingested without), the
  /// earlier extraction is kept and a warning says why.
  @Test func failedReextractionKeepsTheEarlierExtraction() async throws {
    guard have("qpdf") else { return }
    let f = try IngestFixture()
    defer { f.remove() }
    let src = RepositoryPaths.samples.appendingPathComponent("pdfs/memo.pdf").path
    try FileManager.default.createDirectory(
      at: f.dir.url.appendingPathComponent("in"), withIntermediateDirectories: true)
    let out = f.dir.url.appendingPathComponent("in/secret.pdf").path
    try #require(try shell("qpdf --encrypt user owner 256 -- '\(src)' '\(out)'") == 0)
    let first = try await f.ingest(["in"], password: "user")
    #expect(first.new == 1 && first.failed == 0)
    let hash = try #require(first.files.first?.documentHash)
    try await f.workspace.db.write { db in
      try db.execute(sql: "UPDATE document SET extractor = 'poppler-glib 0.1' WHERE hash = ?", arguments: [hash])
    }
    let second = try await f.ingest(["in"])
    #expect(second.failed == 0 && second.unchanged == 1 && second.reextracted == 0)
    #expect(second.files.map(\.documentHash) == [hash])
    #expect(
      second.exceptions.contains { $0.severity == .warning && $0.reason.contains("the earlier extraction is kept") })
    #expect(try f.sourceStatus("in/secret.pdf") == "ok")
    let pages = try Corpus(workspace: f.workspace).sections(ofDocument: hash, displayPath: "in/secret.pdf")
    #expect(pages.first?.text.contains("Memorandum") == true)
    // With the password again it is extracted by the current version.
    let third = try await f.ingest(["in"], password: "user")
    #expect(third.reextracted == 1 && third.unchanged == 1 && third.extracted == 1)
  }

  @Test func exactDuplicatesAreStoredOnce() async throws {
    let f = try IngestFixture()
    defer { f.remove() }
    try f.dir.write("in/one.txt", "same bytes\n")
    try f.dir.write("in/two.txt", "same bytes\n")
    try f.dir.write("in/three.txt", "other bytes\n")
    var options = IngestOptions(base: f.dir.url, concurrency: 1)
    let summary = try await f.ingestor.ingest(inputs: ["in"], options: options)
    #expect(summary.files.count == 3)
    #expect(try f.documentCount() == 2)
    let hashes = Dictionary(uniqueKeysWithValues: summary.files.map { ($0.displayPath, $0.documentHash) })
    #expect(hashes["in/one.txt"] == hashes["in/two.txt"])
    #expect(summary.extracted == 2)
    let two = try Corpus(workspace: f.workspace).sections(
      ofDocument: try #require(hashes["in/two.txt"]), displayPath: "in/two.txt")
    #expect(two.first?.locator.description == "in/two.txt#L1")
  }

  @Test func gitignoreVendoredBinaryAndSymlinks() async throws {
    guard have("git") else { return }
    let f = try IngestFixture()
    defer { f.remove() }
    let repo = f.dir.url.appendingPathComponent("repo")
    try f.dir.write("repo/.gitignore", "secret.txt\n*.tmp\n")
    try f.dir.write("repo/src/main.py", "print('hi')\n")
    try f.dir.write("repo/secret.txt", "ignored\n")
    try f.dir.write("repo/scratch.tmp", "ignored\n")
    try f.dir.write("repo/node_modules/left-pad/index.js", "module.exports = 1\n")
    try Data([0x7F, 0x45, 0x4C, 0x46, 0, 0, 1, 2]).write(to: repo.appendingPathComponent("tool.bin"))
    try f.dir.write("outside.txt", "outside the root\n")
    try FileManager.default.createSymbolicLink(
      atPath: repo.appendingPathComponent("escape.txt").path, withDestinationPath: "../outside.txt")
    try FileManager.default.createSymbolicLink(
      atPath: repo.appendingPathComponent("inside.py").path, withDestinationPath: "src/main.py")
    try #require(try shell("git init -q && git add -f node_modules && git add .", in: repo) == 0)

    let summary = try await f.ingest(["repo"])
    let reasons = Dictionary(uniqueKeysWithValues: summary.exceptions.map { ($0.path, $0.reason) })
    let paths = Set(summary.files.map(\.displayPath))
    #expect(paths.contains("repo/src/main.py"))
    #expect(paths.contains("repo/.gitignore"))
    #expect(paths.contains("repo/inside.py"))
    #expect(!paths.contains("repo/secret.txt") && reasons["repo/secret.txt"] == nil)
    #expect(!paths.contains("repo/scratch.tmp"))
    #expect(reasons["repo/node_modules/left-pad/index.js"] == "vendored or generated directory node_modules/")
    #expect(reasons["repo/tool.bin"] == "binary file")
    #expect(reasons["repo/escape.txt"] == "symlink leading outside the input root")
    #expect(summary.skipped == 3)
  }

  @Test func failuresAreRecordedAndTheBatchGoesOn() async throws {
    let f = try IngestFixture()
    defer { f.remove() }
    try f.dir.write("mix/broken.pdf", "%PDF-1.4 not really\n")
    try f.dir.write("mix/notes.md", "# Notes\n\nfine\n")
    let summary = try await f.ingest(["mix"])
    #expect(summary.failed == 1)
    #expect(summary.files.map(\.displayPath) == ["mix/notes.md"])
    let exceptions = try Corpus(workspace: f.workspace).exceptions()
    #expect(exceptions.contains { $0.path == "mix/broken.pdf" && $0.severity == .failed })
  }
}
