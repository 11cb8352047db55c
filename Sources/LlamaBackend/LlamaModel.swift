internal import CLazyLoad
internal import CLlama
import Foundation
import Inference
import Storage
import Synchronization

/// A GGUF model (or vocabulary) loaded through llama.cpp. Owns the model pointer.
///
/// Tokenization only reads the vocabulary, so one model serves many threads.
public final class LlamaModel: @unchecked Sendable {
  let pointer: OpaquePointer
  let vocab: OpaquePointer
  /// The GGUF file.
  public let path: String
  /// Whether only the vocabulary was loaded.
  public let vocabOnly: Bool

  /// Loads `path`.
  ///
  /// - Parameters:
  ///   - path: A GGUF file.
  ///   - vocabOnly: Load only the vocabulary (fast; enough for token counts).
  /// - Throws: `LlamaBackendError.modelLoadFailed` naming the file.
  public init(path: String, vocabOnly: Bool = false) throws {
    try LlamaRuntime.start()
    guard FileManager.default.isReadableFile(atPath: path) else {
      throw LlamaBackendError.modelMissing(path: path)
    }
    var params = llama_model_default_params()
    params.vocab_only = vocabOnly
    guard let model = llama_model_load_from_file(path, params) else {
      throw LlamaBackendError.modelLoadFailed(path: path)
    }
    pointer = model
    vocab = llama_model_get_vocab(model)
    self.path = path
    self.vocabOnly = vocabOnly
  }

  deinit { llama_model_free(pointer) }

  private let memoLock = NSLock()
  private var memoState: PieceMemo??

  /// Remembered token counts of text pieces, built on first use; nil for vocabularies
  /// whose pieces cannot be counted apart exactly (see `PieceMemo`).
  var pieceMemo: PieceMemo? {
    memoLock.withLock {
      if let state = memoState { return state }
      let memo = PieceMemo(model: self)
      memoState = .some(memo)
      return memo
    }
  }

  /// Tokens of `text`.
  ///
  /// - Parameters:
  ///   - addSpecial: Add BOS (and EOS) as the model's vocabulary asks.
  ///   - parseSpecial: Treat special-token text such as `<start_of_turn>` as tokens.
  public func tokenize(_ text: String, addSpecial: Bool, parseSpecial: Bool = false) -> [Int32] {
    let bytes = Array(text.utf8) + [0]  // never empty, so it always has an address
    return bytes.withUnsafeBufferPointer {
      Self.tokenize(vocab, $0.baseAddress!, count: $0.count - 1, addSpecial: addSpecial, parseSpecial: parseSpecial)
    }
  }

  /// Tokens of `count` UTF-8 bytes at `bytes` through `vocab`, growing the output until it fits.
  static func tokenize(
    _ vocab: OpaquePointer, _ bytes: UnsafePointer<UInt8>, count: Int, addSpecial: Bool, parseSpecial: Bool
  ) -> [Int32] {
    var capacity = count + 8
    while true {
      var tokens = [Int32](repeating: 0, count: capacity)
      let n = bytes.withMemoryRebound(to: CChar.self, capacity: max(count, 1)) { chars in
        llama_tokenize(vocab, chars, Int32(count), &tokens, Int32(capacity), addSpecial, parseSpecial)
      }
      if n >= 0 { return Array(tokens.prefix(Int(n))) }
      capacity = Int(-n)
    }
  }

  /// The bytes token `token` stands for.
  public func piece(_ token: Int32) -> [UInt8] {
    var buffer = [CChar](repeating: 0, count: 64)
    var n = llama_token_to_piece(vocab, token, &buffer, Int32(buffer.count), 0, false)
    if n < 0 {
      buffer = [CChar](repeating: 0, count: Int(-n))
      n = llama_token_to_piece(vocab, token, &buffer, Int32(buffer.count), 0, false)
    }
    return buffer.prefix(Int(max(0, n))).map { UInt8(bitPattern: $0) }
  }

  /// Whether `token` ends generation (EOS, EOT and the like).
  public func isEndOfGeneration(_ token: Int32) -> Bool { llama_vocab_is_eog(vocab, token) }

  /// The context length the model was trained with.
  public var trainedContext: Int { Int(llama_model_n_ctx_train(pointer)) }

  /// The sliding-window size of SWA layers (0 when the model has none).
  public var slidingWindow: Int { Int(llama_model_n_swa(pointer)) }

  /// The model's description, e.g. "gemma3 270M Q4_K - Medium".
  public var description: String {
    var buffer = [CChar](repeating: 0, count: 256)
    let n = llama_model_desc(pointer, &buffer, buffer.count)
    return n > 0 ? String(decoding: buffer.prefix(Int(n)).map { UInt8(bitPattern: $0) }, as: UTF8.self) : "unknown"
  }

  /// The model's chat template, when it has one.
  public var chatTemplate: String? { llama_model_chat_template(pointer, nil).map { String(cString: $0) } }

  /// `content` as one user turn in the model's chat template, ending where the
  /// assistant's answer starts (llama.cpp's built-in templates; no Jinja).
  ///
  /// - Throws: `LlamaBackendError.noChatTemplate` or `.chatTemplateUnsupported`.
  public func applyChatTemplate(user content: String) throws -> String {
    guard let template = llama_model_chat_template(pointer, nil) else {
      throw LlamaBackendError.noChatTemplate(path: path)
    }
    var capacity = 2 * content.utf8.count + 512
    while true {
      var buffer = [CChar](repeating: 0, count: capacity)
      let n = "user".withCString { role in
        content.withCString { text in
          var message = llama_chat_message(role: role, content: text)
          return llama_chat_apply_template(template, &message, 1, true, &buffer, Int32(capacity))
        }
      }
      guard n >= 0 else { throw LlamaBackendError.chatTemplateUnsupported(path: path) }
      if Int(n) <= capacity {
        return String(decoding: buffer.prefix(Int(n)).map { UInt8(bitPattern: $0) }, as: UTF8.self)
      }
      capacity = Int(n)
    }
  }
}

