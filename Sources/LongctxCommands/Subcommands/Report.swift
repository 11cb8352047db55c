import ArgumentParser
import Foundation
import Ingest
import Pipeline

extension Longctx {
  /// `longctx report JOB` and `longctx report exceptions`
  struct Report: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Print a job's report (Markdown, or JSON), or `report exceptions` for ingest failures and skips.")

    @OptionGroup(title: "Global Options") var global: GlobalOptions

    @Argument(help: ArgumentHelp("A job name or job file, or `exceptions`.", valueName: "job"))
    var job: String

    @Flag(help: "Print JSON instead of Markdown.") var json = false

    func run() async throws {
      let workspace = try global.openWorkspace()
      if job == "exceptions" {
        let list = try Corpus(workspace: workspace).exceptions()
        if json { print(try jsonString(list)); return }
        if list.isEmpty { print("no ingest exceptions") }
        for e in list { print("\(e.severity): \(e.path): \(e.reason)") }
        return
      }
      let spec = job.hasSuffix(".yaml") || job.hasSuffix(".yml") ? try JobFile.load(path: job) : nil
      let name = spec?.name ?? job
      if json {
        let tasks = try TaskStore(workspace: workspace).currentTasks(job: name)
        guard !tasks.isEmpty else { throw PipelineError.unknownJob(name) }
        struct Out: Encodable {
          var job: String; var final: String?; var tasks: [T]
          struct T: Encodable {
            var kind: String; var level: Int; var ordinal: Int; var state: String; var output: String?
            var sources: [String]; var promptTokens: Int?; var outputTokens: Int?; var durationMs: Double?; var error: String?
          }
        }
        let top = tasks.filter { $0.state == .done }.max { ($0.level, -$0.ordinal) < ($1.level, -$1.ordinal) }
        print(try jsonString(Out(job: name, final: top?.output, tasks: tasks.map {
          .init(kind: $0.kind, level: $0.level, ordinal: $0.ordinal, state: $0.state.rawValue, output: $0.output,
                sources: $0.locatorList, promptTokens: $0.promptTokens, outputTokens: $0.outputTokens,
                durationMs: $0.durationMs, error: $0.error)
        })))
        return
      }
      print(try ReportWriter(workspace: workspace).markdown(job: name, prices: spec?.prices), terminator: "")
    }
  }
}
