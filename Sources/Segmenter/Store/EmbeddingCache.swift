import Foundation
import GRDB
import Inference
import Storage

/// Embeddings of texts, computed once per text and model and kept in the workspace's
/// `text_embedding` table (as `TokenCache` keeps token counts), so that planning a corpus again
/// embeds only its new text.
public struct EmbeddingCache: Sendable {
  /// Where embeddings persist; nil: nothing is kept between calls.
  let workspace: Workspace?
  let embedder: any TextEmbedder

  public init(workspace: Workspace?, embedder: any TextEmbedder) {
    self.workspace = workspace
    self.embedder = embedder
  }

  /// Texts per call to the embedder (it batches them into `llama_encode` calls itself).
  static let batchSize = 256

  /// Embeddings of `texts`, in order.
  ///
  /// - Returns: The vectors and how many came from the cache.
  /// - Throws: The embedder's errors; database errors.
  public func embeddings(for texts: [String]) throws -> (vectors: [[Float]], cached: Int) {
    let hashes = texts.map { Hashing.sha256($0) }
    let model = embedder.modelID
    var known: [String: [Float]] = [:]
    try workspace?.db.read { db in
      for start in stride(from: 0, to: hashes.count, by: 500) {
        let slice = Array(Set(hashes[start..<min(start + 500, hashes.count)]))
        let rows = try Row.fetchAll(
          db,
          sql:
            "SELECT textHash, vector FROM text_embedding WHERE model = ? AND textHash IN (\(databaseQuestionMarks(count: slice.count)))",
          arguments: StatementArguments([model] + slice))
        for row in rows {
          let data: Data = row["vector"]
          known[row["textHash"]] = Self.decode(data)
        }
      }
    }
    var result = [[Float]](repeating: [], count: texts.count)
    var missing: [Int] = []
    var firstOf: [String: Int] = [:]
    for (i, h) in hashes.enumerated() {
      if let v = known[h] {
        result[i] = v
      } else if firstOf[h] == nil {
        firstOf[h] = i
        missing.append(i)
      }
    }
    for start in stride(from: 0, to: missing.count, by: Self.batchSize) {
      let batch = Array(missing[start..<min(start + Self.batchSize, missing.count)])
      let vectors = try embedder.embed(batch.map { texts[$0] })
      try workspace?.db.write { db in
        let statement = try db.makeStatement(
          sql: "INSERT OR REPLACE INTO text_embedding (textHash, model, vector) VALUES (?, ?, ?)")
        for (i, v) in zip(batch, vectors) { try statement.execute(arguments: [hashes[i], model, Self.encode(v)]) }
      }
      for (i, v) in zip(batch, vectors) { known[hashes[i]] = v }
    }
    var cached = 0
    for i in texts.indices where result[i].isEmpty {
      result[i] = known[hashes[i]] ?? []
    }
    cached = texts.count - missing.count
    return (result, cached)
  }

  /// A vector as stored: Float16 little-endian (half the bytes; cosines move by < 0.001).
  static func encode(_ vector: [Float]) -> Data {
    var data = Data(capacity: vector.count * 2)
    for x in vector {
      let bits = Float16(x).bitPattern.littleEndian
      withUnsafeBytes(of: bits) { data.append(contentsOf: $0) }
    }
    return data
  }

  static func decode(_ data: Data) -> [Float] {
    data.withUnsafeBytes { raw in
      (0..<raw.count / 2).map { i in
        Float(Float16(bitPattern: UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: i * 2, as: UInt16.self))))
      }
    }
  }
}
