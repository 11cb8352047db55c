import ArgumentParser
import Foundation
import Inference
import Ingest
import Pipeline
import Storage
import Synchronization

extension Longctx {
  /// `longctx run JOB.yaml`
  struct Run: JobCommand {
    static let configuration = CommandConfiguration(
      abstract: "Run a job: ingest, plan, map, reduce and report. Resumes where a previous run stopped.")

    @OptionGroup(title: "Global Options") var global: GlobalOptions

    @Argument(help: JobReference.help()) var job: String

    @Flag(help: "Print the run's summary as JSON on stdout.") var json = false

    @Option(
      help:
        "Tasks to run at once (default: the job's model.concurrency, else 1); for the embedded engine, the sequences it decodes together."
    ) var concurrency: Int?

    @OptionGroup(title: "OCR (over the job file's ocr:)") var ocr: OCROptions

    @Flag(
      inversion: .prefixedNo,
      help:
        "On a shared workspace (postgres://…), also claim and run tasks and files to extract in this process; else only coordinate."
    )
    var work = true

    @Flag(
      help:
        "On a shared workspace (postgres://…), let the workers claim the files to extract (their children write the store's corpus database: keep them on one host, see README)."
    )
    var shareExtraction = false

    func validate() throws {
      if let concurrency, concurrency < 1 { throw ValidationError("'--concurrency' must be at least 1") }
    }

    var jobArgument: String? { job }

    func prepare(_ spec: inout JobSpec) throws {
      if ocr.isSet { spec.ocr = ocr.apply(to: spec.ocr ?? OCRSettings()) }
    }

    /// The job's engine with the workspace's KV checkpoints, after checking that its inputs
    /// exist: a configuration error leaves the workspace untouched. With the embedded
    /// engine, the tasks in flight are its parallel sequences.
    func engine(for spec: JobSpec) throws -> EngineChoice {
      try EngineSetup.validate(spec)
      for input in spec.inputs {
        let path = input.hasPrefix("/") ? input : spec.baseDirectory + "/" + input
        guard FileManager.default.fileExists(atPath: path) else {
          throw CommandFailure(
            code: ExitCodes.usage,
            message: "longctx: the job's input \(input) does not exist (looked for \(path)); fix `inputs` in \(job).")
        }
      }
      return try EngineSetup.choose(
        spec, kvDirectory: global.workspaceRoot.appendingPathComponent("kv", isDirectory: true),
        logLevel: global.logLevel, parallel: tasksAtOnce(spec))
    }

    /// `--concurrency`, else the job's model.concurrency, else 1.
    private func tasksAtOnce(_ spec: JobSpec) -> Int { self.concurrency ?? spec.model.concurrency ?? 1 }

    func run(_ opened: JobContext) async throws {
      let spec = opened.spec
      let workspace = opened.workspace
      let concurrency = tasksAtOnce(spec)
      Signals.install()

      let progress = ProgressPrinter(quiet: global.quiet || json)
      var settings = RunSettings(concurrency: concurrency, worker: .thisExecutable())
      let shared = try await SharedRun.start(
        global: global, jobText: opened.text, spec: spec, choice: opened.engine, concurrency: concurrency, work: work)
      settings.queue = shared?.queue
      settings.ledger = shared?.ledger
      settings.run = shared?.job.run
      settings.extraction = shareExtraction ? shared?.extraction : nil
      let runner = opened.runner(settings: settings) { progress.handle($0) }
      let summary: RunSummary
      do {
        summary = try await runner.run()
        try await shared?.finish(status: "done")
      } catch EngineError.interrupted {
        try? await shared?.finish(status: "interrupted")
        let tasks = (try? TaskStore(workspace: workspace).currentTasks(job: spec.name)) ?? []
        let done = tasks.filter { $0.state == .done }.count
        throw CommandFailure(
          code: ExitCodes.interrupted,
          message:
            "longctx: interrupted; \(done) of \(tasks.count) known tasks are done and saved. Run `longctx run \(job)` again to resume."
        )
      } catch let reached as BudgetReached {
        try? await shared?.finish(status: "budget")
        let tasks = (try? TaskStore(workspace: workspace).currentTasks(job: spec.name)) ?? []
        let done = tasks.filter { $0.state == .done }.count
        throw CommandFailure(
          code: ExitCodes.budgetReached,
          message:
            "longctx: \(reached.errorDescription ?? "budget reached") (\(done) of \(tasks.count) known tasks are done and saved.)"
        )
      } catch {
        try? await shared?.finish(status: "failed")
        throw error
      }
      if json {
        print(try jsonString(summary))
      } else if !global.quiet {
        print(
          "job \(spec.name): \(summary.tasks) tasks, \(summary.executed) run now, \(summary.reused) reused, \(summary.failed) failed; report: \(summary.reportPath ?? "none")"
        )
        if let period = summary.period {
          print(
            period.periodReport.map { "period report: \($0)" }
              ?? "period: nothing new since run \(period.previousRun ?? 0); reports unchanged")
          if let rolling = period.rollingReport { print("rolling summary: \(rolling)") }
        }
      }
      if summary.failed > 0 { throw ExitCode(ExitCodes.failedTasks) }
    }
  }
}

