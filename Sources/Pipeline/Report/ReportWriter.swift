import Foundation
import Ingest
import Workspace

/// Writes a job's report from its stored tasks: the final answer first, then
/// each window's output, every statement followed by the locators it covers.
public struct ReportWriter: Sendable {
  let workspace: Workspace

  public init(workspace: Workspace) { self.workspace = workspace }

  /// The final answer among a job's current tasks: the top of the reduce tree, else of a
  /// per-document reduce, else a map task (a rolling summary of an incremental job is
  /// reported on its own). The Markdown and JSON reports both use it.
  public static func finalTask(in tasks: [TaskRecord]) -> TaskRecord? {
    func rank(_ kind: TaskKind) -> Int? {
      switch kind {
      case .map: 0
      case .document: 1
      case .reduce: 2
      case .rolling: nil
      }
    }
    return tasks.filter { $0.state == .done && rank($0.kind) != nil }.max {
      (rank($0.kind) ?? 0, $0.level, -$0.ordinal) < (rank($1.kind) ?? 0, $1.level, -$1.ordinal)
    }
  }

  /// The report as JSON: the final answer (as in the Markdown report) and every current task.
  public struct JSONReport: Encodable, Sendable {
    public var job: String
    public var final: String?
    public var tasks: [Task]

    public struct Task: Encodable, Sendable {
      var kind: TaskKind
      var level: Int
      var ordinal: Int
      var state: TaskRecord.State
      var output: String?
      var sources: [String]
      var promptTokens: Int?
      var outputTokens: Int?
      var durationMs: Double?
      var error: String?
    }
  }

  /// The JSON form of the report of `job`.
  ///
  /// - Throws: `PipelineError.unknownJob` when the job has no tasks.
  public func json(job: String) throws -> JSONReport {
    let tasks = try TaskStore(workspace: workspace).currentTasks(job: job)
    guard !tasks.isEmpty else { throw PipelineError.unknownJob(job) }
    return JSONReport(
      job: job, final: Self.finalTask(in: tasks)?.output,
      tasks: tasks.map {
        .init(
          kind: $0.kind, level: $0.level, ordinal: $0.ordinal, state: $0.state, output: $0.output,
          sources: $0.locatorList, promptTokens: $0.promptTokens, outputTokens: $0.outputTokens,
          durationMs: $0.durationMs, error: $0.error)
      })
  }

