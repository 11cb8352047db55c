import Foundation
import Storage

/// llama.cpp's SentencePiece merge (`llm_tokenizer_spm_session` in `llama-vocab.cpp`),
/// re-done to count the tokens of short pieces of text without a call into llama.cpp, whose
/// string-keyed maps cost about half a microsecond a byte.
///
/// What it follows, step for step: spaces become `▁`; the text is split into UTF-8
/// characters; every adjacent pair whose joined text is a token goes into a queue ordered by
/// the token's score (ties: the leftmost first); the best pair is merged, stale pairs are
/// skipped, the new neighbours are queued; at the end each symbol is one token if its text is
/// one, else one byte token per byte. (A merged symbol is always a token, so llama.cpp's
/// `rev_merge` fallback never runs for a count.)
///
/// What it does not do: carve out user-defined tokens first. A piece that contains one (for
/// Gemma: runs of two or more spaces, tabs or newlines, HTML tags, `[multimodal]`) is left to
/// llama.cpp (`count` returns nil), as is a vocabulary without byte tokens for every byte.
/// The plan benchmark checks every count against llama.cpp's.
struct SentencePieceCount {
  /// Token texts by open addressing: slot → token id + 1 (0: empty).
  private let slots: [Int32]
  private let mask: Int
  /// The texts of all tokens, back to back; `offsets[id] ..< offsets[id + 1]`.
  private let arena: [UInt8]
  private let offsets: [Int32]
  private let scores: [Float]
  /// User-defined token texts, by their first byte.
  private let userDefined: [UInt8: [[UInt8]]]

  /// - Parameters:
  ///   - texts: Every token's text, by id.
  ///   - scores: Every token's score, by id.
  ///   - userDefined: Which tokens are user-defined (carved out before merging).
  /// - Returns: nil when some byte has no byte token (`<0xXX>`), which the count assumes.
  init?(texts: [[UInt8]], scores: [Float], userDefined: [Bool]) {
    var arena: [UInt8] = []
    var offsets: [Int32] = [0]
    arena.reserveCapacity(texts.reduce(0) { $0 + $1.count })
    for text in texts {
      arena.append(contentsOf: text)
      offsets.append(Int32(arena.count))
    }
    var size = 1
    while size < texts.count * 2 { size <<= 1 }
    var slots = [Int32](repeating: 0, count: size)
    let mask = size - 1
    // Later ids overwrite earlier ones with the same text, as llama.cpp's `token_to_id` does.
    arena.withUnsafeBufferPointer { bytes in
      for id in texts.indices where !texts[id].isEmpty {
        let start = Int(offsets[id])
        let length = Int(offsets[id + 1]) - start
        var i = Self.hash(bytes.baseAddress! + start, length) & mask
        while slots[i] != 0 {
          let other = Int(slots[i]) - 1
          let otherStart = Int(offsets[other])
          if Int(offsets[other + 1]) - otherStart == length
            && memcmp(bytes.baseAddress! + otherStart, bytes.baseAddress! + start, length) == 0
          {
            break
          }
          i = (i + 1) & mask
        }
        slots[i] = Int32(id + 1)
      }
    }
    var byUserDefined: [UInt8: [[UInt8]]] = [:]
    for id in texts.indices where userDefined[id] && !texts[id].isEmpty {
      byUserDefined[texts[id][0], default: []].append(texts[id])
    }
    self.slots = slots
    self.mask = mask
    self.arena = arena
    self.offsets = offsets
    self.scores = scores
    self.userDefined = byUserDefined
    let hex = Array("0123456789ABCDEF".utf8)
    for byte in 0..<256 {
      let name: [UInt8] = [0x3C, 0x30, 0x78, hex[byte >> 4], hex[byte & 15], 0x3E]  // <0xXX>
      guard name.withUnsafeBufferPointer({ self.token($0.baseAddress!, $0.count) }) != nil else { return nil }
    }
  }

  private static func hash(_ bytes: UnsafePointer<UInt8>, _ count: Int) -> Int {
    let h = Hashing.FNV1a.hash(bytes, count: count)
    return Int(truncatingIfNeeded: h ^ (h >> 29))
  }