/// SIGINT/SIGTERM request a clean stop; a second one exits at once.
enum Signals {
  nonisolated(unsafe) private static var sources: [DispatchSourceSignal] = []

  static func install() {
    for sig in [SIGINT, SIGTERM] {
      signal(sig, SIG_IGN)
      let source = DispatchSource.makeSignalSource(signal: sig, queue: .global())
      source.setEventHandler {
        if Interrupt.isRequested { exit(ExitCodes.interrupted) }
        printError("longctx: stopping after saving the current state (signal \(sig)); press again to quit at once.")
        Interrupt.request()
      }
      source.resume()
      sources.append(source)
    }
  }
}

/// Prints progress: a redrawn line on a terminal, plain lines otherwise (cron).
final class ProgressPrinter: Sendable {
  let quiet: Bool
  let terminal = isatty(STDERR_FILENO) == 1
  private let started = Date()
  /// Output tokens so far; its lock also keeps lines from interleaving.
  private let outputTokens = Mutex(0)

  init(quiet: Bool) { self.quiet = quiet }

  func handle(_ event: ProgressEvent) {
    guard !quiet else { return }
    outputTokens.withLock { outputTokens in
      switch event {
      case .ingested(let s):
        line(
          "ingest: \(s.seen) files (\(s.new) new, \(s.changed) changed, \(s.unchanged) unchanged, \(s.failed) failed, \(s.skipped) skipped)"
        )
        for e in s.exceptions where e.severity != .skipped { line("  \(e.severity): \(e.path): \(e.reason)") }
      case .planned(let windows, let tokens, let budget, let exact):
        line(
          "plan: \(windows) windows, \(tokens) tokens (\(exact ? "exact" : "estimated")), budget \(budget) per window")
      case .level(let kind, let level, let tasks, let pending):
        line(
          "\(kind.rawValue)\(kind == .reduce ? " level \(level)" : ""): \(tasks) tasks, \(tasks - pending) already done"
        )
      case .taskFinished(let done, let total, let kind, let ordinal, let out, let seconds, _):
        outputTokens += out
        let elapsed = Date().timeIntervalSince(started)
        let rate = elapsed > 0 ? Double(outputTokens) / elapsed : 0
        let eta = done > 0 ? elapsed / Double(done) * Double(total - done) : 0
        let text = String(
          format: "%@ %d/%d done (task %d: %d tokens in %.1f s; %.1f tok/s; ETA %.0f s)", kind.rawValue, done, total,
          ordinal + 1, out, seconds, rate, eta)
        if terminal {
          FileHandle.standardError.write(Data(("\r\u{1B}[K" + text + (done == total ? "\n" : "")).utf8))
        } else {
          line(text)
        }
      case .taskFailed(let kind, let ordinal, let error, let retry):
        line("\(kind.rawValue) task \(ordinal + 1) failed\(retry ? " (will retry)" : ""): \(error)")
      case .prefill(let kind, let ordinal, let update):
        prefill(kind: kind, ordinal: ordinal, update)
      case .period(let run, let newLines, let sources, let since):
        let from =
          since.map { "since \(ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: $0)))" } ?? "first run"
        line(
          sources.isEmpty
            ? "period (run \(run), \(from)): nothing new"
            : "period (run \(run), \(from)): \(newLines) new lines in \(sources.joined(separator: ", "))")
      }
    }
  }

  private func line(_ text: String) { printError(text) }

  /// Prefills computing fewer tokens than this are not shown (they take a second or two).
  static let prefillShownTokens = 2048
  /// Seconds between plain prefill lines (not on a terminal).
  static let prefillLineSeconds = 10.0
  /// When the last plain prefill line was printed (not on a terminal).
  private let lastPrefillLine = Mutex(0.0)

  /// A long prefill's tokens done, rate and ETA: redrawn on a terminal, a plain line every
  /// `prefillLineSeconds` otherwise (the caller holds the output lock).
  private func prefill(kind: TaskKind, ordinal: Int, _ u: PrefillUpdate) {
    guard u.total - u.cached >= Self.prefillShownTokens else { return }
    let eta = u.eta.map { String(format: "ETA %.0f s", $0) } ?? "ETA unknown"
    let restored = u.cached > 0 ? ", \(u.cached) restored" : ""
    let text =
      "prefill \(kind.rawValue) \(ordinal + 1): \(u.done)/\(u.total) tokens\(restored), "
      + String(format: "%.0f tok/s, ", u.rate) + (u.done >= u.total ? "done" : eta)
    if terminal {
      FileHandle.standardError.write(Data(("\r\u{1B}[K" + text).utf8))
      return
    }
    let now = Date().timeIntervalSince1970
    let due = lastPrefillLine.withLock { last in
      guard now - last >= Self.prefillLineSeconds || u.done >= u.total else { return false }
      last = now
      return true
    }
    if due { line(text) }
  }
}