/// Exact token counts through a GGUF vocabulary.
public struct LlamaTokenCounter: TokenCounter {
  let model: LlamaModel
  public let vocabularyID: String
  public var isExact: Bool { true }

  /// - Parameters:
  ///   - model: A loaded model or vocabulary.
  ///   - vocabularyID: Names the vocabulary for the token cache.
  ///   - memoize: Count through remembered pieces where that is exact (`PieceMemo`);
  ///     `LONGCTX_TOKEN_MEMO=0` in the environment turns it off.
  public init(model: LlamaModel, vocabularyID: String, memoize: Bool = true) {
    self.model = model
    self.vocabularyID = vocabularyID
    self.memoize = memoize && ProcessInfo.processInfo.environment["LONGCTX_TOKEN_MEMO"] != "0"
  }

  let memoize: Bool

  /// Whether counts go through remembered pieces (the vocabulary allows it and it is on).
  public var isMemoized: Bool { memoize && model.pieceMemo != nil }

  public func count(_ text: String) throws -> Int {
    if memoize, let memo = model.pieceMemo {
      var text = text
      return text.withUTF8 { memo.count($0) }
    }
    return model.tokenize(text, addSpecial: false).count
  }

  public func counts(_ texts: [String]) throws -> [Int] {
    if memoize, let memo = model.pieceMemo { return memo.counts(texts) }
    return texts.map { model.tokenize($0, addSpecial: false).count }
  }
}

/// Process-wide llama.cpp set-up: backend init once, and its log silenced
/// (set LONGCTX_LLAMA_LOG=1 to see it).
///
/// llama.cpp is loaded here, on first use, not at process start (`CLazyLoad`, issue 32).
enum LlamaRuntime {
  /// nil once llama.cpp is loaded and initialised; the loader's reason when it cannot be loaded.
  private static let failure: String? = {
    var error: UnsafePointer<CChar>?
    guard longctx_lazy_load_llama(&error) == 1 else { return error.map { String(cString: $0) } ?? "not found" }
    llama_log_set({ _, text, _ in LlamaLog.receive(text) }, nil)
    llama_backend_init()
    return nil
  }()

  /// Loads and initialises llama.cpp once.
  ///
  /// - Throws: `LlamaBackendError.libraryMissing` when libllama cannot be loaded.
  static func start() throws(LlamaBackendError) {
    if let failure { throw LlamaBackendError.libraryMissing(reason: failure) }
  }

  /// The llama.cpp build's system info line.
  static var systemInfo: String { String(cString: llama_print_system_info()) }
}

/// llama.cpp's log: dropped unless LONGCTX_LLAMA_LOG=1, and captured on
/// request (to quote llama.cpp's reason when it refuses a grammar).
enum LlamaLog {
  private static let echo = ProcessInfo.processInfo.environment["LONGCTX_LLAMA_LOG"] == "1"
  /// The log text kept since `startCapture`, or nil when not capturing.
  private static let state = Locked<String?>(nil)

  static func receive(_ text: UnsafePointer<CChar>?) {
    guard let text else { return }
    let line = String(cString: text)
    if echo { FileHandle.standardError.write(Data(line.utf8)) }
    state.value.withLock { text in
      if text != nil { text? += line }
    }
  }

  /// Starts keeping log text.
  static func startCapture() { state.value.withLock { $0 = "" } }

  /// Stops keeping log text; returns what was kept since `startCapture`.
  static func stopCapture() -> String {
    state.value.withLock { text in
      defer { text = nil }
      return text ?? ""
    }
  }
}

/// Errors of the llama.cpp backend.
public enum LlamaBackendError: Error, LocalizedError, Equatable {
  case modelMissing(path: String)
  case modelLoadFailed(path: String)
  case contextFailed(contextTokens: Int)
  case decodeFailed(code: Int32)
  case promptTooLong(tokens: Int, context: Int)
  case stateRestoreFailed
  case stateFileFailed(path: String)
  case noChatTemplate(path: String)
  case chatTemplateUnsupported(path: String)
  case libraryMissing(reason: String)

  public var errorDescription: String? {
    switch self {
    case .modelMissing(let path): "The model file \(path) does not exist; run scripts/setup.sh or set model.path."
    case .modelLoadFailed(let path): "llama.cpp cannot load \(path); is it a GGUF model file?"
    case .contextFailed(let n): "llama.cpp could not create a context of \(n) tokens; lower model.context."
    case .decodeFailed(let code): "llama_decode failed with code \(code)."
    case .promptTooLong(let tokens, let context):
      "The prompt has \(tokens) tokens, more than the context of \(context) allows with the output; lower the window budget."
    case .stateRestoreFailed: "llama.cpp refused a saved sequence state."
    case .stateFileFailed(let path):
      "llama.cpp could not write the sequence state to \(path); check the free space of the workspace's file system."
    case .noChatTemplate(let path):
      "The model \(path) has no chat template; use model.prompt_format: raw (base models) or an instruct model."
    case .libraryMissing(let reason):
      "llama.cpp is not installed (\(reason)); run scripts/setup.sh, or use an OpenAI-compatible server (model.base_url)."
    case .chatTemplateUnsupported(let path):
      "llama.cpp cannot apply the chat template of \(path) (it supports a fixed list of templates); use model.prompt_format: raw."
    }
  }
}
