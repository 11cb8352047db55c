import Foundation
import Inference
import Ingest
import Yams

/// Reads and validates job files, reporting every problem with its key path and line.
///
/// One function reads each section (`model` in `JobFile+Model`, `production` and `coding` in
/// `JobFile+Production`, `questions` in `JobFile+Questions`, `limits`, `pricing` and `budget`
/// in `JobFile+Limits`); each adds its problems to the `Reader` (`JobFile+Reader`), so that
/// one pass names every problem of a file.
public enum JobFile {
  /// The keys of a job file's top level.
  static let topLevelKeys: Set<String> = [
    "name", "inputs", "model", "generation", "question", "plan", "map", "reduce", "report", "incremental", "ingest",
    "production", "ocr", "coding", "limits", "pricing", "budget", "questions",
  ]

  /// Loads the job at `path`.
  ///
  /// - Throws: `PipelineError.jobInvalid` listing every problem, or
  ///   `.jobUnreadable` when the file cannot be read or parsed.
  public static func load(path: String) throws -> JobSpec {
    try read(path: path).spec
  }

  /// Loads the job at `path`, with the text it was read from (what `run` records).
  ///
  /// - Throws: As `load(path:)`.
  public static func read(path: String) throws -> (spec: JobSpec, text: String) {
    let url = URL(fileURLWithPath: path)
    let text: String
    do { text = try String(contentsOf: url, encoding: .utf8) } catch {
      throw PipelineError.jobUnreadable(path: path, reason: "no such file or it cannot be read")
    }
    return (try parse(text, path: path, baseDirectory: url.deletingLastPathComponent().standardizedFileURL.path), text)
  }

  /// Parses job YAML; `path` is only used in messages.
  ///
  /// - Throws: `PipelineError.jobInvalid` listing every problem, or `.jobUnreadable` when
  ///   the text is not YAML.
  public static func parse(_ text: String, path: String, baseDirectory: String) throws -> JobSpec {
    let root: Node?
    do { root = try Yams.compose(yaml: text) } catch {
      throw PipelineError.jobUnreadable(path: path, reason: "invalid YAML (\(error))")
    }
    guard let root, case .mapping(let top) = root else {
      throw PipelineError.jobInvalid(path: path, problems: ["the file must be a YAML mapping of keys"])
    }
    var r = Reader(path: path)
    r.allow(top, at: "", keys: topLevelKeys)
    let name = Self.name(top, &r)
    let inputs = Self.inputs(top, &r)
    let model = Self.model(top, baseDirectory: baseDirectory, &r)
    let generation = Self.generation(top, context: model.context, &r)
    let map = prompt(top, "map", variable: "window", &r)
    let mapPer = mapUnit(top, &r)
    let reduce = prompt(top, "reduce", variable: "outputs", &r)
    let question = r.string(top, "question")
    let incremental = r.bool(top, "incremental") ?? false
    let report = Self.report(top, incremental: incremental, &r)
    let plan = Self.plan(top, &r)
    let ingest = Self.ingest(top, &r)
    let production = Self.production(top, &r)
    let coding = Self.coding(top, map: map, production: production, &r)
    let questions = Self.questions(top, map: map, &r)
    let ocr = Self.ocr(top, &r)
    let hosted = hostedSections(top, engine: model.engine, reportPrices: report.prices, &r)
    if !r.problems.isEmpty { throw PipelineError.jobInvalid(path: path, problems: r.problems) }

    var spec = JobSpec(
      name: name, inputs: inputs.paths, model: model.settings, generation: generation, question: question, map: map,
      reduce: reduce, reportPath: report.path, prices: hosted.prices, collapseRepeats: plan.collapseRepeats,
      maxWindows: plan.maxWindows, baseDirectory: baseDirectory)
    spec.logWindow = plan.logWindow
    spec.collapseDuplicates = plan.collapseDuplicates
    spec.semantic = plan.semantic
    spec.incremental = incremental
    spec.rollingReportPath = report.rollingPath
    spec.mapPer = mapPer
    spec.redact = ingest.redact
    spec.denist = ingest.denist
    spec.custodians = inputs.custodians.isEmpty ? nil : inputs.custodians
    spec.production = production
    spec.coding = coding
    spec.reportFormats = report.formats
    spec.ocr = ocr
    spec.limits = hosted.limits
    spec.budget = hosted.budget
    spec.questions = questions
    return spec
  }

  // MARK: - Sections

  /// `name`: letters, digits, `.`, `_` and `-` (it names files and locks).
  static func name(_ top: Node.Mapping, _ r: inout Reader) -> String {
    let name = r.string(top, "name", required: true) ?? ""
    if !name.isEmpty, name.range(of: #"^[A-Za-z0-9._-]+$"#, options: .regularExpression) == nil {
      r.problem("name", top["name"], "must use only letters, digits, '.', '_' and '-'")
    }
    return name
  }

