import Foundation

/// A JSON Schema in the subset longctx checks and turns into grammars.
///
/// Supported keywords: `type` (a name or a list of names among object, array,
/// string, number, integer, boolean, null), `properties`, `required`,
/// `additionalProperties` (true or false), `items` (one schema), `minItems`,
/// `maxItems`, `minLength`, `maxLength` (up to 1000), `enum`, `const`, `anyOf` (alone, without other constraints
/// beside it), and the annotations `title`, `description`, `$schema`, `$id`,
/// `$comment`, `default` and `examples`, which are ignored, and longctx's own
/// `x-longctx: locator` on a string property (restricted per task to the task's
/// own locators; see `restrictingLocators(_:to:)`). Any other keyword
/// (`pattern`, `format`, `minimum`, `$ref`, `oneOf`, …) is rejected when the
/// job is validated, so that a schema never promises more than is checked.
public struct JSONSchema: Sendable, Hashable {
  /// The JSON types a value may have; nil means any.
  public var types: [Kind]?
  /// Object members in the schema's order.
  public var properties: [Property] = []
  public var required: [String] = []
  /// Whether an object may have members not in `properties` (JSON Schema's default: true).
  public var additionalProperties = true
  public var items: Box?
  public var minItems = 0
  public var maxItems: Int?
  /// Bounds on a string's length in Unicode code points.
  public var minLength = 0
  public var maxLength: Int?
  public var enumValues: [JSONValue]?
  public var constValue: JSONValue?
  public var anyOf: [JSONSchema]?
  /// `x-longctx: locator`: the string names a source, restricted per task to its own locators.
  public var isLocator = false

  /// A JSON type name.
  public enum Kind: String, Sendable, Hashable, CaseIterable {
    case object, array, string, number, integer, boolean, null
  }

  /// One entry of `properties`.
  public struct Property: Sendable, Hashable {
    public var name: String
    public var schema: JSONSchema
  }

  /// Indirection for the recursive `items`.
  public final class Box: Sendable, Hashable {
    public let schema: JSONSchema
    init(_ schema: JSONSchema) { self.schema = schema }
    public static func == (a: Box, b: Box) -> Bool { a.schema == b.schema }
    public func hash(into hasher: inout Hasher) { hasher.combine(schema) }
  }

  /// Why a schema is outside the supported subset or malformed.
  public struct SchemaError: Error, Sendable, Hashable, CustomStringConvertible {
    /// JSON Pointer of the offending keyword inside the schema, e.g. `/properties/tags/items`.
    public var pointer: String
    public var message: String
    public var description: String { pointer.isEmpty ? message : "at \(pointer): \(message)" }
  }

  static let annotations: Set<String> = ["title", "description", "$schema", "$id", "$comment", "default", "examples"]
  static let keywords: Set<String> = [
    "type", "properties", "required", "additionalProperties", "items", "minItems", "maxItems", "minLength", "maxLength",
    "enum", "const", "anyOf", localKeyword,
  ]
  /// longctx's own keyword; its one value is `locator`.
  public static let localKeyword = "x-longctx"

  /// The largest minItems, and the largest maxItems a grammar spells out
  /// (above it the grammar leaves the count open and validation checks it).
  static let itemsLimit = 256
  /// The largest minLength and maxLength (each bound is spelled out in the grammar).
  static let lengthLimit = 1000

  /// An empty schema: any JSON value.
  public init() {}

  /// Parses schema JSON text.
  ///
  /// - Throws: `SchemaError` for text that is not JSON, a keyword outside the
  ///   subset, or a malformed or unsatisfiable keyword.
  public init(text: String) throws(SchemaError) {
    let value: JSONValue
    do { value = try JSONValue(parsing: text) } catch {
      throw SchemaError(pointer: "", message: "the schema is not valid JSON: \(error)")
    }
    try self.init(value: value, pointer: "")
  }

