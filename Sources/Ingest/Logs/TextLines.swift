import Foundation

/// Splits bytes into lines, decoding UTF-8 with replacement characters and
/// cutting overlong lines, counting both so they can be reported.
struct TextLines {
  var lines: [Substring] = []
  var invalidBytes = 0
  var cutLines = 0
  private let storage: String

  init(_ data: Data, maxLineBytes: Int = 64 * 1024) {
    let decoded = String(decoding: data, as: UTF8.self)
    // String(decoding:) replaces each invalid sequence with U+FFFD; count those
    // that were not in the input already.
    let replacements = decoded.unicodeScalars.lazy.filter { $0 == "\u{FFFD}" }.count
    let original = data.withUnsafeBytes { raw -> Int in
      var n = 0
      var i = 0
      let b = raw.bindMemory(to: UInt8.self)
      while i + 2 < b.count {
        if b[i] == 0xEF && b[i + 1] == 0xBF && b[i + 2] == 0xBD { n += 1; i += 3 } else { i += 1 }
      }
      return n
    }
    invalidBytes = max(0, replacements - original)
    storage = decoded
    var out: [Substring] = []
    out.reserveCapacity(data.count / 60)
    for line in storage.split(separator: "\n", omittingEmptySubsequences: false) {
      var l = line
      if l.last == "\r" { l = l.dropLast() }
      if l.utf8.count > maxLineBytes {
        cutLines += 1
        let end = l.utf8.index(l.startIndex, offsetBy: maxLineBytes)
        l = l[..<end]
      }
      out.append(l)
    }
    if out.last?.isEmpty == true && data.last == UInt8(ascii: "\n") { out.removeLast() }
    lines = out
  }

  var warnings: [String] {
    var w: [String] = []
    if invalidBytes > 0 { w.append("\(invalidBytes) invalid UTF-8 sequences replaced") }
    if cutLines > 0 { w.append("\(cutLines) overlong lines cut") }
    return w
  }
}

/// Groups consecutive lines into sections of bounded size, preferring to
/// break where `isBoundary` says a new unit starts.
enum LineGrouper {
  /// - Parameters:
  ///   - lines: The file's lines.
  ///   - maxLines: The most lines in a section.
  ///   - maxBytes: The most bytes in a section.
  ///   - startsUnit: Whether line `i` may start a new section (e.g. not a continuation).
  /// - Returns: Half-open line index ranges.
  static func group(
    _ lines: [Substring], maxLines: Int, maxBytes: Int, startsUnit: (Int) -> Bool
  ) -> [Range<Int>] {
    var ranges: [Range<Int>] = []
    var start = 0
    var bytes = 0
    var lastBoundary = 0
    for i in lines.indices {
      let size = lines[i].utf8.count + 1
      if i > start && startsUnit(i) { lastBoundary = i }
      if i > start && (i - start >= maxLines || bytes + size > maxBytes) {
        // Break at the last unit boundary if it keeps the section non-empty.
        let cut = lastBoundary > start ? lastBoundary : i
        ranges.append(start..<cut)
        start = cut
        bytes = lines[start..<i].reduce(0) { $0 + $1.utf8.count + 1 }
        lastBoundary = start
      }
      bytes += size
    }
    if start < lines.count { ranges.append(start..<lines.count) }
    return ranges
  }
}
