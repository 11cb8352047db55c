import Foundation
import _LongctxTestSupport

@testable import Ingest

/// Real scans for the OCR tests: OCRmyPDF's test resources (fetched from
/// its PyPI sdist into the set-up cache by `scripts/ocr-testdata.sh`, run
/// once here when they are missing) and the development corpus's scans.
enum OCRTestData {
  /// OCRmyPDF's `tests/resources`, or nil (tests skip with a message).
  static let resources: URL? = {
    let script = RepositoryPaths.root.appendingPathComponent("scripts/ocr-testdata.sh").path
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/bin/bash")
    p.arguments = [script]
    let out = Pipe()
    p.standardOutput = out
    p.standardError = FileHandle.nullDevice
    guard (try? p.run()) != nil else { return nil }
    let data = out.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    let path = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    guard p.terminationStatus == 0, FileManager.default.fileExists(atPath: path + "/linn.txt") else { return nil }
    return URL(fileURLWithPath: path)
  }()

  /// The development corpus's PDFs, or nil.
  static var corpusPDFs: URL? { RepositoryPaths.sharedCorpus?.appendingPathComponent("pdf") }

  /// Whether the `tesseract` command is installed (set-up installs it).
  static var haveCLI: Bool { have("tesseract") }
}

/// Character error rate of `hypothesis` against `reference`: the edit
/// distance between them over the reference's length, after runs of
/// whitespace are made one space (line breaks and column gaps are layout).
func characterErrorRate(_ hypothesis: String, reference: String) -> Double {
  let a = normalizedForCER(hypothesis)
  let b = normalizedForCER(reference)
  guard !b.isEmpty else { return a.isEmpty ? 0 : 1 }
  return Double(editDistance(a, b)) / Double(b.count)
}

func normalizedForCER(_ text: String) -> [Unicode.Scalar] {
  var out: [Unicode.Scalar] = []
  var space = false
  for s in text.unicodeScalars {
    if s.properties.isWhitespace {
      space = !out.isEmpty
      continue
    }
    if space { out.append(" ") }
    space = false
    out.append(s)
  }
  return out
}

/// The share of `reference`'s non-blank characters that `text` has too,
/// counted as multisets: agreement on content whatever the reading order.
func characterOverlap(_ text: String, _ reference: String) -> Double {
  var counts: [Unicode.Scalar: Int] = [:]
  for s in text.unicodeScalars where !s.properties.isWhitespace { counts[s, default: 0] += 1 }
  var shared = 0
  var total = 0
  for s in reference.unicodeScalars where !s.properties.isWhitespace {
    total += 1
    if let n = counts[s], n > 0 {
      shared += 1
      counts[s] = n - 1
    }
  }
  return total == 0 ? 1 : Double(shared) / Double(total)
}

/// Levenshtein distance (insertions, deletions, substitutions), two rows.
func editDistance(_ a: [Unicode.Scalar], _ b: [Unicode.Scalar]) -> Int {
  if a.isEmpty { return b.count }
  if b.isEmpty { return a.count }
  var previous = Array(0...b.count)
  var current = [Int](repeating: 0, count: b.count + 1)
  for i in 1...a.count {
    current[0] = i
    let ai = a[i - 1]
    for j in 1...b.count {
      let cost = ai == b[j - 1] ? 0 : 1
      current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
    }
    swap(&previous, &current)
  }
  return previous[b.count]
}

/// What the `tesseract` command reads in the image file at `path` (default
/// settings, as `pdftoppm | tesseract` pipelines run it).
func tesseractCLI(_ path: String, languages: String = "eng") throws -> String {
  let p = Process()
  p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
  p.arguments = ["tesseract", path, "-", "-l", languages]
  var env = ProcessInfo.processInfo.environment
  env["OMP_THREAD_LIMIT"] = "1"
  p.environment = env
  let out = Pipe()
  p.standardOutput = out
  p.standardError = FileHandle.nullDevice
  try p.run()
  let data = out.fileHandleForReading.readDataToEndOfFile()
  p.waitUntilExit()
  return TesseractEngine.tidy(String(decoding: data, as: UTF8.self))
}