  /// `inputs`: each a path, or `{path, custodian}`; at least one.
  static func inputs(_ top: Node.Mapping, _ r: inout Reader) -> (paths: [String], custodians: [String: String]) {
    var inputs: [String] = []
    var custodians: [String: String] = [:]
    if case .sequence(let seq)? = top["inputs"] {
      for item in seq {
        if case .mapping(let m) = item {
          r.allow(m, at: "inputs[].", keys: ["path", "custodian"])
          guard let p = r.string(m, "path", at: "inputs[].", required: true) else { continue }
          inputs.append(p)
          if let c = r.string(m, "custodian", at: "inputs[]."), !c.trimmingCharacters(in: .whitespaces).isEmpty {
            custodians[p] = c
          }
        } else if let text = item.string {
          inputs.append(text)
        } else {
          r.problem("inputs", item, "must be a path or {path, custodian}")
        }
      }
    } else {
      inputs = r.stringList(top, "inputs", required: true) ?? []
    }
    if top["inputs"] != nil && inputs.isEmpty { r.problem("inputs", top["inputs"], "must name at least one path") }
    return (inputs, custodians)
  }

  /// `generation`: `max_tokens` (below the model's context), `temperature`, `seed`, `stop`.
  static func generation(_ top: Node.Mapping, context: Int, _ r: inout Reader) -> JobSpec.GenerationSpec {
    let g = r.mapping(top, "generation", required: false)
    if let g { r.allow(g, at: "generation.", keys: ["max_tokens", "temperature", "seed", "stop"]) }
    let maxTokens = g.flatMap { r.int($0, "max_tokens", at: "generation.") } ?? 256
    if maxTokens < 1 || maxTokens >= context {
      r.problem("generation.max_tokens", g?["max_tokens"], "must be between 1 and model.context - 1")
    }
    let temperature = g.flatMap { r.double($0, "temperature", at: "generation.") } ?? 0
    if temperature < 0 { r.problem("generation.temperature", g?["temperature"], "must not be negative") }
    let seed = g.flatMap { r.int($0, "seed", at: "generation.") } ?? 0
    return JobSpec.GenerationSpec(
      maxTokens: maxTokens, temperature: temperature, seed: UInt32(truncatingIfNeeded: seed),
      stop: g.flatMap { r.stringList($0, "stop", at: "generation.") } ?? [])
  }

  /// `map` or `reduce`: a prompt that contains `{{variable}}` and only known variables, and
  /// an optional `json_schema`.
  static func prompt(_ top: Node.Mapping, _ key: String, variable: String, _ r: inout Reader) -> JobSpec.PromptSpec {
    guard let p = r.mapping(top, key, required: true) else { return .init(prompt: "") }
    r.allow(p, at: "\(key).", keys: key == "map" ? ["prompt", "json_schema", "per"] : ["prompt", "json_schema"])
    let text = r.string(p, "prompt", at: "\(key).", required: true) ?? ""
    if !text.isEmpty && !text.contains("{{\(variable)}}") {
      r.problem("\(key).prompt", p["prompt"], "must contain {{\(variable)}}")
    }
    let unknown = PromptTemplate.unknownVariables(in: text, allowed: PromptTemplate.variables(for: key))
    if !unknown.isEmpty {
      r.problem(
        "\(key).prompt", p["prompt"], "uses unknown variables \(unknown.map { "{{\($0)}}" }.joined(separator: ", "))")
    }
    return .init(prompt: text, jsonSchema: r.jsonSchema(p, "json_schema", at: "\(key)."))
  }

  /// `map.per`: what one map task reads (default a window).
  static func mapUnit(_ top: Node.Mapping, _ r: inout Reader) -> JobSpec.MapUnit {
    guard case .mapping(let m)? = top["map"] else { return .window }
    return r.oneOf(m, "per", at: "map.") ?? .window
  }

  /// What `report:` says.
  struct ReportSection {
    var path: String?
    var rollingPath: String?
    var formats: [ReportFormat] = [.md]
    var prices: JobSpec.Prices?
  }

  /// `report`: `path`, `rolling_path` (incremental jobs only), `formats`, and `prices` (the
  /// older spelling of `pricing:`).
  static func report(_ top: Node.Mapping, incremental: Bool, _ r: inout Reader) -> ReportSection {
    guard let rep = r.mapping(top, "report", required: false) else { return ReportSection() }
    r.allow(rep, at: "report.", keys: ["path", "prices", "rolling_path", "formats"])
    var section = ReportSection(
      path: r.string(rep, "path", at: "report."), rollingPath: r.string(rep, "rolling_path", at: "report."),
      formats: formats(rep, &r))
    if section.rollingPath != nil && !incremental {
      r.problem("report.rolling_path", rep["rolling_path"], "is only used with 'incremental: true'")
    }
    if let pr = r.mapping(rep, "prices", at: "report.", required: false) {
      r.allow(pr, at: "report.prices.", keys: ["prompt_per_million", "output_per_million", "currency"])
      section.prices = JobSpec.Prices(
        promptPerMillion: r.double(pr, "prompt_per_million", at: "report.prices.") ?? 0,
        outputPerMillion: r.double(pr, "output_per_million", at: "report.prices.") ?? 0,
        currency: r.string(pr, "currency", at: "report.prices.") ?? "USD")
    }
    return section
  }

