import ArgumentParser
import Foundation
import Inference
import Logging
import Pipeline
import Storage

// MARK: - Naming a job

/// A job as the command line names it: a job file, or a job's name.
///
/// The one place that tells them apart: a path ending in `.yaml` or `.yml`, or naming an
/// existing file, is a job file; anything else is a job's name.
enum JobReference: Equatable, Sendable {
  /// A job file, as typed.
  case file(String)
  /// A job's name, as `name:` gives it.
  case name(String)

  /// The extensions a job file may have.
  static let extensions = ["yaml", "yml"]

  /// How a job argument is told apart, for the help of every command that takes one.
  static let rule =
    "A path ending in .yaml or .yml, or naming an existing file, is a job file; anything else is a job's name (its `name:`)."

  /// The job argument's help for commands that run a job (`run`, `plan`, `produce`,
  /// `export-batch`, `import-batch`): a name is read from its job file in the current directory.
  ///
  /// - Parameter abstract: What the command needs of the job, e.g. "The job (model.engine must be openai)."
  static func help(_ abstract: String = "The job: a job file, or a job's name.") -> ArgumentHelp {
    ArgumentHelp(
      abstract,
      discussion: rule + " A name runs NAME.yaml, else NAME.yml, in the current directory.",
      valueName: "job")
  }

  /// Reads what was typed.
  ///
  /// - Parameter text: A job file's path or a job's name.
  init(_ text: String) {
    let isJobFile = Self.extensions.contains { text.hasSuffix(".\($0)") }
    var isDirectory: ObjCBool = false
    let isFile = FileManager.default.fileExists(atPath: text, isDirectory: &isDirectory) && !isDirectory.boolValue
    self = isJobFile || isFile ? .file(text) : .name(text)
  }

  /// The job file: the one typed, or for a name `NAME.yaml`, else `NAME.yml`, in `directory`.
  ///
  /// - Parameter directory: Where a name's job file is looked for (the current directory).
  /// - Returns: The path to read.
  /// - Throws: `PipelineError.jobUnreadable` when a name has no job file there.
  func file(in directory: String = FileManager.default.currentDirectoryPath) throws -> String {
    switch self {
    case .file(let path): return path
    case .name(let name):
      for ext in Self.extensions {
        let candidate = URL(fileURLWithPath: directory).appendingPathComponent("\(name).\(ext)").path
        if FileManager.default.fileExists(atPath: candidate) { return candidate }
      }
      throw PipelineError.jobUnreadable(
        path: name,
        reason: "no such file, and no \(name).yaml or \(name).yml in \(directory); give the job file's path")
    }
  }

  /// The job file read, for a file; nil for a name.
  ///
  /// - Throws: `PipelineError.jobUnreadable` or `.jobInvalid` for a file that cannot be used.
  func spec() throws -> JobSpec? {
    guard case .file(let path) = self else { return nil }
    return try JobFile.load(path: path)
  }

  /// The job's name: the one typed, or the one in the job file.
  ///
  /// - Throws: `PipelineError.jobUnreadable` or `.jobInvalid` for a file that cannot be used.
  func name() throws -> String {
    switch self {
    case .name(let name): name
    case .file(let path): try JobFile.load(path: path).name
    }
  }
}

// MARK: - Commands that run a job

/// A command that works on one job: resolves it, applies the command's flags over the job
/// file, opens the workspace, takes the job's lock and builds its coordinator, then calls
/// `run(_:)` (SwiftPM's `AsyncSwiftCommand` shape).
///
/// The order is the same for every such command: the job file and the engine's settings are
/// checked before the workspace is touched, so a configuration error leaves it as it was;
/// the lock is held from before the first ingest until the command ends (exit code 3 while
/// another process holds it).
protocol JobCommand: AsyncParsableCommand {
  /// The global flags (`--workspace`, `--log-level`, `--quiet`).
  var global: GlobalOptions { get }

