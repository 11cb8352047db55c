import Foundation
import Inference
import Yams

extension JobFile {
  /// What `model:` says, with the engine as written (nil when it names no engine, so that
  /// the keys that depend on it are still checked against something).
  struct ModelSection {
    var settings: JobSpec.ModelSpec
    var engine: EngineKind?
    var context: Int { settings.context }
  }

  /// The keys of `model:`.
  static let modelKeys: Set<String> = [
    "engine", "path", "context", "threads", "base_url", "name", "api_key_env", "vocabulary", "api", "concurrency",
    "timeout", "prompt_format", "slot_save_path", "loop_guard", "kv_cache",
  ]

  /// `model`: the engine and its settings; the keys of one engine are refused for the other.
  ///
  /// - Parameter baseDirectory: What a relative `slot_save_path` is relative to.
  static func model(_ top: Node.Mapping, baseDirectory: String, _ r: inout Reader) -> ModelSection {
    let m = r.mapping(top, "model", required: true)
    if let m { r.allow(m, at: "model.", keys: modelKeys) }
    // Absent: llama; naming no engine: nil (a problem says so).
    let engine: EngineKind? = if let m { r.oneOf(m, "engine", at: "model.", default: .llama) } else { .llama }
    let context = m.flatMap { r.int($0, "context", at: "model.") } ?? 8192
    if context < 256 { r.problem("model.context", m?["context"], "must be at least 256 tokens") }
    let baseURLs = m.flatMap { Self.baseURLs($0, &r) } ?? []
    if engine == .openai && baseURLs.isEmpty {
      r.problem("model.base_url", m.map { Node.mapping($0) }, "is required when model.engine is 'openai'")
    }
    let threads = m.flatMap { r.int($0, "threads", at: "model.") }
    // Absent: completions; naming no API: nil.
    let api: CompletionAPI? = if let m { r.oneOf(m, "api", at: "model.", default: .completions) } else { .completions }
    let concurrency = m.flatMap { r.int($0, "concurrency", at: "model.") }
    if let concurrency, concurrency < 1 { r.problem("model.concurrency", m?["concurrency"], "must be at least 1") }
    let timeout = m.flatMap { r.double($0, "timeout", at: "model.") }
    if let timeout, timeout <= 0 { r.problem("model.timeout", m?["timeout"], "must be a positive number of seconds") }
    let promptFormat: PromptFormat? = m.flatMap { r.oneOf($0, "prompt_format", at: "model.") }
    if promptFormat != nil && engine != .llama {
      r.problem(
        "model.prompt_format", m?["prompt_format"],
        "applies to model.engine 'llama' only; for a server use model.api: chat")
    }
    let slotSavePath = m.flatMap {
      Self.slotSavePath($0, engine: engine, api: api, servers: baseURLs.count, baseDirectory: baseDirectory, &r)
    }
    let loopGuard: LoopGuard? = if let m { r.loopGuard(m) } else { .standard }
    let kvCache: KVCacheType? = m.flatMap { r.oneOf($0, "kv_cache", at: "model.") }
    if kvCache != nil && engine != .llama {
      r.problem("model.kv_cache", m?["kv_cache"], "applies to model.engine 'llama' only (a server sets its own)")
    }
    let settings = JobSpec.ModelSpec(
      engine: engine ?? .llama, path: m.flatMap { r.string($0, "path", at: "model.") }, context: context,
      threads: threads, baseURLs: baseURLs, name: m.flatMap { r.string($0, "name", at: "model.") },
      apiKeyEnv: m.flatMap { r.string($0, "api_key_env", at: "model.") },
      vocabulary: m.flatMap { r.string($0, "vocabulary", at: "model.") }, api: api ?? .completions,
      concurrency: concurrency, timeout: timeout, promptFormat: promptFormat ?? .raw, slotSavePath: slotSavePath,
      loopGuard: loopGuard, kvCache: kvCache)
    return ModelSection(settings: settings, engine: engine)
  }

  /// `model.base_url`: one URL, a YAML list of them, or (as older job files have it) one
  /// string of URLs separated by commas; nil when absent.
  static func baseURLs(_ m: Node.Mapping, _ r: inout Reader) -> [String]? {
    r.stringList(m, "base_url", at: "model.")?
      .flatMap { $0.split(separator: ",") }
      .map { $0.trimmingCharacters(in: .whitespaces) }
      .filter { !$0.isEmpty }
  }

  /// `model.slot_save_path`: a llama.cpp server's `--slot-save-path` as this machine sees it,
  /// for one server reached through the completions API; resolved against `baseDirectory`.
  static func slotSavePath(
    _ m: Node.Mapping, engine: EngineKind?, api: CompletionAPI?, servers: Int, baseDirectory: String,
    _ r: inout Reader
  ) -> String? {
    guard let path = r.string(m, "slot_save_path", at: "model.") else { return nil }
    if engine != .openai {
      r.problem("model.slot_save_path", m["slot_save_path"], "needs model.engine 'openai' (a llama.cpp server)")
    } else if api != .completions {
      r.problem(
        "model.slot_save_path", m["slot_save_path"],
        "needs model.api 'completions' (the prefix must be known in tokens)")
    } else if servers > 1 {
      r.problem(
        "model.slot_save_path", m["slot_save_path"], "works with one model.base_url (slots belong to one server)")
    }
    return path.hasPrefix("/") ? path : URL(fileURLWithPath: baseDirectory).appendingPathComponent(path).path
  }
}
