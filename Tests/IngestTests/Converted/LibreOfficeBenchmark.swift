import Foundation
import Testing
import _LongctxTestSupport

@testable import Ingest

/// Files per second on the corpus's legacy office files: the warm converter
/// (`ConvertedOfficeExtractor`) against one `soffice --headless --convert-to`
/// per file, in one run. Only with `LONGCTX_BENCH_LIBREOFFICE=1` (it takes a minute):
/// `LONGCTX_BENCH_LIBREOFFICE=1 swift test --skip-build --filter LibreOfficeBenchmark`.
@Suite struct LibreOfficeBenchmark {
  static let enabled =
    ProcessInfo.processInfo.environment["LONGCTX_BENCH_LIBREOFFICE"] == "1" && ConvertedCorpus.isUsable

  @Test(
    "warm converter vs one soffice per file",
    .enabled(if: enabled, "set LONGCTX_BENCH_LIBREOFFICE=1 (needs the office corpus and soffice)"))
  func filesPerSecond() throws {
    let files = ConvertedCorpus.legacyFiles.map(ConvertedCorpus.path)
    let dir = try TemporaryDirectory()
    defer { dir.remove() }
    let tiny = dir.url.appendingPathComponent("tiny.rtf")
    try Data(#"{\rtf1\ansi hello world}"#.utf8).write(to: tiny)
    let soffice = try #require(LibreOfficeEnvironment.soffice)

    // One soffice per file, with a private profile made beforehand (as a worker's would be).
    let profile = "file://" + dir.url.appendingPathComponent("profile").path
    func cli(_ path: String) throws -> Double {
      let ext = (path as NSString).pathExtension.lowercased()
      let target = ["xls": "csv", "ods": "csv", "ppt": "pdf", "odp": "pdf"][ext] ?? "txt:Text"
      let out = dir.url.appendingPathComponent("cli-\(UUID().uuidString)")
      let start = Date()
      let process = Process()
      process.executableURL = URL(fileURLWithPath: soffice)
      process.arguments = [
        "-env:UserInstallation=" + profile, "--headless", "--norestore", "--convert-to", target, "--outdir", out.path,
        path,
      ]
      process.standardOutput = FileHandle.nullDevice
      process.standardError = FileHandle.nullDevice
      try process.run()
      process.waitUntilExit()
      let seconds = Date().timeIntervalSince(start)
      let written = (try? FileManager.default.contentsOfDirectory(atPath: out.path)) ?? []
      #expect(!written.isEmpty, "soffice --convert-to wrote nothing for \(path)")
      return seconds
    }
    let profileStart = try cli(tiny.path)
    let cliTiny = try cli(tiny.path)
    var cliTotal = 0.0
    for file in files { cliTotal += try cli(file) }

    // The warm converter: started once, then every file through the extractor.
    let converter = LibreOfficeConverter()
    let extractor = ConvertedOfficeExtractor(converter: converter)
    func warm(_ path: String) throws -> Double {
      let start = Date()
      let input = ExtractionInput(path: path, displayPath: path, options: IngestOptions(base: dir.url))
      let document = try #require(try extractor.extract(input).document)
      #expect(!document.sections.isEmpty, "\(path)")
      return Date().timeIntervalSince(start)
    }
    let firstTiny = try warm(tiny.path)
    let warmTiny = try warm(tiny.path)
    var warmTotal = 0.0
    for file in files { warmTotal += try warm(file) }
    converter.stop()

    let n = Double(files.count)
    let line = String(
      format: "LibreOffice on %d legacy files: one soffice per file %.2f s (%.2f files/s); warm %.2f s (%.2f files/s);"
        + " ratio %.1fx. Tiny RTF: soffice per file %.2f s (%.2f s with a new profile), warm %.3f s;"
        + " warm start (driver + soffice + first file) %.2f s; per-file startup cost ≈ %.2f s.",
      files.count, cliTotal, n / cliTotal, warmTotal, n / warmTotal, cliTotal / warmTotal, cliTiny, profileStart,
      warmTiny, firstTiny, cliTiny - warmTiny)
    print(line)
    #expect(cliTotal / warmTotal >= 3)
  }
}
