import Foundation

/// A JSON value that keeps the order of object members (schemas list
/// properties in the order the output should have them).
public indirect enum JSONValue: Sendable, Hashable {
  case null
  case bool(Bool)
  case number(Double)
  case string(String)
  case array([JSONValue])
  /// Members in document order; a repeated key keeps its last value.
  case object([(key: String, value: JSONValue)])

  public static func == (a: JSONValue, b: JSONValue) -> Bool {
    switch (a, b) {
    case (.null, .null): true
    case (.bool(let x), .bool(let y)): x == y
    case (.number(let x), .number(let y)): x == y
    case (.string(let x), .string(let y)): x == y
    case (.array(let x), .array(let y)): x == y
    // Objects are equal whatever their member order (JSON Schema's `const`/`enum` equality).
    case (.object(let x), .object(let y)):
      x.count == y.count && x.allSatisfy { m in y.contains { $0.key == m.key && $0.value == m.value } }
    default: false
    }
  }

  public func hash(into hasher: inout Hasher) {
    switch self {
    case .null: hasher.combine(0)
    case .bool(let b): hasher.combine(b)
    case .number(let n): hasher.combine(n)
    case .string(let s): hasher.combine(s)
    case .array(let a): hasher.combine(a)
    case .object(let o): hasher.combine(o.count)  // order-independent, like ==
    }
  }

  /// The member named `key`, for objects.
  public subscript(key: String) -> JSONValue? {
    guard case .object(let members) = self else { return nil }
    return members.first { $0.key == key }?.value
  }

  /// The JSON type name: object, array, string, number, boolean or null.
  public var typeName: String {
    switch self {
    case .null: "null"
    case .bool: "boolean"
    case .number: "number"
    case .string: "string"
    case .array: "array"
    case .object: "object"
    }
  }

  /// Compact JSON text (no spaces), members in order.
  public var jsonText: String {
    var out = ""
    write(to: &out)
    return out
  }

  private func write(to out: inout String) {
    switch self {
    case .null: out += "null"
    case .bool(let b): out += b ? "true" : "false"
    case .number(let n):
      if n == n.rounded(), abs(n) < 1e15 { out += String(Int64(n)) } else { out += String(n) }
    case .string(let s): out += Self.quoted(s)
    case .array(let items):
      out += "["
      for (i, item) in items.enumerated() {
        if i > 0 { out += "," }
        item.write(to: &out)
      }
      out += "]"
    case .object(let members):
      out += "{"
      for (i, m) in members.enumerated() {
        if i > 0 { out += "," }
        out += Self.quoted(m.key) + ":"
        m.value.write(to: &out)
      }
      out += "}"
    }
  }

  /// `s` as a JSON string literal.
  public static func quoted(_ s: String) -> String {
    var out = "\""
    for u in s.unicodeScalars {
      switch u {
      case "\"": out += "\\\""
      case "\\": out += "\\\\"
      case "\n": out += "\\n"
      case "\r": out += "\\r"
      case "\t": out += "\\t"
      case _ where u.value < 0x20: out += String(format: "\\u%04x", u.value)
      default: out.unicodeScalars.append(u)
      }
    }
    return out + "\""
  }
}

// MARK: - Parsing

extension JSONValue {
  /// Why text is not one JSON value.
  public struct ParseError: Error, Sendable, Hashable, CustomStringConvertible {
    /// Byte offset of the problem in the UTF-8 text.
    public var offset: Int
    public var message: String
    /// Whether the text ended before the value was complete (a cut-off output).
    public var truncated: Bool
    public var description: String { "\(message) at byte \(offset)" }
  }

  /// Parses exactly one JSON value (RFC 8259), with whitespace around it.
  ///
  /// - Throws: `ParseError` at the first problem: a syntax error, nesting
  ///   deeper than 256, or text after the value.
  public init(parsing text: String) throws(ParseError) {
    var parser = Parser(bytes: Array(text.utf8))
    parser.skipSpace()
    let value = try parser.value(depth: 0)
    parser.skipSpace()
    guard parser.at == parser.bytes.count else { throw parser.error("unexpected text after the JSON value") }
    self = value
  }

  private struct Parser {
    let bytes: [UInt8]
    var at = 0

    func error(_ message: String) -> ParseError {
      ParseError(offset: at, message: message, truncated: at >= bytes.count)
    }

    mutating func skipSpace() {
      while at < bytes.count, [0x20, 0x0A, 0x0D, 0x09].contains(bytes[at]) { at += 1 }
    }

    mutating func expect(_ literal: String) throws(ParseError) {
      for b in literal.utf8 {
        guard at < bytes.count else { throw error("the text ends inside '\(literal)'") }
        guard bytes[at] == b else { throw error("invalid literal, expected '\(literal)'") }
        at += 1
      }
    }

    mutating func value(depth: Int) throws(ParseError) -> JSONValue {
      guard depth < 256 else { throw error("nesting deeper than 256 levels") }
      guard at < bytes.count else { throw error("the text ends where a value should be") }
      switch bytes[at] {
      case UInt8(ascii: "{"): return try object(depth: depth)
      case UInt8(ascii: "["): return try array(depth: depth)
      case UInt8(ascii: "\""): return .string(try string())
      case UInt8(ascii: "t"):
        try expect("true")
        return .bool(true)
      case UInt8(ascii: "f"):
        try expect("false")
        return .bool(false)
      case UInt8(ascii: "n"):
        try expect("null")
        return .null
      case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return .number(try number())
      default: throw error("expected a JSON value")
      }
    }

