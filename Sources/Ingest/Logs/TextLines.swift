import Foundation

/// Splits bytes into lines, decoding UTF-8 with replacement characters and
/// cutting overlong lines, counting both so they can be reported.
struct TextLines {
  var lines: [Substring] = []
  var invalidBytes = 0
  var cutLines = 0
  private let storage: String

  init(_ data: Data, maxLineBytes: Int = 64 * 1024) {
    // String(decoding:) validates and replaces each invalid sequence with
    // U+FFFD; count those that were not in the input already. Everything
    // below works on UTF-8 bytes: this is the hot path of log ingest.
    let original = data.withUnsafeBytes { Self.countReplacementCharacters(UnsafeRawBufferPointer($0)) }
    var decoded = String(decoding: data, as: UTF8.self)
    decoded.makeContiguousUTF8()
    let text = decoded
    var out: [Substring] = []
    out.reserveCapacity(data.count / 64 + 1)
    var cut = 0
    let replacements = text.utf8.withContiguousStorageIfAvailable { buf -> Int in
      let raw = UnsafeRawBufferPointer(buf)
      let count = Self.countReplacementCharacters(raw)
      guard let base = raw.baseAddress else { return count }
      let utf8 = text.utf8
      var start = 0
      let n = raw.count
      while start <= n {
        let found = start < n ? memchr(base + start, 0x0A, n - start) : nil
        let newline = found.map { base.distance(to: UnsafeRawPointer($0)) } ?? n
        if newline == n && start == n { break }  // no empty last line after a final newline
        var end = newline
        if end > start && raw[end - 1] == 0x0D { end -= 1 }
        if end - start > maxLineBytes {
          cut += 1
          end = start + maxLineBytes
        }
        let a = utf8.index(utf8.startIndex, offsetBy: start)
        let b = utf8.index(utf8.startIndex, offsetBy: end)
        out.append(text[a..<b])
        start = newline + 1
      }
      return count
    } ?? 0
    if data.isEmpty { out = [""] }
    invalidBytes = max(0, replacements - original)
    cutLines = cut
    storage = text
    lines = out
  }

  /// Occurrences of EF BF BD (U+FFFD) in `bytes`.
  private static func countReplacementCharacters(_ bytes: UnsafeRawBufferPointer) -> Int {
    guard let base = bytes.baseAddress else { return 0 }
    var n = 0
    var i = 0
    while i + 2 < bytes.count {
      guard let hit = memchr(base + i, 0xEF, bytes.count - i - 2) else { break }
      let j = base.distance(to: UnsafeRawPointer(hit))
      if bytes[j + 1] == 0xBF && bytes[j + 2] == 0xBD { n += 1; i = j + 3 } else { i = j + 1 }
    }
    return n
  }

  /// Lines `range` joined with "\n": a slice of the decoded text when the
  /// lines lie there exactly so (no CR, no cut line), else a new string.
  func joined(_ range: Range<Int>) -> String {
    guard let first = range.first, let last = range.last else { return "" }
    let slice = storage[lines[first].startIndex..<lines[last].endIndex]
    var expected = range.count - 1
    for i in range { expected += lines[i].utf8.count }
    if slice.utf8.count == expected { return String(slice) }
    return lines[range].joined(separator: "\n")
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
    group(count: lines.count, maxLines: maxLines, maxBytes: maxBytes, lineBytes: { lines[$0].utf8.count }, startsUnit: startsUnit)
  }

  /// The same grouping over line lengths only (the byte-level log path).
  ///
  /// - Parameters:
  ///   - count: How many lines there are.
  ///   - lineBytes: The UTF-8 length of line `i`, without its newline.
  static func group(
    count: Int, maxLines: Int, maxBytes: Int, lineBytes: (Int) -> Int, startsUnit: (Int) -> Bool
  ) -> [Range<Int>] {
    var ranges: [Range<Int>] = []
    var start = 0
    var bytes = 0
    var lastBoundary = 0
    for i in 0..<count {
      let size = lineBytes(i) + 1
      if i > start && startsUnit(i) { lastBoundary = i }
      if i > start && (i - start >= maxLines || bytes + size > maxBytes) {
        // Break at the last unit boundary if it keeps the section non-empty.
        let cut = lastBoundary > start ? lastBoundary : i
        ranges.append(start..<cut)
        start = cut
        bytes = 0
        for j in start..<i { bytes += lineBytes(j) + 1 }
        lastBoundary = start
      }
      bytes += size
    }
    if start < count { ranges.append(start..<count) }
    return ranges
  }
}
