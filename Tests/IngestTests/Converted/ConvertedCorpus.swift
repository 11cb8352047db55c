import Foundation
import Synchronization
import Testing
import _LongctxTestSupport

@testable import Ingest

/// The shared office corpus (`../shared/corpus/office`, beside the work tree)
/// and its reference text (`office-reference`): tests that read them are
/// skipped where they are absent, or where LibreOffice is not installed.
enum ConvertedCorpus {
  static let shared = RepositoryPaths.root.deletingLastPathComponent().appendingPathComponent("shared/corpus")
  static let root = shared.appendingPathComponent("office")
  static let reference = shared.appendingPathComponent("office-reference")

  static var isPresent: Bool { FileManager.default.fileExists(atPath: root.path) }
  /// Whether the corpus tests can run: the corpus is here and soffice is installed.
  static var isUsable: Bool { isPresent && LibreOfficeConverter.isInstalled }
  static let skipReason: Comment =
    "needs the shared office corpus (../shared/corpus/office) and LibreOffice (soffice, python3-uno)"

  /// The legacy files LibreOffice converts: every .doc, .xls, .ppt, .odt, .ods, .odp and .rtf
  /// in word, excel, powerpoint, opendocument and rtf, relative to `root`.
  static let legacyFiles: [String] = {
    let extensions: Set<String> = ["doc", "xls", "ppt", "odt", "ods", "odp", "rtf"]
    var out: [String] = []
    for folder in ["word", "excel", "powerpoint", "opendocument", "rtf"] {
      let names = (try? FileManager.default.contentsOfDirectory(atPath: root.appendingPathComponent(folder).path)) ?? []
      for name in names where extensions.contains((name as NSString).pathExtension.lowercased()) {
        out.append("\(folder)/\(name)")
      }
    }
    return out.sorted()
  }()

  static func path(_ relative: String) -> String { root.appendingPathComponent(relative).path }

  /// The reference text of `relative`: LibreOffice's text export, else all cell values, else the PDF's text.
  static func referenceText(_ relative: String) -> String? {
    let folder = reference.appendingPathComponent(relative)
    let stem = ((relative as NSString).lastPathComponent as NSString).deletingPathExtension
    for suffix in [".txt", ".cells.txt", ".pdf.txt"] {
      if let data = FileManager.default.contents(atPath: folder.appendingPathComponent(stem + suffix).path) {
        return String(decoding: data, as: UTF8.self)
      }
    }
    return nil
  }

  /// The manifest's `words=` for `relative` (words a correct extractor outputs).
  static func manifestWords(_ relative: String) -> [String] {
    guard let data = FileManager.default.contents(atPath: root.appendingPathComponent("manifest.tsv").path) else {
      return []
    }
    for line in String(decoding: data, as: UTF8.self).split(separator: "\n") {
      let columns = line.split(separator: "\t", omittingEmptySubsequences: false)
      guard columns.count >= 5, columns[0] == relative else { continue }
      for token in columns[4].split(separator: ";") where token.hasPrefix("words=") {
        return token.dropFirst(6).split(separator: "|").map(String.init)
      }
    }
    return []
  }

  /// Words of 6 or more letters (NFC), as the manifest picks its distinctive words.
  static func distinctiveWords(_ text: String) -> Set<String> {
    var words = Set<String>()
    var current = ""
    for character in text.precomposedStringWithCanonicalMapping {
      if character.isLetter {
        current.append(character)
      } else {
        if current.count >= 6 { words.insert(current) }
        current = ""
      }
    }
    if current.count >= 6 { words.insert(current) }
    return words
  }

  /// Each corpus file extracted once per test run (through the process's warm soffice), shared by the tests.
  static func extraction(_ relative: String, passwords: [String] = []) -> Result<Extraction, IngestError> {
    let key = relative + "\u{0}" + passwords.joined(separator: "\u{0}")
    if let done = cache.withLock({ $0[key] }) { return done }
    var options = IngestOptions(base: root)
    options.passwords = passwords
    let input = ExtractionInput(
      path: path(relative), displayPath: (relative as NSString).lastPathComponent, options: options)
    let result: Result<Extraction, IngestError>
    do {
      result = .success(try ConvertedOfficeExtractor().extract(input))
    } catch let error as IngestError {
      result = .failure(error)
    } catch {
      result = .failure(.unreadable(path: relative, reason: "\(error)"))
    }
    cache.withLock { $0[key] = result }
    return result
  }

  private static let cache = Mutex<[String: Result<Extraction, IngestError>]>([:])
}
