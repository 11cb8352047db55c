import Foundation
import Testing
import _LongctxTestSupport

@testable import Ingest

@Suite struct LogExtractorTests {
  @Test func rotatedSetIsOrderedOldestFirst() throws {
    let names = ["logs/app.log", "logs/app.log.1", "logs/app.log.2.gz"]
    let sorted = names.sorted { Discovery.orderKey($0) < Discovery.orderKey($1) }
    #expect(sorted == ["logs/app.log.2.gz", "logs/app.log.1", "logs/app.log"])
    let found = try Discovery.discover(inputs: ["logs"], base: RepositoryPaths.samples)
    #expect(found.map(\.displayPath) == ["logs/app.log.2.gz", "logs/app.log.1", "logs/app.log"])
    #expect(found.allSatisfy { $0.kind == .log })
  }

  @Test(arguments: ["app.log", "app.log.1", "app.log.2.gz"])
  func lineLocatorsMatchTheFile(name: String) throws {
    let path = RepositoryPaths.samples.appendingPathComponent("logs/\(name)").path
    let doc = try LogExtractor().extract(path: path, displayPath: "logs/\(name)")
    let raw = String(decoding: try Decompression.read(path: path), as: UTF8.self)
    let fileLines = raw.split(separator: "\n", omittingEmptySubsequences: false).dropLast()
    var next = 1
    for section in doc.sections {
      let start = try #require(section.locator.lineStart)
      let end = try #require(section.locator.lineEnd)
      #expect(start == next)
      #expect(section.text == fileLines[(start - 1)...(end - 1)].joined(separator: "\n"))
      next = end + 1
    }
    #expect(next - 1 == fileLines.count)
    if name.hasSuffix(".gz") { #expect(doc.metadata["compression"] == "gzip") }
  }

  @Test func stackTraceStaysInOneSection() throws {
    let path = RepositoryPaths.samples.appendingPathComponent("logs/app.log.1").path
    for maxLines in [40, 8] {
      let doc = try LogExtractor(maxLines: maxLines).extract(path: path, displayPath: "app.log.1")
      let section = try #require(doc.sections.first { $0.text.contains("SQLTransientConnectionException") })
      #expect(section.text.contains("2026-03-09T02:54:06Z ERROR"))
      #expect(section.text.contains("Caused by: java.net.SocketTimeoutException"))
      #expect(section.severity == "ERROR")
      let start = try #require(section.locator.lineStart)
      let end = try #require(section.locator.lineEnd)
      #expect(start <= 36 && end >= 41)
    }
  }

  @Test func invalidUTF8IsReplacedAndCounted() {
    var data = Data("ok line\nbad ".utf8)
    data.append(contentsOf: [0xFF, 0xFE])
    data.append(Data(" bytes\nkept \u{FFFD} already\n".utf8))
    let text = TextLines(data)
    #expect(text.lines.count == 3)
    #expect(text.lines[1].contains("\u{FFFD}"))
    #expect(text.invalidBytes == 2)
    #expect(text.warnings.contains("2 invalid UTF-8 sequences replaced"))
  }

  @Test func overlongLinesAreCut() {
    let long = String(repeating: "x", count: 5000)
    let text = TextLines(Data("short\n\(long)\nend\n".utf8), maxLineBytes: 1000)
    #expect(text.lines.count == 3)
    #expect(text.lines[1].utf8.count == 1000)
    #expect(text.cutLines == 1)
    #expect(text.warnings == ["1 overlong lines cut"])
  }

  @Test(arguments: ["gzip -c", "zstd -q -c"])
  func decompressionBombIsStopped(compressor: String) throws {
    let tool = String(compressor.split(separator: " ")[0])
    guard have(tool) else { return }
    let dir = try TemporaryDirectory()
    defer { dir.remove() }
    let ext = tool == "gzip" ? "gz" : "zst"
    let path = dir.url.appendingPathComponent("bomb.log.\(ext)").path
    try #require(try shell("head -c 100000000 /dev/zero | \(compressor) > '\(path)'") == 0)
    let size = try #require(try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int)
    #expect(size < 1_000_000)
    #expect(throws: IngestError.decompressionBomb(path: path, limit: 1 << 20)) {
      try Decompression.read(path: path, limit: 1 << 20)
    }
    // The default bound is 200× the compressed size: still far below 100 MB.
    #expect(throws: IngestError.self) { try LogExtractor().extract(path: path, displayPath: "bomb") }
  }
}
