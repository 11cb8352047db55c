import Foundation
import GRDB
import Inference
import Ingest
import Logging
import Segmenter
import Synchronization
import Workspace

/// What a run reports as it goes.
public enum ProgressEvent: Sendable {
  case ingested(IngestSummary)
  case planned(windows: Int, tokens: Int, budget: Int, exact: Bool)
  case level(kind: TaskKind, level: Int, tasks: Int, pending: Int)
  case taskFinished(
    done: Int, total: Int, kind: TaskKind, ordinal: Int, outputTokens: Int, seconds: Double, reused: Bool)
  case taskFailed(kind: TaskKind, ordinal: Int, error: String, willRetry: Bool)
  /// An incremental run's period: its lines new since the run that finished at `since`.
  case period(run: Int, newLines: Int, newSources: [String], since: Double?)
}

/// What a run did.
public struct RunSummary: Codable, Sendable {
  public var job: String
  public var windows = 0
  public var planTokens = 0
  public var exactTokens = true
  public var tasks = 0
  /// Tasks the engine ran in this invocation.
  public var executed = 0
  /// Tasks whose stored output was reused.
  public var reused = 0
  public var failed = 0
  public var promptTokens = 0
  public var outputTokens = 0
  /// Prompt tokens of this run's tasks that the engine reused (KV checkpoint, slot
  /// restore or the server's prompt cache) instead of computing them.
  public var cachedTokens = 0
  public var seconds = 0.0
  public var reportPath: String?
  public var engineLoaded = false
  /// What an incremental run covered; nil for other jobs.
  public var period: PeriodSummary?
}

/// How a run behaves: retries, concurrency and extraction isolation, fixed for the runner's life.
public struct RunSettings: Sendable {
  /// Attempts per task before it is marked failed.
  public var maxAttempts: Int
  /// First retry delay in seconds; doubles each attempt, with jitter.
  public var retryBaseDelay: Double
  /// Tasks run at once (engines batch them where they can).
  public var concurrency: Int
  /// Extracts every input file in isolated child processes; nil: in process.
  public var worker: ExtractionWorker?

  public init(maxAttempts: Int = 3, retryBaseDelay: Double = 0.5, concurrency: Int = 1, worker: ExtractionWorker? = nil)
  {
    self.maxAttempts = maxAttempts
    self.retryBaseDelay = retryBaseDelay
    self.concurrency = max(1, concurrency)
    self.worker = worker
  }
}

/// The job coordinator: ingest, plan, map, reduce tree, report, resumable at any
/// point. Every command that touches a job goes through it: `run` (`run()`),
/// `plan` (`preview()`), `export-batch` (`exportBatch(format:)`) and
/// `import-batch` (`importBatch(_:file:format:)`), so they share one ingest path,
/// one plan and one way of accepting an output.
public final class JobRunner: Sendable {
  let workspace: Workspace
  let spec: JobSpec
  let counter: any TokenCounter
  let engineFactory: @Sendable () async throws -> any Engine
  /// What task outputs depend on besides the prompt: model file, settings.
  let modelKey: String
  let logger: Logger
  let progress: @Sendable (ProgressEvent) -> Void
  let store: TaskStore
  let settings: RunSettings

  private let engineBox = EngineBox()

  /// A coordinator for `spec` with the engine a backend chose.
  public init(
    workspace: Workspace, spec: JobSpec, engine: EngineChoice, settings: RunSettings = RunSettings(),
    logger: Logger, progress: @escaping @Sendable (ProgressEvent) -> Void = { _ in }
  ) {
    self.workspace = workspace
    self.spec = spec
    self.counter = engine.counter
    self.modelKey = engine.modelKey
    self.engineFactory = engine.makeEngine
    self.settings = settings
    self.logger = logger
    self.progress = progress
    store = TaskStore(workspace: workspace)
  }

  /// A coordinator with its counter, model key and engine factory given one by one (tests, benchmarks).
  public convenience init(
    workspace: Workspace, spec: JobSpec, counter: any TokenCounter, modelKey: String, logger: Logger,
    progress: @escaping @Sendable (ProgressEvent) -> Void = { _ in }, settings: RunSettings = RunSettings(),
    engineFactory: @escaping @Sendable () async throws -> any Engine
  ) {
    self.init(
      workspace: workspace, spec: spec,
      engine: EngineChoice(counter: counter, modelKey: modelKey, makeEngine: engineFactory),
      settings: settings, logger: logger, progress: progress)
  }