  /// Reads a schema from a parsed JSON value.
  public init(value: JSONValue, pointer: String = "") throws(SchemaError) {
    func fail(_ key: String, _ message: String) -> SchemaError {
      SchemaError(pointer: pointer + "/" + key, message: message)
    }
    if case .bool(true) = value { return }
    guard case .object(let members) = value else {
      throw SchemaError(pointer: pointer, message: "a schema must be a JSON object (or true), not \(value.typeName)")
    }
    for (key, _) in members where !Self.keywords.contains(key) && !Self.annotations.contains(key) {
      throw fail(
        key,
        "the keyword '\(key)' is not supported; longctx supports "
          + Self.keywords.sorted().joined(separator: ", ") + " (and ignores "
          + Self.annotations.sorted().joined(separator: ", ") + ")")
    }
    if let t = value["type"] {
      let names: [JSONValue]
      switch t {
      case .string: names = [t]
      case .array(let list) where !list.isEmpty: names = list
      default: throw fail("type", "must be a type name or a non-empty list of type names")
      }
      var kinds: [Kind] = []
      for n in names {
        guard case .string(let s) = n, let k = Kind(rawValue: s) else {
          throw fail(
            "type",
            "unknown type \(n.jsonText); expected one of \(Kind.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        if !kinds.contains(k) { kinds.append(k) }
      }
      types = kinds
    }
    if let p = value["properties"] {
      guard case .object(let props) = p else { throw fail("properties", "must be an object of schemas") }
      for (name, sub) in props {
        let schema = try JSONSchema(value: sub, pointer: pointer + "/properties/" + Self.escape(name))
        properties.append(Property(name: name, schema: schema))
      }
    }
    if let r = value["required"] {
      guard case .array(let list) = r else { throw fail("required", "must be a list of property names") }
      for item in list {
        guard case .string(let name) = item else { throw fail("required", "must be a list of property names") }
        guard properties.contains(where: { $0.name == name }) else {
          throw fail(
            "required", "names '\(name)', which is not in properties; list every required property under properties")
        }
        if !required.contains(name) { required.append(name) }
      }
    }
    if let a = value["additionalProperties"] {
      switch a {
      case .bool(let b): additionalProperties = b
      case .object(let m) where m.isEmpty: additionalProperties = true
      default: throw fail("additionalProperties", "only true or false is supported, not a schema")
      }
    }
    switch value["items"] {
    case nil, .bool(true)?: break
    case let i? where i.isObject: items = Box(try JSONSchema(value: i, pointer: pointer + "/items"))
    default: throw fail("items", "must be one schema (tuple forms and false are not supported)")
    }
    minItems = try Self.count(value["minItems"], key: "minItems", fail: fail) ?? 0
    maxItems = try Self.count(value["maxItems"], key: "maxItems", fail: fail)
    if minItems > Self.itemsLimit {
      throw fail("minItems", "above \(Self.itemsLimit) is not supported (a grammar that long is impractical)")
    }
    if let maxItems, maxItems < minItems { throw fail("maxItems", "is less than minItems (\(minItems))") }
    minLength = try Self.count(value["minLength"], key: "minLength", fail: fail) ?? 0
    maxLength = try Self.count(value["maxLength"], key: "maxLength", fail: fail)
    if let maxLength, maxLength < minLength { throw fail("maxLength", "is less than minLength (\(minLength))") }
    if max(minLength, maxLength ?? 0) > Self.lengthLimit {
      throw fail(
        maxLength ?? 0 > Self.lengthLimit ? "maxLength" : "minLength", "above \(Self.lengthLimit) is not supported")
    }
    if let e = value["enum"] {
      guard case .array(let list) = e, !list.isEmpty else { throw fail("enum", "must be a non-empty list of values") }
      enumValues = list
    }
    if let c = value["const"] { constValue = c }
    if let any = value["anyOf"] {
      guard case .array(let list) = any, !list.isEmpty else {
        throw fail("anyOf", "must be a non-empty list of schemas")
      }
      let others = members.map(\.key).filter { Self.keywords.contains($0) && $0 != "anyOf" }
      if !others.isEmpty {
        throw fail(
          "anyOf",
          "cannot be combined with \(others.joined(separator: ", ")) in the same schema; move them into each alternative"
        )
      }
      var alternatives: [JSONSchema] = []
      for (i, alt) in list.enumerated() {
        alternatives.append(try JSONSchema(value: alt, pointer: pointer + "/anyOf/\(i)"))
      }
      anyOf = alternatives
    }
    if let local = value[Self.localKeyword] {
      guard case .string("locator") = local else {
        throw fail(Self.localKeyword, "must be 'locator' (the only value longctx knows), not \(local.jsonText)")
      }
      guard types == [.string] else {
        throw fail(
          Self.localKeyword,
          "locator applies to a string property only; give it type: string (found "
            + (types.map { $0.map(\.rawValue).joined(separator: ", ") } ?? "no type") + ")")
      }
      isLocator = true
    }
    // A schema no value can satisfy would make every task fail: say so now.
    if let candidates = literalCandidates, candidates.isEmpty {
      throw SchemaError(pointer: pointer, message: "no value of enum/const matches the schema's other keywords")
    }
  }

  /// The values `enum` and `const` allow that also satisfy the other keywords;
  /// nil when the schema has neither.
  var literalCandidates: [JSONValue]? {
    guard constValue != nil || enumValues != nil else { return nil }
    var open = self
    open.enumValues = nil
    open.constValue = nil
    var values = enumValues ?? []
    if let c = constValue { values = enumValues == nil ? [c] : values.filter { $0 == c } }
    return values.filter { open.firstViolation(in: $0) == nil }
  }

  private static func count(
    _ v: JSONValue?, key: String, fail: (String, String) -> SchemaError
  ) throws(SchemaError) -> Int? {
    guard let v else { return nil }
    guard case .number(let n) = v, n >= 0, n == n.rounded(), n < 1e9 else {
      throw fail(key, "must be a non-negative whole number")
    }
    return Int(n)
  }

  /// Escapes a key for a JSON Pointer (RFC 6901).
  static func escape(_ key: String) -> String {
    key.replacingOccurrences(of: "~", with: "~0").replacingOccurrences(of: "/", with: "~1")
  }
}
