import Foundation
import GRDB
import Inference
import Storage
import Synchronization

/// Counts tokens for many texts at once, on all cores, through a persistent
/// per-text cache (the workspace's `token_count` table) so re-planning never
/// re-tokenizes.
public struct TokenCache: Sendable {
  /// Where counts persist; nil: nothing is kept between calls.
  let workspace: Workspace?
  let counter: any TokenCounter

  public init(workspace: Workspace?, counter: any TokenCounter) {
    self.workspace = workspace
    self.counter = counter
  }

  /// The most texts per call to `TokenCounter.counts`: enough that a call's fixed cost is
  /// shared, few enough that every core gets many batches.
  public static let batchSize = 64

  /// Batches of consecutive texts out of `count`, to hand out to all cores: a counter with a
  /// high per-call cost (llama.cpp's tokenizer) counts a batch's new pieces in a few calls.
  /// The first batches are small (2, 4, 8, … texts) so that what they learn is shared before
  /// the large ones start (in the first large batches of two cores, every piece was new and
  /// each core tokenized it); with few texts, batches stay small enough that every core
  /// gets several.
  public static func batches(_ count: Int) -> [Range<Int>] {
    let cores = ProcessInfo.processInfo.activeProcessorCount
    let cap = max(1, min(batchSize, count / (cores * 4)))
    var out: [Range<Int>] = []
    var start = 0
    var size = min(2, cap)
    while start < count {
      out.append(start..<min(count, start + size))
      start += size
      size = min(cap, size * 2)
    }
    return out
  }

  /// Token counts of `texts`, in order.
  ///
  /// - Returns: The counts and how many came from the cache.
  public func counts(for texts: [String]) throws -> (counts: [Int], cached: Int) {
    let hashes = texts.map { Hashing.sha256($0) }
    let vocab = counter.vocabularyID
    var known: [String: Int] = [:]
    try workspace?.db.read { db in
      for batch in stride(from: 0, to: hashes.count, by: 500) {
        let slice = Array(hashes[batch..<min(batch + 500, hashes.count)])
        let rows = try Row.fetchAll(
          db,
          sql:
            "SELECT textHash, tokens FROM token_count WHERE vocabulary = ? AND textHash IN (\(databaseQuestionMarks(count: slice.count)))",
          arguments: StatementArguments([vocab] + slice))
        for row in rows { known[row["textHash"]] = row["tokens"] }
      }
    }
    var result = [Int](repeating: -1, count: texts.count)
    var missing: [Int] = []
    for (i, h) in hashes.enumerated() {
      if let n = known[h] { result[i] = n } else { missing.append(i) }
    }
    let cached = texts.count - missing.count
    if !missing.isEmpty {
      let todo = missing
      let fresh = Slots(count: todo.count)
      let failure = FirstError()
      let counter = self.counter
      let batches = Self.batches(todo.count)
      DispatchQueue.concurrentPerform(iterations: batches.count) { b in
        let range = batches[b]
        do {
          let counts = try counter.counts(range.map { texts[todo[$0]] })
          precondition(
            counts.count == range.count,
            "\(type(of: counter)).counts returned \(counts.count) counts for \(range.count) texts")
          fresh.store(Array(zip(range, counts)))
        } catch {
          failure.set(error)
        }
      }
      if let error = failure.error { throw error }
      let values = fresh.values
      for (j, i) in missing.enumerated() { result[i] = values[j] }
      try workspace?.db.write { db in
        let statement = try db.makeStatement(
          sql: "INSERT OR REPLACE INTO token_count (textHash, vocabulary, tokens) VALUES (?, ?, ?)")
        for i in missing { try statement.execute(arguments: [hashes[i], vocab, result[i]]) }
      }
    }
    return (result, cached)
  }
}

/// Keeps the first error thrown by concurrent work.
final class FirstError: Sendable {
  private let stored = Mutex<(any Error)?>(nil)
  var error: (any Error)? { stored.withLock { $0 } }
  func set(_ error: any Error) { stored.withLock { if $0 == nil { $0 = error } } }
}

/// Results written from concurrent stripes.
final class Slots: Sendable {
  private let storage: Mutex<[Int]>
  init(count: Int) { storage = Mutex([Int](repeating: 0, count: count)) }
  func store(_ pairs: [(Int, Int)]) { storage.withLock { for (i, v) in pairs { $0[i] = v } } }
  var values: [Int] { storage.withLock { $0 } }
}