  /// Runs the job to completion, or until interrupted.
  ///
  /// - Throws: `EngineError.interrupted` after persisting, when SIGINT/SIGTERM arrived;
  ///   `EngineError.unavailable` when the engine cannot start; ingest and plan errors.
  public func run() async throws -> RunSummary {
    if spec.incremental { return try await runIncremental() }
    let started = Date()
    var summary = RunSummary(job: spec.name)
    let prepared = try await prepare()
    let plan = prepared.plan
    summary.windows = plan.windows.count
    summary.planTokens = plan.totalTokens
    summary.exactTokens = plan.exactTokens
    _ = try await mapAndReduce(prepared.mapTasks, summary: &summary)
    // A job that was incremental before keeps no rolling summary in its graph.
    try store.retireLevels(job: spec.name, kind: .rolling, above: -1)

    let report = try ReportWriter(workspace: workspace).write(job: spec)
    summary.reportPath = report
    summary.tasks = try store.currentTasks(job: spec.name).count
    summary.engineLoaded = engineLoaded
    summary.seconds = Date().timeIntervalSince(started)
    try recordJob(planID: plan.id, failed: summary.failed > 0)
    return summary
  }

  /// Whether this runner has loaded its engine.
  var engineLoaded: Bool { engineBox.loaded }

  /// Records the job's last plan and outcome in `job`.
  func recordJob(planID: String, failed: Bool) throws {
    try workspace.db.write { [spec] db in
      try db.execute(
        sql: "INSERT OR REPLACE INTO job (name, specHash, planId, status, updatedAt) VALUES (?, ?, ?, ?, ?)",
        arguments: [
          spec.name, spec.canonicalHash, planID,
          failed ? RunStatus.finishedWithFailures : RunStatus.done, Date().timeIntervalSince1970,
        ])
    }
  }

  /// Runs the map level, the per-document reduce when the job asks for it, and
  /// the reduce tree.
  ///
  /// - Returns: The done tasks of the last level: one task when all went well.
  func mapAndReduce(_ mapTasks: [(TaskRecord, GenerationRequest)], summary: inout RunSummary) async throws
    -> [TaskRecord]
  {
    var outputs = try await execute(level: 0, kind: .map, tasks: mapTasks, summary: &summary)
    if spec.mapPer == .document {
      outputs = try await reduceDocuments(outputs, summary: &summary)
    } else {
      try store.retireLevels(job: spec.name, kind: .document, above: 0)
    }

    // Reduce tree: each level groups the previous outputs so every prompt fits.
    var level = 1
    while outputs.count > 1 {
      let groups = try reduceGroups(outputs)
      let reduceTasks = groups.enumerated().map { (i, group) in
        reduceTask(kind: .reduce, level: level, ordinal: i, group: group)
      }
      try store.install(job: spec.name, kind: .reduce, level: level, tasks: reduceTasks.map(\.0))
      outputs = try await execute(level: level, kind: .reduce, tasks: reduceTasks, summary: &summary)
      level += 1
    }
    try store.retireLevels(job: spec.name, above: level - 1)
    return outputs
  }

  /// A reduce-prompt task over `group`'s outputs, citing their locators.
  func reduceTask(kind: TaskKind, level: Int, ordinal: Int, group: [TaskRecord]) -> (TaskRecord, GenerationRequest) {
    let values = budget.reduceValues(group)
    let (prefix, suffix) = PromptTemplate.render(spec.reduce.prompt, values: values, splitAfter: "outputs")
    let locators = Citations.unique(group.flatMap(\.locatorList))
    let request = makeRequest(prefix: prefix, suffix: suffix, jsonSchema: spec.reduce.jsonSchema, locators: locators)
    return (makeTask(kind: kind, level: level, ordinal: ordinal, request: request, locators: locators), request)
  }

  /// Tokens a window may hold when `{{templates}}` is empty (see `PromptBudget.windowBudget`).
  ///
  /// - Throws: `PipelineError.windowTooSmall` when nothing would fit.
  public static func windowBudget(_ spec: JobSpec, counter: any TokenCounter) throws -> Int {
    try PromptBudget(spec: spec, counter: counter).windowBudget()
  }

  /// The job's prompt budget: its prompts' variables and what each keeps in reserve.
  var budget: PromptBudget { PromptBudget(spec: spec, counter: counter) }

  /// How this job's inputs are ingested.
  public var ingestOptions: IngestOptions { Self.ingestOptions(spec, worker: settings.worker) }

