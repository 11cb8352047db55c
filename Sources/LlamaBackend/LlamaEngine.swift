internal import CLlama
import Foundation
import Inference
import Logging
import Storage

extension KVCacheType {
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

/// Totals since the engine was made (for benchmarks): where its time went.
package struct LlamaEngineCounters: Sendable {
  /// Seconds spent prefilling (restore, prompt decode, save), one sequence at a time.
  package var prefillSeconds: Double = 0
  /// Batched decode steps run, and the tokens they decoded.
  package var steps = 0
  package var stepTokens = 0
  /// Seconds spent in batched decode steps, sampling included.
  package var stepSeconds: Double = 0
}

/// Settings of the in-process engine.
public struct LlamaEngineOptions: Sendable, Hashable {
  /// Context tokens per sequence.
  public var contextTokens: Int
  /// Sequences decoded together: requests that arrive on `generate` at the
  /// same time share one `llama_decode` per output token. The context holds
  /// `parallel × contextTokens` cells, each sequence its own stream.
  public var parallel: Int
  /// Decode every step with at least two consecutive sequences, adding a
  /// throw-away token in a scratch sequence where needed. ggml's CPU flash
  /// attention uses a different kernel (KV split across threads) for a
  /// single query row with 512 or more KV cells than for several rows, and
  /// the two round differently; padding keeps every step on the per-row
  /// kernel, so a greedy continuation does not depend on which other
  /// requests happen to share a step. Costs an extra row in such steps and
  /// one more KV stream. Default: on when `parallel > 1`, off for one
  /// sequence (which then decodes exactly as a plain sequential loop).
  /// Not enough on its own past 3 rows per step: see BENCHMARKS.md.
  public var batchInvariant: Bool
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
  /// Sequence states up to this size are saved and restored through memory;
  /// larger ones through a raw file beside the checkpoints, in memory
  /// bounded by one tensor plus a few codec frames (see `StagedState`).
  /// Default 64 MiB: in memory a restore holds the file and the state at
  /// once (≈ 1.8× the state: +197 MB for a 107 MB state), and from about
  /// 100 MB the staged restore is also the faster one (BENCHMARKS.md, issue 21).
  public var inMemoryStateBytes: Int

  public init(
    contextTokens: Int, threads: Int? = nil, batchTokens: Int = 512, kvCacheType: KVCacheType = .f16,
    swaFull: Bool? = nil, checkpointMinTokens: Int = 256, parallel: Int = 1, batchInvariant: Bool? = nil,
    promptFormat: PromptFormat = .raw, inMemoryStateBytes: Int = 64 << 20
  ) {
    self.inMemoryStateBytes = inMemoryStateBytes
    self.batchInvariant = batchInvariant ?? (parallel > 1)
    self.contextTokens = contextTokens
    self.parallel = max(1, parallel)
    self.threads = threads ?? max(1, ProcessInfo.processInfo.activeProcessorCount)
    self.batchTokens = batchTokens
    self.kvCacheType = kvCacheType
    self.swaFull = swaFull
    self.checkpointMinTokens = checkpointMinTokens
    self.promptFormat = promptFormat
  }
}

/// llama.cpp in process: one model, one context, up to `options.parallel`
/// requests decoded together.
///
/// The raw prompt format: the model sees BOS, then `prefix`, then `suffix`
/// exactly as given (no chat template), which suits base models such as Gemma 3 270M.
/// The chat format wraps them in the model's template (see `ChatPrompt`),
/// keeping the template's head and the prefix together as the cacheable part.
///
/// Requests wait in a queue for a free sequence; one scheduler thread owns the
/// context and, in turn, prefills one newly admitted sequence alone (so its
/// KV state, and any checkpoint of it, does not depend on the others) and
/// then decodes the next token of every generating sequence in one batch.
/// With `parallel == 1` this is the one-at-a-time engine.
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
  /// llama.cpp build, per-sequence context size, KV type, SWA cache mode.
  /// Not the number of parallel sequences: each sequence has its own stream
  /// of the same size, and a prefix is always prefilled alone.
  public let checkpointIdentity: String
  /// Where prefix states go; nil means no checkpoints.
  public let checkpoints: CheckpointStore?
  /// Whether the sliding-window layers keep the whole context.
  public let swaFull: Bool
  let context: OpaquePointer
  let logger: Logger
  /// Held by whoever uses `context`: the scheduler thread during one step,
  /// or a package helper (tests, benchmarks).
  let contextLock = NSLock()
  /// Requests waiting for a sequence, and whether a scheduler thread runs.
  let queue = NSLock()
  /// Guarded by `queue`.
  var waiting: [PendingRequest] = []
  /// Guarded by `queue`.
  var schedulerRunning = false
  private let timingsLock = NSLock()
  /// Timings of the last finished request (guarded by `timingsLock`).
  private var timings = LlamaEngineTimings()

  /// Totals since the engine was made (guarded by `timingsLock`).
  private var totals = LlamaEngineCounters()

