import Foundation

extension JSONSchema {
  /// Whether this schema or one inside it is declared `x-longctx: locator`.
  public var hasLocators: Bool {
    isLocator || properties.contains { $0.schema.hasLocators } || (items?.schema.hasLocators ?? false)
      || (anyOf?.contains { $0.hasLocators } ?? false)
  }

  /// The names of the properties declared `x-longctx: locator`, wherever they are.
  public var locatorProperties: [String] {
    var out: [String] = []
    for p in properties {
      if p.schema.isLocator, !out.contains(p.name) { out.append(p.name) }
      for name in p.schema.locatorProperties where !out.contains(name) { out.append(name) }
    }
    for name in (items.map { [$0.schema] } ?? []).flatMap(\.locatorProperties)
      + (anyOf ?? []).flatMap(\.locatorProperties)
    where !out.contains(name) {
      out.append(name)
    }
    return out
  }

  /// The object schemas (anywhere inside this one) that have a property named `name`.
  public func objects(havingProperty name: String) -> [JSONSchema] {
    var out: [JSONSchema] = properties.contains { $0.name == name } ? [self] : []
    for p in properties { out += p.schema.objects(havingProperty: name) }
    if let items { out += items.schema.objects(havingProperty: name) }
    for alternative in anyOf ?? [] { out += alternative.objects(havingProperty: name) }
    return out
  }

  /// A task's schema: `schemaText` with every `x-longctx: locator` string restricted
  /// to an `enum` of `locators` (the task's own), as JSON text.
  ///
  /// The keyword itself and the string's length bounds are dropped (a locator is
  /// as long as it is), so the text is plain JSON Schema for servers' `response_format`,
  /// the grammar made from it admits only those values, and validation rejects any other.
  ///
  /// - Returns: `schemaText` unchanged when it declares no locator, cannot be parsed,
  ///   or `locators` is empty.
  public static func restrictingLocators(_ schemaText: String, to locators: [String]) -> String {
    guard !locators.isEmpty, schemaText.contains(localKeyword),
      let value = try? JSONValue(parsing: schemaText)
    else { return schemaText }
    let allowed = JSONValue.array(locators.map(JSONValue.string))
    func walk(_ v: JSONValue) -> JSONValue {
      switch v {
      case .object(let members):
        if members.contains(where: { $0.key == localKeyword && $0.value == .string("locator") }) {
          var kept = members.filter { !["enum", "const", "minLength", "maxLength", localKeyword].contains($0.key) }
          kept.append((key: "enum", value: allowed))
          return .object(kept)
        }
        // Literal values (enum, const, default, examples) are not schemas: left as they are.
        return .object(
          members.map { m in
            ["enum", "const", "default", "examples"].contains(m.key) ? m : (key: m.key, value: walk(m.value))
          })
      case .array(let list): return .array(list.map(walk))
      default: return v
      }
    }
    return walk(value).jsonText
  }
}
