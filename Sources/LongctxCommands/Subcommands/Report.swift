import ArgumentParser
import Foundation
import Ingest
import Pipeline

extension Longctx {
  /// `longctx report JOB`, `longctx report exceptions` and `longctx report duplicates`
  struct Report: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      abstract:
        "Print a job's report (Markdown, or JSON), `report exceptions` for ingest failures and skips, or `report duplicates` for exact and near-duplicate files.")

    @OptionGroup(title: "Global Options") var global: GlobalOptions

    @Argument(help: ArgumentHelp("A job name or job file, `exceptions` or `duplicates`.", valueName: "job"))
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
      if job == "duplicates" {
        let report = try Corpus(workspace: workspace).duplicates()
        if json { print(try jsonString(report)); return }
        if report.exact.isEmpty && report.near.isEmpty { print("no duplicates") }
        for group in report.exact {
          print("exact duplicates (\(group.paths.count) files, stored once):")
          for path in group.paths { print("  \(path)") }
        }
        for group in report.near {
          print("near duplicates (\(group.documents.count) documents):")
          for member in group.documents {
            print("  \(member.paths.joined(separator: ", ")) (\(member.distance) bits apart)")
          }
        }
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
