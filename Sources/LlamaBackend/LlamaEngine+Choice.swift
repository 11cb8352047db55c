import Foundation
import Inference
import Logging
import Storage

extension LlamaEngine {
  /// The in-process engine for a job's model settings. The GGUF file is hashed
  /// once, here: the hash names the vocabulary of exact counts, the task key and
  /// the engine's own identities.
  ///
  /// - Parameters:
  ///   - settings: The job's `model` section.
  ///   - modelPath: The GGUF file (resolved against the job's directory by the caller).
  ///   - checkpoints: The KV checkpoint store; nil = none.
  ///   - parallel: Sequences decoded together.
  ///   - logger: The engine's logger.
  /// - Throws: `LlamaBackendError` when the file cannot be read or has no usable chat template.
  public static func choice(
    settings: ModelSettings, modelPath: String, checkpoints: CheckpointStore?, parallel: Int = 1,
    logger: Logger = Logger(label: "longctx.llama")
  ) throws -> EngineChoice {
    guard FileManager.default.isReadableFile(atPath: modelPath) else {
      throw LlamaBackendError.modelMissing(path: modelPath)
    }
    let hash: String
    do { hash = try Hashing.sha256(fileAt: URL(fileURLWithPath: modelPath)) } catch {
      throw LlamaBackendError.modelLoadFailed(path: modelPath)
    }
    let vocab = try LlamaModel(path: modelPath, vocabOnly: true)
    if settings.promptFormat == .chat { _ = try vocab.applyChatTemplate(user: "check") }
    let options = LlamaEngineOptions(
      contextTokens: settings.context, threads: settings.threads, kvCacheType: settings.kvCache ?? .f16,
      parallel: parallel, promptFormat: settings.promptFormat)
    return EngineChoice(
      counter: LlamaTokenCounter(model: vocab, vocabularyID: "gguf:\(hash)"),
      modelKey: taskKey(modelHash: hash, options: options)
    ) {
      do {
        return try LlamaEngine(
          modelPath: modelPath, modelHash: hash, options: options, checkpoints: checkpoints, logger: logger)
      } catch let error as LlamaBackendError {
        throw EngineError.unavailable(error.errorDescription ?? "\(error)")
      }
    }
  }

  /// The key finished tasks are stored under: the weights, the context, the
  /// prompt format and the KV cache type (raw and f16 keep the key they
  /// always had, so finished tasks stay reusable).
  public static func taskKey(modelHash: String, options: LlamaEngineOptions) -> String {
    "llama:gguf-sha256:\(modelHash):ctx=\(options.contextTokens)" + (options.promptFormat == .raw ? "" : ":prompt=chat")
      + (options.kvCacheType == .f16 ? "" : ":kv=\(options.kvCacheType.rawValue)")
  }
}
