internal import CLlama
import Foundation
import Pipeline
import Workspace

/// Settings of the in-process engine.
public struct LlamaEngineOptions: Sendable, Hashable {
  /// Context tokens per sequence.
  public var contextTokens: Int
  /// CPU threads (default: all cores).
  public var threads: Int
  /// Tokens per llama_decode call while prefilling.
  public var batchTokens: Int

  public init(contextTokens: Int, threads: Int? = nil, batchTokens: Int = 512) {
    self.contextTokens = contextTokens
    self.threads = threads ?? max(1, ProcessInfo.processInfo.activeProcessorCount)
    self.batchTokens = batchTokens
  }
}

/// llama.cpp in process: one model, one context, requests served one at a time.
///
/// The raw prompt format: the model sees BOS, then `prefix`, then `suffix`
/// exactly as given (no chat template), which suits base models such as Gemma 3 270M.
public final class LlamaEngine: Engine, @unchecked Sendable {
  public let model: LlamaModel
  public let options: LlamaEngineOptions
  public let name: String
  public let modelIdentity: String
  private let context: OpaquePointer
  private let lock = NSLock()

  /// Loads `modelPath` and creates a context.
  ///
  /// - Throws: `LlamaBackendError` when the model or context cannot be made.
  public init(modelPath: String, options: LlamaEngineOptions) throws {
    model = try LlamaModel(path: modelPath)
    self.options = options
    var params = llama_context_default_params()
    params.n_ctx = UInt32(options.contextTokens)
    params.n_batch = UInt32(options.batchTokens)
    params.n_ubatch = UInt32(options.batchTokens)
    params.n_seq_max = 1
    params.n_threads = Int32(options.threads)
    params.n_threads_batch = Int32(options.threads)
    params.no_perf = true
    guard let ctx = llama_init_from_model(model.pointer, params) else {
      throw LlamaBackendError.contextFailed(contextTokens: options.contextTokens)
    }
    context = ctx
    name = "llama.cpp in process"
    let fileHash = (try? Hashing.sha256(fileAt: URL(fileURLWithPath: modelPath))) ?? "unknown"
    modelIdentity = "gguf-sha256:\(fileHash) ctx=\(options.contextTokens) build=\(LlamaEngine.buildIdentity)"
  }

  deinit { llama_free(context) }

  /// Identifies the llama.cpp build (its system info line hashed).
  public static var buildIdentity: String {
    LlamaRuntime.start()
    return String(Hashing.sha256(LlamaRuntime.systemInfo).prefix(12))
  }

  public func generate(_ request: GenerationRequest) async throws -> GenerationResult {
    try lock.withLock { try generateLocked(request) }
  }

  private func generateLocked(_ request: GenerationRequest) throws -> GenerationResult {
    let prompt = model.tokenize(request.prefix, addSpecial: true) + model.tokenize(request.suffix, addSpecial: false)
    guard prompt.count + request.maxTokens <= options.contextTokens else {
      throw EngineError.permanent(
        LlamaBackendError.promptTooLong(tokens: prompt.count, context: options.contextTokens).errorDescription ?? "")
    }
    let memory = llama_get_memory(context)
    llama_memory_clear(memory, true)
    try decode(prompt, startingAt: 0)

    let sampler = makeSampler(request)
    defer { llama_sampler_free(sampler) }
    var output: [UInt8] = []
    var generated = 0
    var position = prompt.count
    var text = ""
    while generated < request.maxTokens {
      if Interrupt.isRequested { throw EngineError.interrupted }
      let token = llama_sampler_sample(sampler, context, -1)
      if model.isEndOfGeneration(token) { break }
      output += model.piece(token)
      generated += 1
      text = String(decoding: output, as: UTF8.self)
      if let cut = request.stop.compactMap({ text.range(of: $0)?.lowerBound }).min() {
        text = String(text[..<cut])
        break
      }
      try decode([token], startingAt: position)
      position += 1
    }
    return GenerationResult(text: text, promptTokens: prompt.count, outputTokens: generated)
  }

  private func makeSampler(_ request: GenerationRequest) -> UnsafeMutablePointer<llama_sampler> {
    let chain = llama_sampler_chain_init(llama_sampler_chain_default_params())!
    if request.temperature <= 0 {
      llama_sampler_chain_add(chain, llama_sampler_init_greedy())
    } else {
      llama_sampler_chain_add(chain, llama_sampler_init_top_k(40))
      llama_sampler_chain_add(chain, llama_sampler_init_top_p(0.95, 1))
      llama_sampler_chain_add(chain, llama_sampler_init_temp(Float(request.temperature)))
      llama_sampler_chain_add(chain, llama_sampler_init_dist(request.seed))
    }
    return chain
  }

  /// Decodes `tokens` into sequence 0 at positions from `start`, asking for
  /// logits of the last token only.
  private func decode(_ tokens: [Int32], startingAt start: Int) throws {
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
        batch.logits[i] = (offset + i == tokens.count - 1) ? 1 : 0
      }
      batch.n_tokens = Int32(n)
      let code = llama_decode(context, batch)
      guard code == 0 else { throw EngineError.permanent(LlamaBackendError.decodeFailed(code: code).errorDescription ?? "") }
      offset += n
    }
  }
}
