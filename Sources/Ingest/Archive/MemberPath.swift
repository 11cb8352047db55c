import Foundation

/// A member's path inside its archive, made safe to cite: relative, without
/// `.` or `..` components, with `/` as the separator, and without the
/// characters that would break a citation (`#`) or a listing line (controls).
///
/// It is only ever cited, never used to write a file: ingest writes a member
/// to a temporary file named by its sanitised last component.
struct MemberPath: Sendable, Hashable {
  /// The normalised path, e.g. `dir/notes.txt`.
  var path: String
  /// Why the stored path was unsafe (`../../evil.txt` tried to escape), or `nil`.
  var escape: String?

  /// The last component as stored: the member's file name (its extension helps detect its kind).
  let fileName: String

  /// Normalises `raw`, the path as the archive stores it.
  ///
  /// - Parameters:
  ///   - raw: The stored path; `\` counts as a separator (ZIPs made on Windows).
  ///   - ordinal: The member's 1-based position, naming a file whose path normalises to nothing.
  ///   - directory: Whether the member is a directory (`./` is the archive's top: `.`).
  init(raw: String, ordinal: Int, directory: Bool = false) {
    let drive = raw.range(of: #"^[A-Za-z]:[\\/]"#, options: .regularExpression) != nil
    let absolute = drive || raw.hasPrefix("/") || raw.hasPrefix("\\")
    var components: [Substring] = []
    var escaped = false
    for component in raw.dropFirst(drive ? 2 : 0).split(whereSeparator: { $0 == "/" || $0 == "\\" }) {
      switch component {
      case ".": continue
      case "..":
        // Inside the archive `a/../b` is `b`; a `..` past the top tries to leave it.
        if components.isEmpty { escaped = true } else { components.removeLast() }
      default: components.append(component)
      }
    }
    var joined = components.map { Self.clean($0) }.joined(separator: "/")
    if joined.isEmpty { joined = directory ? "." : "member-\(ordinal)" }
    path = joined
    fileName = joined.split(separator: "/").last.map(String.init) ?? joined
    if escaped {
      escape = "its stored path \(Self.clean(Substring(raw))) tries to escape the archive; cited as \(joined)"
    } else if absolute {
      escape = "its stored path \(Self.clean(Substring(raw))) is absolute; cited as \(joined)"
    }
  }

  /// `#` (which ends a citation's path) as `%23`, control characters (which would split a listing line) as `?`.
  static func clean(_ component: Substring) -> String {
    var out = ""
    for scalar in component.unicodeScalars {
      switch scalar {
      case "#": out += "%23"
      case _ where scalar.value < 0x20 || scalar.value == 0x7F || (0x80..<0xA0).contains(scalar.value): out += "?"
      case "\u{2028}", "\u{2029}": out += "?"
      default: out.unicodeScalars.append(scalar)
      }
    }
    return out
  }
}
