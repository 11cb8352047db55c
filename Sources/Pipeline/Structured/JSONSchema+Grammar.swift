import Foundation

extension JSONSchema {
  /// A GBNF grammar (llama.cpp's grammar format, start symbol `root`) whose
  /// sentences are compact-ish JSON documents that match the schema.
  ///
  /// The grammar is stricter than the schema where the schema leaves freedom
  /// a sampler cannot use well: object members come in the schema's order,
  /// required ones first; objects with `properties` get no other members even
  /// when `additionalProperties` is not false; no text before the value, and
  /// at most one space between tokens (no newlines: one-line JSON). Every sentence of
  /// the grammar validates against the schema (`firstViolation` is nil).
  public var gbnf: String {
    var builder = GrammarBuilder()
    let root = builder.visit(self, name: "root")
    if root != "root" { builder.define("root", root, exact: true) }
    return builder.text
  }
}

/// Builds GBNF rules from schemas, naming each rule after its place in the schema.
struct GrammarBuilder {
  private var rules: [(name: String, body: String)] = []
  private var names = Set<String>()

  /// The rules, `root` first.
  var text: String {
    let ordered = rules.filter { $0.name == "root" } + rules.filter { $0.name != "root" }
    return ordered.map { "\($0.name) ::= \($0.body)" }.joined(separator: "\n") + "\n"
  }

