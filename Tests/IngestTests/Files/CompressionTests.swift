import Foundation
import Testing
import _LongctxTestSupport

@testable import Ingest

/// Compressed inputs (issue 15): `.xz` and `.bz2` logs through liblzma and
/// libbz2, corrupt compressed files fail with the decoder's message, and a
/// compressed PDF is ingested as the PDF it holds.
@Suite struct CompressionTests {
  static let log = (0..<200).map { "2026-03-09T02:\(String(format: "%02d", $0 % 60)):06Z INFO request \($0) served\n" }
    .joined()

  /// Writes `log` to `name` in `dir`, compressed with the command line tool `tool` (`xz -c`, …).
  func compressed(_ f: IngestFixture, _ name: String, _ tool: String) throws {
    try f.dir.write("plain.txt", Self.log)
    #expect(try shell("\(tool) plain.txt > '\(name)' && rm plain.txt", in: f.dir.url) == 0)
  }

  @Test(arguments: [
    ("app.log.xz", "xz -c"), ("app.log.2.bz2", "bzip2 -c"), ("syslog.1.gz", "gzip -c"), ("app.log.zst", "zstd -q -c"),
  ])
  func compressedLogsAreReadAsLogs(name: String, tool: String) async throws {
    let f = try IngestFixture()
    defer { f.remove() }
    try compressed(f, name, tool)
    let summary = try await f.ingest([name])
    #expect(summary.failed == 0 && summary.skipped == 0, "\(summary.exceptions)")
    let file = try #require(summary.files.first)
    let text = try Corpus(workspace: f.workspace).sections(ofDocument: file.documentHash, displayPath: name).map(\.text)
      .joined(separator: "\n")
    #expect(text.contains("request 199 served"))
    #expect(text.contains("request 0 served"))
  }

  @Test func concatenatedStreamsAreAllRead() async throws {
    let f = try IngestFixture()
    defer { f.remove() }
    try f.dir.write("a", "2026-03-09T02:00:00Z INFO first part\n")
    try f.dir.write("b", "2026-03-09T02:00:01Z INFO second part\n")
    #expect(try shell("(xz -c a; xz -c b) > x.log.xz && (bzip2 -c a; bzip2 -c b) > y.log.bz2", in: f.dir.url) == 0)
    let summary = try await f.ingest(["x.log.xz", "y.log.bz2"])
    #expect(summary.files.count == 2)
    for file in summary.files {
      let text = try Corpus(workspace: f.workspace).sections(
        ofDocument: file.documentHash, displayPath: file.displayPath
      )
      .map(\.text).joined()
      #expect(text.contains("first part") && text.contains("second part"), "\(file.displayPath): \(text)")
    }
  }

  @Test(arguments: [
    ("broken.log.gz", "gzip -c", "Cannot decompress"),
    ("broken.log.xz", "xz -c", "xz: compressed data is corrupt"),
    ("broken.log.bz2", "bzip2 -c", "bzip2: "),
    ("archive.gz", "gzip -c", "Cannot decompress"),
  ])
  func aCorruptCompressedFileFailsWithTheDecodersMessage(name: String, tool: String, message: String) async throws {
    let f = try IngestFixture()
    defer { f.remove() }
    try compressed(f, name, tool)
    // Flip bytes in the middle of the compressed data.
    let url = f.dir.url.appendingPathComponent(name)
    var bytes = try Data(contentsOf: url)
    for i in stride(from: 20, to: bytes.count - 12, by: 7) { bytes[i] ^= 0x55 }
    try bytes.write(to: url)
    let summary = try await f.ingest([name])
    #expect(summary.failed == 1, "\(summary.exceptions)")
    let reason = summary.exceptions.first?.reason ?? ""
    #expect(reason.contains(message), "\(reason)")
    #expect(reason.contains(name))
  }

  @Test func aGzippedPDFIsIngestedAsThePDF() async throws {
    let f = try IngestFixture()
    defer { f.remove() }
    let pdf = try f.copySample("pdfs/memo.pdf", as: "manual.pdf")
    #expect(
      try shell("gzip -c manual.pdf > manual.pdf.gz && gzip -c manual.pdf > blob.gz && rm manual.pdf", in: f.dir.url)
        == 0)
    _ = pdf
    let summary = try await f.ingest(["manual.pdf.gz", "blob.gz"])
    #expect(summary.failed == 0 && summary.skipped == 0, "\(summary.exceptions)")
    #expect(summary.pages > 0)
    let file = try #require(summary.files.first { $0.displayPath == "manual.pdf.gz" })
    let sections = try Corpus(workspace: f.workspace).sections(
      ofDocument: file.documentHash, displayPath: file.displayPath)
    #expect(sections.first?.locator.description.hasPrefix("manual.pdf.gz#page=1") == true)
  }

  /// A compressed tarball is an archive (libarchive), not a compressed binary: its members are read.
  @Test func aCompressedTarballIsReadAsAnArchive() async throws {
    let f = try IngestFixture()
    defer { f.remove() }
    try f.dir.write("d/x.txt", "x\n")
    #expect(try shell("tar -czf d.tar.gz d && rm -r d", in: f.dir.url) == 0)
    let summary = try await f.ingest(["d.tar.gz"])
    #expect(summary.skipped == 0 && summary.failed == 0)
    #expect(summary.files.map(\.displayPath) == ["d.tar.gz", "d.tar.gz#member=d/x.txt"])
  }
}

/// A file detected as another kind than before is extracted again, though its bytes did not change.
@Suite struct KindChangeTests {
  @Test func aFileReadAsTextThenDetectedAsAMailboxIsExtractedAgain() async throws {
    let f = try IngestFixture()
    defer { f.remove() }
    try f.dir.write(
      "export.mbox.txt",
      "From a@example.org Mon Jan  1 00:00:00 2026\nFrom: a@example.org\nSubject: one\n\nfirst\n\n"
        + "From b@example.org Mon Jan  1 00:00:01 2026\nFrom: b@example.org\nSubject: two\n\nsecond\n")
    var forced = IngestOptions(kind: .text, base: f.dir.url, concurrency: 1)
    forced.kind = .text
    let first = try await f.ingestor.ingest(inputs: ["export.mbox.txt"], options: forced)
    #expect(first.new == 1)
    let second = try await f.ingest(["export.mbox.txt"])
    #expect(second.failed == 0, "\(second)")
    let hash = try #require(second.files.first?.documentHash)
    let kind = try await f.workspace.db.read { db in
      try String.fetchOne(db, sql: "SELECT kind FROM document WHERE hash = ?", arguments: [hash])
    }
    #expect(kind == "email")
  }
}
