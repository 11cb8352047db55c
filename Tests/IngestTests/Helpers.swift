import Foundation
import GRDB
import Logging
import Storage
import _LongctxTestSupport

@testable import Ingest

/// A temp directory with a fresh workspace inside, for one test.
struct IngestFixture {
  let dir: TemporaryDirectory
  let workspace: Workspace

  init() throws {
    dir = try TemporaryDirectory()
    workspace = try Workspace(root: dir.url.appendingPathComponent(".longctx"), schemas: [IngestSchema.self])
  }

  var ingestor: Ingestor { Ingestor(workspace: workspace, logger: Logger(label: "test.ingest")) }

  func ingest(_ inputs: [String], password: String? = nil, worker: ExtractionWorker? = nil) async throws
    -> IngestSummary
  {
    var options = IngestOptions(password: password, base: dir.url, concurrency: 2)
    options.worker = worker
    return try await ingestor.ingest(inputs: inputs, options: options)
  }

  func documentCount() throws -> Int {
    try workspace.db.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM document") ?? 0 }
  }

  func sourceStatus(_ displayPath: String) throws -> String? {
    try workspace.db.read { db in
      try String.fetchOne(db, sql: "SELECT status FROM source WHERE displayPath = ?", arguments: [displayPath])
    }
  }

  /// Copies `Samples/<relative>` into the fixture directory under `name`.
  @discardableResult
  func copySample(_ relative: String, as name: String? = nil) throws -> URL {
    let dest = dir.url.appendingPathComponent(name ?? (relative as NSString).lastPathComponent)
    try FileManager.default.createDirectory(at: dest.deletingLastPathComponent(), withIntermediateDirectories: true)
    try FileManager.default.copyItem(at: RepositoryPaths.samples.appendingPathComponent(relative), to: dest)
    return dest
  }

  func remove() { dir.remove() }
}

/// Runs a shell command line; returns its exit status.
@discardableResult
func shell(_ command: String, in dir: URL? = nil) throws -> Int32 {
  let p = Process()
  p.executableURL = URL(fileURLWithPath: "/bin/sh")
  p.arguments = ["-c", command]
  if let dir { p.currentDirectoryURL = dir }
  p.standardOutput = FileHandle.nullDevice
  p.standardError = FileHandle.nullDevice
  try p.run()
  p.waitUntilExit()
  return p.terminationStatus
}

/// Whether `tool` is on PATH.
func have(_ tool: String) -> Bool { (try? shell("command -v \(tool)")) == 0 }
