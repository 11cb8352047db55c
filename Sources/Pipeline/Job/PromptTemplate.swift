import Foundation

/// `{{variable}}` templates for map and reduce prompts.
///
/// Map variables: `window` (the window's text, each chunk headed by its
/// locator in brackets), `sources` (the locators, one per line), `question`,
/// `job`, `window_number`, `window_count`, `templates` (an incremental job's
/// "what changed in the logs" section for the period; empty otherwise). Reduce variables: `outputs` (the
/// inputs' texts, each headed by its sources), `sources`, `question`, `job`.
public enum PromptTemplate {
  static func variables(for section: String) -> Set<String> {
    section == "map"
      ? ["window", "sources", "question", "job", "window_number", "window_count", "templates"]
      : ["outputs", "sources", "question", "job"]
  }

  /// The variables used in `text` that are not in `allowed`.
  static func unknownVariables(in text: String, allowed: Set<String>) -> [String] {
    names(in: text).filter { !allowed.contains($0) }
  }

  static func names(in text: String) -> [String] {
    var out: [String] = []
    var rest = text[...]
    while let open = rest.range(of: "{{"), let close = rest[open.upperBound...].range(of: "}}") {
      out.append(rest[open.upperBound..<close.lowerBound].trimmingCharacters(in: .whitespaces))
      rest = rest[close.upperBound...]
    }
    return out
  }

  /// Splits a rendered template at the end of `{{anchor}}`'s value: what
  /// comes before is a reusable prefix, what comes after the suffix.
  ///
  /// - Returns: (prefix, suffix); the whole text is the prefix when the anchor is absent.
  public static func render(_ template: String, values: [String: String], splitAfter anchor: String) -> (String, String)
  {
    let marker = "{{\(anchor)}}"
    guard let range = template.range(of: marker) else { return (fill(template, values), "") }
    let head = String(template[..<range.upperBound])
    let tail = String(template[range.upperBound...])
    return (fill(head, values), fill(tail, values))
  }

  static func fill(_ text: String, _ values: [String: String]) -> String {
    var out = ""
    var rest = text[...]
    while let open = rest.range(of: "{{"), let close = rest[open.upperBound...].range(of: "}}") {
      out += rest[..<open.lowerBound]
      let name = rest[open.upperBound..<close.lowerBound].trimmingCharacters(in: .whitespaces)
      out += values[name] ?? ""
      rest = rest[close.upperBound...]
    }
    out += rest
    return out
  }
}
