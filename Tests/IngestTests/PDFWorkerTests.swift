import Foundation
import Testing
import _LongctxTestSupport

@testable import Ingest

/// The child-process worker, with `/bin/sh` standing in for misbehaving
/// children and the built longctx binary (when present) for the real one.
@Suite struct PDFWorkerTests {
  static let sample = RepositoryPaths.samples.appendingPathComponent("pdfs/memo.pdf").path

  static var longctxBinary: URL? {
    for config in ["debug", "release"] {
      let url = RepositoryPaths.root.appendingPathComponent(".build/\(config)/longctx")
      if FileManager.default.isExecutableFile(atPath: url.path) { return url }
    }
    return nil
  }

  func shWorker(_ script: String, timeLimit: Double = 10) -> PDFWorker {
    PDFWorker(executable: URL(fileURLWithPath: "/bin/sh"), arguments: ["-c", script, "sh"], timeLimit: timeLimit)
  }

  @Test func hangIsKilledAfterTheTimeLimit() throws {
    let start = Date()
    #expect(throws: IngestError.pdfWorkerFailed(path: Self.sample, reason: "timed out after 1 s")) {
      try shWorker("exec sleep 30", timeLimit: 1).extract(path: Self.sample, displayPath: "memo.pdf", password: nil)
    }
    #expect(Date().timeIntervalSince(start) < 10)
  }

  @Test func crashIsReported() throws {
    do {
      _ = try shWorker("kill -SEGV $$").extract(path: Self.sample, displayPath: "memo.pdf", password: nil)
      Issue.record("a crashed worker gave a document")
    } catch let IngestError.pdfWorkerFailed(_, reason) {
      #expect(reason.hasPrefix("crashed with signal 11"))
    }
  }

  @Test func garbageOutputIsReported() throws {
    do {
      _ = try shWorker("echo nonsense; echo 'it broke' >&2; exit 3").extract(
        path: Self.sample, displayPath: "memo.pdf", password: nil)
      Issue.record("a garbage reply gave a document")
    } catch let IngestError.pdfWorkerFailed(_, reason) {
      #expect(reason == "exited with status 3 without a result: it broke")
    }
  }

  @Test func childReplyRoundTrips() throws {
    let data = PDFWorkerReply.extractInChild(path: Self.sample, displayPath: "memo.pdf", password: nil, memoryLimit: 0)
    let reply = try JSONDecoder().decode(PDFWorkerReply.self, from: data)
    #expect(reply.document?.sections.first?.locator.description == "memo.pdf#page=1")
  }

  @Test func realWorkerExtractsAndBatchSurvivesABadFile() async throws {
    guard let binary = Self.longctxBinary, have("qpdf") else { return }
    let f = try IngestFixture()
    defer { f.remove() }
    try f.copySample("pdfs/memo.pdf", as: "in/memo.pdf")
    try f.copySample("pdfs/contract.pdf", as: "in/contract.pdf")
    try f.dir.write("in/broken.pdf", "%PDF-1.7\ngarbage\n")
    let secret = f.dir.url.appendingPathComponent("in/secret.pdf").path
    try #require(try shell("qpdf --encrypt pw owner 256 -- '\(Self.sample)' '\(secret)'") == 0)
    // A different page count makes secret.pdf's text differ from memo.pdf's.
    let worker = PDFWorker(executable: binary, timeLimit: 60, memoryLimit: 2 << 30)

    let without = try await f.ingest(["in"], worker: worker)
    let reasons = Dictionary(uniqueKeysWithValues: without.exceptions.map { ($0.path, $0.reason) })
    #expect(reasons["in/secret.pdf"] == IngestError.pdfEncrypted(path: "in/secret.pdf").errorDescription)
    #expect(!secret.isEmpty)
    #expect(reasons["in/broken.pdf"] == "Poppler cannot read in/broken.pdf: PDF document is damaged.")
    #expect(without.files.count == 2)
    #expect(without.pages == 5)

    let with = try await f.ingest(["in"], password: "pw", worker: worker)
    let file = try #require(with.files.first { $0.displayPath == "in/secret.pdf" })
    let sections = try Corpus(workspace: f.workspace).sections(ofDocument: file.documentHash, displayPath: "in/secret.pdf")
    #expect(sections.first?.text.contains("Memorandum") == true)
    #expect(sections.first?.locator.description == "in/secret.pdf#page=1")
  }
}
