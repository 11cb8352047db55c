import ArgumentParser
import Foundation
import HTTPBackend
import Inference
import Pipeline
import Storage

extension Longctx {
  /// `longctx export-batch JOB.yaml -o tasks.jsonl`
  struct ExportBatch: BatchJobCommand {
    static let configuration = CommandConfiguration(
      commandName: "export-batch",
      abstract: "Write a job's pending map tasks as OpenAI Batch API requests (JSONL).",
      discussion: """
        Run the file with `vllm run-batch` or a hosted batch API, then record the results with \
        `longctx import-batch` and finish the reduce with `longctx run`.
        """)

    @OptionGroup(title: "Global Options") var global: GlobalOptions

    @Argument(help: JobReference.help("The job: a job file, or a job's name (model.engine must be openai).")) var job:
      String

    @Option(name: .shortAndLong, help: ArgumentHelp("The JSONL file to write.", valueName: "tasks.jsonl"))
    var output: String

    var jobArgument: String? { job }

    func run(_ opened: JobContext) async throws {
      let export = try await opened.runner().exportBatch(format: try Self.format(opened.spec))
      do { try Data(export.text.utf8).write(to: URL(fileURLWithPath: output), options: .atomic) } catch {
        throw CommandFailure(
          code: ExitCodes.usage, message: "longctx: cannot write \(output): \(error.localizedDescription).")
      }
      if !global.quiet {
        print(
          "wrote \(export.pending) map requests to \(output) (\(export.total - export.pending) of \(export.total) map tasks already done)"
        )
      }
    }
  }
}

/// What export-batch and import-batch share: a job whose engine is a server, and a
/// coordinator that counts as that server does but never generates.
protocol BatchJobCommand: JobCommand {}

extension BatchJobCommand {
  func engine(for spec: JobSpec) throws -> EngineChoice {
    guard spec.model.engine == .openai else {
      throw CommandFailure(
        code: ExitCodes.usage,
        message:
          "longctx: \(Self._commandName) needs a job with model.engine: openai (with model.name and model.base_url); \(jobArgument ?? "the job") uses '\(spec.model.engine.rawValue)'."
      )
    }
    _ = try Self.format(spec)
    // Batch commands run no engine.
    return try EngineSetup.choose(spec, kvDirectory: nil).withoutGeneration("\(Self._commandName) does not generate")
  }

  /// The job's requests as the OpenAI Batch API takes them.
  ///
  /// - Throws: `EngineError.unavailable` when the API key variable the job names is unset.
  static func format(_ spec: JobSpec) throws -> OpenAIBatchFormat {
    OpenAIBatchFormat(options: try OpenAIEngineOptions(settings: spec.model))
  }
}
