internal import CLlama
import Foundation
import Pipeline

extension LlamaEngine {
  /// The sampler chain for `request`: the grammar first (it masks tokens the
  /// output may not continue with), then greedy, or top-k, top-p, temperature
  /// and a seeded draw. Greedy with a grammar stays deterministic.
  ///
  /// - Throws: `EngineError.permanent` with llama.cpp's message when the
  ///   grammar (given, or made from `jsonSchema`) does not parse.
  func makeSampler(_ request: GenerationRequest) throws -> UnsafeMutablePointer<llama_sampler> {
    let grammar = try Self.grammar(for: request)
    let grammarSampler = try grammar.map { try LlamaGrammar.sampler(vocab: model.vocab, grammar: $0) }
    let chain = llama_sampler_chain_init(llama_sampler_chain_default_params())!
    if let grammarSampler { llama_sampler_chain_add(chain, grammarSampler) }
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

  /// `request.grammar`, else the grammar of `request.jsonSchema`, else nil.
  static func grammar(for request: GenerationRequest) throws -> String? {
    if let grammar = request.grammar, !grammar.isEmpty { return grammar }
    guard let text = request.jsonSchema else { return nil }
    do {
      return try JSONSchema(text: text).gbnf
    } catch {
      throw EngineError.permanent("the JSON schema cannot be turned into a grammar: \(error)")
    }
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
