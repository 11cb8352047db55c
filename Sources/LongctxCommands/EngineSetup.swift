import Foundation
import HTTPBackend
import Inference
import LlamaBackend
import Logging
import Pipeline
import Segmenter
import Storage

/// Chooses a job's backend from its `model` section; each backend builds its
/// own counter, model key and engine (`LlamaEngine.choice`, `OpenAIEngine.choice`).
enum EngineSetup {
  /// The default model assembled by scripts/setup.sh.
  static var defaultModelPath: String {
    if let env = ProcessInfo.processInfo.environment["LONGCTX_MODEL"], !env.isEmpty { return env }
    let cache =
      ProcessInfo.processInfo.environment["LONGCTX_CACHE"]
      ?? (NSHomeDirectory() + "/.cache/longctx")
    return cache + "/models/gemma-3-270m-q4_k_m.gguf"
  }

  /// Checks what can be checked without side effects: the model file exists.
  ///
  /// - Throws: `CommandFailure` with exit code 2 naming the missing file.
  static func validate(_ spec: JobSpec) throws {
    guard spec.model.engine == .llama else { return }
    let path = modelPath(spec)
    guard FileManager.default.isReadableFile(atPath: path) else {
      throw CommandFailure(
        code: ExitCodes.usage,
        message: "longctx: the model file \(path) does not exist; run scripts/setup.sh or set model.path in the job.")
    }
  }

  static func modelPath(_ spec: JobSpec) -> String { modelPath(spec.model, baseDirectory: spec.baseDirectory) }

  /// The GGUF file of `model`: its path (relative to `baseDirectory`), else the default model.
  static func modelPath(_ model: ModelSettings, baseDirectory: String) -> String {
    guard let path = model.path else { return defaultModelPath }
    if path.hasPrefix("/") { return path }
    return URL(fileURLWithPath: baseDirectory).appendingPathComponent(path).path
  }

  /// The job's engine choice.
  ///
  /// - Parameters:
  ///   - spec: The job.
  ///   - kvDirectory: The workspace's `kv/` directory; nil = no KV checkpoints.
  ///   - logLevel: The level of the engine's own log lines (slot checkpoints).
  ///   - parallel: For `llama`: sequences decoded together (the run's task concurrency).
  /// - Throws: `CommandFailure` (exit 2) for a configuration the backend refuses.
  static func choose(
    _ spec: JobSpec, kvDirectory: URL?, logLevel: Logger.Level = .warning, parallel: Int = 1
  ) throws -> EngineChoice {
    try choose(
      model: spec.model, baseDirectory: spec.baseDirectory, kvDirectory: kvDirectory, logLevel: logLevel,
      parallel: parallel)
  }

  /// The engine choice of a `model` section outside a job (`templates --refine`), relative paths
  /// from `baseDirectory`; as `choose(_:kvDirectory:logLevel:parallel:)` otherwise.
  static func choose(
    model: ModelSettings, baseDirectory: String, kvDirectory: URL?, logLevel: Logger.Level = .warning,
    parallel: Int = 1
  ) throws -> EngineChoice {
    let store = kvDirectory.map(checkpointStore)
    do {
      switch model.engine {
      case .openai:
        // Exact counts offline (e.g. for export-batch) from a named vocabulary.
        let counter = try model.vocabulary.map { family -> any TokenCounter in
          let model = try LlamaModel(path: try VocabularyFamilies.path(for: family), vocabOnly: true)
          return LlamaTokenCounter(model: model, vocabularyID: "vocab:\(family)")
        }
        var logger = Logger(label: "longctx.openai")
        logger.logLevel = logLevel
        return try OpenAIEngine.choice(settings: model, counter: counter, checkpoints: store, logger: logger)
      case .llama:
        return try LlamaEngine.choice(
          settings: model, modelPath: modelPath(model, baseDirectory: baseDirectory), checkpoints: store,
          parallel: parallel)
      }
    } catch let error as LlamaBackendError {
      throw CommandFailure(code: ExitCodes.usage, message: "longctx: " + (error.errorDescription ?? "\(error)"))
    }
  }
}

extension EngineSetup {
  /// The workspace's KV checkpoint store, warning on stderr about corrupt entries.
  static func checkpointStore(_ directory: URL) -> CheckpointStore {
    var logger = Logger(label: "longctx.kv")
    logger.logLevel = .warning
    return CheckpointStore(directory: directory, maxBytes: CheckpointSettings.maxBytes, logger: logger)
  }
}

/// Vocabulary-only GGUF files that ship with llama.cpp's source, installed by set-up.
enum VocabularyFamilies {
  static var directory: String {
    if let env = ProcessInfo.processInfo.environment["LONGCTX_VOCAB_DIR"], !env.isEmpty { return env }
    let prefix = ProcessInfo.processInfo.environment["LONGCTX_LLAMA_PREFIX"] ?? ""
    return prefix + "/share/longctx/vocab"
  }

  static func available() -> [String] {
    let files = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
    return files.filter { $0.hasPrefix("ggml-vocab-") && $0.hasSuffix(".gguf") }
      .map { String($0.dropFirst("ggml-vocab-".count).dropLast(".gguf".count)) }.sorted()
  }

  static func path(for family: String) throws -> String {
    let path = "\(directory)/ggml-vocab-\(family).gguf"
    guard FileManager.default.fileExists(atPath: path) else {
      throw CommandFailure(
        code: ExitCodes.usage,
        message: "longctx: no vocabulary named '\(family)'; available: \(available().joined(separator: ", ")).")
    }
    return path
  }
}
