import Foundation
import Testing
import _LongctxTestSupport

@testable import Ingest

/// Ingest through the real isolated worker (`longctx _extract --serve`, the
/// built binary): what a child extracts is what the in-process extractor
/// gives, errors keep their messages, and the password reaches the child.
/// Traps, hangs and runaway allocations: `IsolationTests` (LongctxTests).
@Suite struct ExtractionWorkerTests {
  @Test func isolatedPDFsMatchInProcessExtractionAndABadFileIsOneFailure() async throws {
    guard let binary = CLI.binary else {
      print("skipped: no built longctx binary under .build")
      return
    }
    guard have("qpdf") else {
      print("skipped: qpdf is not installed")
      return
    }
    let f = try IngestFixture()
    defer { f.remove() }
    try f.copySample("pdfs/memo.pdf", as: "in/memo.pdf")
    try f.copySample("pdfs/contract.pdf", as: "in/contract.pdf")
    try f.dir.write("in/broken.pdf", "%PDF-1.7\ngarbage\n")
    let memo = RepositoryPaths.samples.appendingPathComponent("pdfs/memo.pdf").path
    let secret = f.dir.url.appendingPathComponent("in/secret.pdf").path
    try #require(try shell("qpdf --encrypt pw owner 256 -- '\(memo)' '\(secret)'") == 0)
    let worker = ExtractionWorker(executable: binary, timeLimit: 60, memoryLimit: 2 << 30)

    let without = try await f.ingest(["in"], worker: worker)
    let reasons = Dictionary(uniqueKeysWithValues: without.exceptions.map { ($0.path, $0.reason) })
    #expect(reasons["in/secret.pdf"] == IngestError.pdfEncrypted(path: "in/secret.pdf").errorDescription)
    #expect(reasons["in/broken.pdf"] == "Poppler cannot read in/broken.pdf: PDF document is damaged.")
    #expect(without.files.count == 2)
    #expect(without.pages == 5)
    for name in ["memo.pdf", "contract.pdf"] {
      let file = try #require(without.files.first { $0.displayPath == "in/\(name)" })
      let isolated = try Corpus(workspace: f.workspace).sections(
        ofDocument: file.documentHash, displayPath: file.displayPath)
      let direct = try PDFExtractor().extract(
        path: RepositoryPaths.samples.appendingPathComponent("pdfs/\(name)").path, displayPath: file.displayPath)
      #expect(isolated.map(\.text) == direct.sections.map(\.text), "\(name)")
      #expect(isolated.map(\.locator) == direct.sections.map(\.locator), "\(name)")
    }

    let with = try await f.ingest(["in"], password: "pw", worker: worker)
    let file = try #require(with.files.first { $0.displayPath == "in/secret.pdf" })
    let sections = try Corpus(workspace: f.workspace).sections(
      ofDocument: file.documentHash, displayPath: "in/secret.pdf")
    #expect(sections.first?.text.contains("Memorandum") == true)
    #expect(sections.first?.locator.description == "in/secret.pdf#page=1")
  }

  /// A production's page images made by a child are the bytes `PageImages.pdf` makes in
  /// process; a worker that cannot start answers every job at once as unavailable (so the
  /// caller can render itself), without trying to start a child per job.
  @Test func pageImagesInAChildAreTheInProcessOnes() throws {
    guard let binary = CLI.binary else {
      print("skipped: no built longctx binary under .build")
      return
    }
    let f = try IngestFixture()
    defer { f.remove() }
    let memo = RepositoryPaths.samples.appendingPathComponent("pdfs/memo.pdf").path
    let contract = RepositoryPaths.samples.appendingPathComponent("pdfs/contract.pdf").path
    let out = f.dir.url.appendingPathComponent("images")
    try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
    let jobs = [
      ExtractionWorker.PageJob(path: memo, stamps: ["M1", "M2"]),
      ExtractionWorker.PageJob(path: contract, stamps: ["C1", "C2", "C3"]),
    ]
    let worker = ExtractionWorker(executable: binary, timeLimit: 60, memoryLimit: 2 << 30)
    let results = worker.renderPages(jobs, into: out, workspaceRoot: f.workspace.root, lanes: 2)
    #expect(results.count == 2)
    for (job, result) in zip(jobs, results) {
      let failures = try result.get()
      guard let local = PageImages.pdf(path: job.path, stamps: job.stamps) else {
        Issue.record("no images in process for \(job.path)")
        continue
      }
      #expect(failures == local.map(\.failure), "\(job.path)")
      for (stamp, page) in zip(job.stamps, local) {
        #expect(
          FileManager.default.contents(atPath: out.appendingPathComponent("\(stamp).tif").path) == page.tiff, "\(stamp)"
        )
      }
    }

    let missing = ExtractionWorker(executable: URL(fileURLWithPath: "/nonexistent/longctx"), timeLimit: 60)
    let clock = ContinuousClock.now
    let none = missing.renderPages(jobs + jobs + jobs, into: out, workspaceRoot: f.workspace.root, lanes: 1)
    #expect(none.count == 6)
    for result in none {
      guard case .failure(let failure) = result else {
        Issue.record("a job rendered without a worker")
        continue
      }
      #expect(failure.workerUnavailable && !failure.reason.isEmpty, "\(failure.reason)")
    }
    #expect(ContinuousClock.now - clock < .seconds(30))
  }
}
