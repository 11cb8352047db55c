internal import CLlama
import Foundation
import Logging
import Pipeline
import Segmenter
import Workspace

/// The element type of the KV cache.
public enum KVCacheType: String, Sendable, Hashable, CaseIterable, Codable {
  /// 16-bit floats: llama.cpp's default.
  case f16
  /// 8-bit blocks: about half the memory and checkpoint size.
  case q8_0

  var ggmlType: ggml_type {
    switch self {
    case .f16: GGML_TYPE_F16
    case .q8_0: GGML_TYPE_Q8_0
    }
  }
}

/// Where the last request's prompt time went (for benchmarks and logs).
package struct LlamaEngineTimings: Sendable {
  /// Looking up, reading, verifying, decompressing and setting a checkpoint.
  package var restoreSeconds: Double = 0
  /// Decoding the prompt tokens not restored.
  package var prefillSeconds: Double = 0
  /// Copying out, compressing and writing the prefix state.
  package var saveSeconds: Double = 0
  /// Sampling and decoding the output.
  package var generateSeconds: Double = 0
}

/// How the in-process engine turns a request into prompt tokens.
public enum PromptFormat: String, Sendable, Hashable, CaseIterable {
  /// BOS, then the prefix and the suffix as written: for base models.
  case raw
  /// The prefix and suffix as one user turn in the model's own chat template,
  /// ending where the assistant's answer starts: for instruct models.
  case chat
}

/// Settings of the in-process engine.
public struct LlamaEngineOptions: Sendable, Hashable {
  /// Context tokens per sequence.
  public var contextTokens: Int
  /// CPU threads (default: all cores).
  public var threads: Int
  /// Tokens per llama_decode call while prefilling.
  public var batchTokens: Int
  /// The KV cache's element type (for both K and V).
  public var kvCacheType: KVCacheType
  /// Keep the whole context in the sliding-window layers' cache instead of
  /// the last window only. nil: only when checkpoints are on. A restored
  /// state continues exactly either way (see `LlamaEngineCheckpointTests`),
  /// but only a full SWA cache lets a restored prompt be trimmed by a token.
  public var swaFull: Bool?
  /// Prefixes shorter than this are neither saved nor looked up.
  public var checkpointMinTokens: Int
  /// How a request's text becomes the prompt.
  public var promptFormat: PromptFormat

  public init(
    contextTokens: Int, threads: Int? = nil, batchTokens: Int = 512, kvCacheType: KVCacheType = .f16,
    swaFull: Bool? = nil, checkpointMinTokens: Int = 256, promptFormat: PromptFormat = .raw
  ) {
    self.contextTokens = contextTokens
    self.threads = threads ?? max(1, ProcessInfo.processInfo.activeProcessorCount)
    self.batchTokens = batchTokens
    self.kvCacheType = kvCacheType
    self.swaFull = swaFull
    self.checkpointMinTokens = checkpointMinTokens
    self.promptFormat = promptFormat
  }
}

/// llama.cpp in process: one model, one context, requests served one at a time.
///
/// The raw prompt format: the model sees BOS, then `prefix`, then `suffix`
/// exactly as given (no chat template), which suits base models such as Gemma 3 270M.
/// The chat format wraps them in the model's template (see `ChatPrompt`),
/// keeping the template's head and the prefix together as the cacheable part.
///
/// With a `CheckpointStore`, the sequence state after the prefix is saved,
/// and a later prompt that starts with a saved prefix restores it and decodes
/// only the rest. The prefix and the suffix are always decoded in separate
/// `llama_decode` runs, so a restored prefix gives bit-identical logits.
public final class LlamaEngine: Engine, @unchecked Sendable {
  public let model: LlamaModel
  public let options: LlamaEngineOptions
  public let name: String
  public let modelIdentity: String
  /// Everything a saved sequence state's validity depends on: weights,
  /// llama.cpp build, context size, KV type, SWA cache mode.
  public let checkpointIdentity: String
  /// Where prefix states go; nil means no checkpoints.
  public let checkpoints: CheckpointStore?
  /// Whether the sliding-window layers keep the whole context.
  public let swaFull: Bool
  private let context: OpaquePointer
  private let lock = NSLock()
  private let logger: Logger
  /// Timings of the last request (guarded by `lock`).
  private var timings = LlamaEngineTimings()

