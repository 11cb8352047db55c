import Foundation
import Testing
import _LongctxTestSupport

@testable import Ingest

/// The shared Office corpus (`../shared/corpus/office`) and its LibreOffice
/// reference text (`../shared/corpus/office-reference`): tests that read them
/// are skipped where they are absent.
enum OfficeCorpus {
  static let shared: URL =
    RepositoryPaths.sharedCorpus
    ?? RepositoryPaths.root.deletingLastPathComponent().appendingPathComponent("shared/corpus")
  static let root = shared.appendingPathComponent("office")
  static let references = shared.appendingPathComponent("office-reference")

  static var isPresent: Bool {
    FileManager.default.fileExists(atPath: root.appendingPathComponent("manifest.tsv").path)
  }

  static let skipReason: Comment = "the shared Office corpus (../shared/corpus/office) is absent"

  static func path(_ relative: String) -> String { root.appendingPathComponent(relative).path }

  /// Extracts corpus file `relative` with the registry's `.office` extractor, cited as its file name.
  static func extract(_ relative: String, redact: Bool = false, passwords: [String] = []) throws -> Extraction {
    var options = IngestOptions(password: passwords.first, base: root)
    options.passwords = passwords
    options.redact = redact
    let input = ExtractionInput(
      path: path(relative), displayPath: (relative as NSString).lastPathComponent, options: options)
    guard let extractor = Extractors.extractor(for: .office) else { throw IngestError.pathNotFound("no extractor") }
    return try extractor.extract(input)
  }

  /// The whole text of a document, sections joined by newlines.
  static func text(_ extraction: Extraction) -> String {
    (extraction.document?.sections ?? []).map(\.text).joined(separator: "\n")
  }

  /// Manifest rows of the docx, xlsx and pptx files that have reference text: path and `words=` list.
  static func readableFiles() -> [(path: String, words: [String])] {
    guard let manifest = try? String(contentsOf: root.appendingPathComponent("manifest.tsv"), encoding: .utf8)
    else { return [] }
    var out: [(String, [String])] = []
    for line in manifest.split(separator: "\n") {
      let columns = line.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
      guard columns.count >= 5, ["docx", "xlsx", "pptx"].contains(columns[1]),
        !columns[0].hasPrefix("corrupt/"), !columns[0].hasPrefix("encrypted/")
      else { continue }
      let words =
        columns[4].split(separator: ";").first { $0.hasPrefix("words=") }
        .map { $0.dropFirst(6).split(separator: "|").map(String.init) } ?? []
      out.append((columns[0], words))
    }
    return out
  }

  /// LibreOffice's text of corpus file `relative`: the txt export (Word), every sheet's CSV cell values
  /// (Excel), pdftotext of the PDF export (PowerPoint); `nil` when absent.
  static func reference(_ relative: String) -> String? {
    let dir = references.appendingPathComponent(relative)
    let name = ((relative as NSString).lastPathComponent as NSString).deletingPathExtension
    let ext = (relative as NSString).pathExtension.lowercased()
    if ext.hasPrefix("xl") {
      guard let files = try? FileManager.default.contentsOfDirectory(atPath: dir.path) else { return nil }
      let sheets = files.filter { $0.hasPrefix(name + "-") && $0.hasSuffix(".csv") }.sorted()
      guard !sheets.isEmpty else { return nil }
      // Cell values only: separators and quotes are not text (the manifest's `chars` counts them out too).
      return sheets.compactMap { try? String(contentsOf: dir.appendingPathComponent($0), encoding: .utf8) }
        .map { csvValues($0).joined(separator: "\n") }.joined(separator: "\n")
    }
    let file = ext.hasPrefix("do") ? name + ".txt" : name + ".pdf.txt"
    return try? String(contentsOf: dir.appendingPathComponent(file), encoding: .utf8)
  }

  /// The values of a CSV text (RFC 4180 quoting).
  static func csvValues(_ text: String) -> [String] {
    var values: [String] = []
    var current = ""
    var quoted = false
    var chars = Array(text)[...]
    while let char = chars.popFirst() {
      if quoted {
        if char == "\"" {
          if chars.first == "\"" {
            current.append("\"")
            chars.removeFirst()
          } else {
            quoted = false
          }
        } else {
          current.append(char)
        }
      } else if char == "\"" {
        quoted = true
      } else if char == "," || char == "\n" || char == "\r\n" || char == "\r" {
        if !current.isEmpty { values.append(current) }
        current = ""
      } else {
        current.append(char)
      }
    }
    if !current.isEmpty { values.append(current) }
    return values
  }

  /// How much of `reference` `ours` recovers: the share of its non-whitespace characters (multiset
  /// overlap, NFC) and the share of its distinctive words (`words`, plus every word of six or more
  /// letters) found verbatim. `scripts/office-coverage.py` computes the same.
  static func coverage(ours: String, reference: String, words: [String]) -> (chars: Double, words: Double, total: Int) {
    let ours = ours.precomposedStringWithCanonicalMapping
    let reference = reference.replacingOccurrences(of: "\u{FEFF}", with: "").precomposedStringWithCanonicalMapping
    var wanted: [Character: Int] = [:]
    var have: [Character: Int] = [:]
    for char in reference where !char.isWhitespace { wanted[char, default: 0] += 1 }
    for char in ours where !char.isWhitespace { have[char, default: 0] += 1 }
    let total = wanted.values.reduce(0, +)
    let got = wanted.reduce(0) { $0 + min($1.value, have[$1.key] ?? 0) }
    var distinctive = Set(words)
    var word = ""
    for char in reference + " " {
      if char.isLetter {
        word.append(char)
      } else {
        if word.count >= 6 { distinctive.insert(word) }
        word = ""
      }
    }
    let found = distinctive.filter { ours.contains($0) }.count
    return (
      total == 0 ? 1 : Double(got) / Double(total), distinctive.isEmpty ? 1 : Double(found) / Double(distinctive.count),
      total
    )
  }
}
