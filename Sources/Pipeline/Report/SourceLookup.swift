import Foundation
import GRDB
import Ingest
import Storage

/// Resolves cited locators against the workspace: whether a path names a
/// stored document, whether a page, line range or message exists in it, and
/// the text behind it. Each document is read once per lookup.
///
/// Not `Sendable`: one report (or one `quote` command) owns one.
public final class SourceLookup {
  /// Why a locator does not name stored text.
  public enum Missing: Error, Equatable, CustomStringConvertible {
    case noDocument(path: String)
    case ambiguous(path: String, candidates: [String])
    case pastEnd(String)
    case wrongUnit(String)
    case notALocator(String)

    public var description: String {
      switch self {
      case .noDocument(let path): "no document \(path) in the workspace"
      case .ambiguous(let path, let candidates):
        "\(path) matches \(candidates.count) documents (\(candidates.prefix(3).joined(separator: ", ")))"
      case .pastEnd(let what): what
      case .wrongUnit(let what): what
      case .notALocator(let text):
        "\(text) is not a locator (path#page=N, path#Lx-Ly, path#msg=ID, path#para=N, path#sheet=S!A1:B9, path#slide=N)"
      }
    }
  }

  /// What is known of one document: its row facts and how its sections are cited.
  struct Info {
    var document: CitableDocument
    var sections: [Section]
    var pages: [Int: Int]  // page → section index
    var messages: [String: Int]
    /// Slide → section index.
    var slides: [Int: Int] = [:]
    /// Sheet name → its sections, in order.
    var sheets: [String: [Int]] = [:]
    /// Sections with paragraph ranges, in order; and the last paragraph.
    var paragraphSections: [Int] = []
    var paragraphCount = 0
    /// Sections with line ranges, by first line.
    var lineSections: [Int]
    var lineCount: Int
  }

  let corpus: Corpus
  /// Cited path → document hash.
  public let paths: [String: String]
  private let byName: [String: [String]]
  /// Absolute path of each ingested file → its display path (the cited form).
  private let displayPaths: [String: String]
  private var infos: [String: Info] = [:]
  private var normalized: [String: String] = [:]

  /// - Parameter workspace: The workspace whose corpus is cited.
  /// - Throws: Database errors.
  public init(workspace: Workspace) throws {
    corpus = Corpus(workspace: workspace)
    paths = try corpus.citablePaths()
    displayPaths = try workspace.db.read { db in
      var out: [String: String] = [:]
      for row in try Row.fetchAll(
        db, sql: "SELECT path, displayPath FROM source WHERE status = 'ok' AND contentHash IS NOT NULL")
      {
        out[row["path"]] = row["displayPath"]
      }
      return out
    }
    var byName: [String: [String]] = [:]
    for path in paths.keys { byName[Self.lastComponent(path), default: []].append(path) }
    self.byName = byName
  }

  static func lastComponent(_ path: String) -> String {
    path.split(separator: "/", omittingEmptySubsequences: false).last.map(String.init) ?? path
  }

  /// The stored path a citation's path names: itself, or the one stored path
  /// ending in `/path` (a model often drops the directory), preferring those in `preferred`.
  ///
  /// - Throws: `Missing.noDocument` or `.ambiguous`.
  public func resolve(path raw: String, preferring preferred: Set<String> = []) throws(Missing) -> String {
    var path = raw
    while path.hasPrefix("./") { path.removeFirst(2) }
    if paths[path] != nil { return path }
    // Attachment paths end in `attachment=NAME`: match the whole suffix the same way.
    let candidates = (byName[Self.lastComponent(path)] ?? []).filter { $0.hasSuffix("/" + path) }.sorted()
    if candidates.count == 1 { return candidates[0] }
    let mine = candidates.filter { preferred.contains($0) }
    if mine.count == 1 { return mine[0] }
    if candidates.isEmpty { throw .noDocument(path: raw) }
    throw .ambiguous(path: raw, candidates: candidates)
  }

