import Foundation
import Inference
import Ingest
import Yams

extension JobFile {
  /// Collects problems while reading typed values out of YAML nodes.
  struct Reader {
    let path: String
    var problems: [String] = []

    mutating func problem(_ key: String, _ node: Node?, _ message: String) {
      let line = node?.mark.map { " (line \($0.line))" } ?? ""
      problems.append("\(key)\(line): \(message)")
    }

    mutating func allow(_ map: Node.Mapping, at prefix: String, keys: Set<String>) {
      for (k, _) in map {
        guard let key = k.string else { continue }
        if !keys.contains(key) {
          problem(prefix + key, k, "unknown key; expected one of \(keys.sorted().joined(separator: ", "))")
        }
      }
    }

    mutating func mapping(_ map: Node.Mapping, _ key: String, at prefix: String = "", required: Bool) -> Node.Mapping? {
      guard let node = map[key] else {
        if required { problems.append("\(prefix)\(key): is required") }
        return nil
      }
      guard case .mapping(let m) = node else {
        problem(prefix + key, node, "must be a mapping of keys")
        return nil
      }
      return m
    }

    mutating func string(_ map: Node.Mapping, _ key: String, at prefix: String = "", required: Bool = false) -> String?
    {
      guard let node = map[key] else {
        if required { problems.append("\(prefix)\(key): is required") }
        return nil
      }
      guard case .scalar(let s) = node else {
        problem(prefix + key, node, "must be a string")
        return nil
      }
      if s.tag.description.hasSuffix("null") || (s.string == "null" && s.style == .plain) { return nil }
      return s.string
    }

    /// How a problem lists the allowed values: `'a' or 'b'`, `a, b or c`, or `one of a, b, c`.
    enum Alternatives {
      case quoted, plain, list
    }

    /// A value that must be one of `T`'s cases.
    ///
    /// - Parameters:
    ///   - style: How the problem lists `T`'s cases when the value is none of them.
    /// - Returns: The case; nil when the key is absent or names no case (then a problem says which are allowed).
    mutating func oneOf<T: CaseIterable & RawRepresentable>(
      _ map: Node.Mapping, _ key: String, at prefix: String = "", listed style: Alternatives = .quoted
    ) -> T? where T.RawValue == String {
      guard let text = string(map, key, at: prefix) else { return nil }
      if let value = T(rawValue: text) { return value }
      problem(prefix + key, map[key], "must be \(Self.alternatives(T.self, style)), not '\(text)'")
      return nil
    }

    /// A value that must be one of `T`'s cases, `value` when the key is absent.
    ///
    /// - Returns: The case, `value` when the key is absent or null, nil when it names no case
    ///   (then a problem says which are allowed).
    mutating func oneOf<T: CaseIterable & RawRepresentable>(
      _ map: Node.Mapping, _ key: String, at prefix: String = "", listed style: Alternatives = .quoted,
      default value: T
    ) -> T? where T.RawValue == String {
      guard string(map, key, at: prefix) != nil else { return value }
      return oneOf(map, key, at: prefix, listed: style)
    }

    /// `T`'s cases as a problem lists them.
    static func alternatives<T: CaseIterable & RawRepresentable>(_ type: T.Type, _ style: Alternatives) -> String
    where T.RawValue == String {
      let names = T.allCases.map(\.rawValue)
      switch style {
      case .list: return "one of " + names.joined(separator: ", ")
      case .quoted, .plain:
        let shown = style == .quoted ? names.map { "'\($0)'" } : names
        guard let last = shown.last, shown.count > 1 else { return shown.joined() }
        return shown.dropLast().joined(separator: ", ") + " or " + last
      }
    }

    /// `model.loop_guard`: `on` (the default settings), `off`, or a mapping of DRY settings
    /// and the stop's bound (`dry_multiplier`, `dry_base`, `dry_allowed_length`,
    /// `dry_last_n`, `max_repeats`); nil when off.
    mutating func loopGuard(_ map: Node.Mapping) -> LoopGuard? {
      let at = "model.loop_guard"
      guard let node = map["loop_guard"] else { return .standard }
      switch node {
      case .scalar(let s):
        switch s.string.lowercased() {
        case "on", "true", "yes": return .standard
        case "off", "false", "no": return nil
        default:
          problem(at, node, "must be on, off or a mapping of DRY settings, not '\(s.string)'")
          return .standard
        }
      case .mapping(let m):
        let p = at + "."
        allow(m, at: p, keys: ["dry_multiplier", "dry_base", "dry_allowed_length", "dry_last_n", "max_repeats"])
        var g = LoopGuard.standard
        setting(
          m, "dry_multiplier", at: p, atLeast: 0.0, "must not be negative (0 turns DRY off)", in: &g, \.dryMultiplier)
        setting(m, "dry_base", at: p, atLeast: 1.0, "must be at least 1", in: &g, \.dryBase)
        setting(m, "dry_allowed_length", at: p, atLeast: 1, "must be at least 1", in: &g, \.dryAllowedLength)
        setting(m, "dry_last_n", at: p, atLeast: 0, "must be 0 (the whole output) or more", in: &g, \.dryLastTokens)
        setting(m, "max_repeats", at: p, atLeast: 1, "must be at least 1", in: &g, \.maxRepeats)
        return g
      default:
        problem(at, node, "must be on, off or a mapping of DRY settings")
        return .standard
      }
    }