  /// The id of the token whose text is these bytes, if any.
  private func token(_ bytes: UnsafePointer<UInt8>, _ count: Int) -> Int? {
    var i = Self.hash(bytes, count) & mask
    return arena.withUnsafeBufferPointer { arena -> Int? in
      while true {
        let slot = Int(slots[i])
        if slot == 0 { return nil }
        let start = Int(offsets[slot - 1])
        if Int(offsets[slot]) - start == count && memcmp(arena.baseAddress! + start, bytes, count) == 0 {
          return slot - 1
        }
        i = (i + 1) & mask
      }
    }
  }

  /// The number of tokens llama.cpp makes of `text` (no BOS/EOS, no space prefix), or nil
  /// when the text holds a user-defined token.
  func count(_ text: UnsafeBufferPointer<UInt8>) -> Int? {
    guard let base = text.baseAddress else { return 0 }
    for i in 0..<text.count {
      guard let candidates = userDefined[base[i]] else { continue }
      for candidate in candidates where candidate.count <= text.count - i {
        if candidate.withUnsafeBufferPointer({ memcmp($0.baseAddress!, base + i, $0.count) == 0 }) { return nil }
      }
    }
    // Spaces as SentencePiece's `▁`.
    var escaped: [UInt8] = []
    escaped.reserveCapacity(text.count + 8)
    for byte in text {
      if byte == 0x20 { escaped += [0xE2, 0x96, 0x81] } else { escaped.append(byte) }
    }
    return escaped.withUnsafeBufferPointer { merge($0.baseAddress!, $0.count) }
  }

  private struct Symbol {
    var start: Int
    var n: Int
    var prev: Int
    var next: Int
  }

  private struct Bigram {
    var score: Float
    var left: Int
    var right: Int
    var size: Int

    /// llama.cpp's queue order: higher score first, then the leftmost.
    func before(_ other: Bigram) -> Bool { score > other.score || (score == other.score && left < other.left) }
  }

  private func merge(_ text: UnsafePointer<UInt8>, _ count: Int) -> Int {
    var symbols: [Symbol] = []
    var offset = 0
    while offset < count {
      let lead = text[offset]
      let length = lead < 0x80 ? 1 : lead < 0xC0 ? 1 : lead < 0xE0 ? 2 : lead < 0xF0 ? 3 : 4  // unicode_len_utf8
      let n = min(length, count - offset)
      offset += n
      symbols.append(
        Symbol(start: offset - n, n: n, prev: symbols.count - 1, next: offset == count ? -1 : symbols.count + 1))
    }
    var heap: [Bigram] = []
    func push(_ b: Bigram) {
      heap.append(b)
      var i = heap.count - 1
      while i > 0 {
        let parent = (i - 1) / 2
        guard heap[i].before(heap[parent]) else { break }
        heap.swapAt(i, parent)
        i = parent
      }
    }
    func pop() -> Bigram {
      let top = heap[0]
      let last = heap.removeLast()
      if !heap.isEmpty {
        heap[0] = last
        var i = 0
        while true {
          let l = 2 * i + 1
          let r = l + 1
          var best = i
          if l < heap.count && heap[l].before(heap[best]) { best = l }
          if r < heap.count && heap[r].before(heap[best]) { best = r }
          if best == i { break }
          heap.swapAt(i, best)
          i = best
        }
      }
      return top
    }
    func tryAdd(_ left: Int, _ right: Int) {
      guard left >= 0, right >= 0 else { return }
      let size = symbols[left].n + symbols[right].n
      guard let id = token(text + symbols[left].start, size) else { return }
      push(Bigram(score: scores[id], left: left, right: right, size: size))
    }
    for i in symbols.indices.dropFirst() { tryAdd(i - 1, i) }
    while !heap.isEmpty {
      let bigram = pop()
      let left = symbols[bigram.left]
      let right = symbols[bigram.right]
      if left.n == 0 || right.n == 0 || left.n + right.n != bigram.size { continue }
      symbols[bigram.left].n += right.n
      symbols[bigram.right].n = 0
      symbols[bigram.left].next = right.next
      if right.next >= 0 { symbols[right.next].prev = bigram.left }
      tryAdd(symbols[bigram.left].prev, bigram.left)
      tryAdd(bigram.left, symbols[bigram.left].next)
    }
    var tokens = 0
    var i = symbols.isEmpty ? -1 : 0
    while i != -1 {
      let symbol = symbols[i]
      tokens += token(text + symbol.start, symbol.n) != nil ? 1 : symbol.n
      i = symbol.next
    }
    return tokens
  }
}
