extension LineGrouper {
  /// Groups lines into sections of bounded size, cutting where the best
  /// boundary lies: when a section is full, it ends before the last
  /// declaration in it, else the last member, else the last blank line.
  /// A boundary that would leave a section under a quarter full is passed
  /// over for a lesser one that does not (imports are not a section of their
  /// own when the class after them has to be cut anyway).
  ///
  /// - Parameters:
  ///   - count: How many lines there are.
  ///   - maxLines: The most lines in a section.
  ///   - maxBytes: The most bytes in a section.
  ///   - lineBytes: The UTF-8 length of line `i`, without its newline.
  ///   - boundary: How good a place line `i` is to start a section (nil: none).
  /// - Returns: Half-open line index ranges covering all lines.
  static func group(
    count: Int, maxLines: Int, maxBytes: Int, lineBytes: (Int) -> Int,
    boundary: (Int) -> CodeStructure.Boundary?
  ) -> [Range<Int>] {
    let levels = 4
    var ranges: [Range<Int>] = []
    var start = 0
    var bytes = 0
    // The last line of each boundary level seen in the current section,
    // and the section's bytes before it.
    var last = Array(repeating: 0, count: levels)
    var bytesBefore = Array(repeating: 0, count: levels)
    var i = 0
    while i < count {
      let size = lineBytes(i) + 1
      if i > start, let b = boundary(i) {
        last[b.rawValue] = i
        bytesBefore[b.rawValue] = bytes
      }
      if i > start && (i - start >= maxLines || bytes + size > maxBytes) {
        let usable = (0..<levels).filter { last[$0] > start }
        let cut = (usable.first { bytesBefore[$0] >= maxBytes / 4 } ?? usable.first).map { last[$0] } ?? i
        ranges.append(start..<cut)
        start = cut
        bytes = 0
        last = Array(repeating: 0, count: levels)
        // Re-read the lines carried over into the new section.
        i = start
        continue
      }
      bytes += size
      i += 1
    }
    if start < count { ranges.append(start..<count) }
    return ranges
  }
}
