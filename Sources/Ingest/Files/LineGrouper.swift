import Foundation

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
    group(
      count: lines.count, maxLines: maxLines, maxBytes: maxBytes, lineBytes: { lines[$0].utf8.count },
      startsUnit: startsUnit)
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
