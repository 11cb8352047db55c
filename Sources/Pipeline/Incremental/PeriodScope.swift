import Foundation
import Ingest
import Storage

/// How much of one source a run has read: its first `lines` lines, whose hash
/// is `prefixHash`, and which of them were new in that run.
public struct SourceWatermark: Codable, Sendable, Hashable {
  /// The display path the run saw the source at.
  public var path: String
  public var documentHash: String
  /// Lines read, through the last line; 0 for a document without line
  /// locators (a PDF, a mailbox), which is read whole or not at all.
  public var lines: Int
  /// Hash of the numbered lines 1…`lines`; the document hash when `lines` is 0.
  public var prefixHash: String
  /// First line that was new in the run, or nil when nothing was (1 for a new
  /// document without lines).
  public var firstNew: Int?
  /// Last line that was new in the run.
  public var lastNew: Int?

  /// The new part as a citation: `app.log#L71-L90`, or the path for a whole document.
  public var newLocator: String? {
    guard let firstNew else { return nil }
    guard lines > 0, let lastNew else { return path }
    return Locator(path: path, lineStart: firstNew, lineEnd: lastNew).description
  }
}

/// What is new in a run of an incremental job, by source line ranges.
///
/// A source continues an earlier one when its first N lines hash to the
/// watermark that the previous completed run recorded for N lines, under any
/// path: a growing `app.log` continues itself, and after rotation `app.log.1`
/// (or `app.log.2.gz`) continues what `app.log` was. Its new lines are N+1 to
/// its end. A source that continues nothing (a new file, a truncated or
/// rewritten one) is new from line 1. Documents without line locators are new
/// when their content hash was not seen.
struct PeriodScope {
  /// Files with something new, in source order.
  var files: [IngestedFile] = []
  /// First new line of files read in part; files read whole are not listed.
  var startLines: [String: Int] = [:]
  /// Every file's watermark after this run, with its new range.
  var sources: [SourceWatermark] = []

  /// New lines in line-located sources.
  var newLines: Int {
    sources.reduce(0) { total, s in
      guard s.lines > 0, let first = s.firstNew, let last = s.lastNew else { return total }
      return total + last - first + 1
    }
  }

  /// Works out what is new in `files` against `previous`, the last completed run's watermarks.
  init(files: [IngestedFile], corpus: Corpus, previous: [SourceWatermark]) throws {
    let seenDocuments = Set(previous.filter { $0.lines == 0 }.map(\.prefixHash))
    let lineMarks = previous.filter { $0.lines > 0 }
    // A watermark always covers its document to the end: a document seen before is read, unread.
    let seenLineDocuments = Dictionary(lineMarks.map { ($0.documentHash, $0) }, uniquingKeysWith: { a, _ in a })
    for file in files {
      if var seen = seenLineDocuments[file.documentHash] {
        seen.path = file.displayPath
        seen.firstNew = nil
        seen.lastNew = nil
        sources.append(seen)
        continue
      }
      let sections = try corpus.sections(ofDocument: file.documentHash, displayPath: file.displayPath)
      let lineLocated =
        !sections.isEmpty && sections.allSatisfy { $0.locator.lineStart != nil && $0.locator.lineEnd != nil }
      guard lineLocated else {
        let new = !seenDocuments.contains(file.documentHash)
        sources.append(
          SourceWatermark(
            path: file.displayPath, documentHash: file.documentHash, lines: 0, prefixHash: file.documentHash,
            firstNew: new ? 1 : nil, lastNew: nil))
        if new { self.files.append(file) }
        continue
      }
      let entries = Self.numberedLines(sections)
      let last = entries.last?.0 ?? 0
      let candidates = lineMarks.filter { $0.lines <= last }
      let hashes = Hashing.sha256(linePrefixesOf: entries, at: Set(candidates.map(\.lines) + [last]))
      let read = candidates.filter { hashes[$0.lines] == $0.prefixHash }.map(\.lines).max() ?? 0
      let firstNew = read < last ? read + 1 : nil
      sources.append(
        SourceWatermark(
          path: file.displayPath, documentHash: file.documentHash, lines: last, prefixHash: hashes[last] ?? "",
          firstNew: firstNew, lastNew: firstNew == nil ? nil : last))
      guard let firstNew else { continue }
      self.files.append(file)
      if firstNew > 1 { startLines[file.displayPath] = firstNew }
    }
  }

  /// The sections' lines with their numbers. A section whose text does not
  /// map line for line onto its range (a multi-line redaction) counts as one
  /// entry at its last line.
  static func numberedLines(_ sections: [Section]) -> [(Int, Substring)] {
    var out: [(Int, Substring)] = []
    for section in sections {
      guard let start = section.locator.lineStart, let end = section.locator.lineEnd else { continue }
      let lines = section.text[...].split(separator: "\n", omittingEmptySubsequences: false)
      if lines.count == end - start + 1 {
        for (i, line) in lines.enumerated() { out.append((start + i, line)) }
      } else {
        out.append((end, section.text[...]))
      }
    }
    return out
  }
}