  /// What `plan:` says.
  struct PlanSection {
    var collapseRepeats = true
    var maxWindows: Int?
    var collapseDuplicates = true
    var logWindow: Double? = 3600
    var semantic: Bool?
  }

  /// `plan`: `collapse_repeats`, `collapse_duplicates`, `log_window` (a duration or `off`),
  /// `max_windows`, `semantic`.
  static func plan(_ top: Node.Mapping, _ r: inout Reader) -> PlanSection {
    var section = PlanSection()
    guard let pl = r.mapping(top, "plan", required: false) else { return section }
    r.allow(
      pl, at: "plan.", keys: ["collapse_repeats", "collapse_duplicates", "log_window", "max_windows", "semantic"])
    section.collapseRepeats = r.bool(pl, "collapse_repeats", at: "plan.") ?? true
    section.maxWindows = r.int(pl, "max_windows", at: "plan.")
    if let maxWindows = section.maxWindows, maxWindows < 1 {
      r.problem("plan.max_windows", pl["max_windows"], "must be at least 1")
    }
    section.collapseDuplicates = r.bool(pl, "collapse_duplicates", at: "plan.") ?? true
    if let node = pl["log_window"] {
      section.logWindow = nil
      if let text = node.string, text != "off" {
        let seconds = Self.seconds(text)
        if let seconds, seconds > 0 {
          section.logWindow = seconds
        } else {
          r.problem("plan.log_window", node, "must be a duration such as 15m, 1h or 1d, or off, not '\(text)'")
        }
      }
    }
    section.semantic = r.bool(pl, "semantic", at: "plan.")
    return section
  }

  /// `ingest`: `redact` (default true) and `denist`.
  static func ingest(_ top: Node.Mapping, _ r: inout Reader) -> (redact: Bool, denist: String?) {
    guard let ing = r.mapping(top, "ingest", required: false) else { return (true, nil) }
    r.allow(ing, at: "ingest.", keys: ["redact", "denist"])
    return (r.bool(ing, "redact", at: "ingest.") ?? true, r.string(ing, "denist", at: "ingest."))
  }

  /// `ocr`: `mode`, `languages`, `dpi`; nil when the job file does not say.
  static func ocr(_ top: Node.Mapping, _ r: inout Reader) -> OCRSettings? {
    guard let o = r.mapping(top, "ocr", required: false) else { return nil }
    r.allow(o, at: "ocr.", keys: ["mode", "languages", "dpi"])
    var settings = OCRSettings()
    if let mode: OCRMode = r.oneOf(o, "mode", at: "ocr.", listed: .list) { settings.mode = mode }
    if let languages = r.string(o, "languages", at: "ocr.") { settings.languages = languages }
    if let dpi = r.int(o, "dpi", at: "ocr.") { settings.dpi = dpi }
    if let problem = settings.problem {
      let key = problem.hasPrefix("dpi") ? "dpi" : "languages"
      r.problem("ocr.\(key)", o[key], String(problem.drop { $0 != " " }.dropFirst()))
    }
    return settings
  }

  /// `report.formats`: known names, each once; default Markdown.
  private static func formats(_ rep: Node.Mapping, _ r: inout Reader) -> [ReportFormat] {
    guard let list = r.stringList(rep, "formats", at: "report.") else { return [.md] }
    var formats: [ReportFormat] = []
    for name in list {
      if let f = ReportFormat(rawValue: name) {
        if !formats.contains(f) { formats.append(f) }
      } else {
        r.problem(
          "report.formats", rep["formats"],
          "'\(name)' is not a report format (\(ReportFormat.allCases.map(\.rawValue).joined(separator: ", ")))")
      }
    }
    if list.isEmpty { r.problem("report.formats", rep["formats"], "must name at least one format") }
    return formats.isEmpty ? [.md] : formats
  }

  /// Seconds in a duration such as `90`, `30s`, `15m`, `1h` or `2d`.
  static func seconds(_ text: String) -> Double? {
    let units: [Character: Double] = ["s": 1, "m": 60, "h": 3600, "d": 86400]
    guard let last = text.last else { return nil }
    if let unit = units[last] { return Double(text.dropLast()).map { $0 * unit } }
    return Double(text)
  }

}
