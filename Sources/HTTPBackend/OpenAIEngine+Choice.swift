import Foundation
import Inference
import Logging

extension OpenAIEngine {
  /// The engine for a job whose model is an OpenAI-compatible server.
  ///
  /// - Parameters:
  ///   - settings: The job's `model` section.
  ///   - counter: Exact counts from elsewhere (a named vocabulary the caller
  ///     loaded); nil: the server's own `/tokenize`, else the labelled estimate.
  ///   - checkpoints: The workspace's KV checkpoint store, used when the job names
  ///     the server's slot directory (`model.slot_save_path`).
  ///   - logger: The engine's logger (slot checkpoints).
  /// - Throws: `EngineError.unavailable` when the API key variable the job names is unset.
  public static func choice(
    settings: ModelSettings, counter: (any TokenCounter)? = nil, checkpoints: CheckpointStore?,
    logger: Logger = Logger(label: "longctx.openai")
  ) throws -> EngineChoice {
    let options = try OpenAIEngineOptions(settings: settings)
    let slotStore = options.slotSaveDirectory == nil ? nil : checkpoints
    // Outputs depend on the model and API, not on which endpoint served them, so a
    // changed or restarted fleet reuses finished tasks; the API key never enters the key.
    return EngineChoice(
      counter: counter ?? ServerTokenCounter(options: options) ?? EstimatedTokenCounter(),
      modelKey: identity(options)
    ) {
      try await OpenAIEngine(options: options, checkpoints: slotStore, logger: logger)
    }
  }
}
