import Foundation
import Testing
import _LongctxTestSupport

/// A log or code ingest never loads the heavy C libraries (issue 32, item 3): the dynamic loader's own record
/// (`LD_DEBUG=files`) of the real CLI and its isolated extraction children names none of them, while a text PDF
/// ingest loads poppler-glib on first use and not Tesseract.
@Suite struct LazyLibrariesCLITests {
  static let heavy = [
    "libpoppler", "libcairo", "libtesseract", "liblept", "libllama", "libggml", "libcurl", "libarchive",
  ]

  /// The libraries the dynamic loader opened in `longctx ingest INPUT` and its children.
  func loaded(ingesting files: [String: String], copying samples: [String] = []) throws -> (Set<String>, Int) {
    let tmp = try TemporaryDirectory()
    defer { tmp.remove() }
    try FileManager.default.createDirectory(at: tmp.url.appendingPathComponent("in"), withIntermediateDirectories: true)
    for (name, text) in files { _ = try tmp.write("in/\(name)", text) }
    for sample in samples {
      try FileManager.default.copyItem(
        at: RepositoryPaths.samples.appendingPathComponent(sample),
        to: tmp.url.appendingPathComponent("in/" + URL(fileURLWithPath: sample).lastPathComponent))
    }
    let logs = tmp.url.appendingPathComponent("ld")
    try FileManager.default.createDirectory(at: logs, withIntermediateDirectories: true)
    let r = try CLI.run(
      ["ingest", "in", "--workspace", tmp.url.appendingPathComponent("ws").path], cwd: tmp.url,
      environment: ["LD_DEBUG": "files", "LD_DEBUG_OUTPUT": logs.appendingPathComponent("ld").path])
    #expect(r.code == 0, "\(r.stderr)")
    var names = Set<String>()
    let outputs = try FileManager.default.contentsOfDirectory(atPath: logs.path)
    for output in outputs {
      let text = try String(contentsOf: logs.appendingPathComponent(output), encoding: .utf8)
      for line in text.split(separator: "\n") {
        guard let range = line.range(of: "file=") else { continue }
        let file = line[range.upperBound...].prefix { $0 != " " && $0 != "\t" && $0 != ";" }
        names.insert(URL(fileURLWithPath: String(file)).lastPathComponent)
      }
    }
    return (names, outputs.count)
  }

  @Test func aLogAndCodeIngestLoadsNoneOfTheHeavyLibraries() throws {
    #if os(Linux) && (arch(x86_64) || arch(arm64))
      let (names, processes) = try loaded(ingesting: [
        "app.log": "2026-03-09T02:54:01Z INFO started\n2026-03-09T02:54:02Z ERROR failed to connect\n",
        "main.swift": "func main() -> Int { 42 }\n",
        "notes.txt": "a plain note\n",
      ])
      // The CLI and at least one extraction child.
      #expect(processes >= 2)
      #expect(names.contains { $0.hasPrefix("libsqlite3") })
      let heavy = names.filter { name in Self.heavy.contains { name.hasPrefix($0) } }
      #expect(heavy.isEmpty, "loaded: \(heavy.sorted())")
    #endif
  }

  @Test func aPDFIngestLoadsPopplerOnFirstUse() throws {
    #if os(Linux) && (arch(x86_64) || arch(arm64))
      let (names, _) = try loaded(ingesting: [:], copying: ["pdfs/memo.pdf"])
      #expect(names.contains { $0.hasPrefix("libpoppler-glib") })
      // A text PDF needs no OCR: Tesseract and leptonica stay unloaded (its stamp names no engine), and so do
      // libcurl and libarchive, which Debian's libtesseract links; llama.cpp too.
      let unexpected = names.filter { name in
        ["libtesseract", "liblept", "libcurl", "libarchive", "libllama", "libggml"].contains { name.hasPrefix($0) }
      }
      #expect(unexpected.isEmpty, "loaded: \(unexpected.sorted())")
    #endif
  }
}
