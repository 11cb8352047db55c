import Foundation
import Storage

/// 64-bit SimHash fingerprints of document text, for near-duplicate grouping.
///
/// Words are runs of ASCII letters and digits (case folded) or non-ASCII
/// bytes; each run of three consecutive words (a shingle) is hashed, and bit
/// `i` of the fingerprint is set when more shingles have bit `i` set than
/// not. Texts that share most of their shingles get fingerprints a few bits
/// apart; unrelated texts differ in about 32 bits.
///
/// The one near-duplicate measure of longctx: `report duplicates` groups
/// documents with it, and the planner collapses chunks with it, so the two
/// never disagree about the same text.
public enum SimHash {
  /// Only the first 4 MiB of a document's text are fingerprinted: enough to
  /// tell documents apart, and a bounded cost for huge logs.
  public static let maxBytes = 4 << 20
  /// Documents with fewer words get a fingerprint but are never grouped:
  /// a handful of words says too little.
  public static let minWords = 20
  /// The largest Hamming distance between two fingerprints of one group.
  /// One changed word in a 300-word text flips about 3 of the 64 bits;
  /// two unrelated texts (about 32 bits apart) come within 6 bits with odds
  /// of about 1 in 10^11.
  public static let maxDistance = 6

  /// The fingerprint and word count of `text` (its first `maxBytes` bytes).
  public static func fingerprint(_ text: UnsafeBufferPointer<UInt8>) -> (hash: UInt64, words: Int) {
    var state = State()
    state.add(UnsafeBufferPointer(rebasing: text[0..<min(text.count, maxBytes)]))
    return state.finish()
  }

  /// The fingerprint and word count of `text` (its first `maxBytes` UTF-8 bytes).
  public static func fingerprint(_ text: String) -> (hash: UInt64, words: Int) {
    SectionsCodec.withUTF8(text) { fingerprint($0) }
  }

  /// The fingerprint of sections' texts, in order, as if joined by newlines.
  static func fingerprint(sections: [Section]) -> (hash: UInt64, words: Int) {
    var state = State()
    var budget = maxBytes
    for s in sections where budget > 0 {
      SectionsCodec.withUTF8(s.text) { bytes in
        state.add(UnsafeBufferPointer(rebasing: bytes[0..<min(bytes.count, budget)]))
        state.endWord()
        budget -= bytes.count + 1
      }
    }
    return state.finish()
  }

  /// Per byte value: the byte as part of a word, case folded (ASCII letters
  /// and digits, and every non-ASCII byte), or 0 for a byte between words.
  fileprivate static let folded: [UInt8] = (0..<256).map { v in
    let b = UInt8(v)
    if b >= 0x41 && b <= 0x5A { return b | 0x20 }
    return (b >= 0x30 && b <= 0x39) || (b >= 0x61 && b <= 0x7A) || b >= 0x80 ? b : 0
  }

  /// Per byte value: +1 in lane `j` where bit `j` is set, −1 where it is clear.
  fileprivate static let steps: [SIMD8<Int32>] = (0..<256).map { v in
    var lanes = SIMD8<Int32>(repeating: -1)
    for j in 0..<8 where v >> j & 1 == 1 { lanes[j] = 1 }
    return lanes
  }

  /// The number of differing bits.
  public static func distance(_ a: UInt64, _ b: UInt64) -> Int { (a ^ b).nonzeroBitCount }

  private struct State {
    /// Counter `8k + j` (bit `8k + j` of the fingerprint) is lane `j` of `counts[k]`.
    var counts = [SIMD8<Int32>](repeating: .zero, count: 8)
    var window: (UInt64, UInt64) = (0, 0)  // the two previous word hashes
    var words = 0
    var word = Hashing.FNV1a.offsetBasis  // each word's FNV-1a hash
    var inWord = false

    mutating func add(_ bytes: UnsafeBufferPointer<UInt8>) {
      SimHash.folded.withUnsafeBufferPointer { folded in
        for b in bytes {
          let f = folded[Int(b)]
          if f != 0 {
            word = (word ^ UInt64(f)) &* Hashing.FNV1a.prime
            inWord = true
          } else {
            endWord()
          }
        }
      }
    }

    mutating func endWord() {
      guard inWord else { return }
      words += 1
      if words >= 3 {
        addShingle(window.0 ^ rotate(window.1, 21) ^ rotate(word, 42))
      }
      window = (window.1, word)
      word = Hashing.FNV1a.offsetBasis
      inWord = false
    }

    mutating func addShingle(_ h: UInt64) {
      // Eight bits at a time: each byte of the hash selects the ±1 steps of its eight counters.
      let x = Hashing.splitMix64(h)
      SimHash.steps.withUnsafeBufferPointer { steps in
        for k in 0..<8 { counts[k] &+= steps[Int(truncatingIfNeeded: x >> UInt64(8 * k)) & 0xFF] }
      }
    }

    mutating func finish() -> (hash: UInt64, words: Int) {
      endWord()
      // Fewer than three words: each word is its own shingle.
      if words > 0 && words < 3 {
        addShingle(window.1)
        if words == 2 { addShingle(window.0) }
      }
      var hash: UInt64 = 0
      for i in 0..<64 where counts[i / 8][i % 8] > 0 { hash |= 1 << UInt64(i) }
      return (hash, words)
    }

    private func rotate(_ x: UInt64, _ k: UInt64) -> UInt64 { x << k | x >> (64 - k) }
  }
}

/// Groups fingerprints within `SimHash.maxDistance` bits of each other.
public enum NearDuplicates {
  /// Connected groups (of at least two) of documents whose fingerprints are
  /// within `maxDistance` bits of another member's.
  ///
  /// The 64 bits are cut into `maxDistance + 1` bands; two fingerprints at
  /// most `maxDistance` bits apart agree exactly on at least one band
  /// (pigeonhole), so only documents sharing a band value are compared.
  /// - Parameters:
  ///   - items: An identity (a document hash, a chunk's index) and its fingerprint.
  ///   - maxDistance: The largest distance within a group (0–15).
  /// - Returns: Groups of identities, each sorted, groups sorted by first member.
  public static func groups<ID: Hashable & Comparable>(
    _ items: [(id: ID, hash: UInt64)], maxDistance: Int = SimHash.maxDistance
  ) -> [[ID]] {
    let bands = max(1, min(16, maxDistance + 1))
    var parent = Array(items.indices)
    func find(_ x: Int) -> Int {
      var x = x
      while parent[x] != x {
        parent[x] = parent[parent[x]]
        x = parent[x]
      }
      return x
    }
    var low = 0
    for band in 0..<bands {
      let high = 64 * (band + 1) / bands
      let width = UInt64(high - low)
      let mask: UInt64 = width == 64 ? ~0 : (1 << width) - 1
      var buckets: [UInt64: [Int]] = [:]
      for (i, item) in items.enumerated() { buckets[(item.hash >> UInt64(low)) & mask, default: []].append(i) }
      low = high
      for members in buckets.values where members.count > 1 {
        for a in 0..<members.count {
          for b in (a + 1)..<members.count
          where SimHash.distance(items[members[a]].hash, items[members[b]].hash) <= maxDistance {
            let ra = find(members[a])
            let rb = find(members[b])
            if ra != rb { parent[rb] = ra }
          }
        }
      }
    }
    var byRoot: [Int: [ID]] = [:]
    for i in items.indices { byRoot[find(i), default: []].append(items[i].id) }
    return byRoot.values.filter { $0.count > 1 }.map { $0.sorted() }.sorted { $0[0] < $1[0] }
  }
}
