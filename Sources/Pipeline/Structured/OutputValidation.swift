import Foundation

/// Checks task outputs against the job's `json_schema`, whatever engine wrote them.
public enum OutputValidation {
  /// Why `output` does not match `schema`, as one sentence naming the JSON path;
  /// nil when it matches or there is no schema.
  ///
  /// - Parameters:
  ///   - output: The engine's text.
  ///   - schema: The JSON Schema text (`map.json_schema` or `reduce.json_schema`).
  ///   - kind: `map` or `reduce`, for the message.
  public static func problem(in output: String, schema: String?, kind: TaskKind) -> String? {
    guard let schema else { return nil }
    let parsed: JSONSchema
    do { parsed = try JSONSchema(text: schema) } catch {
      // Job validation rejects such schemas; a stored older job may still carry one.
      return "\(kind).json_schema is not usable: \(error)"
    }
    guard let violation = parsed.firstViolation(inText: output) else { return nil }
    return "the output does not match \(kind).json_schema: \(violation)"
  }
}