  /// How `spec`'s inputs are ingested (by `run`, `plan` and every other command).
  public static func ingestOptions(_ spec: JobSpec, worker: ExtractionWorker?) -> IngestOptions {
    var options = IngestOptions(base: URL(fileURLWithPath: spec.baseDirectory))
    options.worker = worker
    options.redact = spec.redact
    options.ocr = spec.ocr ?? OCRSettings()
    options.denist = (spec.denist ?? spec.production?.denist).map {
      URL(fileURLWithPath: $0, relativeTo: URL(fileURLWithPath: spec.baseDirectory)).standardizedFileURL.path
    }
    return options
  }

  /// The job's map level, installed but not run: what `export-batch` sends elsewhere.
  public struct PreparedJob: Sendable {
    /// The plan the map tasks come from.
    public var plan: Plan
    /// Window budget in tokens.
    public var budget: Int
    /// Every current map task with its request, in window order; some may already be done.
    public var mapTasks: [(TaskRecord, GenerationRequest)]
  }

  /// Ingests, plans and installs the map tasks without running anything.
  ///
  /// - Throws: `PipelineError.noInputs` or `.windowTooSmall`; ingest and plan errors.
  public func prepare() async throws -> PreparedJob {
    let ingest = try await ingestInputs()
    guard spec.incremental else { return try prepare(files: ingest.files, options: spec.planOptions) }
    return try preparePeriod(files: ingest.files).prepared
  }

  /// Ingests and plans the job as `run` would, without saving the plan or
  /// installing tasks: what `longctx plan` shows.
  public func preview() async throws -> Plan {
    let ingest = try await ingestInputs()
    let budget = try self.budget.windowBudget()
    return try CorpusPlanner(workspace: workspace, counter: counter).plan(
      files: ingest.files, budget: budget, options: spec.planOptions)
  }

  /// Ingests the job's inputs.
  ///
  /// - Throws: `PipelineError.noInputs` when no usable file was found; ingest errors.
  public func ingestInputs() async throws -> IngestSummary {
    let ingest = try await Ingestor(workspace: workspace, logger: logger).ingest(
      inputs: spec.inputs, options: ingestOptions)
    progress(.ingested(ingest))
    guard !ingest.files.isEmpty else { throw PipelineError.noInputs(job: spec.name) }
    for (input, custodian) in (spec.custodians ?? [:]).sorted(by: { $0.key < $1.key }) {
      let root = URL(fileURLWithPath: input, relativeTo: URL(fileURLWithPath: spec.baseDirectory)).standardizedFileURL
      for warning in try Custodians.assign(workspace, roots: [root.path], custodian: custodian) {
        logger.warning("\(warning)")
      }
    }
    return ingest
  }

  /// Plans `files` and installs the map tasks without running anything.
  ///
  /// - Parameter templates: The value of `{{templates}}` in every map prompt (an incremental
  ///   period's log changes), counted in the window budget.
  func prepare(files: [IngestedFile], options: PlanOptions, templates: String = "") throws -> PreparedJob {
    let budget = try self.budget.windowBudget(templates: templates)
    let plan = try CorpusPlanner(workspace: workspace, counter: counter).plan(
      files: files, budget: budget, options: options)
    try PlanStore(workspace: workspace).save(plan, job: spec.name)
    progress(.planned(windows: plan.windows.count, tokens: plan.totalTokens, budget: budget, exact: plan.exactTokens))

    try store.recoverLeases(job: spec.name)
    try store.resetFailed(job: spec.name)

    let mapTasks = plan.windows.map { window -> (TaskRecord, GenerationRequest) in
      let values = self.budget.mapValues(
        window: window.text, sources: window.locators.map(\.description).joined(separator: "\n"),
        number: window.ordinal + 1, count: plan.windows.count, templates: templates)
      let (prefix, suffix) = PromptTemplate.render(spec.map.prompt, values: values, splitAfter: "window")
      let locators = Citations.compact(window.locators).map(\.description)
      let request = makeRequest(prefix: prefix, suffix: suffix, jsonSchema: spec.map.jsonSchema, locators: locators)
      let task = makeTask(kind: .map, level: 0, ordinal: window.ordinal, request: request, locators: locators)
      return (task, request)
    }
    try store.install(job: spec.name, kind: .map, level: 0, tasks: mapTasks.map(\.0))
    return PreparedJob(plan: plan, budget: budget, mapTasks: mapTasks)
  }

  // MARK: - Tasks

