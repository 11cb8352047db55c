import Foundation
import Inference
import Ingest
import Segmenter
import Storage

/// Jobs with `questions:`: one plan, and every question's map task of a window run back to
/// back, so that the window's prefix (the map prompt up to and including `{{window}}`, the
/// same for every question) is prefilled once: the engine restores or keeps it for the
/// others (in process: the KV checkpoint of the prefix; llama-server: the slot that holds it).
///
/// Each question is a job of its own in the task store (`JobSpec.questionJobs`: `JOB+NAME`),
/// so a question added to a finished job runs only its own tasks, and each has its reduce
/// tree; the report puts them in one file, a section per question.
extension JobRunner {
  /// Runs every question of the job to completion, or until interrupted.
  func runQuestions() async throws -> RunSummary {
    let started = Date()
    var summary = RunSummary(job: spec.name)
    let ingest = try await ingestInputs()
    let plan = try planQuestions(files: ingest.files)
    summary.windows = plan.windows.count
    summary.planTokens = plan.totalTokens
    summary.exactTokens = plan.exactTokens

    let runners = spec.questionJobs.map { JobRunner(question: $0, of: self) }
    var levels: [[(TaskRecord, GenerationRequest)]] = []
    for runner in runners {
      try PlanStore(workspace: workspace).save(plan, job: runner.spec.name)
      levels.append(try runner.installMapTasks(plan: plan))
    }
    try await executeByWindow(zip(runners, levels).map { (runner: $0, tasks: $1) }, summary: &summary)
    var failed = false
    for (runner, part) in try await reduceQuestions(runners) {
      summary.add(part)
      try runner.recordJob(planID: plan.id, failed: part.failed > 0)
      failed = failed || part.failed > 0
    }
    summary.reportPath = try ReportWriter(workspace: workspace).write(questionsOf: spec)
    summary.tasks = try runners.map { try store.currentTasks(job: $0.spec.name).count }.reduce(0, +)
    summary.engineLoaded = engineLoaded
    summary.seconds = Date().timeIntervalSince(started)
    try recordJob(planID: plan.id, failed: failed || summary.failed > 0)
    return summary
  }

  /// Reduces each question's map outputs, up to `settings.concurrency` questions at once (so
  /// that with several tasks at once, the questions' reduces are in flight together rather
  /// than one small reduce at a time).
  ///
  /// - Returns: Each question's runner with the summary of its reduce, in question order.
  func reduceQuestions(_ runners: [JobRunner]) async throws -> [(JobRunner, RunSummary)] {
    let store = self.store
    var parts = [RunSummary?](repeating: nil, count: runners.count)
    try await withThrowingTaskGroup(of: (Int, RunSummary).self) { group in
      var next = 0
      func start() {
        guard next < runners.count else { return }
        let (index, runner) = (next, runners[next])
        next += 1
        group.addTask {
          let outputs = try store.tasks(job: runner.spec.name, kind: .map, level: 0).filter { $0.state == .done }
          var part = RunSummary(job: runner.spec.name)
          _ = try await runner.reduce(outputs, summary: &part)
          return (index, part)
        }
      }
      for _ in 0..<max(1, settings.concurrency) { start() }
      while let (index, part) = try await group.next() {
        parts[index] = part
        start()
      }
    }
    return zip(runners, parts).map { ($0, $1 ?? RunSummary(job: $0.spec.name)) }
  }

  /// Plans the job once for all its questions: no question steers relevance, and windows keep
  /// `JobSpec.questionRoom` tokens for the question and a question's own prompt, so the plan
  /// stays the same when a question is added (unless one needs more room than that).
  func planQuestions(files: [IngestedFile]) throws -> Plan {
    let shared = try budget.windowBudget() - JobSpec.questionRoom
    let own = try spec.questionJobs.map { try PromptBudget(spec: $0, counter: counter).windowBudget() }
    let budget = min(shared, own.min() ?? shared)
    guard budget > 64 else {
      throw PipelineError.windowTooSmall(
        job: spec.name, reserved: spec.model.context - budget, context: spec.model.context)
    }
    let plan = try CorpusPlanner(workspace: workspace, counter: counter).plan(
      files: files, budget: budget, options: spec.questionsPlanOptions)
    try PlanStore(workspace: workspace).save(plan, job: spec.name)
    progress(.planned(windows: plan.windows.count, tokens: plan.totalTokens, budget: budget, exact: plan.exactTokens))
    return plan
  }

  /// Runs the questions' unfinished map tasks window by window: window 1's tasks of every
  /// question, then window 2's, so that a window's prefix is computed once and reused while
  /// it is hot.
  ///
  /// With several tasks at once (`concurrency` c > 1), windows go in blocks of c, the block's
  /// windows taking turns (window 1's first question, window 2's, …, then each one's second):
  /// the tasks in flight are then of different windows, each on the slot (or sequence) that
  /// holds its window, instead of c tasks of one window of which all but one would wait for
  /// its prefix (or compute it again in another server slot).
  func executeByWindow(
    _ levels: [(runner: JobRunner, tasks: [(TaskRecord, GenerationRequest)])], summary: inout RunSummary
  ) async throws {
    var total = 0
    var done = 0
    var byWindow: [Int: [(runner: JobRunner, task: TaskRecord, request: GenerationRequest)]] = [:]
    for (runner, tasks) in levels {
      let stored = Dictionary(
        uniqueKeysWithValues: try store.tasks(job: runner.spec.name, kind: .map, level: 0).map { ($0.id, $0) })
      for (task, request) in tasks where stored[task.id]?.state != .done {
        byWindow[task.ordinal, default: []].append((runner, task, request))
      }
      total += tasks.count
      done += tasks.count - tasks.filter { stored[$0.0.id]?.state != .done }.count
    }
    let order = Self.reuseOrder(byWindow, lanes: settings.concurrency)
    progress(.level(kind: .map, level: 0, tasks: total, pending: order.count))
    summary.reused += done
    try await runConcurrently(order, kind: .map, done: done, total: total, summary: &summary)
  }

  /// The order of `byWindow`'s tasks (each window's in question order) for `lanes` tasks at
  /// once: windows in blocks of `lanes`, taking turns within a block.
  static func reuseOrder<T>(_ byWindow: [Int: [T]], lanes: Int) -> [T] {
    let windows = byWindow.keys.sorted()
    var order: [T] = []
    for start in stride(from: 0, to: windows.count, by: max(1, lanes)) {
      let block = windows[start..<min(start + max(1, lanes), windows.count)].map { byWindow[$0] ?? [] }
      for turn in 0..<(block.map(\.count).max() ?? 0) {
        for tasks in block where turn < tasks.count { order.append(tasks[turn]) }
      }
    }
    return order
  }
}

extension RunSummary {
  /// Adds the task counts and tokens of `other` (a question's reduce levels) to this summary.
  mutating func add(_ other: RunSummary) {
    executed += other.executed
    reused += other.reused
    failed += other.failed
    promptTokens += other.promptTokens
    outputTokens += other.outputTokens
    cachedTokens += other.cachedTokens
  }
}
