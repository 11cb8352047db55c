import Foundation
import Storage
import Synchronization
import Testing
import _LongctxTestSupport

@testable import Ingest

/// The seam a shared workspace extracts through: `Ingestor` hands the files to extract to
/// `IngestOptions.shared` (here one `IsolatedExtraction` lane, as a worker runs), and records
/// what comes back as it records its own children's outcomes.
@Suite struct SharedExtractionTests {
  /// Extracts what it is given in one isolated lane, and remembers what it was given.
  final class OneLane: SharedExtraction, @unchecked Sendable {
    let lane: IsolatedExtraction
    let given = Mutex<[[String]]>([])

    init(_ lane: IsolatedExtraction) { self.lane = lane }

    func extract(_ files: [DiscoveredFile], sizes: [Int], options: IngestOptions) async throws
      -> [String: ExtractionOutcome]
    {
      given.withLock { $0.append(files.map(\.displayPath)) }
      #expect(ExtractionSettings(options) == lane.settings)
      var out: [String: ExtractionOutcome] = [:]
      for (file, size) in zip(files, sizes) {
        out.merge(lane.extract([(file, size)])) { $1 }
      }
      return out
    }
  }

  @Test func ingestHandsOnlyTheFilesToExtractToTheSharedExtractionAndRecordsItsOutcomes() async throws {
    guard let binary = CLI.binary else {
      print("skipped: no built longctx binary under .build")
      return
    }
    let f = try IngestFixture()
    defer { f.remove() }
    for i in 1...5 { try f.dir.write("in/note-\(i).txt", "note \(i): the crane was inspected on day \(i)\n") }
    try f.dir.write("in/boom.txt", "the file that crashes its extractor\n")
    let trace = f.dir.url.appendingPathComponent("trace.log").path
    var worker = ExtractionWorker(executable: binary, timeLimit: 60, memoryLimit: 2 << 30)
    worker.environment = ["LONGCTX_FAULT_INJECTION": "crash=boom;trace=\(trace)"]
    var options = IngestOptions(base: f.dir.url, concurrency: 2)
    let shared = OneLane(
      IsolatedExtraction(worker: worker, workspaceRoot: f.workspace.root, settings: ExtractionSettings(options)))
    defer { shared.lane.stop() }
    options.shared = shared

    let first = try await f.ingestor.ingest(inputs: ["in"], options: options)
    #expect(first.seen == 6)
    #expect(first.new == 5)
    #expect(first.failed == 1)
    #expect(first.exceptions.first { $0.severity == .failed }?.path == "in/boom.txt")
    #expect(try f.documentCount() == 5)
    let note = try #require(first.files.first { $0.displayPath == "in/note-3.txt" })
    #expect(
      try Corpus(workspace: f.workspace).sections(ofDocument: note.documentHash, displayPath: note.displayPath)
        .map(\.text) == ["note 3: the crane was inspected on day 3"])
    // One child served the lane's files until the crash, a second one the rest.
    let pids = try String(contentsOfFile: trace, encoding: .utf8).split(separator: "\n").map {
      $0.split(separator: " ").last.map(String.init) ?? ""
    }
    #expect(pids.count == 6)
    #expect(Set(pids).count == 2, "\(pids)")

    // Unchanged files cost a stat: only the failed one is handed out again.
    let second = try await f.ingestor.ingest(inputs: ["in"], options: options)
    #expect(second.unchanged == 5)
    #expect(
      shared.given.withLock { $0 }.map { $0.sorted() } == [
        ["in/boom.txt", "in/note-1.txt", "in/note-2.txt", "in/note-3.txt", "in/note-4.txt", "in/note-5.txt"],
        ["in/boom.txt"],
      ])
  }
}
