import Foundation
import Inference
import Ingest
import Yams

/// Reads and validates job files, reporting every problem with its key path and line.
public enum JobFile {
  /// Loads the job at `path`.
  ///
  /// - Throws: `PipelineError.jobInvalid` listing every problem, or
  ///   `.jobUnreadable` when the file cannot be read or parsed.
  public static func load(path: String) throws -> JobSpec {
    let url = URL(fileURLWithPath: path)
    let text: String
    do { text = try String(contentsOf: url, encoding: .utf8) } catch {
      throw PipelineError.jobUnreadable(path: path, reason: "no such file or it cannot be read")
    }
    return try parse(text, path: path, baseDirectory: url.deletingLastPathComponent().standardizedFileURL.path)
  }

  /// Parses job YAML; `path` is only used in messages.
  public static func parse(_ text: String, path: String, baseDirectory: String) throws -> JobSpec {
    let root: Node?
    do { root = try Yams.compose(yaml: text) } catch {
      throw PipelineError.jobUnreadable(path: path, reason: "invalid YAML (\(error))")
    }
    guard let root, case .mapping(let top) = root else {
      throw PipelineError.jobInvalid(path: path, problems: ["the file must be a YAML mapping of keys"])
    }
    var r = Reader(path: path)
    r.allow(
      top, at: "",
      keys: [
        "name", "inputs", "model", "generation", "question", "plan", "map", "reduce", "report", "incremental", "ingest",
        "production", "ocr", "coding", "limits", "pricing", "budget", "questions",
      ])
    let name = r.string(top, "name", required: true) ?? ""
    if !name.isEmpty, name.range(of: #"^[A-Za-z0-9._-]+$"#, options: .regularExpression) == nil {
      r.problem("name", top["name"], "must use only letters, digits, '.', '_' and '-'")
    }
    // Each input is a path, or {path, custodian}.
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

    let m = r.mapping(top, "model", required: true)
    if let m {
      r.allow(
        m, at: "model.",
        keys: [
          "engine", "path", "context", "threads", "base_url", "name", "api_key_env", "vocabulary", "api", "concurrency",
          "timeout", "prompt_format", "slot_save_path", "loop_guard", "kv_cache",
        ])
    }
    let engine = m.flatMap { r.string($0, "engine", at: "model.") } ?? "llama"
    if !["llama", "openai"].contains(engine) {
      r.problem("model.engine", m?["engine"], "must be 'llama' or 'openai', not '\(engine)'")
    }
    let context = m.flatMap { r.int($0, "context", at: "model.") } ?? 8192
    if context < 256 { r.problem("model.context", m?["context"], "must be at least 256 tokens") }
    // One URL, several separated by commas, or a list: stored comma-separated.
    let baseURL = m.flatMap { r.stringList($0, "base_url", at: "model.") }?.joined(separator: ",")
    if engine == "openai" && baseURL == nil {
      r.problem("model.base_url", m.map { Node.mapping($0) }, "is required when model.engine is 'openai'")
    }
    let threads = m.flatMap { r.int($0, "threads", at: "model.") }
    let api = m.flatMap { r.string($0, "api", at: "model.") }
    if let api, !["completions", "chat"].contains(api) {
      r.problem("model.api", m?["api"], "must be 'completions' or 'chat', not '\(api)'")
    }
    let concurrency = m.flatMap { r.int($0, "concurrency", at: "model.") }
    if let concurrency, concurrency < 1 { r.problem("model.concurrency", m?["concurrency"], "must be at least 1") }
    let timeout = m.flatMap { r.double($0, "timeout", at: "model.") }
    if let timeout, timeout <= 0 { r.problem("model.timeout", m?["timeout"], "must be a positive number of seconds") }
    let promptFormat = m.flatMap { r.string($0, "prompt_format", at: "model.") }
    if let promptFormat {
      if !["raw", "chat"].contains(promptFormat) {
        r.problem("model.prompt_format", m?["prompt_format"], "must be 'raw' or 'chat', not '\(promptFormat)'")
      } else if engine != "llama" {
        r.problem(
          "model.prompt_format", m?["prompt_format"],
          "applies to model.engine 'llama' only; for a server use model.api: chat")
      }
    }
    var slotSavePath = m.flatMap { r.string($0, "slot_save_path", at: "model.") }
    if let path = slotSavePath {
      if engine != "openai" {
        r.problem("model.slot_save_path", m?["slot_save_path"], "needs model.engine 'openai' (a llama.cpp server)")
      } else if (api ?? "completions") != "completions" {
        r.problem(
          "model.slot_save_path", m?["slot_save_path"],
          "needs model.api 'completions' (the prefix must be known in tokens)")
      } else if (baseURL ?? "").contains(",") {
        r.problem(
          "model.slot_save_path", m?["slot_save_path"], "works with one model.base_url (slots belong to one server)")
      }
      if !path.hasPrefix("/") { slotSavePath = URL(fileURLWithPath: baseDirectory).appendingPathComponent(path).path }
    }
    let loopGuard: LoopGuard? = if let m { r.loopGuard(m) } else { .standard }
    let kvCache = m.flatMap { r.string($0, "kv_cache", at: "model.") }
    if let kvCache {
      if KVCacheType(rawValue: kvCache) == nil {
        r.problem("model.kv_cache", m?["kv_cache"], "must be 'f16' or 'q8_0', not '\(kvCache)'")
      } else if engine != "llama" {
        r.problem("model.kv_cache", m?["kv_cache"], "applies to model.engine 'llama' only (a server sets its own)")
      }
    }
    let model = JobSpec.ModelSpec(
      engine: EngineKind(rawValue: engine) ?? .llama, path: m.flatMap { r.string($0, "path", at: "model.") },
      context: context,
      threads: threads, baseURL: baseURL, name: m.flatMap { r.string($0, "name", at: "model.") },
      apiKeyEnv: m.flatMap { r.string($0, "api_key_env", at: "model.") },
      vocabulary: m.flatMap { r.string($0, "vocabulary", at: "model.") },
      api: api.flatMap(CompletionAPI.init(rawValue:)) ?? .completions, concurrency: concurrency,
      timeout: timeout, promptFormat: promptFormat.flatMap(PromptFormat.init(rawValue:)) ?? .raw,
      slotSavePath: slotSavePath, loopGuard: loopGuard, kvCache: kvCache.flatMap(KVCacheType.init(rawValue:)))

    let g = r.mapping(top, "generation", required: false)
    if let g { r.allow(g, at: "generation.", keys: ["max_tokens", "temperature", "seed", "stop"]) }
    let maxTokens = g.flatMap { r.int($0, "max_tokens", at: "generation.") } ?? 256
    if maxTokens < 1 || maxTokens >= context {
      r.problem("generation.max_tokens", g?["max_tokens"], "must be between 1 and model.context - 1")
    }
    let temperature = g.flatMap { r.double($0, "temperature", at: "generation.") } ?? 0
    if temperature < 0 { r.problem("generation.temperature", g?["temperature"], "must not be negative") }
    let seed = g.flatMap { r.int($0, "seed", at: "generation.") } ?? 0
    let generation = JobSpec.GenerationSpec(
      maxTokens: maxTokens, temperature: temperature, seed: UInt32(truncatingIfNeeded: seed),
      stop: g.flatMap { r.stringList($0, "stop", at: "generation.") } ?? [])

    func prompt(_ key: String, variable: String) -> JobSpec.PromptSpec {
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
    let map = prompt("map", variable: "window")
    var mapPer = JobSpec.MapUnit.window
    if case .mapping(let m)? = top["map"], let per = r.string(m, "per", at: "map.") {
      if let unit = JobSpec.MapUnit(rawValue: per) {
        mapPer = unit
      } else {
        r.problem("map.per", m["per"], "must be 'window' or 'document', not '\(per)'")
      }
    }
    let reduce = prompt("reduce", variable: "outputs")

    let rep = r.mapping(top, "report", required: false)
    if let rep { r.allow(rep, at: "report.", keys: ["path", "prices", "rolling_path", "formats"]) }
    let reportPath = rep.flatMap { r.string($0, "path", at: "report.") }
    let rollingPath = rep.flatMap { r.string($0, "rolling_path", at: "report.") }
    let formats = rep.map { Self.formats($0, &r) } ?? [.md]
    let incremental = r.bool(top, "incremental") ?? false
    if rollingPath != nil && !incremental {
      r.problem("report.rolling_path", rep?["rolling_path"], "is only used with 'incremental: true'")
    }
    var prices: JobSpec.Prices?
    if let rep, let pr = r.mapping(rep, "prices", at: "report.", required: false) {
      r.allow(pr, at: "report.prices.", keys: ["prompt_per_million", "output_per_million", "currency"])
      prices = JobSpec.Prices(
        promptPerMillion: r.double(pr, "prompt_per_million", at: "report.prices.") ?? 0,
        outputPerMillion: r.double(pr, "output_per_million", at: "report.prices.") ?? 0,
        currency: r.string(pr, "currency", at: "report.prices.") ?? "USD")
    }

    let pl = r.mapping(top, "plan", required: false)
    if let pl {
      r.allow(
        pl, at: "plan.", keys: ["collapse_repeats", "collapse_duplicates", "log_window", "max_windows", "semantic"])
    }
    let collapse = pl.flatMap { r.bool($0, "collapse_repeats", at: "plan.") } ?? true
    let maxWindows = pl.flatMap { r.int($0, "max_windows", at: "plan.") }
    if let maxWindows, maxWindows < 1 { r.problem("plan.max_windows", pl?["max_windows"], "must be at least 1") }
    let collapseDuplicates = pl.flatMap { r.bool($0, "collapse_duplicates", at: "plan.") } ?? true
    var logWindow: Double? = 3600
    if let node = pl?["log_window"] {
      logWindow = nil
      if let text = node.string, text != "off" {
        logWindow = Self.seconds(text)
        if logWindow == nil || logWindow! <= 0 {
          r.problem("plan.log_window", node, "must be a duration such as 15m, 1h or 1d, or off, not '\(text)'")
        }
      }
    }

    let ing = r.mapping(top, "ingest", required: false)
    if let ing { r.allow(ing, at: "ingest.", keys: ["redact", "denist"]) }
    let redact = ing.flatMap { r.bool($0, "redact", at: "ingest.") } ?? true
    let ingestDenist = ing.flatMap { r.string($0, "denist", at: "ingest.") }

    var production: JobSpec.ProductionSpec?
    if let pr = r.mapping(top, "production", required: false) {
      r.allow(
        pr, at: "production.",
        keys: ["prefix", "start", "digits", "dedup", "denist", "select", "withhold", "privilege", "images"])
      let prefix = r.string(pr, "prefix", at: "production.", required: true) ?? ""
      if let last = prefix.last, last.isNumber {
        r.problem(
          "production.prefix", pr["prefix"],
          "must not end in a digit ('\(prefix)' followed by a number is ambiguous); add a separator such as '\(prefix)-'"
        )
      }
      let start = r.int(pr, "start", at: "production.") ?? 1
      if start < 0 { r.problem("production.start", pr["start"], "must be 0 or more") }
      let digits = r.int(pr, "digits", at: "production.") ?? 8
      if !(1...15).contains(digits) { r.problem("production.digits", pr["digits"], "must be between 1 and 15") }
      let dedupText = r.string(pr, "dedup", at: "production.") ?? "global"
      let dedup = JobSpec.ProductionSpec.Dedup(rawValue: dedupText)
      if dedup == nil {
        r.problem("production.dedup", pr["dedup"], "must be global, custodial or none, not '\(dedupText)'")
      }
      production = JobSpec.ProductionSpec(
        prefix: prefix, start: start, digits: digits, dedup: dedup ?? .global,
        denist: r.string(pr, "denist", at: "production."))
      production?.select = r.string(pr, "select", at: "production.")
      production?.withhold = r.string(pr, "withhold", at: "production.")
      production?.privilege = r.string(pr, "privilege", at: "production.")
      production?.images = r.bool(pr, "images", at: "production.")
    }
    let coding = Self.coding(top, map: map, production: production, &r)
    let questions = Self.questions(top, map: map, &r)  // JobFile+Questions

    var ocr: OCRSettings?
    if let o = r.mapping(top, "ocr", required: false) {
      r.allow(o, at: "ocr.", keys: ["mode", "languages", "dpi"])
      var settings = OCRSettings()
      if let mode = r.string(o, "mode", at: "ocr.") {
        if let parsed = OCRMode(rawValue: mode) {
          settings.mode = parsed
        } else {
          r.problem("ocr.mode", o["mode"], "must be one of auto, force, off, not '\(mode)'")
        }
      }
      if let languages = r.string(o, "languages", at: "ocr.") { settings.languages = languages }
      if let dpi = r.int(o, "dpi", at: "ocr.") { settings.dpi = dpi }
      if let problem = settings.problem {
        let key = problem.hasPrefix("dpi") ? "dpi" : "languages"
        r.problem("ocr.\(key)", o[key], String(problem.drop { $0 != " " }.dropFirst()))
      }
      ocr = settings
    }

    let hosted = Self.hostedSections(top, engine: engine, reportPrices: prices, &r)

    if !r.problems.isEmpty { throw PipelineError.jobInvalid(path: path, problems: r.problems) }
    var spec = JobSpec(
      name: name, inputs: inputs, model: model, generation: generation,
      question: r.string(top, "question"), map: map, reduce: reduce, reportPath: reportPath, prices: hosted.prices,
      collapseRepeats: collapse, maxWindows: maxWindows,
      baseDirectory: baseDirectory)
    spec.logWindow = logWindow
    spec.collapseDuplicates = collapseDuplicates
    spec.semantic = pl.flatMap { r.bool($0, "semantic", at: "plan.") }
    spec.incremental = incremental
    spec.rollingReportPath = rollingPath
    spec.mapPer = mapPer
    spec.redact = redact
    spec.denist = ingestDenist
    spec.custodians = custodians.isEmpty ? nil : custodians
    spec.production = production
    spec.coding = coding
    spec.reportFormats = formats
    spec.ocr = ocr
    spec.limits = hosted.limits
    spec.budget = hosted.budget
    spec.questions = questions
    return spec
  }

  /// `coding:` read and checked against `map.json_schema`; also made (derived from the
  /// schema) when `production.select` or `.withhold` needs it without a `coding:` section.
  static func coding(
    _ top: Node.Mapping, map: JobSpec.PromptSpec, production: JobSpec.ProductionSpec?, _ r: inout Reader
  ) -> JobSpec.CodingSpec? {
    let c = r.mapping(top, "coding", required: false)
    let uses = [("production.select", production?.select), ("production.withhold", production?.withhold)]
      .filter { $0.1 != nil }
    let productionNode: Node? = top["production"]
    guard c != nil || !uses.isEmpty else { return nil }
    guard let schemaText = map.jsonSchema else {
      let key = c != nil ? "coding" : uses[0].0
      r.problem(
        key, c != nil ? top["coding"] : productionNode,
        "needs map.json_schema: coding is folded from structured map answers, and this job's map has no schema"
          + " (see README, Coding)")
      return nil
    }
    guard let schema = try? JSONSchema(text: schemaText) else { return nil }  // reported under map.json_schema
    var fields: [JobSpec.CodingSpec.Field]?
    if let c {
      r.allow(c, at: "coding.", keys: ["document_field", "fields", "reason"])
      switch c["fields"] {
      case nil: break
      case .mapping(let m)?:
        fields = []
        for (k, v) in m {
          let name = k.string ?? ""
          let ruleText = v.string ?? ""
          guard let rule = JobSpec.CodingSpec.Rule(rawValue: ruleText) else {
            r.problem("coding.fields.\(name)", v, "must be 'any' or 'all', not '\(ruleText)'")
            continue
          }
          fields?.append(.init(name: name, rule: rule))
        }
      case _?:
        // A list of names: each with rule any.
        fields = r.stringList(c, "fields", at: "coding.")?.map { .init(name: $0) }
      }
    }
    let resolved = CodingTable.resolve(
      schema: schema, documentField: c.flatMap { r.string($0, "document_field", at: "coding.") }, fields: fields,
      reason: c.flatMap { r.string($0, "reason", at: "coding.") })
    for problem in resolved.problems {
      r.problem(
        problem.key, c?[String(problem.key.dropFirst("coding.".count).prefix { $0 != "." })] ?? top["coding"],
        problem.message)
    }
    guard let spec = resolved.spec else { return nil }
    for (key, value) in uses {
      guard let value, !spec.fields.contains(where: { $0.name == value }) else { continue }
      r.problem(
        key, productionNode,
        "'\(value)' is not a coding field (the coding fields are "
          + spec.fields.map(\.name).joined(separator: ", ") + "; see coding.fields)")
    }
    return spec
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

  /// Collects problems while reading typed values out of YAML nodes.
  struct Reader {
    let path: String
    var problems: [String] = []

    mutating func problem(_ key: String, _ node: Node?, _ message: String) {
      let line = node?.mark.map { " (line \($0.line))" } ?? ""
      problems.append("\(key)\(line): \(message)")
    }

    mutating func allow(_ map: Node.Mapping, at prefix: String, keys: Set<String>) {
      for (k, _) in map {
        guard let key = k.string else { continue }
        if !keys.contains(key) {
          problem(prefix + key, k, "unknown key; expected one of \(keys.sorted().joined(separator: ", "))")
        }
      }
    }

    mutating func mapping(_ map: Node.Mapping, _ key: String, at prefix: String = "", required: Bool) -> Node.Mapping? {
      guard let node = map[key] else {
        if required { problems.append("\(prefix)\(key): is required") }
        return nil
      }
      guard case .mapping(let m) = node else {
        problem(prefix + key, node, "must be a mapping of keys")
        return nil
      }
      return m
    }

    mutating func string(_ map: Node.Mapping, _ key: String, at prefix: String = "", required: Bool = false) -> String?
    {
      guard let node = map[key] else {
        if required { problems.append("\(prefix)\(key): is required") }
        return nil
      }
      guard case .scalar(let s) = node else {
        problem(prefix + key, node, "must be a string")
        return nil
      }
      if s.tag.description.hasSuffix("null") || (s.string == "null" && s.style == .plain) { return nil }
      return s.string
    }

    /// `model.loop_guard`: `on` (the default settings), `off`, or a mapping of DRY settings
    /// and the stop's bound (`dry_multiplier`, `dry_base`, `dry_allowed_length`,
    /// `dry_last_n`, `max_repeats`); nil when off.
    mutating func loopGuard(_ map: Node.Mapping) -> LoopGuard? {
      let at = "model.loop_guard"
      guard let node = map["loop_guard"] else { return .standard }
      switch node {
      case .scalar(let s):
        switch s.string.lowercased() {
        case "on", "true", "yes": return .standard
        case "off", "false", "no": return nil
        default:
          problem(at, node, "must be on, off or a mapping of DRY settings, not '\(s.string)'")
          return .standard
        }
      case .mapping(let m):
        allow(m, at: at + ".", keys: ["dry_multiplier", "dry_base", "dry_allowed_length", "dry_last_n", "max_repeats"])
        var guardSettings = LoopGuard.standard
        if let v = double(m, "dry_multiplier", at: at + ".") {
          if v < 0 { problem(at + ".dry_multiplier", m["dry_multiplier"], "must not be negative (0 turns DRY off)") }
          guardSettings.dryMultiplier = v
        }
        if let v = double(m, "dry_base", at: at + ".") {
          if v < 1 { problem(at + ".dry_base", m["dry_base"], "must be at least 1") }
          guardSettings.dryBase = v
        }
        if let v = int(m, "dry_allowed_length", at: at + ".") {
          if v < 1 { problem(at + ".dry_allowed_length", m["dry_allowed_length"], "must be at least 1") }
          guardSettings.dryAllowedLength = v
        }
        if let v = int(m, "dry_last_n", at: at + ".") {
          if v < 0 { problem(at + ".dry_last_n", m["dry_last_n"], "must be 0 (the whole output) or more") }
          guardSettings.dryLastTokens = v
        }
        if let v = int(m, "max_repeats", at: at + ".") {
          if v < 1 { problem(at + ".max_repeats", m["max_repeats"], "must be at least 1") }
          guardSettings.maxRepeats = v
        }
        return guardSettings
      default:
        problem(at, node, "must be on, off or a mapping of DRY settings")
        return .standard
      }
    }

    /// A JSON Schema given as JSON text or as YAML, returned as JSON text
    /// after checking it is inside the supported subset.
    mutating func jsonSchema(_ map: Node.Mapping, _ key: String, at prefix: String) -> String? {
      guard let node = map[key] else { return nil }
      let text: String
      switch node {
      case .scalar(let s): text = s.string
      case .mapping: text = Self.json(node).jsonText
      case .sequence, .alias:
        problem(prefix + key, node, "must be a JSON Schema, as a JSON string or a YAML mapping")
        return nil
      }
      do {
        _ = try JSONSchema(text: text)
      } catch {
        problem(prefix + key, node, "\(error) (see README, Structured output)")
        return nil
      }
      return text
    }

    /// A YAML node as JSON: plain scalars are read as null, booleans and
    /// numbers where they spell one; quoted ones stay strings (`"1"`).
    static func json(_ node: Node) -> JSONValue {
      switch node {
      case .scalar(let s):
        guard s.style == .plain else { return .string(s.string) }
        if ["", "~", "null", "Null", "NULL"].contains(s.string) { return .null }
        if ["true", "True", "TRUE"].contains(s.string) { return .bool(true) }
        if ["false", "False", "FALSE"].contains(s.string) { return .bool(false) }
        if let i = node.int { return .number(Double(i)) }
        if let f = node.float, f.isFinite { return .number(f) }
        return .string(s.string)
      case .mapping(let m):
        return .object(m.map { (key: $0.key.string ?? "\($0.key)", value: json($0.value)) })
      case .sequence(let seq):
        return .array(seq.map(json))
      case .alias:
        return .null
      }
    }

    mutating func int(_ map: Node.Mapping, _ key: String, at prefix: String = "") -> Int? {
      guard let node = map[key] else { return nil }
      guard let v = node.int else {
        problem(prefix + key, node, "must be a whole number, not '\(node.string ?? "a collection")'")
        return nil
      }
      return v
    }

    mutating func bool(_ map: Node.Mapping, _ key: String, at prefix: String = "") -> Bool? {
      guard let node = map[key] else { return nil }
      guard let v = node.bool else {
        problem(prefix + key, node, "must be true or false, not '\(node.string ?? "a collection")'")
        return nil
      }
      return v
    }

    mutating func double(_ map: Node.Mapping, _ key: String, at prefix: String = "") -> Double? {
      guard let node = map[key] else { return nil }
      guard let v = node.float ?? node.int.map(Double.init) else {
        problem(prefix + key, node, "must be a number, not '\(node.string ?? "a collection")'")
        return nil
      }
      return v
    }

    mutating func stringList(_ map: Node.Mapping, _ key: String, at prefix: String = "", required: Bool = false)
      -> [String]?
    {
      guard let node = map[key] else {
        if required { problems.append("\(prefix)\(key): is required") }
        return nil
      }
      if case .scalar(let s) = node { return [s.string] }
      guard case .sequence(let seq) = node else {
        problem(prefix + key, node, "must be a list of strings")
        return nil
      }
      var out: [String] = []
      for item in seq {
        guard case .scalar(let s) = item else {
          problem(prefix + key, item, "must be a list of strings")
          return nil
        }
        out.append(s.string)
      }
      return out
    }
  }
}
