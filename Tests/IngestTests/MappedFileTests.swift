import Foundation
import Testing
import _LongctxTestSupport

@testable import Ingest

@Suite struct MappedFileTests {
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
}
