internal import CLlama
import Foundation
import Inference

extension LlamaEngine {
  /// The token sampler for `request`.
  ///
  /// - Throws: `EngineError.permanent` with llama.cpp's message when the
  ///   grammar (given, or made from `jsonSchema`) does not parse.
  func makeSampler(_ request: GenerationRequest) throws -> TokenSampler {
    let grammar = try Self.grammar(for: request)
    let grammarSampler = try grammar.map { try LlamaGrammar.sampler(vocab: model.vocab, grammar: $0) }
    let chain = llama_sampler_chain_init(llama_sampler_chain_default_params())!
    if let loopGuard = request.loopGuard, loopGuard.dryMultiplier > 0 {
      llama_sampler_chain_add(chain, Self.dry(loopGuard, vocab: model.vocab, outputTokens: request.maxTokens))
    }
    if request.temperature <= 0 {
      llama_sampler_chain_add(chain, llama_sampler_init_greedy())
    } else {
      llama_sampler_chain_add(chain, llama_sampler_init_top_k(40))  // TokenSampler's `needed`
      llama_sampler_chain_add(chain, llama_sampler_init_top_p(0.95, 1))
      llama_sampler_chain_add(chain, llama_sampler_init_temp(Float(request.temperature)))
      llama_sampler_chain_add(chain, llama_sampler_init_dist(request.seed))
    }
    return TokenSampler(
      chain: chain, grammar: grammarSampler, vocabSize: Int(llama_vocab_n_tokens(model.vocab)),
      needed: request.temperature <= 0 ? 1 : 40)
  }

  /// llama.cpp's DRY sampler with `loopGuard`'s settings, over the last `dryLastTokens`
  /// output tokens (0: the whole output, at most `outputTokens`).
  ///
  /// It sees only the tokens the chain accepts, which are the output's: the prompt is
  /// never accepted, so repeating the window's text (a quotation, a citation) costs nothing.
  static func dry(_ loopGuard: LoopGuard, vocab: OpaquePointer, outputTokens: Int) -> UnsafeMutablePointer<
    llama_sampler
  > {
    let lastN = Int32(clamping: loopGuard.dryLastTokens > 0 ? loopGuard.dryLastTokens : max(1, outputTokens))
    // llama.cpp copies the breakers into token sequences before it returns.
    let breakers = loopGuard.sequenceBreakers.map { strdup($0) }
    defer { breakers.forEach { free($0) } }
    var pointers = breakers.map { UnsafePointer<CChar>($0) }
    return pointers.withUnsafeMutableBufferPointer { buffer in
      llama_sampler_init_dry(
        vocab, Float(loopGuard.dryMultiplier), Float(loopGuard.dryBase), Int32(clamping: loopGuard.dryAllowedLength),
        lastN, buffer.baseAddress, buffer.count)!
    }
  }

  /// `request.grammar`, else the grammar of `request.jsonSchema`, else nil.
  static func grammar(for request: GenerationRequest) throws -> String? {
    if let grammar = request.grammar, !grammar.isEmpty { return grammar }
    guard request.jsonSchema != nil else { return nil }
    guard let grammar = request.schemaGrammar, !grammar.isEmpty else {
      throw EngineError.permanent("the JSON schema came without the grammar that enforces it")
    }
    return grammar
  }
}

/// Picks each output token: greedy, or top-k, top-p, temperature and a
/// seeded draw; with a grammar, only among tokens the grammar allows.
///
/// Masking a 262K-token vocabulary with a grammar costs far more than a
/// decode step, so the grammar first sees only the `shortlist` most likely
/// tokens (llama.cpp's top-k, a partial sort). When at least `needed` of them
/// are allowed (1 for greedy, k for top-k sampling), the allowed ones are
/// exactly those masking the whole vocabulary would leave at the top, so the
/// choice is the same as masking first: greedy stays deterministic and
/// seeded sampling reproducible. Otherwise the whole vocabulary is masked.
final class TokenSampler: @unchecked Sendable {
  private let chain: UnsafeMutablePointer<llama_sampler>
  private let grammar: UnsafeMutablePointer<llama_sampler>?
  private let shortlist: UnsafeMutablePointer<llama_sampler>?
  private let needed: Int
  private var candidates: [llama_token_data]

  init(
    chain: UnsafeMutablePointer<llama_sampler>, grammar: UnsafeMutablePointer<llama_sampler>?, vocabSize: Int,
    needed: Int
  ) {
    self.chain = chain
    self.grammar = grammar
    self.needed = needed
    shortlist = grammar == nil ? nil : llama_sampler_init_top_k(Int32(max(256, 4 * needed)))
    candidates = grammar == nil ? [] : [llama_token_data](repeating: llama_token_data(), count: vocabSize)
  }