  /// Timings of the last finished request.
  package var lastTimings: LlamaEngineTimings { lock.withLock { timings } }

  /// Loads `modelPath` and creates a context.
  ///
  /// - Parameters:
  ///   - modelPath: A GGUF file.
  ///   - options: Context and checkpoint settings.
  ///   - checkpoints: The store for prefix states; nil = none.
  ///   - logger: Receives checkpoint warnings.
  /// - Throws: `LlamaBackendError` when the model or context cannot be made.
  public init(
    modelPath: String, options: LlamaEngineOptions, checkpoints: CheckpointStore? = nil,
    logger: Logger = Logger(label: "longctx.llama")
  ) throws {
    model = try LlamaModel(path: modelPath)
    if options.promptFormat == .chat {
      _ = try model.applyChatTemplate(user: "check")  // no template, or one llama.cpp cannot apply
    }
    self.options = options
    self.checkpoints = checkpoints
    self.logger = logger
    swaFull = options.swaFull ?? (checkpoints != nil)
    var params = llama_context_default_params()
    params.n_ctx = UInt32(options.contextTokens)
    params.n_batch = UInt32(options.batchTokens)
    params.n_ubatch = UInt32(options.batchTokens)
    params.n_seq_max = 1
    params.n_threads = Int32(options.threads)
    params.n_threads_batch = Int32(options.threads)
    params.no_perf = true
    params.swa_full = swaFull
    params.type_k = options.kvCacheType.ggmlType
    params.type_v = options.kvCacheType.ggmlType
    guard let ctx = llama_init_from_model(model.pointer, params) else {
      throw LlamaBackendError.contextFailed(contextTokens: options.contextTokens)
    }
    context = ctx
    name = "llama.cpp in process"
    let fileHash = (try? Hashing.sha256(fileAt: URL(fileURLWithPath: modelPath))) ?? "unknown"
    modelIdentity =
      "gguf-sha256:\(fileHash) ctx=\(options.contextTokens) build=\(LlamaEngine.buildIdentity)"
      + (options.promptFormat == .raw ? "" : " prompt=\(options.promptFormat.rawValue)")
    checkpointIdentity =
      "gguf-sha256:\(fileHash) ggml=\(LlamaEngine.buildIdentity) n_ctx=\(llama_n_ctx(ctx)) "
      + "type_k=\(options.kvCacheType.rawValue) type_v=\(options.kvCacheType.rawValue) swa_full=\(swaFull) n_seq=1"
  }

  deinit { llama_free(context) }

  /// Identifies the llama.cpp build: ggml's version and commit, the
  /// SHA-256 of the loaded libllama file (a rebuild changes it even when the
  /// version string does not), and the system info line (CPU features) hashed.
  public static var buildIdentity: String { cachedBuildIdentity }

  private static let cachedBuildIdentity: String = {
    LlamaRuntime.start()
    let version = String(cString: ggml_version()) + "@" + String(cString: ggml_commit())
    let system = String(Hashing.sha256(LlamaRuntime.systemInfo).prefix(12))
    let library = libraryPath.flatMap { try? Hashing.sha256(fileAt: URL(fileURLWithPath: $0)) }
    return version + "/lib:" + String((library ?? "unknown").prefix(12)) + "/" + system
  }()

  /// The file libllama was loaded from, found in /proc/self/maps (Linux;
  /// nil elsewhere, and the identity then names the version only).
  private static var libraryPath: String? {
    // /proc files report size 0, so read to the end rather than by size.
    guard let handle = FileHandle(forReadingAtPath: "/proc/self/maps"),
      let data = try? handle.readToEnd()
    else { return nil }
    try? handle.close()
    let maps = String(decoding: data, as: UTF8.self)
    for line in maps.split(separator: "\n") {
      guard let slash = line.firstIndex(of: "/") else { continue }
      let path = String(line[slash...])
      if URL(fileURLWithPath: path).lastPathComponent.hasPrefix("libllama") { return path }
    }
    return nil
  }

  public func generate(_ request: GenerationRequest) async throws -> GenerationResult {
    try lock.withLock { try generateLocked(request) }
  }