  /// The report as Markdown.
  public func markdown(job: String, prices: JobSpec.Prices? = nil) throws -> String {
    let tasks = try TaskStore(workspace: workspace).currentTasks(job: job)
    guard !tasks.isEmpty else { throw PipelineError.unknownJob(job) }
    let maps = tasks.filter { $0.kind == .map }
    let top = Self.finalTask(in: tasks)
    let failed = tasks.filter { $0.state == .failed }
    var md = "# Report: \(job)\n\n"
    let prompt = tasks.compactMap(\.promptTokens).reduce(0, +)
    let output = tasks.compactMap(\.outputTokens).reduce(0, +)
    let seconds = tasks.compactMap(\.durationMs).reduce(0, +) / 1000
    let model = tasks.compactMap(\.model).first ?? "unknown"
    md +=
      "\(maps.count) windows, \(tasks.count) tasks (\(failed.count) failed); \(prompt) prompt and \(output) output tokens in \(String(format: "%.1f", seconds)) s of engine time; model `\(model)`.\n\n"
    md += "## Summary\n\n"
    if let top, maps.count > 1 || top.kind == .map {
      md += statement(top)
    } else {
      md += "_No summary: no task finished._\n\n"
    }
    md += "## Windows\n\n"
    for task in maps {
      md += "### Window \(task.ordinal + 1)\n\n"
      switch task.state {
      case .done: md += statement(task)
      case .failed:
        md += "_Failed after \(task.attempts) attempts: \(task.error ?? "unknown error")_\n\n"
        md += Self.rawOutput(task)
      case .pending, .leased: md += "_Not run yet._\n\n"
      }
    }
    let documents = tasks.filter { $0.kind == .document }
    if let last = documents.map(\.level).max() {
      // Per-document answers: each document's highest per-document reduce.
      md += "## Documents\n\n"
      var shown = Set<String>()
      for task in documents.sorted(by: { ($0.level, $0.ordinal) > ($1.level, $1.ordinal) }) where task.state == .done {
        if shown.insert(DocumentReduce.document(of: task)).inserted {
          md += "### \(DocumentReduce.document(of: task)) (level \(task.level) of \(last))\n\n" + statement(task)
        }
      }
    }
    if !failed.isEmpty {
      md += "## Failed tasks\n\n"
      for t in failed { md += "- \(t.kind) \(t.level).\(t.ordinal + 1): \(t.error ?? "unknown error")\n" }
      md += "\n"
      for t in failed where t.kind != .map && t.output != nil {
        md += "Raw output of reduce \(t.level).\(t.ordinal + 1):\n\n" + Self.rawOutput(t)
      }
    }
    md +=
      "## Tasks\n\n| task | state | attempts | prompt tokens | output tokens | seconds |\n|---|---|---|---|---|---|\n"
    for t in tasks {
      let name = t.kind == .map ? "map \(t.ordinal + 1)" : "\(t.kind) \(t.level).\(t.ordinal + 1)"
      md +=
        "| \(name) | \(t.state.rawValue) | \(t.attempts) | \(t.promptTokens.map(String.init) ?? "—") | \(t.outputTokens.map(String.init) ?? "—") | \(t.durationMs.map { String(format: "%.1f", $0 / 1000) } ?? "—") |\n"
    }
    md += "\n"
    if let prices {
      let cost = Double(prompt) / 1e6 * prices.promptPerMillion + Double(output) / 1e6 * prices.outputPerMillion
      md += String(
        format: "Cost estimate: %.4f %@ (%d prompt tokens at %.2f, %d output tokens at %.2f per million).\n",
        cost, prices.currency, prompt, prices.promptPerMillion, output, prices.outputPerMillion)
    }
    return md
  }

  /// Writes the Markdown report where the job says (default `reports/JOB.md` beside the job file).
  ///
  /// - Returns: The report's path.
  public func write(job spec: JobSpec) throws -> String {
    let rel = spec.reportFile
    let url =
      (rel.hasPrefix("/")
      ? URL(fileURLWithPath: rel) : URL(fileURLWithPath: spec.baseDirectory).appendingPathComponent(rel))
      .standardizedFileURL
    try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
    try AtomicFile.write(Data(try markdown(job: spec.name, prices: spec.prices).utf8), to: url)
    return url.path
  }

  /// The rejected text of a failed task (invalid structured output), fenced.
  private static func rawOutput(_ task: TaskRecord) -> String {
    guard let text = task.output, !text.isEmpty else { return "" }
    var fence = "```"
    while text.contains(fence) { fence += "`" }
    return "Raw output (rejected):\n\n\(fence)\n\(text)\n\(fence)\n\n"
  }

  /// A task's output followed by its citations; a citation the model wrote
  /// that its inputs do not cover is marked unverified.
  func statement(_ task: TaskRecord) -> String {
    let text = (task.output ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
    let covered = task.locatorList.compactMap { Locator(citation: $0[...]) }
    let unverified = Citations.mentioned(in: text).filter { !Citations.isCovered($0, by: covered) }
    var out = (text.isEmpty ? "_(empty output)_" : text) + "\n\n"
    out += "Sources: " + task.locatorList.map { "[\($0)]" }.joined(separator: " ") + "\n\n"
    if !unverified.isEmpty {
      out +=
        "Unverified citations in the text above (not in its sources): "
        + unverified.map { "`\($0)`" }.joined(separator: ", ") + "\n\n"
    }
    return out
  }
}