  /// What a path typed by a person names: the stored path, and a note when the
  /// typed path could also mean another document.
  public struct Resolution: Equatable, Sendable {
    /// The stored (cited) path.
    public var path: String
    /// Which document was meant, and which other one the typed path also names; nil when it names one.
    public var note: String?
  }

  /// The stored path a person's typed path names: the cited form (as `resolve(path:)`
  /// takes it), or a file's path on disk, absolute or relative to `directory`, as
  /// given to `ingest` or as the shell sees it, followed by what lies inside the
  /// file (`/abs/bundle.zip#member=a.txt`: the file's display path, the rest kept).
  ///
  /// When the two readings name different documents, the stored form wins (it is
  /// what reports cite), and the note says so and names the other.
  ///
  /// - Parameter directory: The directory a relative path on disk starts from (the current one).
  /// - Throws: `Missing.noDocument` or `.ambiguous`, as `resolve(path:)`.
  public func resolve(typed raw: String, from directory: String) throws(Missing) -> Resolution {
    let stored: Result<String, Missing>
    do throws(Missing) {
      stored = .success(try resolve(path: raw))
    } catch {
      stored = .failure(error)
    }
    let onDisk = fileCandidate(raw, from: directory)
    switch (stored, onDisk) {
    case (.success(let path), nil): return Resolution(path: path)
    case (.failure(let error), nil): throw error
    case (.failure, .some(let file)): return Resolution(path: file.path)
    case (.success(let path), .some(let file)):
      guard paths[path] != paths[file.path] else {
        // One document under either name: the file's own name reads best.
        return Resolution(path: paths[raw] != nil ? path : file.path)
      }
      if paths[raw] != nil {
        return Resolution(
          path: path,
          note: "\(raw) is taken as the stored document \(path); the file \(file.absolute) is stored as \(file.path)")
      }
      // A shortened stored path (a suffix) against a file that exists as typed: the file is meant.
      return Resolution(
        path: file.path,
        note:
          "\(raw) is taken as the file \(file.absolute), stored as \(file.path); it also ends the stored path \(path)")
    }
  }

  /// The stored path of the file on disk that `typed` names (relative to `directory`),
  /// with what follows its first `#` kept; nil when no ingested file is there.
  private func fileCandidate(_ typed: String, from directory: String) -> (path: String, absolute: String)? {
    let cut = typed.firstIndex(of: "#") ?? typed.endIndex
    let file = String(typed[..<cut])
    let inside = String(typed[cut...])
    guard !file.isEmpty else { return nil }
    let url =
      file.hasPrefix("/")
      ? URL(fileURLWithPath: file) : URL(fileURLWithPath: directory).appendingPathComponent(file)
    for absolute in [url.standardizedFileURL.path, url.resolvingSymlinksInPath().path] {
      if let display = displayPaths[absolute], paths[display + inside] != nil {
        return (display + inside, absolute)
      }
    }
    return nil
  }

  /// The facts and sections of the document at stored path `path`.
  func info(path: String) throws -> Info? {
    guard let hash = paths[path] else { return nil }
    if let info = infos[hash] { return info }
    guard let doc = try corpus.citableDocument(hash) else { return nil }
    let sections = try corpus.sections(ofDocument: hash, displayPath: path)
    var info = Info(document: doc, sections: sections, pages: [:], messages: [:], lineSections: [], lineCount: 0)
    for (i, s) in sections.enumerated() {
      if let p = s.locator.page { info.pages[p] = i }
      if let m = s.locator.message { info.messages[m] = i }
      if s.locator.lineStart != nil { info.lineSections.append(i) }
      if let slide = s.locator.slide { info.slides[slide] = i }
      if let sheet = s.locator.sheet { info.sheets[sheet, default: []].append(i) }
      if let first = s.locator.paragraph {
        info.paragraphSections.append(i)
        info.paragraphCount = max(info.paragraphCount, s.locator.paragraphEnd ?? first)
      }
    }
    info.lineSections.sort { (sections[$0].locator.lineStart ?? 0) < (sections[$1].locator.lineStart ?? 0) }
    let lastLine = info.lineSections.last.flatMap { sections[$0].locator.lineEnd } ?? 0
    info.lineCount = doc.metadata["lines"].flatMap { Int($0) } ?? lastLine
    infos[hash] = info
    return info
  }

