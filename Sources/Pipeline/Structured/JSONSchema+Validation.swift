import Foundation

extension JSONSchema {
  /// Where and why a JSON value does not match a schema.
  public struct Violation: Sendable, Hashable, CustomStringConvertible {
    /// The value's path, `$` for the whole document, e.g. `$.documents[2].page`.
    public var path: String
    public var message: String
    public var description: String { "\(path): \(message)" }
  }

  /// The first place `value` breaks the schema, in document order; nil when it matches.
  public func firstViolation(in value: JSONValue) -> Violation? {
    check(value, path: "$")
  }

  /// Parses `text` as one JSON value and validates it.
  ///
  /// - Returns: nil when `text` (surrounding whitespace aside) is JSON that matches;
  ///   otherwise a violation whose path is `$` for text that is not JSON.
  public func firstViolation(inText text: String) -> Violation? {
    let value: JSONValue
    do {
      value = try JSONValue(parsing: text)
    } catch {
      let hint =
        error.truncated ? " (the output ends before the JSON is complete; was generation.max_tokens reached?)" : ""
      return Violation(path: "$", message: "the output is not JSON: \(error)\(hint)")
    }
    return firstViolation(in: value)
  }

  private func check(_ value: JSONValue, path: String) -> Violation? {
    func violation(_ message: String) -> Violation { Violation(path: path, message: message) }
    if let anyOf {
      var first: Violation?
      for alternative in anyOf {
        guard let v = alternative.check(value, path: path) else { return nil }
        if first == nil { first = v }
      }
      return violation(
        "matches none of the \(anyOf.count) anyOf alternatives (the first fails with \(first.map { "\($0)" } ?? "?"))")
    }
    if let types, !types.contains(where: { Self.value(value, is: $0) }) {
      let expected = types.map(\.rawValue).joined(separator: " or ")
      return violation("expected \(expected), found \(Self.describe(value))")
    }
    if let constValue, value != constValue {
      return violation("must equal \(constValue.jsonText)")
    }
    if let enumValues, !enumValues.contains(value) {
      return violation("must be one of \(enumValues.map(\.jsonText).joined(separator: ", ")), not \(value.jsonText)")
    }
    switch value {
    case .object(let members):
      for name in required where !members.contains(where: { $0.key == name }) {
        return violation("the required property \(JSONValue.quoted(name)) is missing")
      }
      for (key, member) in members {
        let memberPath = Self.path(path, key: key)
        if let property = properties.first(where: { $0.name == key }) {
          if let v = property.schema.check(member, path: memberPath) { return v }
        } else if !additionalProperties {
          return Violation(
            path: memberPath,
            message:
              "is not allowed (additionalProperties is false; allowed: \(properties.map(\.name).joined(separator: ", ")))"
          )
        }
      }
    case .array(let elements):
      if elements.count < minItems { return violation("has \(elements.count) items, fewer than minItems \(minItems)") }
      if let maxItems, elements.count > maxItems {
        return violation("has \(elements.count) items, more than maxItems \(maxItems)")
      }
      if let items {
        for (i, element) in elements.enumerated() {
          if let v = items.schema.check(element, path: "\(path)[\(i)]") { return v }
        }
      }
    case .string(let text):
      let length = text.unicodeScalars.count
      if length < minLength { return violation("has \(length) characters, fewer than minLength \(minLength)") }
      if let maxLength, length > maxLength {
        return violation("has \(length) characters, more than maxLength \(maxLength)")
      }
    default: break
    }
    return nil
  }

  static func value(_ value: JSONValue, is kind: Kind) -> Bool {
    switch (kind, value) {
    case (.object, .object), (.array, .array), (.string, .string), (.boolean, .bool), (.null, .null),
      (.number, .number):
      true
    case (.integer, .number(let n)): n == n.rounded(.towardZero)
    default: false
    }
  }

  private static func describe(_ value: JSONValue) -> String {
    switch value {
    case .object, .array: value.typeName
    default: "\(value.typeName) \(value.jsonText.prefix(60))"
    }
  }

  /// `$.key`, or `$["odd key"]` when the key is not a plain identifier.
  static func path(_ base: String, key: String) -> String {
    let plain =
      !key.isEmpty
      && key.unicodeScalars.allSatisfy { $0.properties.isAlphabetic || ("0"..."9").contains($0) || $0 == "_" }
      && !(key.unicodeScalars.first.map { ("0"..."9").contains($0) } ?? true)
    return plain ? "\(base).\(key)" : "\(base)[\(JSONValue.quoted(key))]"
  }
}
