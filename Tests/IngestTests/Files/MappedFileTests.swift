import Foundation
import Testing
import _LongctxTestSupport

@testable import Ingest

@Suite struct MappedFileTests {
  init() { MappedFileGuard.install() }

  private func withFile(size: Int, _ body: (URL, Int32) throws -> Void) throws {
    let dir = try TemporaryDirectory()
    defer { dir.remove() }
    let url = dir.url.appendingPathComponent("big.log")
    try Data(repeating: UInt8(ascii: "x"), count: size).write(to: url)
    let fd = open(url.path, O_RDONLY)
    try #require(fd >= 0)
    defer { close(fd) }
    try body(url, fd)
  }

  @Test func mapsTheBytes() throws {
    try withFile(size: 3 << 20) { _, fd in
      let mapping = try #require(MappedFile(fd: fd, size: 3 << 20))
      #expect(mapping.bytes.count == 3 << 20)
      #expect(mapping.bytes.allSatisfy { $0 == UInt8(ascii: "x") })
      #expect(!mapping.truncated)
    }
  }

  /// A file truncated while mapped (log rotation by `copytruncate`): the
  /// pages past its new end read as zeros instead of killing the process
  /// with SIGBUS, and the mapping says so.
  @Test func truncationWhileMappedIsSurvivedAndReported() throws {
    try withFile(size: 3 << 20) { url, fd in
      let mapping = try #require(MappedFile(fd: fd, size: 3 << 20))
      #expect(truncate(url.path, 10_000) == 0)
      var sum = 0
      for i in stride(from: 0, to: mapping.bytes.count, by: 4096) { sum += Int(mapping.bytes[i]) }
      #expect(mapping.truncated)
      #expect(mapping.bytes[0] == UInt8(ascii: "x"))
      #expect(mapping.bytes[(3 << 20) - 1] == 0)
      #expect(sum > 0)
    }
  }

  /// Ingest reads a large log through the mapping and stores what a read gives.
  @Test func largeLogIsReadMapped() throws {
    let dir = try TemporaryDirectory()
    defer { dir.remove() }
    let url = dir.url.appendingPathComponent("big.log")
    let line = "2026-03-09T02:10:01Z INFO svc processed batch 12345 in 12 ms\n"
    try Data(String(repeating: line, count: (9 << 20) / line.utf8.count).utf8).write(to: url)
    let (data, mapping) = try Decompression.readMapped(path: url.path)
    #expect(mapping != nil)
    #expect(data == (try Data(contentsOf: url)))
    #expect(mapping?.truncated == false)
  }

  /// A large log goes the whole fast way (mapped, hashed while extracted,
  /// JSON compressed piece by piece) and reads back as the reference pass's
  /// sections; an exact copy under another name is stored once.
  @Test func largeLogIngestsLikeTheReference() async throws {
    let fixture = try IngestFixture()
    defer { fixture.dir.remove() }
    var text = ""
    for i in 0..<170_000 {
      text += "2026-03-09T02:\(String(format: "%02d", i / 60 % 60)):\(String(format: "%02d", i % 60))Z "
      text +=
        i % 9 == 0
        ? "ERROR svc failed batch \(i)\n    at com.example.Job.run(Job.java:\(i))\n" : "INFO svc batch \(i) ok\n"
    }
    let data = Data(text.utf8)
    #expect(data.count > 8 << 20)
    try data.write(to: fixture.dir.url.appendingPathComponent("big.log"))
    try data.write(to: fixture.dir.url.appendingPathComponent("copy.log"))
    let summary = try await fixture.ingest(["big.log", "copy.log"])
    #expect(summary.failed == 0)
    #expect(Set(summary.files.map(\.documentHash)).count == 1)
    #expect(try fixture.documentCount() == 1)
    let hash = try #require(summary.files.first?.documentHash)
    let stored = try Corpus(workspace: fixture.workspace).sections(ofDocument: hash, displayPath: "big.log")
    let reference = LogExtractor().extractReference(data: data, path: "big.log", displayPath: "big.log")
    #expect(stored == reference.sections)
  }
}
