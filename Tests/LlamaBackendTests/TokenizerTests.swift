import Foundation
import Inference
import LlamaBackend
import Testing
import _LongctxTestSupport

/// Exact token counts: the vocabulary loaded through the C API agrees with
/// llama.cpp's own `llama-tokenize` tool on the same text.
@Suite struct TokenizerTests {
  static func referenceTokens(model: String, file: URL) throws -> [Int32] {
    guard let prefix = ProcessInfo.processInfo.environment["LONGCTX_LLAMA_PREFIX"] else {
      throw SetupPaths.Missing(description: "LONGCTX_LLAMA_PREFIX is unset; run through scripts/test.sh")
    }
    let p = Process()
    p.executableURL = URL(fileURLWithPath: prefix + "/bin/llama-tokenize")
    p.arguments = ["-m", model, "-f", file.path, "--ids", "--no-bos", "--log-disable"]
    let pipe = Pipe()
    p.standardOutput = pipe
    p.standardError = FileHandle.nullDevice
    try p.run()
    let out = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    p.waitUntilExit()
    let line = out.split(separator: "\n").last { $0.hasPrefix("[") } ?? "[]"
    return line.dropFirst().dropLast().split(separator: ",").compactMap {
      Int32($0.trimmingCharacters(in: .whitespaces))
    }
  }

  @Test(arguments: ["logs/app.log", "repo/src/manifests/writer.py", "pdf-sources/memo.ms", "unicode"])
  func countsMatchLlamaTokenize(sample: String) throws {
    let model = try SetupPaths.model()
    let tmp = try TemporaryDirectory()
    defer { tmp.remove() }
    let file: URL
    if sample == "unicode" {
      file = try tmp.write("u.txt", "Grüße — 日本語のテキスト, emoji 🚚 and tabs\tand  double  spaces\n")
    } else {
      file = RepositoryPaths.samples.appendingPathComponent(sample)
    }
    let text = try String(contentsOf: file, encoding: .utf8)
    let vocab = try LlamaModel(path: model, vocabOnly: true)
    let ours = vocab.tokenize(text, addSpecial: false)
    let reference = try Self.referenceTokens(model: model, file: file)
    #expect(!reference.isEmpty)
    #expect(ours == reference)
    #expect(try LlamaTokenCounter(model: vocab, vocabularyID: "t").count(text) == reference.count)
  }

  /// Counting through remembered pieces gives llama_tokenize's count on every text file
  /// of Samples/ and on text made to sit on the vocabulary's edges: the one Gemma token
  /// with an inner space (`> </`), user-defined HTML, tab, space and newline runs,
  /// digits, non-ASCII next to ASCII, pieces over the remembered length; cold (every piece
  /// new) and warm (every piece remembered).
  @Test func rememberedPiecesCountExactly() throws {
    let vocab = try LlamaModel(path: try SetupPaths.model(), vocabOnly: true)
    let memoized = LlamaTokenCounter(model: vocab, vocabularyID: "memo")
    #expect(memoized.isMemoized)
    var texts: [String] = [
      "<td> </td> a > </b> x> </y >< /z",
      "<table><tr><td>1</td></tr></table>\n\n\n  indented\t\ttabs\n\n\n\n",
      "2026-02-01T12:00:00.123Z ERROR [worker-7] id=0x3fa9c2 took 1234567ms\r\n",
      "Grüße—naïve café 日本語 abc日本def 🚚x 🚚 x ▁literal▁ ▁ a",
      String(repeating: "abcdefghij", count: 60) + " " + String(repeating: "z", count: 300),
      "   leading spaces and trailing   ", "\n", " ", "a", "",
    ]
    let enumerator = FileManager.default.enumerator(at: RepositoryPaths.samples, includingPropertiesForKeys: nil)
    while let url = enumerator?.nextObject() as? URL {
      guard
        ["log", "py", "md", "ms", "txt", "eml", "mbox", "yaml", "json", "swift", "c", "h", "sh"].contains(
          url.pathExtension),
        let text = try? String(contentsOf: url, encoding: .utf8)
      else { continue }
      texts.append(text)
    }
    #expect(texts.count > 15)
    for pass in ["cold", "warm"] {
      for text in texts {
        let expected = vocab.tokenize(text, addSpecial: false).count
        #expect(try memoized.count(text) == expected, "\(pass): \(text.prefix(60).debugDescription)")
      }
    }
  }

  /// Counting many texts at once (their new pieces tokenized together, in slices of joined
  /// pieces) gives each text llama_tokenize's count: cold and warm, for pieces joined by the
  /// separator and pieces tokenized by themselves (non-ASCII edges, newline runs), and for a
  /// batch whose new pieces (about 40 KB of random base-36 words) span several 16 KB slices.
  @Test func batchesCountLikeSingleTexts() throws {
    let path = try SetupPaths.model()
    let vocab = try LlamaModel(path: path, vocabOnly: true)
    var texts: [String] = [
      "alpha beta\ngamma", "\n\nstarts and ends with newlines\n\n", "", "x",
      "2026-02-01T12:00:00.123Z ERROR [worker-7] id=0x3fa9c2 took 1234567ms\r\n",
      "Grüße—naïve café 日本語 abc日本def 🚚x", String(repeating: "q", count: 700),
      // NUL is no token by itself: one-byte pieces are then counted one by one, not by popcount.
      "nul\u{0}byte 1\u{0}2 \u{0}", "\u{0}",
    ]
    // Many distinct words: more than one slice (16 KB) of new pieces in one batch.
    var state: UInt64 = 5
    for i in 0..<120 {
      var words: [String] = []
      for _ in 0..<40 {
        state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        words.append(String(state >> 20, radix: 36))
      }
      texts.append("line \(i): " + words.joined(separator: i % 3 == 0 ? "\n" : " "))
    }
    let expected = texts.map { vocab.tokenize($0, addSpecial: false).count }
    let counter = LlamaTokenCounter(model: vocab, vocabularyID: "batch")
    #expect(counter.isMemoized)
    #expect(try counter.counts(texts) == expected)  // cold
    #expect(try counter.counts(texts) == expected)  // warm
    #expect(try counter.counts(texts.reversed()) == expected.reversed())
    #expect(try texts.map { try counter.count($0) } == expected)
  }

  @Test func missingModelIsAClearError() {
    #expect(throws: LlamaBackendError.modelMissing(path: "/nope.gguf")) {
      try LlamaModel(path: "/nope.gguf", vocabOnly: true)
    }
  }
}
