import ArgumentParser
import Foundation
import Inference
import Ingest
import LlamaBackend
import Segmenter
import Storage
import Testing
import _LongctxTestSupport

@testable import HTTPBackend
@testable import LongctxCommands
@testable import Pipeline

/// Parsing and exit codes in process, through `Longctx.parseAsRoot` and
/// `Longctx.execute`: every error type ends with the code README documents.
@Suite struct ExitCodeTests {
  /// The code parsing `arguments` ends with: 0 when they parse (or ask for help), else the error's.
  static func parseCode(_ arguments: [String]) -> Int32 {
    do {
      _ = try Longctx.parseAsRoot(arguments)
      return 0
    } catch {
      return ExitCodes.code(for: error)
    }
  }

  static let commandLines: [([String], Int32)] = [
    (["run"], 2),  // a missing argument
    (["frobnicate"], 2),  // an unknown subcommand
    (["run", "job.yaml", "--concurrency", "many"], 2),  // a value of the wrong type
    (["run", "job.yaml", "--concurrency", "0"], 2),  // validate()
    (["quote"], 2),  // validate(): no locator
    (["quote", "app.log#L1", "--context", "-1"], 2),
    (["status", "--log-level", "loud"], 2),
    (["--help"], 0),
    (["run", "--help"], 0),
    (["--version"], 0),
    (["run", "job.yaml", "--json", "--concurrency", "2"], 0),
    (["quote", "[app.log#L2-L4]", "memo.pdf#page=1"], 0),
  ]

  @Test(arguments: commandLines)
  func argumentsParseOrExitWithTheirCode(_ arguments: [String], _ expected: Int32) {
    #expect(Self.parseCode(arguments) == expected, "\(arguments)")
  }

  @Test func parsedCommandsCarryTheirArguments() throws {
    let run = try #require(
      try Longctx.parseAsRoot(["run", "job.yaml", "--json", "--concurrency", "2"]) as? Longctx.Run)
    #expect(run.job == "job.yaml" && run.json && run.concurrency == 2)
    let quote = try #require(try Longctx.parseAsRoot(["quote", "a.log#L1", "--context", "3"]) as? Longctx.Quote)
    #expect(quote.locators == ["a.log#L1"] && quote.context == 3)
  }

  /// One example of every error type a command can end with, and its documented code.
  static let errors: [(any Error, Int32)] = [
    (CommandFailure(code: 1, message: nil), 1),
    (ExitCode(ExitCodes.failedTasks), 1),
    (PipelineError.noInputs(job: "j"), 2),
    (IngestError.pathNotFound("x"), 2),
    (SegmenterError.budgetTooSmall(budget: 3), 2),
    (SourceLookup.Missing.noDocument(path: "x"), 2),
    (OCRError.unavailable(reason: "no eng.traineddata"), 2),
    (OCRError.imageUnreadable(path: "x.png", reason: "truncated"), 2),
    (CheckpointError.stateTooLarge(bytes: 10, limit: 5), 2),
    (WorkspaceError.cannotCreate(path: "/x", reason: "read-only"), 2),
    (WorkspaceError.locked(path: "l", holder: "pid 1"), 3),
    (EngineError.unavailable("no model"), 4),
    (EngineError.permanent("bad"), 4),
    (LlamaBackendError.modelMissing(path: "m.gguf"), 4),
    (TransportError(message: "Couldn't connect to server", timedOut: false, cancelled: false), 4),
    (CheckpointError.writeFailed(path: "kv/x", reason: "No space left on device"), 5),
    (CheckpointCorruption.truncated, 5),
    (WorkspaceError.blobCorrupt(hash: "ab"), 5),
    (WorkspaceError.blobMissing(hash: "ab"), 5),
    (ProductionImageError(bates: "ACME-00000001", reason: "out of memory"), 5),
    (CocoaError(.fileWriteOutOfSpace), 5),
    (CocoaError(.fileWriteNoPermission), 5),
    (CocoaError(.fileReadNoSuchFile), 2),
    (POSIXError(.EIO), 5),
    (BudgetReached(job: "j", limit: "$40.0000", spent: "$39.9000", inFlight: 1), 6),
    (EngineError.interrupted, 130),
  ]

  @Test func everyErrorTypeHasItsDocumentedCode() {
    for (error, code) in Self.errors {
      #expect(ExitCodes.code(for: error) == code, "\(error)")
      // Each says what happened in one line of its own (argument-parser's errors print usage instead).
      if code != 1 { #expect(ExitCodes.message(for: error)?.hasPrefix("longctx: ") == true, "\(error)") }
    }
  }

  /// README's table lists exactly the codes longctx exits with.
  @Test func readmeDocumentsEveryCode() throws {
    let readme = try String(
      contentsOf: RepositoryPaths.root.appendingPathComponent("README.md"), encoding: .utf8)
    let table = try #require(readme.components(separatedBy: "## Exit codes").dropFirst().first)
    let rows = table.split(separator: "\n").prefix { !$0.hasPrefix("## ") }
    let documented = Set(
      rows.compactMap { row -> Int32? in
        guard row.hasPrefix("| ") else { return nil }
        return Int32(row.dropFirst(2).prefix { $0.isNumber })
      })
    let used: Set<Int32> = [
      0, ExitCodes.failedTasks, ExitCodes.usage, ExitCodes.locked, ExitCodes.engineUnavailable, ExitCodes.storage,
      ExitCodes.budgetReached, ExitCodes.interrupted,
    ]
    #expect(documented == used)
    #expect(Set(Self.errors.map(\.1)).isSubset(of: used))
  }

  // MARK: - Commands run in process

  @Test func aDamagedWorkspaceDatabaseExitsWith5() async throws {
    let tmp = try TemporaryDirectory()
    defer { tmp.remove() }
    try tmp.write("ws/state.sqlite", String(repeating: "not a database ", count: 512))
    let code = await Longctx.execute(arguments: ["status", "--workspace", tmp.url.appendingPathComponent("ws").path])
    #expect(code == ExitCodes.storage)
  }

  @Test func aLocatorNamingNoDocumentExitsWith2() async throws {
    let tmp = try TemporaryDirectory()
    defer { tmp.remove() }
    let ws = tmp.url.appendingPathComponent("ws").path
    #expect(await Longctx.execute(arguments: ["quote", "missing.log#L1-L2", "--workspace", ws]) == ExitCodes.usage)
    #expect(await Longctx.execute(arguments: ["status", "nojob", "--workspace", ws]) == ExitCodes.usage)
    #expect(await Longctx.execute(arguments: ["run", tmp.url.appendingPathComponent("none.yaml").path]) == 2)
  }
}