  /// Totals since the engine was made.
  package var counters: LlamaEngineCounters {
    get { timingsLock.withLock { totals } }
    set { timingsLock.withLock { totals = newValue } }
  }

  /// Timings of the last finished request.
  package var lastTimings: LlamaEngineTimings {
    get { timingsLock.withLock { timings } }
    set { timingsLock.withLock { timings = newValue } }
  }

  /// Loads `modelPath` and creates a context.
  ///
  /// - Parameters:
  ///   - modelPath: A GGUF file.
  ///   - modelHash: The file's SHA-256 when the caller has it (`choice` does); else it is hashed here.
  ///   - options: Context, parallelism and checkpoint settings.
  ///   - checkpoints: The store for prefix states; nil = none.
  ///   - logger: Receives checkpoint warnings.
  /// - Throws: `LlamaBackendError` when the model or context cannot be made.
  public init(
    modelPath: String, modelHash: String? = nil, options: LlamaEngineOptions, checkpoints: CheckpointStore? = nil,
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
    // One KV stream of `contextTokens` cells per sequence (kv_unified = false),
    // plus the scratch sequence that pads decode steps.
    let streams = options.parallel + (options.batchInvariant ? 1 : 0)
    params.n_ctx = UInt32(options.contextTokens * streams)
    params.n_batch = UInt32(max(options.batchTokens, streams))
    params.n_ubatch = UInt32(max(options.batchTokens, streams))
    params.n_seq_max = UInt32(streams)
    params.kv_unified = false
    params.n_threads = Int32(options.threads)
    params.n_threads_batch = Int32(options.threads)
    params.no_perf = true
    params.swa_full = swaFull
    params.type_k = options.kvCacheType.ggmlType
    params.type_v = options.kvCacheType.ggmlType
    guard let ctx = llama_init_from_model(model.pointer, params) else {
      throw LlamaBackendError.contextFailed(contextTokens: options.contextTokens * streams)
    }
    context = ctx
    name = "llama.cpp in process"
    let fileHash = modelHash ?? (try? Hashing.sha256(fileAt: URL(fileURLWithPath: modelPath))) ?? "unknown"
    modelIdentity =
      "gguf-sha256:\(fileHash) ctx=\(options.contextTokens) build=\(LlamaEngine.buildIdentity)"
      + (options.promptFormat == .raw ? "" : " prompt=\(options.promptFormat.rawValue)")
    checkpointIdentity =
      "gguf-sha256:\(fileHash) ggml=\(LlamaEngine.buildIdentity) n_ctx=\(llama_n_ctx_seq(ctx)) "
      + "type_k=\(options.kvCacheType.rawValue) type_v=\(options.kvCacheType.rawValue) swa_full=\(swaFull)"
  }

  // The scheduler thread holds a strong reference while it runs, so the
  // engine is freed only when no request is in flight.
  deinit { llama_free(context) }

  /// Identifies the llama.cpp build: ggml's version and commit, the
  /// SHA-256 of the loaded libllama file (a rebuild changes it even when the
  /// version string does not), and the system info line (CPU features) hashed.
  public static var buildIdentity: String { cachedBuildIdentity }

  private static let cachedBuildIdentity: String = {
    guard (try? LlamaRuntime.start()) != nil else { return "llama.cpp (not installed)" }
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

  /// Queues `request` for the scheduler and waits for its result.
  ///
  /// - Throws: `EngineError.permanent` when the prompt does not fit or
  ///   llama.cpp fails, `.interrupted` after SIGINT/SIGTERM.
  public func generate(_ request: GenerationRequest) async throws -> GenerationResult {
    let (prefix, suffix) = try promptTokens(request)
    let promptTokens = prefix.count + suffix.count
    guard promptTokens + request.maxTokens <= options.contextTokens else {
      throw EngineError.permanent(
        LlamaBackendError.promptTooLong(tokens: promptTokens, context: options.contextTokens).errorDescription ?? "")
    }
    guard promptTokens > 0 else { throw EngineError.permanent("The prompt is empty.") }
    if Interrupt.isRequested { throw EngineError.interrupted }
    // Before any decoding, so that a bad grammar costs nothing.
    let sampler = try makeSampler(request)
    return try await withCheckedThrowingContinuation { continuation in
      enqueue(
        PendingRequest(
          request: request, prefix: prefix, suffix: suffix, sampler: sampler, continuation: continuation,
          progress: PrefillProgress.receiver?.send))
    }
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
      let prefix =
        model.tokenize(chat.head, addSpecial: true, parseSpecial: true)
        + model.tokenize(chat.prefix, addSpecial: false)
      let suffix =
        model.tokenize(chat.suffix, addSpecial: false)
        + model.tokenize(chat.tail, addSpecial: false, parseSpecial: true)
      return (prefix, suffix)
    }
  }

  // MARK: - Checkpoints

