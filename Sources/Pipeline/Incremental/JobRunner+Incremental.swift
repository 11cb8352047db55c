import Foundation
import Inference
import Ingest
import Segmenter
import Storage

/// What an incremental run covered, in `RunSummary.period`.
public struct PeriodSummary: Codable, Sendable {
  /// This run's id in the workspace.
  public var run: Int64
  /// The completed run this one continued from; nil for the first.
  public var previousRun: Int64?
  /// Lines new since `previousRun`.
  public var newLines: Int
  /// The new parts, as citations (`app.log#L71-L90`, `app.log.1`, `memo.pdf`).
  public var newSources: [String]
  /// This period's report (a copy stamped with the run's time); nil when nothing was new.
  public var periodReport: String?
  /// The stable copy of the latest period's report (`report.path`).
  public var latestReport: String?
  /// The rolling summary's report.
  public var rollingReport: String?
  /// The rolling summary's task, and the task ids it was made from: the previous
  /// rolling summary's task and this period's final task.
  public var rollingTask: String?
  public var rollingInputs: [String]
}

extension JobRunner {
  /// Runs one period of an incremental (cron) job.
  ///
  /// Only sources, and lines of sources, that are new since the last completed
  /// run are planned (`PeriodScope`). Their windows are mapped and reduced into
  /// the period's summary, which becomes the job's current graph and report
  /// (`report.path`, plus a copy stamped with the time). The rolling summary is
  /// one reduce task over the previous rolling summary and this period's
  /// summary, so earlier periods are never re-read. With nothing new, nothing
  /// runs and the reports stay as they are. A period with failed tasks is
  /// reported but does not advance the watermarks: the next run covers its
  /// lines again, reusing the tasks that succeeded.
  func runIncremental() async throws -> RunSummary {
    let started = Date()
    var summary = RunSummary(job: spec.name)
    let runs = RunStore(workspace: workspace)
    let ingest = try await ingestInputs()
    let (previous, scope, prepared, changes) = try preparePeriod(files: ingest.files)
    var run = try runs.begin(job: spec.name, previous: previous?.id)
    run.newLines = scope.newLines
    let newSources = scope.sources.compactMap(\.newLocator)
    progress(
      .period(run: Int(run.id ?? 0), newLines: scope.newLines, newSources: newSources, since: previous?.finishedAt))
    var period = PeriodSummary(
      run: run.id ?? 0, previousRun: previous?.id, newLines: scope.newLines, newSources: newSources,
      rollingReport: previous?.rollingReport, rollingTask: previous?.rollingTask,
      rollingInputs: previous?.rollingInputList ?? [])
    do {
      if scope.files.isEmpty {
        // Nothing new: the graph, the reports and the rolling summary stay as they are.
        run.status = .done
        run.rollingTask = previous?.rollingTask
        run.rollingInputs = previous?.rollingInputs
        run.rollingReport = previous?.rollingReport
        run.periodReport = nil
        period.latestReport = previous.map { _ in reportURL(spec.reportFile).path }
      } else {
        summary.windows = prepared.plan.windows.count
        summary.planTokens = prepared.plan.totalTokens
        summary.exactTokens = prepared.plan.exactTokens
        run.windows = summary.windows
        let outputs = try await mapAndReduce(prepared.mapTasks, summary: &summary)
        let top = outputs.count == 1 ? outputs[0] : nil
        run.periodTask = top?.id
        var complete = summary.failed == 0 && top != nil
        if complete, let top {
          let rolling = try await roll(previous: previous, period: top, summary: &summary)
          complete = rolling != nil
          if let rolling {
            run.rollingTask = rolling.task
            run.rollingInputs = String(decoding: try JSONEncoder().encode(rolling.inputs), as: UTF8.self)
          }
        } else {
          try store.install(job: spec.name, kind: .rolling, level: 0, tasks: [])
        }
        run.status = complete ? .done : .finishedWithFailures
        let reports = try PeriodReports(workspace: workspace, spec: spec).write(
          run: run, previous: previous, sources: scope.sources, complete: complete, changes: changes)
        run.periodReport = reports.period
        run.rollingReport = complete ? reports.rolling : previous?.rollingReport
        period.periodReport = reports.period
        period.latestReport = reports.latest
        period.rollingReport = run.rollingReport
        period.rollingTask = run.rollingTask ?? previous?.rollingTask
        period.rollingInputs = complete ? run.rollingInputList : previous?.rollingInputList ?? []
        summary.reportPath = reports.latest
        try recordJob(planID: prepared.plan.id, failed: !complete)
      }
      run.executed = summary.executed
      try runs.finish(run, sources: scope.sources, templateCounts: changes.counts)
    } catch EngineError.interrupted {
      try? runs.interrupt(run)
      throw EngineError.interrupted
    } catch let reached as BudgetReached {
      try? runs.interrupt(run)  // resumable as an interrupted run is, once the budget is raised
      throw reached
    } catch {
      run.status = .finishedWithFailures
      try? runs.finish(run, sources: scope.sources)
      throw error
    }
    summary.period = period
    summary.tasks = try store.currentTasks(job: spec.name).count
    summary.engineLoaded = engineLoaded
    summary.seconds = Date().timeIntervalSince(started)
    return summary
  }

