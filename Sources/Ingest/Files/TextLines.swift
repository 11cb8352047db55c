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
    let replacements =
      text.utf8.withContiguousStorageIfAvailable { buf -> Int in
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
      if bytes[j + 1] == 0xBF && bytes[j + 2] == 0xBD {
        n += 1
        i = j + 3
      } else {
        i = j + 1
      }
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
