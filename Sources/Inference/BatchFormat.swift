import Foundation

/// How a backend writes generations as request bodies of a batch file (the
/// OpenAI Batch API's JSONL) and reads generations back from result bodies.
/// Pipeline frames the lines and matches results to tasks; the backend owns
/// the wire format of one request.
public protocol BatchFormat: Sendable {
  /// The `url` of each request line, e.g. `/v1/completions`.
  var url: String { get }
  /// The model identity recorded on tasks whose results are imported.
  var modelIdentity: String { get }
  /// The JSON body of one request (JSONSerialization types).
  func body(for request: GenerationRequest) -> [String: Any]
  /// The generation in one result's response body.
  ///
  /// - Throws: `EngineError` when the body holds no generation.
  func result(fromBody body: Data) throws -> GenerationResult
}