  /// Works out what is new since the last completed run and, when something
  /// is, plans it and installs its map tasks (the current graph is left alone
  /// otherwise: the returned job then has no windows). The logs' template
  /// changes of the period are computed first: map prompts get them as `{{templates}}`.
  func preparePeriod(files: [IngestedFile]) throws -> (
    previous: RunRecord?, scope: PeriodScope, prepared: PreparedJob, changes: TemplateChanges
  ) {
    let runs = RunStore(workspace: workspace)
    let previous = try runs.lastCompleted(job: spec.name)
    let previousSources = try previous.flatMap(\.id).map { try runs.sources(run: $0) } ?? []
    let scope = try PeriodScope(files: files, corpus: Corpus(workspace: workspace), previous: previousSources)
    let changes = try TemplateChanges.compute(
      workspace: workspace, sources: scope.sources, since: previous?.finishedAt,
      history: runs.templateHistory(job: spec.name, limit: TemplateChanges.window))
    guard !scope.files.isEmpty else {
      let budget = try self.budget.windowBudget()
      let empty = try CorpusPlanner(workspace: workspace, counter: counter).plan(files: [], budget: budget)
      return (previous, scope, PreparedJob(plan: empty, budget: budget, mapTasks: []), changes)
    }
    var options = spec.planOptions
    options.startLines = scope.startLines
    let prepared = try prepare(files: scope.files, options: options, templates: try templatesValue(changes))
    return (previous, scope, prepared, changes)
  }

  /// The period's changes as `{{templates}}` shows them in every map prompt, counted in the
  /// window budget: with their tables cut to fewer rows (20, 10, 5, 2, then none) while they
  /// would take more than half of what a window could hold without them. Empty when the map
  /// prompt does not use `{{templates}}`.
  func templatesValue(_ changes: TemplateChanges) throws -> String {
    guard PromptTemplate.names(in: spec.map.prompt).contains("templates") else { return "" }
    let without = try budget.windowBudget()
    for limit in [20, 10, 5, 2, 0] {
      let text = changes.markdown(limit: limit)
      if let with = try? budget.windowBudget(templates: text), with >= without / 2 { return text }
    }
    return changes.markdown(limit: 0)
  }

  /// Makes the rolling summary: the previous rolling summary and this period's
  /// summary, reduced by one task; the first period's summary is the first
  /// rolling summary.
  ///
  /// - Returns: The rolling summary's task id and its inputs; nil when the task failed.
  private func roll(
    previous: RunRecord?, period: TaskRecord, summary: inout RunSummary
  ) async throws -> (task: String, inputs: [String])? {
    guard let id = previous?.rollingTask, let earlier = try store.task(id: id), earlier.state == .done else {
      try store.install(job: spec.name, kind: .rolling, level: 0, tasks: [])
      return (period.id, [period.id])
    }
    var (task, request) = reduceTask(kind: .rolling, level: 0, ordinal: 0, group: [earlier, period])
    task.locators = RollingSummary.locators(earlier.locators + period.locators)
    try store.install(job: spec.name, kind: .rolling, level: 0, tasks: [task])
    let done = try await execute(level: 0, kind: .rolling, tasks: [(task, request)], summary: &summary)
    guard done.first?.id == task.id else { return nil }
    return (task.id, [earlier.id, period.id])
  }

  /// Resolves a report path from the job file's directory.
  func reportURL(_ path: String) -> URL {
    (path.hasPrefix("/")
      ? URL(fileURLWithPath: path) : URL(fileURLWithPath: spec.baseDirectory).appendingPathComponent(path))
      .standardizedFileURL
  }
}

/// The rolling summary of an incremental job.
enum RollingSummary {
  /// Locators of a rolling summary: its inputs', each once, adjacent line ranges merged.
  static func locators(_ locators: [Locator]) -> [Locator] {
    locators.uniqued().compacted()
  }
}
