import Foundation

/// Turns texts into unit-length vectors whose dot product is their semantic similarity
/// (a sentence-embedding model such as all-MiniLM-L6-v2).
public protocol TextEmbedder: Sendable {
  /// Names the model; embeddings are cached under it.
  var modelID: String { get }
  /// The length of every vector.
  var dimensions: Int { get }
  /// Embeddings of `texts`, in order, each of length `dimensions` and L2-normalized. A text
  /// longer than the model reads is cut (the model's own limit).
  ///
  /// - Throws: The backend's error when the model fails.
  func embed(_ texts: [String]) throws -> [[Float]]
}