  /// Checks that `locator` names text in the workspace.
  ///
  /// - Returns: The locator with its path resolved to the stored one.
  /// - Throws: `Missing` saying why not.
  public func check(_ locator: Locator, preferring preferred: Set<String> = []) throws -> Locator {
    let path = try resolve(path: locator.path, preferring: preferred)
    guard let info = try info(path: path) else { throw Missing.noDocument(path: locator.path) }
    var resolved = locator
    resolved.path = path
    if let page = locator.page {
      guard let count = info.document.pageCount ?? (info.pages.isEmpty ? nil : info.pages.keys.max()) else {
        throw Missing.wrongUnit("\(path) has no pages (it is \(info.document.kind.rawValue); cite it by lines)")
      }
      guard page >= 1, page <= count else {
        throw Missing.pastEnd("page \(page) is past the end of \(path) (\(count) page\(count == 1 ? "" : "s"))")
      }
    } else if let message = locator.message {
      guard !info.messages.isEmpty else { throw Missing.wrongUnit("\(path) holds no messages") }
      guard let index = info.messages[message] else {
        throw Missing.pastEnd("no message \(message) in \(path) (\(info.messages.count) messages)")
      }
      if let folder = locator.folder, let stored = info.sections[index].locator.folder, folder != stored {
        throw Missing.pastEnd("message \(message) of \(path) is in folder \(stored), not \(folder)")
      }
    } else if let first = locator.paragraph {
      guard info.paragraphCount > 0 else {
        throw Missing.wrongUnit("\(path) is not cited by paragraphs (it is \(info.document.kind.rawValue))")
      }
      let last = locator.paragraphEnd ?? first
      guard first >= 1, last >= first else { throw Missing.pastEnd("paragraphs \(first)-\(last) are not a range") }
      guard last <= info.paragraphCount else {
        throw Missing.pastEnd("paragraph \(last) is past the end of \(path) (\(info.paragraphCount) paragraphs)")
      }
    } else if let slide = locator.slide {
      guard !info.slides.isEmpty else {
        throw Missing.wrongUnit("\(path) has no slides (it is \(info.document.kind.rawValue))")
      }
      guard info.slides[slide] != nil else {
        throw Missing.pastEnd("no slide \(slide) in \(path) (\(info.slides.count) slides)")
      }
    } else if let sheet = locator.sheet {
      guard !info.sheets.isEmpty else {
        throw Missing.wrongUnit("\(path) has no sheets (it is \(info.document.kind.rawValue))")
      }
      guard let sections = info.sheets[sheet] else {
        throw Missing.pastEnd(
          "no sheet \(sheet) in \(path) (sheets: \(info.sheets.keys.sorted().prefix(5).joined(separator: ", ")))")
      }
      if let cells = locator.cells, Self.sheetSections(sections, rows: Self.rows(of: cells), in: info).isEmpty {
        throw Missing.pastEnd("no cells \(cells) with text in sheet \(sheet) of \(path)")
      }
    } else if let start = locator.lineStart, let end = locator.lineEnd {
      guard !info.lineSections.isEmpty || info.lineCount > 0 else {
        throw Missing.wrongUnit("\(path) is not cited by lines (it is \(info.document.kind.rawValue))")
      }
      guard start >= 1, end >= start else { throw Missing.pastEnd("lines \(start)-\(end) are not a range") }
      guard end <= info.lineCount else {
        throw Missing.pastEnd("line \(end) is past the end of \(path) (\(info.lineCount) lines)")
      }
    }
    return resolved
  }

