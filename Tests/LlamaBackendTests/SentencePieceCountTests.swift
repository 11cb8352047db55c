import Foundation
import Testing
import _LongctxTestSupport

@testable import LlamaBackend

/// The SentencePiece merge re-done in Swift counts exactly what llama.cpp's tokenizer makes of
/// the same text: random stretches of every Samples text file, and text at the vocabulary's
/// edges; text holding a user-defined token is left to llama.cpp.
@Suite struct SentencePieceCountTests {
  @Test func countsLikeLlamaCpp() throws {
    let vocab = try LlamaModel(path: try SetupPaths.model(), vocabOnly: true)
    let counter = try #require(vocab.pieceMemo?.sentencePiece)
    var texts = [
      "Grüße—naïve café 日本語 abc日本def 🚚x", "▁literal▁ ▁ a", "x> </y", "ERROR [worker-7] id=0x3fa9c2",
      "\u{0}\u{1}\u{7F}", "ℌ𝔢𝔩𝔩𝔬 𝔴𝔬𝔯𝔩𝔡", String(repeating: "abcdefghij", count: 30),
    ]
    let enumerator = FileManager.default.enumerator(at: RepositoryPaths.samples, includingPropertiesForKeys: nil)
    while let url = enumerator?.nextObject() as? URL {
      guard ["log", "py", "md", "ms", "txt", "eml", "yaml", "json", "swift", "c", "sh"].contains(url.pathExtension),
        let text = try? String(contentsOf: url, encoding: .utf8)
      else { continue }
      texts.append(text)
    }
    var state: UInt64 = 11
    func next(_ n: Int) -> Int {
      state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
      return Int(state >> 33) % max(n, 1)
    }
    var checked = 0
    for text in texts {
      let characters = Array(text)
      for _ in 0..<200 {
        let start = next(characters.count)
        let piece = String(characters[start..<min(characters.count, start + 1 + next(48))])
        let ours = piece.utf8.withContiguousStorageIfAvailable { counter.count($0) } ?? nil
        guard let ours else { continue }
        checked += 1
        #expect(ours == vocab.tokenize(piece, addSpecial: false).count, "\(piece.debugDescription)")
      }
    }
    #expect(checked > 1000)
    // User-defined tokens (Gemma: runs of spaces, newlines and tabs; HTML tags) are llama.cpp's to carve out.
    for piece in ["a  b", "x\ny", "<td>", "\t"] {
      #expect(piece.utf8.withContiguousStorageIfAvailable { counter.count($0) } ?? 0 == nil)
    }
  }
}
