import ArgumentParser
import Foundation
import HTTPBackend
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
      let prepared = try await context.runner.prepare()
      let stored = Dictionary(
        uniqueKeysWithValues: try context.store.tasks(job: context.spec.name, kind: "map", level: 0).map { ($0.id, $0.state) })
      let pending = prepared.mapTasks.filter { stored[$0.0.id] != .done }
      var text = ""
      for (task, request) in pending {
        let line: [String: Any] = [
          "custom_id": task.id, "method": "POST", "url": "/v1" + context.options.api.path,
          "body": OpenAIEngine.body(for: request, options: context.options, llamaExtras: false),
        ]
        text += String(decoding: try JSONSerialization.data(withJSONObject: line, options: [.sortedKeys, .withoutEscapingSlashes]), as: UTF8.self)
        text += "\n"
      }
      let url = URL(fileURLWithPath: output)
      do { try Data(text.utf8).write(to: url, options: .atomic) } catch {
        throw CommandFailure(code: ExitCodes.usage, message: "longctx: cannot write \(output): \(error.localizedDescription).")
      }
      if !global.quiet {
        print("wrote \(pending.count) map requests to \(output) (\(prepared.mapTasks.count - pending.count) of \(prepared.mapTasks.count) map tasks already done)")
      }
    }
  }
}

/// What export-batch and import-batch share: the job, its engine options and a runner that does not generate.
struct BatchContext {
  let spec: JobSpec
  let options: OpenAIEngineOptions
  let runner: JobRunner
  let store: TaskStore
  let lock: FileLock

  init(job: String, global: GlobalOptions, command: String) throws {
    spec = try JobFile.load(path: job)
    guard spec.model.engine == "openai" else {
      throw CommandFailure(
        code: ExitCodes.usage,
        message: "longctx: \(command) needs a job with model.engine: openai (with model.name and model.base_url); \(job) uses '\(spec.model.engine)'.")
    }
    options = try OpenAIEngineOptions(spec: spec)
    let setup = try EngineSetup(spec: spec, kvDirectory: nil)  // export runs no engine
    let workspace = try global.openWorkspace()
    lock = try FileLock(path: workspace.locksDirectory.appendingPathComponent("\(spec.name).lock").path)
    store = TaskStore(workspace: workspace)
    runner = JobRunner(
      workspace: workspace, spec: spec, counter: setup.counter, modelKey: setup.modelKey,
      logger: global.logger("longctx.\(command)"),
      engineFactory: { throw EngineError.unavailable("\(command) does not generate") })
  }
}