  static let primitives: [String: (body: String, uses: [String])] = [
    // At most one space between tokens: small models given room for newlines
    // and indentation spend their output tokens on whitespace.
    "space": (#"| " ""#, []),
    "char": (#"[^"\\\x7F\x00-\x1F] | [\\] (["\\bfnrt] | "u" [0-9a-fA-F]{4})"#, []),
    "string": (#""\"" char* "\"" space"#, ["char", "space"]),
    "integral-part": ("[0] | [1-9] [0-9]{0,15}", []),
    "decimal-part": ("[0-9]{1,16}", []),
    "number": (
      #"("-"? integral-part) ("." decimal-part)? ([eE] [-+]? integral-part)? space"#,
      ["integral-part", "decimal-part", "space"]
    ),
    "integer": (#"("-"? integral-part) space"#, ["integral-part", "space"]),
    "boolean": (#"("true" | "false") space"#, ["space"]),
    "null": (#""null" space"#, ["space"]),
    "value": (
      "object | array | string | number | boolean | null", ["object", "array", "string", "number", "boolean", "null"]
    ),
    "object": (
      #""{" space ( string ":" space value ( "," space string ":" space value )* )? "}" space"#,
      ["string", "value", "space"]
    ),
    "array": (#""[" space ( value ( "," space value )* )? "]" space"#, ["value", "space"]),
  ]

  /// Adds a built-in rule and what it uses; returns its name.
  @discardableResult
  mutating func primitive(_ name: String) -> String {
    guard !names.contains(name), let rule = Self.primitives[name] else { return name }
    names.insert(name)
    rules.append((name, rule.body))
    for dependency in rule.uses { primitive(dependency) }
    return name
  }

  /// Adds a rule under a unique name derived from `name`; returns the name used.
  @discardableResult
  mutating func define(_ name: String, _ body: String, exact: Bool = false) -> String {
    var base = String(name.map { $0.isASCII && ($0.isLetter || $0.isNumber) ? $0 : "-" })
    if base.isEmpty { base = "rule" }
    // Never collide with a built-in rule's name, even one not used yet.
    if !exact, Self.primitives[base] != nil { base += "-" }
    var unique = base
    var n = 1
    while names.contains(unique) {
      n += 1
      unique = "\(base)-\(n)"
    }
    names.insert(unique)
    rules.append((unique, body))
    return unique
  }

  /// Adds the rules for `schema`; returns the rule (or built-in) that matches it.
  mutating func visit(_ schema: JSONSchema, name: String) -> String {
    if let anyOf = schema.anyOf {
      var alternatives: [String] = []
      for (i, alternative) in anyOf.enumerated() { alternatives.append(visit(alternative, name: "\(name)-\(i)")) }
      return define(name, alternatives.joined(separator: " | "))
    }
    if let literals = schema.literalCandidates {
      let space = primitive("space")
      let options = literals.map { Self.literal($0.jsonText) }.joined(separator: " | ")
      return define(name, "(\(options)) \(space)")
    }
    var kinds = schema.types ?? []
    if schema.types == nil {
      if !schema.properties.isEmpty || !schema.additionalProperties { kinds.append(.object) }
      if schema.items != nil || schema.minItems > 0 || schema.maxItems != nil { kinds.append(.array) }
      if kinds.isEmpty { return primitive("value") }
    }
    // integer is a subset of number: keep the wider one once.
    if kinds.contains(.number) { kinds.removeAll { $0 == .integer } }
    var bodies: [String] = []
    for kind in kinds {
      switch kind {
      case .object: bodies.append(objectRule(schema, name: name))
      case .array: bodies.append(arrayRule(schema, name: name))
      case .string: bodies.append(stringRule(schema))
      case .number: bodies.append(primitive("number"))
      case .integer: bodies.append(primitive("integer"))
      case .boolean: bodies.append(primitive("boolean"))
      case .null: bodies.append(primitive("null"))
      }
    }
    if bodies.count == 1, Self.primitives[bodies[0]] != nil { return bodies[0] }
    return define(name, bodies.joined(separator: " | "))
  }

  private mutating func objectRule(_ schema: JSONSchema, name: String) -> String {
    let space = primitive("space")
    if schema.properties.isEmpty {
      return schema.additionalProperties ? primitive("object") : #""{" \#(space) "}" \#(space)"#
    }
    var pairs: [String: String] = [:]
    for property in schema.properties {
      let value = visit(property.schema, name: "\(name)-\(property.name)")
      pairs[property.name] = define(
        "\(name)-\(property.name)-kv",
        "\(Self.literal(JSONValue.quoted(property.name))) \(space) \":\" \(space) \(value)")
    }
    let required = schema.properties.map(\.name).filter { schema.required.contains($0) }.compactMap { pairs[$0] }
    let optional = schema.properties.map(\.name).filter { !schema.required.contains($0) }.compactMap { pairs[$0] }
    let comma = "\",\" \(space)"
    var body = "\"{\" \(space)"
    if !required.isEmpty {
      body += " " + required.joined(separator: " \(comma) ")
      for pair in optional { body += " ( \(comma) \(pair) )?" }
    } else {
      // No required member: the first member present may be any optional one,
      // then any of those after it, each preceded by a comma.
      let alternatives = optional.indices.map { i in
        ([optional[i]] + optional[(i + 1)...].map { "( \(comma) \($0) )?" }).joined(separator: " ")
      }
      body += " ( " + alternatives.joined(separator: " | ") + " )?"
    }
    return body + " \"}\" \(space)"
  }

  private mutating func stringRule(_ schema: JSONSchema) -> String {
    guard schema.minLength > 0 || schema.maxLength != nil else { return primitive("string") }
    let char = primitive("char")
    let space = primitive("space")
    let chars = Self.repeated(char, min: schema.minLength, max: schema.maxLength)
    return #""\"" "# + (chars.isEmpty ? "" : chars + " ") + #""\"" "# + space
  }

  private mutating func arrayRule(_ schema: JSONSchema, name: String) -> String {
    let space = primitive("space")
    let item = if let items = schema.items { visit(items.schema, name: "\(name)-item") } else { primitive("value") }
    let maxItems = schema.maxItems.flatMap { $0 <= JSONSchema.itemsLimit ? $0 : nil }
    let list = Self.repetition(item, min: schema.minItems, max: maxItems, separator: "\",\" \(space)")
    return "\"[\" \(space) \(list.isEmpty ? "" : list + " ")\"]\" \(space)"
  }

  /// `item` repeated min…max times with `separator` between (as llama.cpp's converter does).
  static func repetition(_ item: String, min: Int, max: Int?, separator: String) -> String {
    if max == 0 { return "" }
    let rest = repeated("( \(separator) \(item) )", min: Swift.max(0, min - 1), max: max.map { $0 - 1 })
    let once = rest.isEmpty ? item : "\(item) \(rest)"
    return min == 0 ? "( \(once) )?" : once
  }

  static func repeated(_ item: String, min: Int, max: Int?) -> String {
    switch (min, max) {
    case (_, 0?): ""
    case (0, nil): item + "*"
    case (1, nil): item + "+"
    case (let m, nil): item + "{\(m),}"
    case (0, 1?): item + "?"
    case (let m, let n?) where m == n: item + "{\(m)}"
    case (let m, let n?): item + "{\(m),\(n)}"
    }
  }

  /// `text` as a GBNF double-quoted literal.
  static func literal(_ text: String) -> String {
    var out = "\""
    for u in text.unicodeScalars {
      switch u {
      case "\"": out += "\\\""
      case "\\": out += "\\\\"
      case "\n": out += "\\n"
      case "\r": out += "\\r"
      case "\t": out += "\\t"
      case _ where u.value < 0x20 || u.value == 0x7F: out += String(format: "\\x%02X", u.value)
      default: out.unicodeScalars.append(u)
      }
    }
    return out + "\""
  }
}