    /// Reads a numeric setting into `settings`, with a problem when it is below `minimum`.
    ///
    /// The value is kept even when it is too small, so that one reading reports every problem.
    ///
    /// - Parameters:
    ///   - key: The setting's key in `map`; `prefix + key` names it in a problem.
    ///   - minimum: The smallest allowed value.
    ///   - message: The problem when the value is below `minimum`.
    ///   - settings: Where the value goes, at `path`; unchanged when the key is absent or not a number.
    mutating func setting<Settings, Value: JobNumber>(
      _ map: Node.Mapping, _ key: String, at prefix: String, atLeast minimum: Value, _ message: String,
      in settings: inout Settings, _ path: WritableKeyPath<Settings, Value>
    ) {
      guard let value = Value.read(&self, map, key, at: prefix) else { return }
      if value < minimum { problem(prefix + key, map[key], message) }
      settings[keyPath: path] = value
    }

    /// A JSON Schema given as JSON text or as YAML, returned as JSON text
    /// after checking it is inside the supported subset.
    mutating func jsonSchema(_ map: Node.Mapping, _ key: String, at prefix: String) -> String? {
      guard let node = map[key] else { return nil }
      let text: String
      switch node {
      case .scalar(let s): text = s.string
      case .mapping: text = Self.json(node).jsonText
      case .sequence, .alias:
        problem(prefix + key, node, "must be a JSON Schema, as a JSON string or a YAML mapping")
        return nil
      }
      do {
        _ = try JSONSchema(text: text)
      } catch {
        problem(prefix + key, node, "\(error) (see README, Structured output)")
        return nil
      }
      return text
    }

    /// A YAML node as JSON: plain scalars are read as null, booleans and
    /// numbers where they spell one; quoted ones stay strings (`"1"`).
    static func json(_ node: Node) -> JSONValue {
      switch node {
      case .scalar(let s):
        guard s.style == .plain else { return .string(s.string) }
        if ["", "~", "null", "Null", "NULL"].contains(s.string) { return .null }
        if ["true", "True", "TRUE"].contains(s.string) { return .bool(true) }
        if ["false", "False", "FALSE"].contains(s.string) { return .bool(false) }
        if let i = node.int { return .number(Double(i)) }
        if let f = node.float, f.isFinite { return .number(f) }
        return .string(s.string)
      case .mapping(let m):
        return .object(m.map { (key: $0.key.string ?? "\($0.key)", value: json($0.value)) })
      case .sequence(let seq):
        return .array(seq.map(json))
      case .alias:
        return .null
      }
    }

    mutating func int(_ map: Node.Mapping, _ key: String, at prefix: String = "") -> Int? {
      guard let node = map[key] else { return nil }
      guard let v = node.int else {
        problem(prefix + key, node, "must be a whole number, not '\(node.string ?? "a collection")'")
        return nil
      }
      return v
    }

    mutating func bool(_ map: Node.Mapping, _ key: String, at prefix: String = "") -> Bool? {
      guard let node = map[key] else { return nil }
      guard let v = node.bool else {
        problem(prefix + key, node, "must be true or false, not '\(node.string ?? "a collection")'")
        return nil
      }
      return v
    }

    mutating func double(_ map: Node.Mapping, _ key: String, at prefix: String = "") -> Double? {
      guard let node = map[key] else { return nil }
      guard let v = node.float ?? node.int.map(Double.init) else {
        problem(prefix + key, node, "must be a number, not '\(node.string ?? "a collection")'")
        return nil
      }
      return v
    }

    mutating func stringList(_ map: Node.Mapping, _ key: String, at prefix: String = "", required: Bool = false)
      -> [String]?
    {
      guard let node = map[key] else {
        if required { problems.append("\(prefix)\(key): is required") }
        return nil
      }
      if case .scalar(let s) = node { return [s.string] }
      guard case .sequence(let seq) = node else {
        problem(prefix + key, node, "must be a list of strings")
        return nil
      }
      var out: [String] = []
      for item in seq {
        guard case .scalar(let s) = item else {
          problem(prefix + key, item, "must be a list of strings")
          return nil
        }
        out.append(s.string)
      }
      return out
    }
  }
}

/// A number a job file gives, read with the problem its kind has when the node is not one.
protocol JobNumber: Comparable {
  /// The value of `key` in `map`; nil when absent or not a number of this kind (then with a problem).
  static func read(_ reader: inout JobFile.Reader, _ map: Node.Mapping, _ key: String, at prefix: String) -> Self?
}

extension Int: JobNumber {
  static func read(_ reader: inout JobFile.Reader, _ map: Node.Mapping, _ key: String, at prefix: String) -> Int? {
    reader.int(map, key, at: prefix)
  }
}

extension Double: JobNumber {
  static func read(_ reader: inout JobFile.Reader, _ map: Node.Mapping, _ key: String, at prefix: String) -> Double? {
    reader.double(map, key, at: prefix)
  }
}
