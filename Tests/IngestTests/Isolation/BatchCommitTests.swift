import Foundation
import GRDB
import Storage
import Testing
import _LongctxTestSupport

@testable import Ingest

/// Documents of many files stored together (one batched sync of their blobs, then one
/// transaction of their rows): a crash between the two loses the batch, never leaves a row
/// naming a missing blob, and the next ingest stores every file exactly once.
@Suite struct BatchCommitTests {
  /// Text notes, an exact duplicate, a mailbox with an attachment (a family in the batch)
  /// and the file the fault names, all small: they share the workers' batches.
  static func writeInputs(_ f: IngestFixture) throws {
    for i in 0..<24 { try f.dir.write("in/note-\(String(format: "%02d", i)).txt", "note \(i) of the matter\n") }
    try f.dir.write("in/note-copy.txt", "note 3 of the matter\n")
    try f.dir.write("in/commitboom.txt", "the file whose batch dies while it is stored\n")
    let mbox =
      "From maria@harbor.example Mon Mar  9 08:00:00 2026\n"
      + EmailAttachmentTests.message(
        id: "b1@harbor.example", subject: "Memo",
        attachments: [("actions.txt", "text/plain", Data("Sign the amendment by Friday.\n".utf8))])
    try f.dir.write("in/box.mbox", mbox)
  }

  /// Every row names what exists: sources their documents, documents their blobs, families their members.
  static func checkIntegrity(_ f: IngestFixture) throws {
    let (sources, documents, links) = try f.workspace.db.read { db in
      (
        try String.fetchAll(db, sql: "SELECT contentHash FROM source WHERE status = 'ok'"),
        try Row.fetchAll(db, sql: "SELECT hash, sectionsBlob FROM document"),
        try String.fetchAll(db, sql: "SELECT documentHash FROM email_attachment")
      )
    }
    let hashes = Set(documents.map { $0["hash"] as String })
    for hash in sources { #expect(hashes.contains(hash), "a source names a missing document") }
    for hash in links { #expect(hashes.contains(hash), "a family names a missing document") }
    for row in documents {
      let blob: String = row["sectionsBlob"]
      #expect((try? f.workspace.blobs.get(blob)) != nil, "document \(row["hash"] as String) names a missing blob")
    }
  }

  @Test func aChildKilledWhileStoringABatchLosesItAndTheNextIngestStoresEachFileOnce() async throws {
    guard let binary = CLI.binary else {
      print("skipped: no built longctx binary under .build")
      return
    }
    let f = try IngestFixture()
    defer { f.remove() }
    try Self.writeInputs(f)
    var faulty = ExtractionWorker(executable: binary, timeLimit: 60, memoryLimit: 2 << 30)
    faulty.environment = ["LONGCTX_FAULT_INJECTION": "commit-crash=commitboom"]

    // The batch holding commitboom dies after its blobs are durable and before its rows
    // are written, twice (the second child gets it again): its files fail, the rest stand.
    let first = try await f.ingest(["in"], worker: faulty)
    #expect(first.seen == 27)
    let failed = first.exceptions.filter { $0.severity == .failed }
    #expect(failed.contains { $0.path == "in/commitboom.txt" }, "\(failed)")
    #expect(first.failed == failed.count && first.failed < 27)
    for e in failed {
      #expect(e.reason.hasPrefix("extractor crashed on this file: signal"), "\(e.reason)")
      #expect(e.reason.hasSuffix("while storing its document"), "\(e.reason)")
    }
    try Self.checkIntegrity(f)
    let stored = try await f.workspace.db.read { db in
      try String.fetchAll(db, sql: "SELECT displayPath FROM source WHERE status = 'ok'")
    }
    #expect(Set(stored) == Set(first.files.map(\.displayPath)).filter { !$0.contains("#") })
    #expect(stored.count == 27 - first.failed)

    // Without the fault: only the failed files are read again, and every document is there once.
    let second = try await f.ingest(["in"], worker: ExtractionWorker(executable: binary, timeLimit: 60))
    #expect(second.failed == 0, "\(second.exceptions)")
    #expect(second.new + second.changed == first.failed)
    #expect(second.unchanged == 27 - first.failed)
    try Self.checkIntegrity(f)
    // 24 notes (the copy is note 3's document), commitboom, the mailbox and its attachment.
    #expect(try f.documentCount() == 27)
    let corpus = try Corpus(workspace: f.workspace)
    let boom = try #require(second.files.first { $0.displayPath == "in/commitboom.txt" })
    #expect(
      try corpus.sections(ofDocument: boom.documentHash, displayPath: boom.displayPath).map(\.text)
        == ["the file whose batch dies while it is stored"])
    let copy = try #require(second.files.first { $0.displayPath == "in/note-copy.txt" })
    #expect(copy.documentHash == second.files.first { $0.displayPath == "in/note-03.txt" }?.documentHash)
    #expect(second.files.contains { $0.displayPath == "in/box.mbox#msg=b1@harbor.example/attachment=actions.txt" })

    let third = try await f.ingest(["in"], worker: ExtractionWorker(executable: binary, timeLimit: 60))
    #expect(third.unchanged == 27 && third.new == 0 && third.failed == 0)
  }

  /// In process, a lane's files share one batch too: each document once, duplicates linked.
  @Test func inProcessLanesStoreTheirBatchesWhole() async throws {
    let f = try IngestFixture()
    defer { f.remove() }
    try Self.writeInputs(f)
    let summary = try await f.ingest(["in"])
    #expect(summary.failed == 0 && summary.new == 27, "\(summary.exceptions)")
    #expect(try f.documentCount() == 27)
    try Self.checkIntegrity(f)
    // Nothing is left half-written in the blob store.
    let leftovers =
      (FileManager.default.enumerator(atPath: f.workspace.blobs.directory.path)?.allObjects
      as? [String] ?? []).filter { $0.hasSuffix(".tmp") }
    #expect(leftovers.isEmpty)
  }
}