  /// The job as typed (see `JobReference`); nil only where a command also works without
  /// one (`produce --check`).
  var jobArgument: String? { get }

  /// Applies the command's flags over the job file's settings, and checks what can be
  /// checked before the engine is chosen. The default changes nothing.
  ///
  /// - Throws: `CommandFailure` (exit 2) for a job the command cannot run.
  func prepare(_ spec: inout JobSpec) throws

  /// The engine the coordinator is given. The default is the job's engine, without KV
  /// checkpoints (for commands that generate nothing, as `plan`).
  ///
  /// - Throws: `CommandFailure` (exit 2) for a configuration the backend refuses.
  func engine(for spec: JobSpec) throws -> EngineChoice

  /// Runs the command on the opened, locked job.
  func run(_ opened: JobContext) async throws
}

extension JobCommand {
  func prepare(_ spec: inout JobSpec) throws {}

  func engine(for spec: JobSpec) throws -> EngineChoice {
    try EngineSetup.validate(spec)
    return try EngineSetup.choose(spec, kvDirectory: nil)
  }

  func run() async throws {
    try await runJob()
  }

  /// The shared path: resolve, prepare, choose the engine, open the workspace, lock, run.
  func runJob() async throws {
    guard let jobArgument else { throw ValidationError("give a job file") }
    let path = try JobReference(jobArgument).file()
    var (spec, text) = try JobFile.read(path: path)
    try prepare(&spec)
    let engine = try engine(for: spec)
    let workspace = try global.openWorkspace()
    let context = JobContext(
      argument: jobArgument, path: path, text: text, spec: spec, engine: engine, workspace: workspace,
      lock: try workspace.lockJob(spec.name), global: global, command: Self._commandName)
    defer { withExtendedLifetime(context.lock) {} }
    try await run(context)
  }
}

/// A job opened for a command: its file, settings, engine, workspace and lock.
struct JobContext {
  /// The job as typed (for messages that tell the user what to run next).
  let argument: String
  /// The job file read.
  let path: String
  /// Its text (recorded in the workspace when `run` finishes the job).
  let text: String
  /// The job file's settings, with the command's flags applied.
  let spec: JobSpec
  /// The engine the coordinator is given.
  let engine: EngineChoice
  let workspace: Workspace
  /// The job's lock, held while the command runs.
  let lock: FileLock
  let global: GlobalOptions
  /// The command's name, e.g. `plan` (its logger is `longctx.plan`).
  let command: String

  /// The command's logger.
  var logger: Logger { global.logger("longctx.\(command)") }

  /// The job's coordinator.
  ///
  /// - Parameters:
  ///   - settings: Concurrency, retries, the extraction worker and a shared queue (default:
  ///     this binary as the extraction worker).
  ///   - progress: Receives ingest, plan and task events.
  func runner(
    settings: RunSettings = RunSettings(worker: .thisExecutable()),
    progress: @escaping @Sendable (ProgressEvent) -> Void = { _ in }
  ) -> JobRunner {
    JobRunner(
      workspace: workspace, spec: spec, engine: engine, settings: settings, logger: logger, jobText: text,
      progress: progress)
  }
}

extension Workspace {
  /// Takes job `name`'s lock (`locks/NAME.lock`) without waiting.
  ///
  /// - Throws: `WorkspaceError.locked` naming the holder while another process has it.
  func lockJob(_ name: String) throws -> FileLock {
    try FileLock(path: locksDirectory.appendingPathComponent("\(name).lock").path)
  }
}

extension EngineChoice {
  /// The same counter and model key with an engine that never starts: for commands that
  /// count and record but do not generate.
  ///
  /// - Parameter reason: Why, as the error says should anything ask for the engine.
  func withoutGeneration(_ reason: String) -> EngineChoice {
    EngineChoice(counter: counter, modelKey: modelKey) { throw EngineError.unavailable(reason) }
  }
}
