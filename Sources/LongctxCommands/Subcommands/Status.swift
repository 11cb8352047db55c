import ArgumentParser
import Foundation
import Ingest
import Pipeline
import SharedWorkspace

extension Longctx {
  /// `longctx status [JOB]`
  struct Status: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Show a job's tasks by state; works while a run is going.")

    @OptionGroup(title: "Global Options") var global: GlobalOptions

    @Argument(
      help: ArgumentHelp(
        "The job: a job file, or a job's name (default: every job in the workspace).",
        discussion: JobReference.rule + " A name is the job's in the workspace; a file gives its `name:`.",
        valueName: "job"))
    var job: String?

    @Flag(help: "Print JSON: counts by state and every task.") var json = false

    func run() async throws {
      let workspace = try global.openWorkspace()
      let store = TaskStore(workspace: workspace)
      var names = try store.jobNames()
      if let job {
        let name = try JobReference(job).name()
        guard names.contains(name) else { throw PipelineError.unknownJob(name) }
        names = [name]
      }
      struct TaskOut: Encodable {
        var id: String
        var kind: TaskKind
        var level: Int
        var ordinal: Int
        var state: String
        var attempts: Int
        var promptTokens: Int?
        var outputTokens: Int?
        var durationMs: Double?
        var error: String?
        var locators: [String]
        /// The rejected text of a failed task (e.g. output that breaks the job's json_schema).
        var rawOutput: String?
      }
      struct RunOut: Encodable {
        var id: Int64
        var status: String
        var startedAt: Double
        var finishedAt: Double?
        var previousRun: Int64?
        var newLines: Int
        var windows: Int
        var executed: Int
        var periodTask: String?
        var rollingTask: String?
        var rollingInputs: [String]
        var periodReport: String?
        var rollingReport: String?
        var newSources: [String]
      }
      struct JobOut: Encodable {
        var job: String
        var counts: [String: Int]
        var total: Int
        var tasks: [TaskOut]
        /// Incremental runs, oldest first (absent for other jobs).
        var runs: [RunOut]?
        /// Pages of the latest plan's documents read by OCR, and their mean word confidence.
        var ocr: Corpus.OCRSummary?
        /// What the job's calls cost against a `budget:` (absent when it has none).
        var spending: LimitStore.Spending?
      }
      let runStore = RunStore(workspace: workspace)
      // On a shared workspace the budgets are in PostgreSQL, where every worker pays its calls.
      var ledger: any LimitLedger = LimitStore(workspace: workspace)
      if let location = try global.sharedLocation {
        ledger = try await PostgresLimitLedger(
          sharing: try await PostgresTaskQueue.open(
            location, logger: global.logger("longctx.status"), reconnectTimeout: 5))
      }
      var jobs: [JobOut] = []
      for name in names {
        let tasks = try store.currentTasks(job: name)
        var counts = Dictionary(uniqueKeysWithValues: TaskRecord.State.allCases.map { ($0.rawValue, 0) })
        for t in tasks { counts[t.state.rawValue, default: 0] += 1 }
        jobs.append(
          JobOut(
            job: name, counts: counts, total: tasks.count,
            tasks: tasks.map {
              TaskOut(
                id: $0.id, kind: $0.kind, level: $0.level, ordinal: $0.ordinal, state: $0.state.rawValue,
                attempts: $0.attempts, promptTokens: $0.promptTokens, outputTokens: $0.outputTokens,
                durationMs: $0.durationMs, error: $0.error, locators: $0.locatorList,
                rawOutput: $0.state == .failed ? $0.output : nil)
            }))
        let runs = try runStore.runs(job: name).map { r in
          RunOut(
            id: r.id ?? 0, status: r.status.rawValue, startedAt: r.startedAt, finishedAt: r.finishedAt,
            previousRun: r.previousRun,
            newLines: r.newLines, windows: r.windows, executed: r.executed, periodTask: r.periodTask,
            rollingTask: r.rollingTask, rollingInputs: r.rollingInputList, periodReport: r.periodReport,
            rollingReport: r.rollingReport, newSources: try runStore.sources(run: r.id ?? 0).compactMap(\.newLocator))
        }
        if !runs.isEmpty { jobs[jobs.count - 1].runs = runs }
        let spending = try await ledger.spending(for: name)
        if spending.settled + spending.inFlight > 0 { jobs[jobs.count - 1].spending = spending }
        if let plan = try PlanStore(workspace: workspace).latest(job: name) {
          let ocr = try Corpus(workspace: workspace).ocrSummary(
            documents: plan.windows.flatMap { $0.chunks.map(\.documentHash) })
          if ocr.pages > 0 { jobs[jobs.count - 1].ocr = ocr }
        }
      }
      if json {
        print(try jsonString(job == nil ? AnyEncodable(jobs) : AnyEncodable(jobs[0])))
        return
      }
      if jobs.isEmpty { print("no jobs in \(workspace.root.path)") }
      for j in jobs {
        let c = j.counts
        print(
          "\(j.job): \(j.total) tasks: \(c["done"] ?? 0) done, \(c["pending"] ?? 0) pending, \(c["leased"] ?? 0) running, \(c["failed"] ?? 0) failed"
        )
        for t in j.tasks where t.state == "failed" {
          print("  failed \(t.kind) \(t.level).\(t.ordinal + 1): \(t.error ?? "")")
        }
        if let ocr = j.ocr {
          print("  OCR: \(ocr.sentence)")
        }
        if let s = j.spending {
          print(
            "  budget: \(s.settled) calls paid, \(s.inFlight) reserved, \(s.tokens) tokens, cost \(String(format: "%.4f", s.cost)) (at the job's pricing)"
          )
        }
        if let last = j.runs?.last {
          print(
            "  last run \(last.id): \(last.status), \(last.newLines) new lines, \(last.executed) tasks run; rolling summary: \(last.rollingReport ?? "none")"
          )
        }
      }
      try await printWorkers()
    }

    /// A shared workspace's workers: their claims, what they did and how fast.
    func printWorkers() async throws {
      guard let location = try global.sharedLocation else { return }
      let queue = try await PostgresTaskQueue.open(
        location, logger: global.logger("longctx.status"), reconnectTimeout: 5)
      let workers = try await queue.workers()
      print("workers on \(location.url): \(workers.count)")
      for w in workers {
        let state = w.silentFor < 120 ? "alive" : "silent \(Int(w.silentFor)) s"
        let rate = String(format: "%.1f", w.tasksPerMinute)
        print(
          "  \(w.id) (\(w.host), pid \(w.pid)): \(state), \(w.claims) claimed, \(w.done) done, \(w.failed) failed, \(rate) tasks/min, \(w.outputTokens) output tokens"
        )
      }
    }
  }
}

/// Type-erases an Encodable for printing.
struct AnyEncodable: Encodable {
  let encodeTo: (Encoder) throws -> Void
  init<T: Encodable>(_ value: T) { encodeTo = value.encode }
  func encode(to encoder: Encoder) throws { try encodeTo(encoder) }
}
