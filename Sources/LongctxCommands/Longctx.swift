import ArgumentParser
import Foundation
import Inference
import Ingest
import LlamaBackend
import Pipeline
import Segmenter
import Storage

/// The root command.
public struct Longctx: AsyncParsableCommand {
  public static let configuration = CommandConfiguration(
    commandName: "longctx",
    abstract: "Long-context document batch processing: ingest, plan, map/reduce with an LLM, report.",
    discussion: """
      Exit codes: 0 success; 1 job finished with failed tasks; 2 usage or configuration error; \
      3 another run holds the job's lock; 4 engine or model unavailable; 5 a file or the workspace could not be \
      read or written (disk full, permissions, a damaged workspace); 130 interrupted (run again to resume).
      """,
    version: "0.1.0",
    subcommands: [
      IngestCommand.self, Plan.self, Run.self, Worker.self, Status.self, Report.self, Quote.self, Checkpoints.self,
      ExportBatch.self,
      ImportBatch.self, Templates.self, Produce.self, ExtractPDF.self, Extract.self,
    ])

  public init() {}

  /// Parses, runs, and exits with longctx's documented exit codes.
  public static func entry(arguments: [String]? = nil) async -> Never {
    Foundation.exit(await execute(arguments: arguments))
  }

  /// Parses and runs `arguments` (nil: the process's), printing what the command and its
  /// errors say.
  ///
  /// - Returns: The exit code README documents for the outcome (`ExitCodes`).
  static func execute(arguments: [String]? = nil) async -> Int32 {
    EmbeddingSetup.install()
    do {
      var command = try parseAsRoot(arguments)
      if var async = command as? AsyncParsableCommand {
        try await async.run()
      } else {
        try command.run()
      }
      return 0
    } catch {
      let code = ExitCodes.code(for: error)
      if let message = ExitCodes.message(for: error) {
        printError(message)
      } else {
        // argument-parser's own errors: help, version, usage.
        let text = fullMessage(for: error)
        if !text.isEmpty {
          if code == 0 { print(text) } else { printError(text) }
        }
      }
      return code
    }
  }
}
