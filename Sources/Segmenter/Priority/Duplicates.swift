import Foundation
import Ingest
import Storage

/// Finds chunks whose text repeats an earlier chunk's, exactly or nearly.
///
/// Exact copies are found by hashing the text; near copies with the same
/// SimHash fingerprint and grouping as `report duplicates`
/// (`SimHash`, `NearDuplicates`), so the planner and the report agree about
/// the same text. The earliest chunk of a group (in source order) is its
/// representative; each later copy points at it, never at another copy.
struct DuplicateFinder {
  /// Most differing SimHash bits for a near duplicate.
  var maxDistance = SimHash.maxDistance
  /// Texts shorter than this many UTF-8 bytes are never collapsed.
  var minimumBytes = 160

  struct Match: Equatable {
    /// Index of the representative.
    var representative: Int
    /// 0 for an exact copy; else the SimHash distance to the representative.
    var distance: Int
  }

  /// For each text, the earlier text it duplicates, if any.
  ///
  /// - Parameter texts: The texts in source order, with whether each may be
  ///   matched nearly (log events differ in timestamps and ids by design, so
  ///   only exact copies of them are collapsed).
  func matches(_ texts: [(text: String, allowNear: Bool)]) -> [Match?] {
    var result: [Match?] = Array(repeating: nil, count: texts.count)
    // Exact copies point at the first occurrence; only first occurrences
    // take part in near grouping.
    var exact: [String: Int] = [:]
    var firsts: [Int: [Int]] = [:]  // first occurrence → its exact copies
    var fingerprints: [(id: Int, hash: UInt64)] = []
    for (i, item) in texts.enumerated() where item.text.utf8.count >= minimumBytes {
      let key = Hashing.sha256(item.text)
      if let first = exact[key] {
        result[i] = Match(representative: first, distance: 0)
        firsts[first, default: []].append(i)
        continue
      }
      exact[key] = i
      guard item.allowNear else { continue }
      let print = SimHash.fingerprint(item.text)
      if print.words >= SimHash.minWords { fingerprints.append((i, print.hash)) }
    }
    let hashes = Dictionary(uniqueKeysWithValues: fingerprints.map { ($0.id, $0.hash) })
    for group in NearDuplicates.groups(fingerprints, maxDistance: maxDistance) {
      let representative = group[0]
      for member in group.dropFirst() {
        let match = Match(
          representative: representative, distance: SimHash.distance(hashes[representative]!, hashes[member]!))
        result[member] = match
        // The member's exact copies follow it onto the group's representative.
        for copy in firsts[member] ?? [] { result[copy] = match }
      }
    }
    return result
  }
}
