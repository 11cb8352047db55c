import Foundation
import GRDB
import Inference
import Ingest
import Logging
import Segmenter
import Storage

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
  /// A task's prompt prefill, between decode batches (engines that report it: llama.cpp in process).
  case prefill(kind: TaskKind, ordinal: Int, update: PrefillUpdate)
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
  /// A shared workspace's task queue: tasks are published there for workers on any
  /// machine, and their outputs copied back here; nil: tasks run in this process.
  public var queue: (any TaskQueue)?
  /// Where rate limits and budgets are held (a shared workspace's, for every worker);
  /// nil: the workspace's `LimitStore`.
  public var ledger: (any LimitLedger)?
  /// The run of the job this coordinator started on the queue (`SharedJob.run`): the budget
  /// stop it heeds is this run's; nil: whichever run is current.
  public var run: String?
  /// A shared workspace's extraction: the files to extract are claimed by its workers;
  /// nil: extracted by this process (`worker`).
  public var extraction: (any SharedExtraction)?

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
///
/// By concern: this file coordinates (ingest, plan, the run and its record);
/// `JobRunner+TaskGraph` makes the levels and their tasks; `JobRunner+Scheduler`
/// runs a level's tasks, retries them and accepts their outputs; `PromptBudget`
/// owns what every prompt holds and keeps in reserve.
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
  /// The job file's text, recorded with the job's outcome; nil when the spec was not read
  /// from a file (tests, benchmarks).
  let jobText: String?

  /// Shared by a job's question runners (`JobRunner+Questions`): one engine per run.
  let engineBox: EngineBox

  /// A coordinator for `spec` with the engine a backend chose.
  ///
  /// - Parameter jobText: The text of the job file `spec` was read from, recorded in the
  ///   workspace when the run ends, so that `longctx report NAME` reads the same settings.
  public init(
    workspace: Workspace, spec: JobSpec, engine: EngineChoice, settings: RunSettings = RunSettings(),
    logger: Logger, jobText: String? = nil, progress: @escaping @Sendable (ProgressEvent) -> Void = { _ in }
  ) {
    self.workspace = workspace
    self.spec = spec
    self.jobText = jobText
    self.counter = engine.counter
    self.modelKey = engine.modelKey
    self.engineFactory = Self.pacing(
      engine.makeEngine, ledger: settings.ledger ?? LimitStore(workspace: workspace), spec: spec)
    self.settings = settings
    self.logger = logger
    self.progress = progress
    store = TaskStore(workspace: workspace)
    engineBox = EngineBox()
  }

  /// The runner of one of `parent`'s questions (`spec` from `JobSpec.questionJobs`): the
  /// parent's workspace, engine, settings and progress.
  init(question spec: JobSpec, of parent: JobRunner) {
    workspace = parent.workspace
    self.spec = spec
    counter = parent.counter
    modelKey = parent.modelKey
    engineFactory = parent.engineFactory
    settings = parent.settings
    jobText = parent.jobText
    logger = parent.logger
    progress = parent.progress
    store = parent.store
    engineBox = parent.engineBox
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
    if spec.asksQuestions { return try await runQuestions() }
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

  /// Records the job's last plan and outcome in `job`, with the job file's text when the
  /// runner has it (what `report NAME` reads back: `JobSpec.recorded(job:in:)`).
  func recordJob(planID: String, failed: Bool) throws {
    try workspace.db.write { [spec, jobText] db in
      try db.execute(
        sql: """
          INSERT OR REPLACE INTO job (name, specHash, planId, status, updatedAt, specText, baseDirectory)
          VALUES (?, ?, ?, ?, ?, ?, ?)
          """,
        arguments: [
          spec.name, spec.canonicalHash, planID,
          failed ? RunStatus.finishedWithFailures : RunStatus.done, Date().timeIntervalSince1970,
          jobText, jobText == nil ? nil : spec.baseDirectory,
        ])
    }
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
  public var ingestOptions: IngestOptions {
    var options = Self.ingestOptions(spec, worker: settings.worker)
    options.shared = settings.extraction
    return options
  }

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

    return PreparedJob(plan: plan, budget: budget, mapTasks: try installMapTasks(plan: plan, templates: templates))
  }

  /// Installs the map tasks of `plan`'s windows (recovering the job's dead leases and failed tasks first).
  ///
  /// - Returns: Every current map task with its request, in window order.
  func installMapTasks(plan: Plan, templates: String = "") throws -> [(TaskRecord, GenerationRequest)] {
    try store.recoverLeases(job: spec.name)
    try store.resetFailed(job: spec.name)

    let mapTasks = plan.windows.map { window -> (TaskRecord, GenerationRequest) in
      let values = self.budget.mapValues(
        window: window.text, sources: window.locators.map(\.description).joined(separator: "\n"),
        number: window.ordinal + 1, count: plan.windows.count, templates: templates)
      let (prefix, suffix) = PromptTemplate.render(spec.map.prompt, values: values, splitAfter: "window")
      let locators = window.locators.compacted()
      let request = makeRequest(prefix: prefix, suffix: suffix, jsonSchema: spec.map.jsonSchema, locators: locators)
      let task = makeTask(kind: .map, level: 0, ordinal: window.ordinal, request: request, locators: locators)
      return (task, request)
    }
    try store.install(job: spec.name, kind: .map, level: 0, tasks: mapTasks.map(\.0))
    return mapTasks
  }
}