  private func generateLocked(_ request: GenerationRequest) throws -> GenerationResult {
    let (prefix, suffix) = try promptTokens(request)
    let prompt = prefix + suffix
    guard prompt.count + request.maxTokens <= options.contextTokens else {
      throw EngineError.permanent(
        LlamaBackendError.promptTooLong(tokens: prompt.count, context: options.contextTokens).errorDescription ?? "")
    }
    // Before any decoding, so that a bad grammar costs nothing.
    let sampler = try makeSampler(request)
    let memory = llama_get_memory(context)
    llama_memory_clear(memory, true)
    timings = LlamaEngineTimings()
    var clock = ContinuousClock.now
    func lap() -> Double {
      let now = ContinuousClock.now
      defer { clock = now }
      let d = now - clock
      return Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18
    }
    var position = restoreLongestPrefix(of: prompt)
    let cached = position
    timings.restoreSeconds = lap()
    if position < prefix.count {
      try decode(Array(prefix[position...]), startingAt: position, logitsForLast: suffix.isEmpty)
      timings.prefillSeconds += lap()
      position = prefix.count
      if prefix.count >= options.checkpointMinTokens {
        // Save, and re-load the state even without a store: a restored cache
        // is laid out compactly (the sliding-window layers keep only their
        // window's cells), and its later arithmetic differs in the last bits
        // from a cache that still holds pruned-but-present cells. Re-loading
        // makes a fresh prefill and a restore continue identically.
        let state = getState()
        saveCheckpoint(prefix, state: state)
        if !setState(state, tokens: prefix.count) {
          try decode(prefix, startingAt: 0, logitsForLast: suffix.isEmpty)
        } else if suffix.isEmpty, let last = prefix.last,
          llama_memory_seq_rm(memory, 0, Int32(prefix.count - 1), -1)
        {
          // As after a restore of the whole prompt: the last token is decoded alone for its logits.
          try decode([last], startingAt: prefix.count - 1, logitsForLast: true)
        }
      }
      timings.saveSeconds = lap()
    }
    if position < prompt.count {
      try decode(Array(prompt[position...]), startingAt: position, logitsForLast: true)
      timings.prefillSeconds += lap()
    }
    defer { timings.generateSeconds = lap() }

    var output: [UInt8] = []
    var generated = 0
    position = prompt.count
    var text = ""
    while generated < request.maxTokens {
      if Interrupt.isRequested { throw EngineError.interrupted }
      let token = sampler.sample(context)
      if model.isEndOfGeneration(token) { break }
      output += model.piece(token)
      generated += 1
      text = String(decoding: output, as: UTF8.self)
      if let cut = request.stop.compactMap({ text.range(of: $0)?.lowerBound }).min() {
        text = String(text[..<cut])
        break
      }
      try decode([token], startingAt: position, logitsForLast: true)
      position += 1
    }
    return GenerationResult(text: text, promptTokens: prompt.count, outputTokens: generated, cachedTokens: cached)
  }

  /// The request's prompt as prefix tokens (BOS first; the part worth a
  /// checkpoint) and suffix tokens, in the engine's prompt format.
  package func promptTokens(_ request: GenerationRequest) throws -> (prefix: [Int32], suffix: [Int32]) {
    switch options.promptFormat {
    case .raw:
      return (model.tokenize(request.prefix, addSpecial: true), model.tokenize(request.suffix, addSpecial: false))
    case .chat:
      let (chat, split) = try ChatPrompt.layout(prefix: request.prefix, suffix: request.suffix) {
        try model.applyChatTemplate(user: $0)
      }
      if !split {
        logger.debug("the chat template changes the message text; the prompt has no cacheable prefix")
      }
      // Special tokens are parsed in the template's text only, never in the user's.
      let prefix = model.tokenize(chat.head, addSpecial: true, parseSpecial: true)
        + model.tokenize(chat.prefix, addSpecial: false)
      let suffix = model.tokenize(chat.suffix, addSpecial: false)
        + model.tokenize(chat.tail, addSpecial: false, parseSpecial: true)
      return (prefix, suffix)
    }
  }

  // MARK: - Checkpoints

