import Foundation

/// Reduces HTML mail bodies to readable text: drops scripts, styles and
/// tags, turns block elements into line breaks, decodes common entities.
enum HTMLText {
  static func text(from html: String) -> String {
    var s = html
    for tag in ["script", "style", "head"] {
      s = s.replacingOccurrences(
        of: "(?is)<\(tag)\\b[^>]*>.*?</\(tag)>", with: " ", options: [.regularExpression, .caseInsensitive])
    }
    s = s.replacingOccurrences(of: "(?s)<!--.*?-->", with: " ", options: .regularExpression)
    s = s.replacingOccurrences(
      of: "<(br|/p|/div|/li|/tr|/h[1-6]|/blockquote|/table)\\b[^>]*>", with: "\n",
      options: [.regularExpression, .caseInsensitive])
    s = s.replacingOccurrences(of: "<li\\b[^>]*>", with: "- ", options: [.regularExpression, .caseInsensitive])
    s = s.replacingOccurrences(of: "<[^>]+>", with: "", options: .regularExpression)
    s = decodeEntities(s)
    // Collapse runs of spaces and of blank lines.
    let lines = s.split(separator: "\n", omittingEmptySubsequences: false).map {
      $0.replacingOccurrences(of: "[ \\t\\x{00A0}]+", with: " ", options: .regularExpression)
        .trimmingCharacters(in: .whitespaces)
    }
    var out: [String] = []
    for line in lines where !(line.isEmpty && (out.last?.isEmpty ?? true)) { out.append(line) }
    return out.joined(separator: "\n").trimmingCharacters(in: .whitespacesAndNewlines)
  }

  static func decodeEntities(_ s: String) -> String {
    guard s.contains("&") else { return s }
    let named = [
      "amp": "&", "lt": "<", "gt": ">", "quot": "\"", "apos": "'", "nbsp": " ", "ndash": "–",
      "mdash": "—", "hellip": "…", "rsquo": "’", "lsquo": "‘", "rdquo": "”", "ldquo": "“", "euro": "€", "copy": "©",
    ]
    var out = ""
    var rest = Substring(s)
    while let amp = rest.firstIndex(of: "&") {
      out += rest[..<amp]
      let after = rest[rest.index(after: amp)...]
      if let semi = after.prefix(10).firstIndex(of: ";") {
        let name = String(after[..<semi])
        var replacement: String?
        if name.hasPrefix("#x") || name.hasPrefix("#X"), let v = UInt32(name.dropFirst(2), radix: 16) {
          replacement = Unicode.Scalar(v).map { String($0) }
        } else if name.hasPrefix("#"), let v = UInt32(name.dropFirst()) {
          replacement = Unicode.Scalar(v).map { String($0) }
        } else {
          replacement = named[name]
        }
        if let replacement {
          out += replacement
          rest = after[after.index(after: semi)...]
          continue
        }
      }
      out += "&"
      rest = after
    }
    out += rest
    return out
  }
}
