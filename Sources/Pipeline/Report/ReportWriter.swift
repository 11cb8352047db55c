import Foundation
import Ingest
import Segmenter
import Storage

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

  /// The report as JSON: the computed facts, the citation counts, the final
  /// answer (as in the Markdown report) and every current task with its checks.
  public struct JSONReport: Encodable, Sendable {
    public var job: String
    public var final: String?
    public var citations: CitationCounts
    public var facts: ComputedFacts
    public var tasks: [Task]
    /// The per-document coding longctx folded from the map answers (`coding:` jobs).
    public var coding: CodingTable?

    public struct Task: Encodable, Sendable {
      public var kind: TaskKind
      public var level: Int
      public var ordinal: Int
      public var state: TaskRecord.State
      public var output: String?
      /// What the task read.
      public var sources: [String]
      /// What its text cites, each with its state.
      public var cited: [CitationCheck]
      public var statements: Int
      public var uncitedStatements: Int
      public var quotes: [QuoteCheck]
      public var promptTokens: Int?
      public var outputTokens: Int?
      public var durationMs: Double?
      public var error: String?
    }
  }

  /// The JSON form of the report of `job`.
  ///
  /// - Throws: `PipelineError.unknownJob` when the job has no tasks.
  public func json(job: String, spec: JobSpec? = nil) throws -> JSONReport {
    json(try ReportData(workspace: workspace, job: job, spec: spec))
  }

  func json(_ data: ReportData) -> JSONReport {
    let job = data.job
    return JSONReport(
      job: job, final: data.top?.output, citations: data.counts, facts: data.facts,
      tasks: data.tasks.map {
        let check = data.checks[$0.id]
        return .init(
          kind: $0.kind, level: $0.level, ordinal: $0.ordinal, state: $0.state, output: $0.output,
          sources: $0.locatorList, cited: check?.citations ?? [], statements: check?.statements ?? 0,
          uncitedStatements: check?.uncitedStatements ?? 0, quotes: check?.quotes ?? [],
          promptTokens: $0.promptTokens, outputTokens: $0.outputTokens, durationMs: $0.durationMs, error: $0.error)
      }, coding: data.coding)
  }

  /// The report as Markdown.
  public func markdown(job: String, prices: JobSpec.Prices? = nil, spec: JobSpec? = nil) throws -> String {
    try markdown(ReportData(workspace: workspace, job: job, spec: spec), prices: prices ?? spec?.prices)
  }

  /// The Markdown report of `data`.
  func markdown(_ data: ReportData, prices: JobSpec.Prices?) -> String {
    let job = data.job
    let tasks = data.tasks
    let maps = tasks.filter { $0.kind == .map }
    let top = data.top
    let failed = tasks.filter { $0.state == .failed }
    var md = "# Report: \(job)\n\n"
    let prompt = tasks.compactMap(\.promptTokens).reduce(0, +)
    let output = tasks.compactMap(\.outputTokens).reduce(0, +)
    let seconds = tasks.compactMap(\.durationMs).reduce(0, +) / 1000
    md +=
      "\(maps.count) windows, \(tasks.count) tasks (\(failed.count) failed); \(prompt) prompt and \(output) output tokens in \(String(format: "%.1f", seconds)) s of engine time; model `\(data.model)`.\n\n"
    md += data.counts.line + "\n\n"
    md += data.facts.markdown
    md += "## Summary\n\n"
    if let top, maps.count > 1 || top.kind == .map {
      md +=
        "_The model's answer, not checked beyond its citations and quotes: the mark after each citation says whether the workspace holds it and the task read it._\n\n"
      md += statement(top, data)
    } else {
      md += "_No summary: no task finished._\n\n"
    }
    if let coding = data.coding { md += coding.markdown }
    md += "## Windows\n\n"
    for task in maps {
      md += "### Window \(task.ordinal + 1)\n\n"
      switch task.state {
      case .done: md += statement(task, data)
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
          md += "### \(DocumentReduce.document(of: task)) (level \(task.level) of \(last))\n\n" + statement(task, data)
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
      "## Tasks\n\n| task | state | attempts | prompt tokens | output tokens | seconds | cited ✓/⚠/✗ | uncited statements |\n|---|---|---|---|---|---|---|---|\n"
    for t in tasks {
      let name = t.kind == .map ? "map \(t.ordinal + 1)" : "\(t.kind) \(t.level).\(t.ordinal + 1)"
      let c = data.checks[t.id]
      let cited = c.map { "\($0.count(.verified))/\($0.count(.outside))/\($0.count(.unknown))" } ?? "—"
      let uncited = c.map { "\($0.uncitedStatements) of \($0.statements)" } ?? "—"
      md +=
        "| \(name) | \(t.state.rawValue) | \(t.attempts) | \(t.promptTokens.map(String.init) ?? "—") | \(t.outputTokens.map(String.init) ?? "—") | \(t.durationMs.map { String(format: "%.1f", $0 / 1000) } ?? "—") | \(cited) | \(uncited) |\n"
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

  /// The rejected text of a failed task (invalid structured output), fenced.
  private static func rawOutput(_ task: TaskRecord) -> String {
    guard let text = task.output, !text.isEmpty else { return "" }
    var fence = "```"
    while text.contains(fence) { fence += "`" }
    return "Raw output (rejected):\n\n\(fence)\n\(text)\n\(fence)\n\n"
  }

  /// A task's output with its citations marked, then what it cites (each
  /// with its state) and, separately, what it read; quotes not found are flagged.
  func statement(_ task: TaskRecord) -> String {
    guard let lookup = try? SourceLookup(workspace: workspace) else { return Self.plainStatement(task) }
    let checker = CitationChecker(lookup: lookup)
    let (check, marked) = checker.check(output: task.output ?? "", sources: task.locators)
    return Self.statement(task, check: check, marked: marked)
  }

  func statement(_ task: TaskRecord, _ data: ReportData) -> String {
    guard let check = data.checks[task.id] else { return Self.plainStatement(task) }
    return Self.statement(task, check: check, marked: data.marked[task.id] ?? task.output ?? "")
  }

  static func plainStatement(_ task: TaskRecord) -> String {
    let text = (task.output ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
    return (text.isEmpty ? "_(empty output)_" : text) + "\n\nSources: "
      + task.locatorList.map { "[\($0)]" }.joined(separator: " ") + "\n\n"
  }

  static func statement(_ task: TaskRecord, check: OutputCheck, marked: String) -> String {
    let text = marked.trimmingCharacters(in: .whitespacesAndNewlines)
    var out = (text.isEmpty ? "_(empty output)_" : text) + "\n\n"
    var seen = Set<String>()
    let cited = check.citations.filter { seen.insert($0.citation).inserted }
    if cited.isEmpty {
      out += "Cited in the text: nothing"
    } else {
      out +=
        "Cited in the text: "
        + cited.map { c in
          var s = "`\(c.citation)` \(c.state.mark)"
          if let r = c.resolved { s += " (= \(r))" }
          if let reason = c.reason, c.state != .verified { s += " (\(reason))" }
          return s
        }.joined(separator: "; ")
    }
    if check.statements > 0 { out += ". Statements citing nothing: \(check.uncitedStatements) of \(check.statements)" }
    out += ".\n\n"
    out += "Sources: " + task.locatorList.map { "[\($0)]" }.joined(separator: " ") + " (what this task read)\n\n"
    for q in check.quotes where !q.found {
      out +=
        "Quote not found ✗: \"\(q.quote)\" is not in \(q.checkedAgainst.joined(separator: ", ")) (compared ignoring case and spacing).\n\n"
    }
    return out
  }
}

/// Everything a report shows, computed once for every format: the tasks,
/// each output's checks, the counts and the computed facts.
struct ReportData {
  var job: String
  var tasks: [TaskRecord]
  var top: TaskRecord?
  var checks: [String: OutputCheck] = [:]
  var marked: [String: String] = [:]
  var counts = CitationCounts()
  var facts: ComputedFacts
  var plan: Plan?
  var model: String
  let lookup: SourceLookup
  /// The job's coding table, when it has `coding:`.
  var coding: CodingTable?

  /// - Throws: `PipelineError.unknownJob` when the job has no tasks.
  init(workspace: Workspace, job: String, spec: JobSpec?) throws {
    self.job = job
    tasks = try TaskStore(workspace: workspace).currentTasks(job: job)
    guard !tasks.isEmpty else { throw PipelineError.unknownJob(job) }
    top = ReportWriter.finalTask(in: tasks)
    model = tasks.compactMap(\.model).first ?? "unknown"
    lookup = try SourceLookup(workspace: workspace)
    let checker = CitationChecker(lookup: lookup)
    for task in tasks where task.output != nil && task.state == .done {
      let (check, marked) = checker.check(output: task.output ?? "", sources: task.locators)
      checks[task.id] = check
      self.marked[task.id] = marked
      counts.add(check)
    }
    plan = try? PlanStore(workspace: workspace).latest(job: job)
    // What the job read: the plan's chunks (placed or left out), else the tasks' sources.
    var paths: [String] = []
    var seen = Set<String>()
    let located =
      plan.map { p in p.windows.flatMap { $0.chunks.map(\.locator.path) } + p.leftOut.map(\.locator.path) }
      ?? tasks.filter { $0.kind == .map }.flatMap { $0.locators.map(\.path) }
    for path in located where seen.insert(path).inserted { paths.append(path) }
    let corpus = Corpus(workspace: workspace)
    var exceptions: [ComputedFacts.Exception] = []
    if let spec {
      let roots = spec.inputs.map {
        ($0.hasPrefix("/")
          ? URL(fileURLWithPath: $0) : URL(fileURLWithPath: spec.baseDirectory).appendingPathComponent($0))
          .standardizedFileURL.path
      }
      let sources = try corpus.sources(under: roots)
      let mine = Set(sources.map(\.displayPath))
      for s in sources where s.status == "failed" || s.status == "skipped" {
        exceptions.append(.init(path: s.displayPath, severity: s.status, reason: s.reason ?? ""))
      }
      for e in try corpus.exceptions() where e.severity == .warning && mine.contains(e.path) {
        exceptions.append(.init(path: e.path, severity: e.severity.rawValue, reason: e.reason))
      }
    } else {
      exceptions = try corpus.exceptions().map {
        .init(path: $0.path, severity: $0.severity.rawValue, reason: $0.reason)
      }
    }
    facts = ComputedFacts.compute(
      paths: paths, lookup: lookup, plan: plan, exceptions: exceptions, exceptionsOfJob: spec != nil)
    if let spec { coding = try CodingTable.compute(workspace: workspace, spec: spec) }
  }
}
