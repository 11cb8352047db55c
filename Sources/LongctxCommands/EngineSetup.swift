import Foundation
import HTTPBackend
import LlamaBackend
import Logging
import Pipeline
import Segmenter
import Workspace

/// Builds a job's token counter and (lazily) its engine from the job's `model` section.
struct EngineSetup {
  let counter: any TokenCounter
  let modelKey: String
  let factory: @Sendable () async throws -> any Engine

  /// The default model assembled by scripts/setup.sh.
  static var defaultModelPath: String {
    if let env = ProcessInfo.processInfo.environment["LONGCTX_MODEL"], !env.isEmpty { return env }
    let cache = ProcessInfo.processInfo.environment["LONGCTX_CACHE"]
      ?? (NSHomeDirectory() + "/.cache/longctx")
    return cache + "/models/gemma-3-270m-q4_k_m.gguf"
  }

  /// Checks what can be checked without side effects: the model file exists.
  ///
  /// - Throws: `CommandFailure` with exit code 2 naming the missing file.
  static func validate(_ spec: JobSpec) throws {
    guard spec.model.engine == "llama" else { return }
    let path = modelPath(spec)
    guard FileManager.default.isReadableFile(atPath: path) else {
      throw CommandFailure(
        code: ExitCodes.usage,
        message: "longctx: the model file \(path) does not exist; run scripts/setup.sh or set model.path in the job.")
    }
  }

  static func modelPath(_ spec: JobSpec) -> String {
    guard let path = spec.model.path else { return defaultModelPath }
    if path.hasPrefix("/") { return path }
    return URL(fileURLWithPath: spec.baseDirectory).appendingPathComponent(path).path
  }

  /// - Parameters:
  ///   - spec: The job.
  ///   - kvDirectory: The workspace's `kv/` directory; nil = no KV checkpoints.
  ///   - logLevel: The level of the engine's own log lines (slot checkpoints).
  ///   - parallel: For `llama`: sequences decoded together (the run's task concurrency).
  init(spec: JobSpec, kvDirectory: URL?, logLevel: Logger.Level = .warning, parallel: Int = 1) throws {
    switch spec.model.engine {
    case "openai":
      let options = try OpenAIEngineOptions(spec: spec)
      // Exact counts: a named vocabulary (works offline, e.g. for export-batch), else the
      // server's own /tokenize, else the labelled estimate.
      if let vocab = spec.model.vocabulary {
        let model = try LlamaModel(path: try VocabularyFamilies.path(for: vocab), vocabOnly: true)
        counter = LlamaTokenCounter(model: model, vocabularyID: "vocab:\(vocab)")
      } else {
        counter = ServerTokenCounter(options: options) ?? EstimatedTokenCounter()
      }
      // Outputs depend on the model and API, not on which endpoint served them, so a
      // changed or restarted fleet reuses finished tasks; the API key never enters the key.
      modelKey = OpenAIEngine.identity(options)
      // llama.cpp server slots saved into the workspace's checkpoint store (model.slot_save_path).
      let slotStore = options.slotSaveDirectory == nil ? nil : kvDirectory.map { Self.checkpointStore($0) }
      factory = {
        var logger = Logger(label: "longctx.openai")
        logger.logLevel = logLevel
        return try await OpenAIEngine(options: options, checkpoints: slotStore, logger: logger)
      }
    default:
      let path = Self.modelPath(spec)
      let hash = try Hashing.sha256(fileAt: URL(fileURLWithPath: path))
      let vocab = try LlamaModel(path: path, vocabOnly: true)
      counter = LlamaTokenCounter(model: vocab, vocabularyID: "gguf:\(hash)")
      let format = PromptFormat(rawValue: spec.model.promptFormat ?? "raw") ?? .raw
      if format == .chat {
        do { _ = try vocab.applyChatTemplate(user: "check") } catch let error as LlamaBackendError {
          throw CommandFailure(code: ExitCodes.usage, message: "longctx: " + (error.errorDescription ?? "\(error)"))
        }
      }
      let options = LlamaEngineOptions(
        contextTokens: spec.model.context, threads: spec.model.threads, parallel: parallel, promptFormat: format)
      // Raw keeps the key it always had, so finished tasks stay reusable.
      modelKey = "llama:gguf-sha256:\(hash):ctx=\(spec.model.context)" + (format == .raw ? "" : ":prompt=chat")
      factory = {
        let store = kvDirectory.map { Self.checkpointStore($0) }
        do {
          return try LlamaEngine(modelPath: path, options: options, checkpoints: store)
        } catch let error as LlamaBackendError {
          throw EngineError.unavailable(error.errorDescription ?? "\(error)")
        }
      }
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