    mutating func object(depth: Int) throws(ParseError) -> JSONValue {
      at += 1
      var members: [(key: String, value: JSONValue)] = []
      var keys = Set<String>()
      skipSpace()
      if at < bytes.count, bytes[at] == UInt8(ascii: "}") {
        at += 1
        return .object([])
      }
      while true {
        skipSpace()
        guard at < bytes.count else { throw error("the text ends inside an object") }
        guard bytes[at] == UInt8(ascii: "\"") else { throw error("expected a string key") }
        let key = try string()
        skipSpace()
        guard at < bytes.count else { throw error("the text ends inside an object") }
        guard bytes[at] == UInt8(ascii: ":") else { throw error("expected ':' after a key") }
        at += 1
        skipSpace()
        let member = try value(depth: depth + 1)
        // A repeated key keeps its last value, as most JSON readers do (a
        // grammar for free-form objects cannot rule repeats out).
        if keys.insert(key).inserted {
          members.append((key, member))
        } else if let i = members.firstIndex(where: { $0.key == key }) {
          members[i].value = member
        }
        skipSpace()
        guard at < bytes.count else { throw error("the text ends inside an object") }
        if bytes[at] == UInt8(ascii: ",") {
          at += 1
          continue
        }
        guard bytes[at] == UInt8(ascii: "}") else { throw error("expected ',' or '}'") }
        at += 1
        return .object(members)
      }
    }

    mutating func array(depth: Int) throws(ParseError) -> JSONValue {
      at += 1
      var items: [JSONValue] = []
      skipSpace()
      if at < bytes.count, bytes[at] == UInt8(ascii: "]") {
        at += 1
        return .array([])
      }
      while true {
        skipSpace()
        items.append(try value(depth: depth + 1))
        skipSpace()
        guard at < bytes.count else { throw error("the text ends inside an array") }
        if bytes[at] == UInt8(ascii: ",") {
          at += 1
          continue
        }
        guard bytes[at] == UInt8(ascii: "]") else { throw error("expected ',' or ']'") }
        at += 1
        return .array(items)
      }
    }

    mutating func hex4() throws(ParseError) -> UInt32 {
      var v: UInt32 = 0
      for _ in 0..<4 {
        guard at < bytes.count else { throw error("the text ends inside a string") }
        let b = bytes[at]
        let d: UInt8
        switch b {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): d = b - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): d = b - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): d = b - UInt8(ascii: "A") + 10
        default: throw error("invalid \\u escape")
        }
        v = v * 16 + UInt32(d)
        at += 1
      }
      return v
    }

    mutating func string() throws(ParseError) -> String {
      at += 1
      var out: [UInt8] = []
      while true {
        guard at < bytes.count else { throw error("the text ends inside a string") }
        let b = bytes[at]
        if b == UInt8(ascii: "\"") {
          at += 1
          break
        }
        if b < 0x20 { throw error("unescaped control character in a string") }
        if b != UInt8(ascii: "\\") {
          out.append(b)
          at += 1
          continue
        }
        at += 1
        guard at < bytes.count else { throw error("the text ends inside a string") }
        let e = bytes[at]
        at += 1
        switch e {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(e)
        case UInt8(ascii: "b"): out.append(0x08)
        case UInt8(ascii: "f"): out.append(0x0C)
        case UInt8(ascii: "n"): out.append(0x0A)
        case UInt8(ascii: "r"): out.append(0x0D)
        case UInt8(ascii: "t"): out.append(0x09)
        case UInt8(ascii: "u"):
          var code = try hex4()
          if (0xD800..<0xDC00).contains(code), at + 1 < bytes.count, bytes[at] == UInt8(ascii: "\\"),
            bytes[at + 1] == UInt8(ascii: "u")
          {
            at += 2
            let low = try hex4()
            guard (0xDC00..<0xE000).contains(low) else { throw error("invalid surrogate pair") }
            code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
          }
          // A lone surrogate becomes U+FFFD, as most decoders do.
          out += Array(String(Unicode.Scalar(code).map(Character.init) ?? "\u{FFFD}").utf8)
        default: throw error("unknown escape '\\\(Character(Unicode.Scalar(e)))'")
        }
      }
      return String(decoding: out, as: UTF8.self)
    }

    mutating func number() throws(ParseError) -> Double {
      let start = at
      func digits() -> Int {
        let s = at
        while at < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[at]) { at += 1 }
        return at - s
      }
      if bytes[at] == UInt8(ascii: "-") { at += 1 }
      guard at < bytes.count else { throw error("the text ends inside a number") }
      if bytes[at] == UInt8(ascii: "0") {
        at += 1
      } else if digits() == 0 {
        throw error("expected a digit")
      }
      if at < bytes.count, bytes[at] == UInt8(ascii: ".") {
        at += 1
        guard digits() > 0 else {
          throw error(at >= bytes.count ? "the text ends inside a number" : "expected a digit after '.'")
        }
      }
      if at < bytes.count, bytes[at] == UInt8(ascii: "e") || bytes[at] == UInt8(ascii: "E") {
        at += 1
        if at < bytes.count, bytes[at] == UInt8(ascii: "+") || bytes[at] == UInt8(ascii: "-") { at += 1 }
        guard digits() > 0 else {
          throw error(at >= bytes.count ? "the text ends inside a number" : "expected an exponent")
        }
      }
      guard let value = Double(String(decoding: bytes[start..<at], as: UTF8.self)), value.isFinite else {
        throw ParseError(offset: start, message: "number out of range", truncated: false)
      }
      return value
    }
  }
}

extension JSONValue {
  /// Whether the value is an object.
  public var isObject: Bool {
    if case .object = self { return true }
    return false
  }
}