  /// A request under the job's settings; `x-longctx: locator` fields of `jsonSchema`
  /// are restricted to `locators`, the task's own (in the grammar, in what servers get
  /// and in validation alike, since all three read the request's schema).
  func makeRequest(prefix: String, suffix: String, jsonSchema: String?, locators: [String]) -> GenerationRequest {
    let jsonSchema = jsonSchema.map { JSONSchema.restrictingLocators($0, to: locators) }
    return GenerationRequest(
      prefix: prefix, suffix: suffix, maxTokens: spec.generation.maxTokens,
      temperature: spec.generation.temperature, seed: spec.generation.seed, stop: spec.generation.stop,
      jsonSchema: jsonSchema, schemaGrammar: jsonSchema.flatMap { try? JSONSchema(text: $0).gbnf },
      loopGuard: spec.model.loopGuard)
  }

  func makeTask(kind: TaskKind, level: Int, ordinal: Int, request: GenerationRequest, locators: [String]) -> TaskRecord
  {
    let inputHash = Hashing.sha256(
      parts: [
        modelKey, request.prefix, request.suffix, String(request.maxTokens), String(request.temperature),
        String(request.seed), request.stop.joined(separator: "\u{1}"), request.grammar ?? "",
      ] + (request.jsonSchema.map { ["json_schema", $0] } ?? [])  // absent: ids of older tasks unchanged
        + (request.loopGuard.map { ["loop_guard", $0.hashKey] } ?? []))  // outputs made without it are not reused
    let locatorJSON = String(decoding: (try? JSONEncoder().encode(locators)) ?? Data("[]".utf8), as: UTF8.self)
    return TaskRecord(
      id: TaskStore.taskID(job: spec.name, kind: kind, level: level, inputHash: inputHash), job: spec.name,
      kind: kind, level: level, ordinal: ordinal, inputHash: inputHash, locators: locatorJSON)
  }

  /// Groups outputs so each reduce prompt fits the context (fan-in ≥ 2).
  func reduceGroups(_ outputs: [TaskRecord]) throws -> [[TaskRecord]] {
    let budget = self.budget
    var groups: [[TaskRecord]] = []
    var current: [TaskRecord] = []
    for output in outputs {
      let candidate = current + [output]
      if current.count >= 2, try !budget.reduceFits(candidate) {
        groups.append(current)
        current = [output]
      } else {
        current = candidate
      }
    }
    if !current.isEmpty { groups.append(current) }
    // A level that would not shrink the list (one input per group) cannot make progress.
    if groups.count == outputs.count && outputs.count > 1 {
      groups = stride(from: 0, to: outputs.count, by: 2).map { Array(outputs[$0..<min($0 + 2, outputs.count)]) }
    }
    return groups
  }

  /// Runs the level's unfinished tasks; returns its done tasks in order.
  func execute(
    level: Int, kind: TaskKind, tasks: [(TaskRecord, GenerationRequest)], summary: inout RunSummary
  ) async throws -> [TaskRecord] {
    let stored = Dictionary(
      uniqueKeysWithValues: try store.tasks(job: spec.name, kind: kind, level: level).map { ($0.id, $0) })
    let todo = tasks.filter { stored[$0.0.id]?.state != .done }
    progress(.level(kind: kind, level: level, tasks: tasks.count, pending: todo.count))
    summary.reused += tasks.count - todo.count
    var done = tasks.count - todo.count
    let total = tasks.count
    let results = SummaryBox()
    try await withThrowingTaskGroup(of: Void.self) { group in
      var iterator = todo.makeIterator()
      var running = 0
      func next() -> Bool {
        guard let (task, request) = iterator.next() else { return false }
        group.addTask { try await self.runTask(task, request, results: results) }
        return true
      }
      while running < settings.concurrency, next() { running += 1 }
      while try await group.next() != nil {
        done += 1
        if let last = results.last {
          progress(
            .taskFinished(
              done: done, total: total, kind: kind, ordinal: last.ordinal,
              outputTokens: last.outputTokens, seconds: last.seconds, reused: false))
        }
        if Interrupt.isRequested {
          group.cancelAll()
          throw EngineError.interrupted
        }
        _ = next()
      }
    }
    summary.executed += results.executed
    summary.failed += results.failed
    summary.promptTokens += results.promptTokens
    summary.outputTokens += results.outputTokens
    summary.cachedTokens += results.cachedTokens
    return try store.tasks(job: spec.name, kind: kind, level: level).filter { $0.state == .done }
  }

  /// Records `result` as `task`'s output when it passes the task's validation (its
  /// JSON Schema), the one path by which a generated or imported output is accepted.
  ///
  /// - Returns: nil when recorded; else why the output was refused (nothing recorded).
  func accept(
    _ result: GenerationResult, for task: TaskRecord, request: GenerationRequest, engine: String, model: String,
    durationMs: Double
  ) throws -> String? {
    if let problem = OutputValidation.problem(in: result.text, schema: request.jsonSchema, kind: task.kind) {
      return problem
    }
    try store.complete(
      task.id, output: result.text, promptTokens: result.promptTokens, outputTokens: result.outputTokens,
      engine: engine, model: model, durationMs: durationMs)
    return nil
  }

