import ArgumentParser
import Foundation
import Inference
import Ingest
import Pipeline
import Storage

extension Longctx {
  /// `longctx templates [PATH…] [--job JOB] [--json] [--lines]`
  struct Templates: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Show the log templates ingest mined, by count, or the template of every line.",
      discussion: """
        Templates are mined when a log is ingested (`longctx ingest` or `run`); this command reads them \
        from the workspace. The PATHs (and a --job's inputs) are ingested first, as `plan` does: a log not \
        ingested yet is ingested now, an unchanged one is not read again. With no PATH and no --job, every \
        ingested log counts.
        --lines prints, for one log, each line's number, template id and template (CSV with a header, \
        the shape of loghub's *_structured.csv), so that the parser can be scored against ground truth.
        --refine asks the model (the job's, else --model, else the default model) to refine each template's \
        text from a few of its lines, most frequent templates first, at most --refine-budget calls a run; \
        an answer is used only if it still matches every line shown, and is cached in the workspace, so \
        asking again makes no call. Refined templates are marked. Ingest never asks the model.
        """)

    @OptionGroup(title: "Global Options") var global: GlobalOptions

    @Argument(help: ArgumentHelp("Log files or directories, as ingested.", valueName: "path"))
    var paths: [String] = []

    @Option(help: ArgumentHelp("The templates of a job's inputs (a job file).", valueName: "job.yaml"))
    var job: String?

    @Flag(help: "Print JSON.") var json = false

    @Flag(help: "Per line of one log: line number, template id, template.") var lines = false

    @Option(help: "Show at most this many templates (0: all).") var limit = 50

    @Flag(help: "Refine the templates' text with the model (answers cached in the workspace).") var refine = false

    @Option(help: ArgumentHelp("Model calls --refine may make this run.", valueName: "calls"))
    var refineBudget = 50

    @Option(
      help: ArgumentHelp(
        "The GGUF model for --refine (default: the --job's model, else $LONGCTX_MODEL or the setup's model).",
        valueName: "model.gguf"))
    var model: String?

    func validate() throws {
      if refineBudget < 0 { throw ValidationError("'--refine-budget' must be 0 or more") }
      if model != nil && !refine { throw ValidationError("'--model' is only used with '--refine'") }
    }

    func run() async throws {
      let workspace = try global.openWorkspace()
      let cwd = URL(fileURLWithPath: FileManager.default.currentDirectoryPath)
      for path in paths where !FileManager.default.fileExists(atPath: path) {
        throw IngestError.pathNotFound(path)
      }
      // The logs asked for, as given and as absolute paths (a job's inputs relative to the job file).
      var wanted = paths.flatMap { [$0, URL(fileURLWithPath: $0, relativeTo: cwd).standardizedFileURL.path] }
      if !paths.isEmpty { try await ingest(paths, workspace: workspace, options: IngestOptions(base: cwd)) }
      // A job's inputs are ingested under the job's lock, as `run` and `plan` do.
      var lock: FileLock?
      defer { withExtendedLifetime(lock) {} }
      var jobSpec: JobSpec?
      if let job {
        let spec = try JobFile.load(path: try JobReference(job).file())
        jobSpec = spec
        lock = try workspace.lockJob(spec.name)
        let base = URL(fileURLWithPath: spec.baseDirectory)
        wanted += spec.inputs.flatMap { [$0, URL(fileURLWithPath: $0, relativeTo: base).standardizedFileURL.path] }
        try await ingest(
          spec.inputs, workspace: workspace, options: JobRunner.ingestOptions(spec, worker: .thisExecutable()))
      }
      let resolved: [String]? = wanted.isEmpty ? nil : wanted
      let files = try LogTemplateStore.logFiles(workspace, paths: resolved)
      if files.isEmpty {
        throw ValidationError(
          wanted.isEmpty
            ? "No log has been ingested into this workspace yet; run `longctx ingest PATH` first."
            : "No log among \((paths + (job.map { [$0] } ?? [])).joined(separator: ", ")): nothing there is a log.")
      }
      if lines {
        guard files.count == 1, let file = files.first else {
          throw ValidationError("--lines needs exactly one log file; \(files.count) match.")
        }
        let refined =
          refine
          ? try await refinements(
            workspace: workspace, templates: try LogTemplateStore.templates(workspace, paths: [file]), paths: [file],
            spec: jobSpec) : [:]
        try printLines(workspace: workspace, file: file, refined: refined)
        return
      }
      var all = try LogTemplateStore.templates(workspace, paths: resolved)
      if refine {
        let refined = try await refinements(workspace: workspace, templates: all, paths: resolved, spec: jobSpec)
        for k in all.indices {
          guard let text = refined[all[k].id] else { continue }
          all[k].minedText = all[k].text
          all[k].text = text
        }
      }
      let shown = limit > 0 ? Array(all.prefix(limit)) : all
      if json {
        struct Out: Encodable {
          var files: [String]
          var templates: Int
          var events: Int
          var shown: [StoredLogTemplate]
        }
        print(
          try jsonString(Out(files: files, templates: all.count, events: all.reduce(0) { $0 + $1.count }, shown: shown))
        )
        return
      }
      let events = all.reduce(0) { $0 + $1.count }
      print("\(all.count) templates over \(events) events in \(files.count) log file\(files.count == 1 ? "" : "s")")
      let iso = ISO8601DateFormatter()
      func time(_ t: Double?) -> String { t.map { iso.string(from: Date(timeIntervalSince1970: $0)) } ?? "-" }
      for t in shown {
        print("")
        print("\(t.count)\t#\(t.id)\t\(t.text)")
        if let mined = t.minedText { print("\trefined by the model; mined: \(mined)") }
        print("\tfirst \(time(t.firstTime))  last \(time(t.lastTime))  at [\(t.firstLocator)]")
      }
      if shown.count < all.count { print("\n… \(all.count - shown.count) more (--limit 0 shows all)") }
    }

    /// Ingests `inputs` (incrementally: unchanged files are not read again), saying on stderr what
    /// was new unless --quiet or --json.
    private func ingest(_ inputs: [String], workspace: Workspace, options: IngestOptions) async throws {
      var options = options
      if options.worker == nil { options.worker = ExtractionWorker.thisExecutable() }
      let summary = try await Ingestor(workspace: workspace, logger: global.logger("longctx.templates")).ingest(
        inputs: inputs, options: options)
      if !json, !global.quiet, summary.new + summary.changed > 0 {
        FileHandle.standardError.write(
          Data("ingested \(summary.new) new and \(summary.changed) changed file(s) first\n".utf8))
      }
      for e in summary.exceptions where e.severity != .warning {
        FileHandle.standardError.write(Data("\(e.severity): \(e.path): \(e.reason)\n".utf8))
      }
    }

    /// The model's template for each of `templates` it refined (most frequent first, at most
    /// --refine-budget calls; answers cached in the workspace), saying on stderr what it did.
    private func refinements(
      workspace: Workspace, templates: [StoredLogTemplate], paths: [String]?, spec: JobSpec?
    ) async throws -> [Int64: String] {
      let cwd = FileManager.default.currentDirectoryPath
      var settings = spec?.model ?? ModelSettings()
      if let model {
        settings.engine = .llama
        settings.path = URL(fileURLWithPath: model, relativeTo: URL(fileURLWithPath: cwd)).standardizedFileURL.path
      }
      let choice = try EngineSetup.choose(model: settings, baseDirectory: spec?.baseDirectory ?? cwd, kvDirectory: nil)
      // Answers depend on the model and the prompt: the cache is kept per both.
      let scope = choice.modelKey + " " + TemplateRefinement.promptVersion
      var cache = try LogTemplateStore.refinements(workspace, scope: scope)
      let before = cache
      let samples = try LogTemplateStore.messageSamples(
        workspace, paths: paths, templates: Set(templates.map(\.id)))
      let asked = templates.filter { samples[$0.id] != nil }
      let clusters = asked.map { TemplateRefiner.Cluster(template: $0.text, lines: samples[$0.id] ?? []) }
      let refiner = TemplateRefiner(makeEngine: choice.makeEngine, budget: refineBudget)
      // An engine that cannot start or answer exits 4 (ExitCodes).
      let result = try await refiner.refine(clusters, cache: &cache)
      try LogTemplateStore.saveRefinements(workspace, scope: scope, cache.filter { before[$0.key] == nil })
      var out: [Int64: String] = [:]
      var refused = 0
      var skipped = 0
      for (t, outcome) in zip(asked, result.outcomes) {
        switch outcome {
        case .refined(let text) where text != TemplateRefinement.collapse(t.text): out[t.id] = text
        case .refused: refused += 1
        case .skipped: skipped += 1
        case .refined, .nothingToAsk: break
        }
      }
      if !json, !global.quiet {
        FileHandle.standardError.write(
          Data(
            ("refine: \(result.calls) model call(s) (budget \(refineBudget)), \(out.count) template(s) refined, "
              + "\(refused) answer(s) refused, \(skipped) template(s) past the budget\n").utf8))
      }
      return out
    }

    private func printLines(workspace: Workspace, file: String, refined: [Int64: String] = [:]) throws {
      guard let rows = try LogTemplateStore.lines(workspace, displayPath: file) else {
        throw ValidationError("\(file) has no stored templates; ingest it again.")
      }
      if json {
        struct Line: Encodable {
          var line: Int
          var id: Int64?
          var template: String?
        }
        print(
          try jsonString(
            rows.map { Line(line: $0.line, id: $0.id, template: $0.id.flatMap { refined[$0] } ?? $0.text) }))
        return
      }
      var out = "LineId,EventId,EventTemplate\n"
      for row in rows {
        // A continuation line belongs to the event above it: no template of its own.
        let text = row.id.flatMap { refined[$0] } ?? row.text ?? ""
        out += "\(row.line),\(row.id.map { "T\($0)" } ?? ""),\(Self.csvField(text))\n"
        if out.utf8.count > 1 << 16 {
          FileHandle.standardOutput.write(Data(out.utf8))
          out = ""
        }
      }
      FileHandle.standardOutput.write(Data(out.utf8))
    }

    /// A CSV field, quoted when it holds a comma, quote or newline.
    static func csvField(_ s: String) -> String {
      guard s.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" }) else { return s }
      return "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
  }
}