  /// Restores the longest stored prefix of `prompt` into sequence 0.
  ///
  /// - Returns: The tokens now in the cache, always fewer than `prompt.count`
  ///   (the last prompt token must be decoded for its logits); 0 on a miss.
  private func restoreLongestPrefix(of prompt: [Int32]) -> Int {
    guard let store = checkpoints, prompt.count >= options.checkpointMinTokens else { return 0 }
    // A full SWA cache can drop the last token of a restored prompt; a
    // window-only one cannot, so there the prefix must be strictly shorter.
    let maximum = swaFull ? prompt.count : prompt.count - 1
    guard
      let checkpoint = store.longestPrefix(
        model: checkpointIdentity, of: prompt, minimum: options.checkpointMinTokens, maximum: maximum)
    else { return 0 }
    var restored = checkpoint.tokens.count
    guard setState(checkpoint.state, tokens: restored) else {
      logger.warning(
        "llama.cpp refused a KV checkpoint; recomputing the prefix",
        metadata: ["kv.path": "\(checkpoint.entry.path)"])
      return 0
    }
    if restored == prompt.count {
      let memory = llama_get_memory(context)
      guard llama_memory_seq_rm(memory, 0, Int32(restored - 1), -1) else {
        llama_memory_clear(memory, true)
        return 0
      }
      restored -= 1
    }
    return restored
  }

  /// Saves `state` (sequence 0 holding exactly `tokens`) unless already stored.
  private func saveCheckpoint(_ tokens: [Int32], state: Data) {
    guard let store = checkpoints, tokens.count >= options.checkpointMinTokens,
      !store.contains(model: checkpointIdentity, tokens: tokens)
    else { return }
    do {
      try store.save(model: checkpointIdentity, tokens: tokens, state: state)
    } catch {
      logger.warning("cannot save a KV checkpoint", metadata: ["kv.error": "\(error)"])
    }
  }

  /// A copy of sequence 0's state (its KV cells).
  package func getState() -> Data {
    let size = llama_state_seq_get_size(context, 0)
    var data = Data(count: size)
    let written = data.withUnsafeMutableBytes { buffer in
      llama_state_seq_get_data(context, buffer.baseAddress?.assumingMemoryBound(to: UInt8.self), size, 0)
    }
    data.count = written
    return data
  }

  /// Replaces sequence 0 with `state`; false (and an empty cache) when
  /// llama.cpp refuses it or it does not hold `tokens` positions.
  package func setState(_ state: Data, tokens: Int) -> Bool {
    let memory = llama_get_memory(context)
    llama_memory_clear(memory, true)
    let read = state.withUnsafeBytes { buffer in
      llama_state_seq_set_data(context, buffer.baseAddress?.assumingMemoryBound(to: UInt8.self), state.count, 0)
    }
    guard read > 0, llama_memory_seq_pos_max(memory, 0) == Int32(tokens - 1) else {
      llama_memory_clear(memory, true)
      return false
    }
    return true
  }

  /// Decodes `tokens` after what the cache holds, from position `start` (for tests).
  package func extend(_ tokens: [Int32], from start: Int) throws {
    try lock.withLock { try decode(tokens, startingAt: start, logitsForLast: true) }
  }

  /// Clears the cache and decodes `tokens` from position 0 (for benchmarks).
  package func prefill(_ tokens: [Int32]) throws {
    try lock.withLock {
      llama_memory_clear(llama_get_memory(context), true)
      try decode(tokens, startingAt: 0, logitsForLast: true)
    }
  }

  /// Decodes `tokens` into sequence 0 at positions from `start`, asking for
  /// logits of the last token only when `logitsForLast`.
  private func decode(_ tokens: [Int32], startingAt start: Int, logitsForLast: Bool) throws {
    var offset = 0
    var batch = llama_batch_init(Int32(options.batchTokens), 0, 1)
    defer { llama_batch_free(batch) }
    while offset < tokens.count {
      if Interrupt.isRequested { throw EngineError.interrupted }
      let n = min(options.batchTokens, tokens.count - offset)
      for i in 0..<n {
        batch.token[i] = tokens[offset + i]
        batch.pos[i] = Int32(start + offset + i)
        batch.n_seq_id[i] = 1
        batch.seq_id[i]![0] = 0
        batch.logits[i] = (logitsForLast && offset + i == tokens.count - 1) ? 1 : 0
      }
      batch.n_tokens = Int32(n)
      let code = llama_decode(context, batch)
      guard code == 0 else { throw EngineError.permanent(LlamaBackendError.decodeFailed(code: code).errorDescription ?? "") }
      offset += n
    }
  }
}