  /// Restores the longest stored prefix of `prompt` into sequence `seq`.
  ///
  /// - Returns: The tokens now in the cache, always fewer than `prompt.count`
  ///   (the last prompt token must be decoded for its logits); 0 on a miss.
  func restoreLongestPrefix(of prompt: [Int32], seq: Int32) -> Int {
    guard let store = checkpoints, prompt.count >= options.checkpointMinTokens else { return 0 }
    // A full SWA cache can drop the last token of a restored prompt; a
    // window-only one cannot, so there the prefix must be strictly shorter.
    let maximum = swaFull ? prompt.count : prompt.count - 1
    let candidates = store.prefixCandidates(
      model: checkpointIdentity, of: prompt, minimum: options.checkpointMinTokens, maximum: maximum)
    var found: (entry: CheckpointEntry, accepted: Bool)?
    for candidate in candidates {
      if candidate.rawBytes <= options.inMemoryStateBytes {
        guard let checkpoint = store.load(candidate) else { continue }
        found = (candidate, writeState(checkpoint.state, tokens: candidate.tokens, seq: seq))
      } else {
        guard let accepted = restoreStaged(candidate, prompt: prompt, seq: seq) else { continue }
        found = (candidate, accepted)
      }
      break
    }
    guard let found else { return 0 }
    guard found.accepted else {
      logger.warning(
        "llama.cpp refused a KV checkpoint; recomputing the prefix", metadata: ["kv.path": "\(found.entry.path)"])
      return 0
    }
    var restored = found.entry.tokens
    if restored == prompt.count {
      let memory = llama_get_memory(context)
      guard llama_memory_seq_rm(memory, seq, Int32(restored - 1), -1) else {
        llama_memory_seq_rm(memory, seq, -1, -1)
        return 0
      }
      restored -= 1
    }
    return restored
  }

  /// Saves `state` (a sequence holding exactly `tokens`) unless already stored.
  func saveCheckpoint(_ tokens: [Int32], state: Data) {
    guard let store = checkpoints, tokens.count >= options.checkpointMinTokens,
      !store.contains(model: checkpointIdentity, tokens: tokens)
    else { return }
    do {
      try store.save(model: checkpointIdentity, tokens: tokens, state: state)
    } catch {
      logger.warning("cannot save a KV checkpoint", metadata: ["kv.error": "\(error)"])
    }
  }

  /// A copy of sequence `seq`'s state (its KV cells); the caller holds `contextLock`.
  func readState(seq: Int32) -> Data {
    let size = llama_state_seq_get_size(context, seq)
    var data = Data(count: size)
    let written = data.withUnsafeMutableBytes { buffer in
      llama_state_seq_get_data(context, buffer.baseAddress?.assumingMemoryBound(to: UInt8.self), size, seq)
    }
    data.count = written
    return data
  }

  /// Replaces sequence `seq` with `state`; false (and an empty sequence) when
  /// llama.cpp refuses it or it does not hold `tokens` positions. The caller
  /// holds `contextLock`; other sequences are untouched.
  func writeState(_ state: Data, tokens: Int, seq: Int32) -> Bool {
    let memory = llama_get_memory(context)
    llama_memory_seq_rm(memory, seq, -1, -1)
    let read = state.withUnsafeBytes { buffer in
      llama_state_seq_set_data(context, buffer.baseAddress?.assumingMemoryBound(to: UInt8.self), state.count, seq)
    }
    guard read > 0, llama_memory_seq_pos_max(memory, seq) == Int32(tokens - 1) else {
      llama_memory_seq_rm(memory, seq, -1, -1)
      return false
    }
    return true
  }

  /// A copy of sequence 0's state (for tests and benchmarks, between requests).
  package func getState() -> Data { contextLock.withLock { readState(seq: 0) } }

  /// Replaces sequence 0 with `state` (for tests and benchmarks, between requests).
  package func setState(_ state: Data, tokens: Int) -> Bool {
    contextLock.withLock { writeState(state, tokens: tokens, seq: 0) }
  }

  /// Clears the cache and decodes `tokens` from position 0 (for benchmarks).
  package func prefill(_ tokens: [Int32]) throws {
    try contextLock.withLock {
      llama_memory_clear(llama_get_memory(context), true)
      try decode(tokens, seq: 0, startingAt: 0, logitsForLast: true)
    }
  }

  // MARK: - Decoding

  /// Decodes `tokens` into sequence `seq` at positions from `start`, in
  /// `batchTokens` runs, asking for logits of the last token only when
  /// `logitsForLast`, telling `progress` the position reached after each run. The caller holds `contextLock`.
  func decode(
    _ tokens: [Int32], seq: Int32, startingAt start: Int, logitsForLast: Bool, progress: ((Int) -> Void)? = nil
  ) throws {
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
        batch.seq_id[i]![0] = seq
        batch.logits[i] = (logitsForLast && offset + i == tokens.count - 1) ? 1 : 0
      }
      batch.n_tokens = Int32(n)
      let code = llama_decode(context, batch)
      guard code == 0 else {
        throw EngineError.permanent(LlamaBackendError.decodeFailed(code: code).errorDescription ?? "")
      }
      offset += n
      progress?(start + offset)
    }
  }
}
