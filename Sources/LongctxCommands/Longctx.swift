import ArgumentParser
import Foundation
import Inference
import Ingest
import LlamaBackend
import Pipeline
import Segmenter
import Workspace

/// The root command.
public struct Longctx: AsyncParsableCommand {
  public static let configuration = CommandConfiguration(
    commandName: "longctx",
    abstract: "Long-context document batch processing: ingest, plan, map/reduce with an LLM, report.",
    discussion: """
      Exit codes: 0 success; 1 job finished with failed tasks; 2 usage or configuration error; \
      3 another run holds the job's lock; 4 engine or model unavailable; 130 interrupted (run again to resume).
      """,
    version: "0.1.0",
    subcommands: [
      Ingest.self, Plan.self, Run.self, Status.self, Report.self, Quote.self, Checkpoints.self, ExportBatch.self,
      ImportBatch.self, Templates.self, Produce.self, ExtractPDF.self, Extract.self,
    ])

  public init() {}

  /// Parses, runs, and exits with longctx's documented exit codes.
  public static func entry(arguments: [String]? = nil) async -> Never {
    do {
      var command = try parseAsRoot(arguments)
      if var async = command as? AsyncParsableCommand {
        try await async.run()
      } else {
        try command.run()
      }
      Foundation.exit(0)
    } catch {
      if let message = ExitCodes.message(for: error) { printError(message) }
      let code = ExitCodes.code(for: error)
      if ExitCodes.message(for: error) == nil {
        // argument-parser's own errors: help, version, usage.
        let text = fullMessage(for: error)
        if !text.isEmpty {
          if code == 0 { print(text) } else { printError(text) }
        }
      }
      Foundation.exit(code)
    }
  }
}

/// Maps errors to the exit codes README documents.
enum ExitCodes {
  static let failedTasks: Int32 = 1
  static let usage: Int32 = 2
  static let locked: Int32 = 3
  static let engineUnavailable: Int32 = 4
  static let interrupted: Int32 = 130

  static func code(for error: Error) -> Int32 {
    switch error {
    case let e as CommandFailure: return e.code
    case is PipelineError, is IngestError, is SegmenterError: return usage
    case let e as WorkspaceError:
      if case .locked = e { return locked }
      return usage
    case let e as EngineError:
      if case .interrupted = e { return interrupted }
      return engineUnavailable
    case is LlamaBackendError: return engineUnavailable
    default:
      let parserCode = Longctx.exitCode(for: error).rawValue
      return parserCode == 64 ? usage : parserCode  // EX_USAGE becomes 2, in this one place
    }
  }

  /// Our one-sentence message, or nil for argument-parser's own errors.
  static func message(for error: Error) -> String? {
    switch error {
    case let e as CommandFailure: return e.message
    case is ExitCode, is CleanExit, is ValidationError: return nil
    case let e as LocalizedError: return "longctx: " + (e.errorDescription ?? "\(e)")
    case let e as CocoaError: return "longctx: \(e.localizedDescription)"
    default: return nil
    }
  }
}

/// A failure the command already described, with its exit code.
struct CommandFailure: Error {
  var code: Int32
  var message: String?
}