  deinit {
    llama_sampler_free(chain)
    if let grammar { llama_sampler_free(grammar) }
    if let shortlist { llama_sampler_free(shortlist) }
  }

  /// The next token from the logits of batch row `index` of `context` (-1:
  /// the last), accepted by the samplers.
  func sample(_ context: OpaquePointer, index: Int32) -> Int32 {
    guard let grammar, let shortlist, let logits = llama_get_logits_ith(context, index) else {
      return llama_sampler_sample(chain, context, index)
    }
    let token = candidates.withUnsafeMutableBufferPointer { buffer -> Int32 in
      for i in 0..<buffer.count { buffer[i] = llama_token_data(id: Int32(i), logit: logits[i], p: 0) }
      var array = llama_token_data_array(data: buffer.baseAddress, size: buffer.count, selected: -1, sorted: false)
      llama_sampler_apply(shortlist, &array)
      llama_sampler_apply(grammar, &array)
      var allowed = (0..<array.size).map { array.data[$0] }.filter { $0.logit.isFinite }
      if allowed.count >= needed {
        return allowed.withUnsafeMutableBufferPointer { small in
          var subset = llama_token_data_array(data: small.baseAddress, size: small.count, selected: -1, sorted: true)
          llama_sampler_apply(chain, &subset)
          return subset.data[Int(subset.selected)].id
        }
      }
      for i in 0..<buffer.count { buffer[i] = llama_token_data(id: Int32(i), logit: logits[i], p: 0) }
      array = llama_token_data_array(data: buffer.baseAddress, size: buffer.count, selected: -1, sorted: false)
      llama_sampler_apply(grammar, &array)
      llama_sampler_apply(chain, &array)
      // Samplers may point `data` elsewhere; read the choice through the array.
      return array.data[Int(array.selected)].id
    }
    llama_sampler_accept(grammar, token)
    llama_sampler_accept(chain, token)
    return token
  }
}

/// llama.cpp's grammar sampler, with its parse errors captured.
enum LlamaGrammar {
  /// One grammar parse at a time: stderr is redirected while it runs.
  private static let lock = NSLock()

  /// A grammar sampler for `grammar` (start symbol `root`).
  ///
  /// llama.cpp reports why a grammar does not parse on stderr and through its
  /// log, and returns NULL; both are captured here to make the error message.
  ///
  /// - Throws: `EngineError.permanent` naming llama.cpp's complaint.
  static func sampler(vocab: OpaquePointer, grammar: String) throws -> UnsafeMutablePointer<llama_sampler> {
    try lock.withLock {
      var sampler: UnsafeMutablePointer<llama_sampler>?
      let (stderrText, logText) = captureOutput {
        sampler = llama_sampler_init_grammar(vocab, grammar, "root")
      }
      if let sampler {
        // Not ours (another thread wrote while stderr was redirected): pass it on.
        if !stderrText.isEmpty { FileHandle.standardError.write(Data(stderrText.utf8)) }
        return sampler
      }
      let lines = (stderrText + "\n" + logText).split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
      let reasons = lines.filter {
        $0.contains("error parsing grammar") || $0.contains("grammar does not contain")
          || $0.contains("left recursion") || $0.contains("undefined rule") || $0.contains("Undefined rule")
      }
      let reason = reasons.isEmpty ? "failed to parse grammar" : reasons.joined(separator: "; ")
      throw EngineError.permanent("llama.cpp rejected the grammar: \(reason.prefix(500))")
    }
  }

  /// Parses `grammar` as the sampler would.
  ///
  /// - Throws: `EngineError.permanent` with llama.cpp's reason.
  static func check(vocab: OpaquePointer, grammar: String) throws {
    llama_sampler_free(try sampler(vocab: vocab, grammar: grammar))
  }

  /// Runs `body` with fd 2 sent to a temporary file and llama.cpp's log captured.
  private static func captureOutput(_ body: () -> Void) -> (stderr: String, log: String) {
    LlamaLog.startCapture()
    defer { _ = LlamaLog.stopCapture() }
    guard let file = tmpfile() else {
      body()
      return ("", LlamaLog.stopCapture())
    }
    defer { fclose(file) }
    fflush(nil)
    let saved = dup(2)
    guard saved >= 0, dup2(fileno(file), 2) >= 0 else {
      if saved >= 0 { close(saved) }
      body()
      return ("", LlamaLog.stopCapture())
    }
    body()
    fflush(nil)
    dup2(saved, 2)
    close(saved)
    rewind(file)
    var bytes: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 4096)
    while true {
      let n = fread(&buffer, 1, buffer.count, file)
      if n <= 0 { break }
      bytes += buffer.prefix(n)
    }
    return (String(decoding: bytes, as: UTF8.self), LlamaLog.stopCapture())
  }
}
