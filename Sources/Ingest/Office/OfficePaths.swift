/// Part names: resolving relationship targets.
enum OfficePaths {
  /// The folder and file of a part name: `word/document.xml` → (`word`, `document.xml`).
  static func split(_ name: String) -> (dir: String, file: String) {
    guard let slash = name.lastIndex(of: "/") else { return ("", name) }
    return (String(name[..<slash]), String(name[name.index(after: slash)...]))
  }

  /// `target` relative to folder `dir` (or absolute, from a leading slash), with `.` and `..` folded.
  static func resolve(_ target: String, from dir: String) -> String {
    let decoded = target.removingPercentEncodingIfPossible
    var segments: [Substring] = decoded.hasPrefix("/") ? [] : dir.split(separator: "/")
    for segment in decoded.split(separator: "/") {
      if segment == "." { continue }
      if segment == ".." {
        if !segments.isEmpty { segments.removeLast() }
        continue
      }
      segments.append(segment)
    }
    return segments.joined(separator: "/")
  }
}

extension String {
  /// `%20`-style escapes decoded where they form valid UTF-8; the string as it stands otherwise.
  fileprivate var removingPercentEncodingIfPossible: String {
    guard contains("%") else { return self }
    var out: [UInt8] = []
    let utf8 = Array(self.utf8)
    var i = 0
    while i < utf8.count {
      if utf8[i] == UInt8(ascii: "%"), i + 2 < utf8.count,
        let byte = UInt8(String(decoding: utf8[(i + 1)...(i + 2)], as: UTF8.self), radix: 16)
      {
        out.append(byte)
        i += 3
      } else {
        out.append(utf8[i])
        i += 1
      }
    }
    let decoded = String(decoding: out, as: UTF8.self)
    return decoded.contains("\u{FFFD}") ? self : decoded
  }
}
