internal import CLlama
import Foundation
import Inference
import Storage

/// Sentence embeddings from a BERT-family GGUF model (all-MiniLM-L6-v2 as set-up converts it), run
/// in process by llama.cpp: one non-causal context with mean pooling, many texts per `llama_encode`.
///
/// One context serves one call at a time (a lock); llama.cpp uses every thread it is given inside
/// that call, so callers need not embed in parallel.
public final class LlamaEmbedder: TextEmbedder, @unchecked Sendable {
  let model: LlamaModel
  private let context: OpaquePointer
  private let lock = NSLock()
  public let modelID: String
  public let dimensions: Int
  /// The most tokens one text is read with (all-MiniLM-L6-v2 was trained on 256, as
  /// sentence-transformers cuts it); longer texts keep their head.
  public let maxTokens: Int
  /// Tokens per `llama_encode` (texts of one call share it).
  let batchTokens: Int
  /// Sequences per `llama_encode`.
  static let maxSequences = 64

  /// Loads the model at `path` and makes its embedding context.
  ///
  /// - Parameters:
  ///   - path: A GGUF embedding model.
  ///   - maxTokens: Tokens a text is read with at most (CLS and SEP included).
  ///   - batchTokens: Tokens per `llama_encode`.
  ///   - threads: llama.cpp threads (default: every core).
  /// - Throws: `LlamaBackendError.modelMissing`, `.modelLoadFailed` or `.contextFailed`.
  public init(path: String, maxTokens: Int = 256, batchTokens: Int = 2048, threads: Int? = nil) throws {
    model = try LlamaModel(path: path)
    self.maxTokens = min(maxTokens, model.trainedContext)
    self.batchTokens = max(batchTokens, self.maxTokens)
    var params = llama_context_default_params()
    params.n_ctx = UInt32(self.batchTokens)
    params.n_batch = UInt32(self.batchTokens)
    params.n_ubatch = UInt32(self.batchTokens)  // a non-causal model reads a whole text in one ubatch
    params.n_seq_max = UInt32(Self.maxSequences)
    params.embeddings = true
    params.pooling_type = LLAMA_POOLING_TYPE_MEAN
    let n = Int32(threads ?? ProcessInfo.processInfo.activeProcessorCount)
    params.n_threads = n
    params.n_threads_batch = n
    params.no_perf = true
    guard let context = llama_init_from_model(model.pointer, params) else {
      throw LlamaBackendError.contextFailed(contextTokens: self.batchTokens)
    }
    self.context = context
    dimensions = Int(llama_model_n_embd(model.pointer))
    let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0
    modelID = "\(Self.name(model) ?? (path as NSString).lastPathComponent):\(dimensions)d:\(size)b:\(self.maxTokens)t"
  }

  deinit { llama_free(context) }

  /// The model's `general.name`.
  private static func name(_ model: LlamaModel) -> String? {
    var buffer = [CChar](repeating: 0, count: 256)
    let n = llama_model_meta_val_str(model.pointer, "general.name", &buffer, buffer.count)
    guard n > 0 else { return nil }
    return String(decoding: buffer.prefix(Int(n)).map { UInt8(bitPattern: $0) }, as: UTF8.self)
  }

  /// Tokens of `text` as the model reads it: CLS, the WordPiece tokens, SEP, cut to `maxTokens`
  /// with the SEP kept last.
  func tokens(_ text: String) -> [Int32] {
    var tokens = model.tokenize(text, addSpecial: true)
    if tokens.count > maxTokens, let last = tokens.last {
      tokens = Array(tokens.prefix(maxTokens - 1)) + [last]
    }
    return tokens
  }

  /// Tokens of `text` with CLS and SEP, before any cut.
  public func tokenCount(_ text: String) -> Int { model.tokenize(text, addSpecial: true).count }

  public func embed(_ texts: [String]) throws -> [[Float]] {
    let tokenized = texts.map(tokens)
    var out = [[Float]](repeating: [], count: texts.count)
    try lock.withLock {
      var start = 0
      while start < tokenized.count {
        var end = start
        var used = 0
        while end < tokenized.count && end - start < Self.maxSequences
          && (end == start || used + tokenized[end].count <= batchTokens)
        {
          used += tokenized[end].count
          end += 1
        }
        try encode(tokenized[start..<end], total: used, into: &out, at: start)
        start = end
      }
    }
    return out
  }

  /// Encodes `texts` (at most `maxSequences`, `total` tokens) as one batch, one sequence each.
  private func encode(_ texts: ArraySlice<[Int32]>, total: Int, into out: inout [[Float]], at offset: Int) throws {
    var batch = llama_batch_init(Int32(total), 0, 1)
    defer { llama_batch_free(batch) }
    var i = 0
    for (seq, tokens) in texts.enumerated() {
      for (pos, token) in tokens.enumerated() {
        batch.token[i] = token
        batch.pos[i] = Int32(pos)
        batch.n_seq_id[i] = 1
        batch.seq_id[i]![0] = Int32(seq)
        batch.logits[i] = 1
        i += 1
      }
    }
    batch.n_tokens = Int32(i)
    let code = llama_encode(context, batch)
    guard code == 0 else { throw LlamaBackendError.decodeFailed(code: code) }
    for seq in 0..<texts.count {
      guard let pointer = llama_get_embeddings_seq(context, Int32(seq)) else {
        throw LlamaBackendError.decodeFailed(code: -100)
      }
      let vector = Array(UnsafeBufferPointer(start: pointer, count: dimensions))
      let norm = vector.reduce(0) { $0 + $1 * $1 }.squareRoot()
      out[offset + seq] = norm > 0 ? vector.map { $0 / norm } : vector
    }
  }
}
