import ArgumentParser
import Foundation
import HTTPBackend
import Inference
import Pipeline
import Workspace

extension Longctx {
  /// `longctx export-batch JOB.yaml -o tasks.jsonl`
  struct ExportBatch: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "export-batch",
      abstract: "Write a job's pending map tasks as OpenAI Batch API requests (JSONL).",
      discussion: """
        Run the file with `vllm run-batch` or a hosted batch API, then record the results with \
        `longctx import-batch` and finish the reduce with `longctx run`.
        """)

    @OptionGroup(title: "Global Options") var global: GlobalOptions

    @Argument(help: ArgumentHelp("The job file (model.engine must be openai).", valueName: "job.yaml")) var job: String

    @Option(name: .shortAndLong, help: ArgumentHelp("The JSONL file to write.", valueName: "tasks.jsonl"))
    var output: String

    func run() async throws {
      let context = try BatchContext(job: job, global: global, command: "export-batch")
      let export = try await context.runner.exportBatch(format: context.format)
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

/// What export-batch and import-batch share: the job, its batch format and a coordinator that does not generate.
struct BatchContext {
  let format: OpenAIBatchFormat
  let runner: JobRunner
  let lock: FileLock

  init(job: String, global: GlobalOptions, command: String) throws {
    let spec = try JobFile.load(path: job)
    guard spec.model.engine == .openai else {
      throw CommandFailure(
        code: ExitCodes.usage,
        message:
          "longctx: \(command) needs a job with model.engine: openai (with model.name and model.base_url); \(job) uses '\(spec.model.engine.rawValue)'."
      )
    }
    format = OpenAIBatchFormat(options: try OpenAIEngineOptions(settings: spec.model))
    let choice = try EngineSetup.choose(spec, kvDirectory: nil)  // batch commands run no engine
    let workspace = try global.openWorkspace()
    lock = try FileLock(path: workspace.locksDirectory.appendingPathComponent("\(spec.name).lock").path)
    runner = JobRunner(
      workspace: workspace, spec: spec,
      engine: EngineChoice(counter: choice.counter, modelKey: choice.modelKey) {
        throw EngineError.unavailable("\(command) does not generate")
      },
      settings: RunSettings(worker: .thisExecutable()), logger: global.logger("longctx.\(command)"))
  }
}
