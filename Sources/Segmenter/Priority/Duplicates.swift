import Foundation
import Workspace

/// A 64-bit SimHash over words and word pairs: texts that differ in a few
/// words differ in a few bits (one word changed in 70 flips about 4).
public struct SimHash: Hashable, Sendable {
  public var bits: UInt64

  public init(bits: UInt64) { self.bits = bits }

  /// The SimHash of `text`'s lowercased words (ASCII letters and digits, and
  /// runs of non-ASCII characters), or nil
  /// when it has fewer than `minimumWords` words.
  public init?(_ text: String, minimumWords: Int = 24) {
    var words: [UInt64] = []
    var current: UInt64 = 0xcbf2_9ce4_8422_2325
    var inWord = false
    // ASCII letters and digits (lowercased) and every non-ASCII byte make words.
    for var byte in text.utf8 {
      let isUpper = byte >= 65 && byte <= 90
      if isUpper || (byte >= 97 && byte <= 122) || (byte >= 48 && byte <= 57) || byte >= 0x80 {
        if isUpper { byte += 32 }
        current = (current ^ UInt64(byte)) &* 0x100_0000_01b3
        inWord = true
      } else if inWord {
        words.append(current)
        current = 0xcbf2_9ce4_8422_2325
        inWord = false
      }
    }
    if inWord { words.append(current) }
    guard words.count >= max(2, minimumWords) else { return nil }
    var votes = [Int](repeating: 0, count: 64)
    for i in words.indices {
      var features = [Hashing.splitMix64(words[i])]
      if i + 1 < words.count { features.append(Hashing.splitMix64(words[i] &+ 31 &* Hashing.splitMix64(words[i + 1]))) }
      for feature in features {
        for bit in 0..<64 { votes[bit] += (feature >> UInt64(bit)) & 1 == 1 ? 1 : -1 }
      }
    }
    var bits: UInt64 = 0
    for bit in 0..<64 where votes[bit] > 0 { bits |= 1 << UInt64(bit) }
    self.bits = bits
  }

  /// Bits that differ.
  public func distance(to other: SimHash) -> Int { (bits ^ other.bits).nonzeroBitCount }
}

/// Finds chunks whose text repeats an earlier chunk's, exactly or nearly.
///
/// The earliest chunk (in source order) is the representative; each later
/// copy points at it. Exact copies are found by hashing the text; near copies
/// by SimHash within `maxDistance` bits, through eight 8-bit bands (two hashes
/// within 7 bits agree on at least one band). Unrelated texts differ in about
/// 32 bits; 7 or fewer happens by chance about once in 10^10 pairs.
struct DuplicateFinder {
  /// Most differing SimHash bits for a near duplicate.
  var maxDistance = 7
  /// Texts shorter than this many UTF-8 bytes are never collapsed.
  var minimumBytes = 160

  struct Match: Equatable {
    /// Index of the representative.
    var representative: Int
    /// 0 for an exact copy.
    var distance: Int
  }

  /// For each text, the earlier text it duplicates, if any.
  ///
  /// - Parameter texts: The texts in source order, with whether each may be
  ///   matched nearly (log events differ in timestamps and ids by design, so
  ///   only exact copies of them are collapsed).
  func matches(_ texts: [(text: String, allowNear: Bool)]) -> [Match?] {
    var exact: [String: Int] = [:]
    var bands: [[UInt8: [Int]]] = Array(repeating: [:], count: 8)
    var hashes: [Int: SimHash] = [:]
    var result: [Match?] = Array(repeating: nil, count: texts.count)
    for (i, item) in texts.enumerated() where item.text.utf8.count >= minimumBytes {
      let key = Hashing.sha256(item.text)
      if let first = exact[key] {
        result[i] = Match(representative: first, distance: 0)
        continue
      }
      exact[key] = i
      guard item.allowNear, let hash = SimHash(item.text) else { continue }
      var best: Match?
      for band in 0..<8 {
        let part = UInt8(truncatingIfNeeded: hash.bits >> UInt64(8 * band))
        for j in bands[band][part, default: []] {
          let d = hash.distance(to: hashes[j]!)
          if d <= maxDistance, d < (best?.distance ?? .max) || (d == best?.distance && j < best!.representative) {
            best = Match(representative: j, distance: d)
          }
        }
      }
      if let best {
        result[i] = best
        continue
      }
      hashes[i] = hash
      for band in 0..<8 {
        bands[band][UInt8(truncatingIfNeeded: hash.bits >> UInt64(8 * band)), default: []].append(i)
      }
    }
    return result
  }
}
