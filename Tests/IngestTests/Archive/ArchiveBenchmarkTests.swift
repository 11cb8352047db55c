import Foundation
import Testing
import _LongctxTestSupport

@testable import Ingest

/// Ingest of a ZIP of many small text files against `unzip -p`, in one run (BENCHMARKS.md).
/// Runs only with `LONGCTX_ARCHIVE_BENCH=<members>` set; prints its figures.
@Suite struct ArchiveBenchmarkTests {
  static let members = Int(ProcessInfo.processInfo.environment["LONGCTX_ARCHIVE_BENCH"] ?? "") ?? 0

  @Test(.enabled(if: members > 0 && have("unzip"), "set LONGCTX_ARCHIVE_BENCH=<members> to measure"))
  func manySmallFiles() async throws {
    let f = try IngestFixture()
    defer { f.remove() }
    // Distinct texts of about 2 KB (so no member is a duplicate of another), in 20 folders.
    let script = """
      import random, sys, zipfile
      random.seed(1)
      words = [''.join(random.choice('abcdefghijklmnopqrstuvwxyz') for _ in range(random.randint(2, 9)))
               for _ in range(5000)]
      with zipfile.ZipFile('many.zip', 'w', zipfile.ZIP_DEFLATED) as z:
          for i in range(int(sys.argv[1])):
              lines = [f'member {i} line {n}: ' + ' '.join(random.choices(words, k=8)) for n in range(35)]
              z.writestr(f'dir{i % 20}/note-{i}.txt', '\\n'.join(lines) + '\\n')
      """
    try ArchiveFixtures.python(script, [String(Self.members)], in: f.dir.url)
    let zip = f.dir.url.appendingPathComponent("many.zip")

    func time(_ body: () async throws -> Void) async rethrows -> Double {
      let start = ContinuousClock.now
      try await body()
      let d = ContinuousClock.now - start
      return Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
    }
    let unzip = try await time { try ArchiveFixtures.run("unzip -p many.zip > /dev/null", in: f.dir.url) }
    var bytes: Int64 = 0
    let reader = try await time {
      let extraction = try ArchiveFixtures.extract(zip)
      bytes = Int64(extraction.document?.metadata["uncompressedBytes"] ?? "") ?? 0
    }
    var summary = IngestSummary()
    let ingest = try await time { summary = try await f.ingest(["many.zip"]) }
    #expect(summary.files.count == Self.members + 1)
    let mb = Double(bytes) / 1e6
    func row(_ name: String, _ seconds: Double) -> String {
      String(
        format: "| %@ | %.2f s | %.0f members/s | %.1f MB/s |", name, seconds, Double(Self.members) / seconds,
        mb / seconds)
    }
    print(
      """
      archive benchmark: \(Self.members) members, \(String(format: "%.1f", mb)) MB uncompressed, \
      \(try FileManager.default.attributesOfItem(atPath: zip.path)[.size] ?? 0) bytes zipped
      \(row("unzip -p > /dev/null", unzip))
      \(row("ArchiveReader (libarchive, members into memory)", reader))
      \(row("Ingestor.ingest (extract, store, link every member)", ingest))
      ingest / unzip -p: \(String(format: "%.1f", ingest / unzip))x the time
      """)
  }
}