  /// The stored text behind `locator` (already checked), with `context` lines
  /// around a line range.
  ///
  /// - Returns: The text and the locator it actually spans (the range widened by the context).
  public func text(of locator: Locator, context: Int = 0) throws -> (text: String, span: Locator) {
    let checked = try check(locator)
    guard let info = try info(path: checked.path) else { throw Missing.noDocument(path: locator.path) }
    if let page = checked.page {
      return (info.pages[page].map { info.sections[$0].text } ?? "", checked)
    }
    if let message = checked.message {
      return (info.messages[message].map { info.sections[$0].text } ?? "", checked)
    }
    if let slide = checked.slide {
      return (info.slides[slide].map { info.sections[$0].text } ?? "", checked)
    }
    if let sheet = checked.sheet {
      let all = info.sheets[sheet] ?? []
      let chosen = checked.cells.map { Self.sheetSections(all, rows: Self.rows(of: $0), in: info) } ?? all
      return (chosen.map { info.sections[$0].text }.joined(separator: "\n"), checked)
    }
    if let first = checked.paragraph {
      // The sections whose paragraphs overlap the cited ones, whole.
      let last = checked.paragraphEnd ?? first
      let chosen = info.paragraphSections.filter { i in
        let l = info.sections[i].locator
        guard let a = l.paragraph else { return false }
        return a <= last && (l.paragraphEnd ?? a) >= first
      }
      return (chosen.map { info.sections[$0].text }.joined(separator: "\n"), checked)
    }
    guard let start = checked.lineStart, let end = checked.lineEnd else {
      return (info.sections.map(\.text).joined(separator: "\n\n"), checked)
    }
    let from = max(1, start - max(0, context))
    let to = min(info.lineCount, end + max(0, context))
    var lines = [Substring](repeating: "", count: to - from + 1)
    // First section that may hold `from`: binary search on the first lines.
    var lo = 0
    var hi = info.lineSections.count
    while lo < hi {
      let mid = (lo + hi) / 2
      if (info.sections[info.lineSections[mid]].locator.lineEnd ?? 0) < from { lo = mid + 1 } else { hi = mid }
    }
    var k = lo
    while k < info.lineSections.count {
      let s = info.sections[info.lineSections[k]]
      guard let first = s.locator.lineStart, first <= to else { break }
      for (i, line) in s.text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
        let n = first + i
        if n >= from && n <= to { lines[n - from] = line }
      }
      k += 1
    }
    var span = checked
    span.lineStart = from
    span.lineEnd = to
    return (lines.joined(separator: "\n"), span)
  }

  /// The rows a cell range spans (`B2:F40` → 2...40), or `nil` when it names none.
  static func rows(of cells: String) -> ClosedRange<Int>? {
    let numbers = cells.split(separator: ":").compactMap { Int($0.filter(\.isNumber)) }
    guard let first = numbers.first else { return nil }
    let last = numbers.last ?? first
    return min(first, last)...max(first, last)
  }

  /// Of a sheet's `sections`, those whose cell ranges share a row with `rows` (all of them when `rows` is nil).
  static func sheetSections(_ sections: [Int], rows: ClosedRange<Int>?, in info: Info) -> [Int] {
    guard let rows else { return sections }
    return sections.filter { i in
      guard let cells = info.sections[i].locator.cells, let own = Self.rows(of: cells) else { return true }
      return own.overlaps(rows)
    }
  }

  /// `text(of:)` normalized for quote matching, cached per locator.
  func normalizedText(of locator: Locator) -> String? {
    let key = locator.description
    if let cached = normalized[key] { return cached }
    guard let text = try? text(of: locator).text else { return nil }
    let n = Self.normalize(text)
    normalized[key] = n
    return n
  }

  /// Lower case, quotes and apostrophes made straight, every run of whitespace one space.
  public static func normalize(_ text: String) -> String {
    var out = String.UnicodeScalarView()
    var space = false
    for scalar in text.lowercased().unicodeScalars {
      if CharacterSet.whitespacesAndNewlines.contains(scalar) {
        space = !out.isEmpty
        continue
      }
      if space {
        out.append(" ")
        space = false
      }
      switch scalar {
      case "\u{2018}", "\u{2019}", "\u{02BC}": out.append("'")
      case "\u{201C}", "\u{201D}": out.append("\"")
      default: out.append(scalar)
      }
    }
    return String(out)
  }
}
