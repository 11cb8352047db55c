import Foundation
import Testing
import _LongctxTestSupport

@testable import Ingest

/// Archives made in the tests (with python3, `tar`, `zip`, `7z`), and the shared office corpus's ZIP.
enum ArchiveFixtures {
  static let officeCorpus = RepositoryPaths.root.deletingLastPathComponent().appendingPathComponent(
    "shared/corpus/office")
  static let officeReference = RepositoryPaths.root.deletingLastPathComponent().appendingPathComponent(
    "shared/corpus/office-reference")
  static var corpusIsPresent: Bool { FileManager.default.fileExists(atPath: officeCorpus.path) }
  static let corpusSkipReason: Comment = "the shared office corpus (../shared/corpus/office) is absent"

  /// Extracts `url` with the archive extractor, cited as `display`.
  static func extract(
    _ url: URL, display: String? = nil, passwords: [String] = [], limits: ArchiveLimits = .standard
  ) throws -> Extraction {
    var options = IngestOptions(base: url.deletingLastPathComponent())
    options.passwords = passwords
    let input = ExtractionInput(path: url.path, displayPath: display ?? url.lastPathComponent, options: options)
    return try ArchiveExtractor(limits: limits).extract(input)
  }

  /// The listing's lines, in order.
  static func lines(_ extraction: Extraction) -> [String] {
    (extraction.document?.sections ?? []).flatMap { $0.text.split(separator: "\n").map(String.init) }
  }

  /// The child cited `#member=<path>`.
  static func child(_ extraction: Extraction, _ path: String) -> ChildFile? {
    extraction.children.first { $0.suffix == "#member=\(path)" }
  }

  /// Runs `command` through `/bin/sh` in `dir`; fails the test on a non-zero exit.
  static func run(_ command: String, in dir: URL) throws {
    let status = try shell(command, in: dir)
    try #require(status == 0, "`\(command)` exited \(status)")
  }

  /// Runs python3 `script` with `args` in `dir`; fails the test on a non-zero exit.
  static func python(_ script: String, _ args: [String] = [], in dir: URL) throws {
    let status = try Python.run(script, args, cwd: dir).status
    try #require(status == 0, "python3 exited \(status)")
  }

  /// Writes a ZIP of the given members (name, bytes) with python's zipfile, deflated.
  static func zip(_ name: String, _ members: [(String, String)], in dir: URL) throws -> URL {
    let script = """
      import sys, zipfile
      with zipfile.ZipFile(sys.argv[1], 'w', zipfile.ZIP_DEFLATED) as z:
          for i in range(2, len(sys.argv), 2):
              z.writestr(sys.argv[i], sys.argv[i + 1])
      """
    try python(script, [name] + members.flatMap { [$0.0, $0.1] }, in: dir)
    return dir.appendingPathComponent(name)
  }

  /// Writes `bomb.zip`: `first.txt`, `zeros.bin` (`mib` MiB of zeros deflated about 1,000:1, written
  /// as repeated full-flush deflate segments so that it takes a second, not a minute), `after.txt`.
  static func bomb(mib: Int, in dir: URL) throws -> URL {
    let script = """
      import struct, sys, zlib
      def zeros(mib):
          c = zlib.compressobj(9, zlib.DEFLATED, -15)
          segment = c.compress(bytes(1 << 20)) + c.flush(zlib.Z_FULL_FLUSH)
          end = zlib.compressobj(9, zlib.DEFLATED, -15).flush()
          crc, block = 0, bytes(1 << 20)
          for _ in range(mib):
              crc = zlib.crc32(block, crc)
          return segment * mib + end, crc
      def stored(name, text):
          data = text.encode()
          return name.encode(), data, 0, zlib.crc32(data), len(data)
      mib = int(sys.argv[2])
      data, crc = zeros(mib)
      members = [stored('first.txt', 'before the bomb\\n'), (b'zeros.bin', data, 8, crc, mib << 20),
                 stored('after.txt', 'after the bomb\\n')]
      out, central = bytearray(), bytearray()
      for name, data, method, crc, size in members:
          offset = len(out)
          out += struct.pack('<IHHHHHIIIHH', 0x04034b50, 20, 0, method, 0, 0x21, crc, len(data), size,
                             len(name), 0) + name + data
          central += struct.pack('<IHHHHHHIIIHHHHHII', 0x02014b50, 20, 20, 0, method, 0, 0x21, crc, len(data),
                                 size, len(name), 0, 0, 0, 0, 0, offset) + name
      out += central + struct.pack('<IHHHHIIH', 0x06054b50, 0, 0, 3, 3, len(central), len(out), 0)
      open(sys.argv[1], 'wb').write(out)
      """
    try python(script, ["bomb.zip", String(mib)], in: dir)
    return dir.appendingPathComponent("bomb.zip")
  }
}