  private func runTask(_ task: TaskRecord, _ request: GenerationRequest, results: SummaryBox) async throws {
    var attempt =
      (try? store.tasks(job: spec.name, kind: task.kind, level: task.level).first { $0.id == task.id }?.attempts) ?? 0
    while true {
      if Interrupt.isRequested { throw EngineError.interrupted }
      let engine = try await engineBox.get(engineFactory)
      try store.lease(task.id, owner: "pid-\(getpid())", seconds: 3600)
      attempt += 1
      let clock = Date()
      do {
        let result = try await engine.generate(request)
        let seconds = Date().timeIntervalSince(clock)
        if let problem = try accept(
          result, for: task, request: request, engine: engine.name, model: engine.modelIdentity,
          durationMs: seconds * 1000)
        {
          // Invalid structured output: retried at once (no backoff: nothing is
          // overloaded), then failed with the raw text kept beside the error.
          let final = attempt >= settings.maxAttempts
          try store.fail(task.id, error: problem, final: final, output: result.text)
          progress(.taskFailed(kind: task.kind, ordinal: task.ordinal, error: problem, willRetry: !final))
          if final {
            results.recordFailure()
            return
          }
          continue
        }
        results.record(
          ordinal: task.ordinal, prompt: result.promptTokens, output: result.outputTokens, cached: result.cachedTokens,
          seconds: seconds)
        return
      } catch EngineError.interrupted {
        try store.release(task.id)
        throw EngineError.interrupted
      } catch let error as EngineError {
        let message = error.userDescription
        var retry = false
        var delay = settings.retryBaseDelay * pow(2, Double(attempt - 1)) * Double.random(in: 0.5...1.5)
        if case .transient(_, let after) = error, attempt < settings.maxAttempts {
          retry = true
          if let after { delay = max(delay, after) }
        }
        if case .unavailable = error {
          try store.release(task.id)
          throw error
        }
        try store.fail(task.id, error: message, final: !retry)
        progress(.taskFailed(kind: task.kind, ordinal: task.ordinal, error: message, willRetry: retry))
        if !retry {
          results.recordFailure()
          return
        }
        try await Task.sleep(nanoseconds: UInt64(delay * 1e9))
      } catch {
        let message = error.userDescription
        try store.fail(task.id, error: message, final: true)
        progress(.taskFailed(kind: task.kind, ordinal: task.ordinal, error: message, willRetry: false))
        results.recordFailure()
        return
      }
    }
  }
}

/// Loads the engine once, on first use, so a run with nothing to do never loads a model.
final class EngineBox: Sendable {
  private let state = Mutex<(engine: (any Engine)?, loading: Task<any Engine, Error>?)>((nil, nil))

  var loaded: Bool { state.withLock { $0.engine != nil } }

  func get(_ factory: @escaping @Sendable () async throws -> any Engine) async throws -> any Engine {
    let task: Task<any Engine, Error> = state.withLock { state in
      if let loading = state.loading { return loading }
      let t = Task { try await factory() }
      state.loading = t
      return t
    }
    let e = try await task.value
    state.withLock { $0.engine = e }
    return e
  }
}

/// Per-level counters updated from concurrent tasks.
final class SummaryBox: Sendable {
  struct Last {
    var ordinal: Int
    var outputTokens: Int
    var seconds: Double
  }
  struct Counts {
    var executed = 0, failed = 0, promptTokens = 0, outputTokens = 0, cachedTokens = 0
    var last: Last?
  }
  private let counts = Mutex(Counts())

  var executed: Int { counts.withLock { $0.executed } }
  var failed: Int { counts.withLock { $0.failed } }
  var promptTokens: Int { counts.withLock { $0.promptTokens } }
  var outputTokens: Int { counts.withLock { $0.outputTokens } }
  var cachedTokens: Int { counts.withLock { $0.cachedTokens } }
  var last: Last? { counts.withLock { $0.last } }

  func record(ordinal: Int, prompt: Int, output: Int, cached: Int = 0, seconds: Double) {
    counts.withLock {
      $0.executed += 1
      $0.cachedTokens += cached
      $0.promptTokens += prompt
      $0.outputTokens += output
      $0.last = Last(ordinal: ordinal, outputTokens: output, seconds: seconds)
    }
  }

  func recordFailure() {
    counts.withLock {
      $0.failed += 1
      $0.last = nil
    }
  }
}
