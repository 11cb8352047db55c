import Foundation
import Testing
import _LongctxTestSupport

@testable import Ingest

/// Damaged archives never trap: each mutation of a ZIP, a `.tar.gz` and a 7z (bytes flipped, cut short)
/// either lists members or throws an `IngestError` naming the file. Runs with `LONGCTX_ARCHIVE_FUZZ=<rounds>`.
@Suite struct ArchiveMutationTests {
  static let rounds = Int(ProcessInfo.processInfo.environment["LONGCTX_ARCHIVE_FUZZ"] ?? "") ?? 0

  @Test(.enabled(if: rounds > 0, "set LONGCTX_ARCHIVE_FUZZ=<rounds> to run"))
  func mutatedArchives() throws {
    let dir = try TemporaryDirectory()
    defer { dir.remove() }
    try dir.write("src/a.txt", String(repeating: "alpha beta gamma\n", count: 300))
    try dir.write("src/sub/b.txt", "short\n")
    try ArchiveFixtures.run(
      "cd src && zip -qr ../a.zip . && tar -czf ../a.tar.gz . && 7z a -bd ../a.7z . >/dev/null", in: dir.url)
    var generator = SystemRandomNumberGenerator()
    var listed = 0
    var refused = 0
    for name in ["a.zip", "a.tar.gz", "a.7z"] {
      let original = [UInt8](try Data(contentsOf: dir.url.appendingPathComponent(name)))
      for round in 0..<Self.rounds {
        var bytes = original
        for _ in 0..<Int.random(in: 1...8, using: &generator) {
          bytes[Int.random(in: 0..<bytes.count, using: &generator)] = UInt8.random(in: 0...255, using: &generator)
        }
        if round % 3 == 0 { bytes = Array(bytes.prefix(Int.random(in: 0..<bytes.count, using: &generator))) }
        let url = dir.url.appendingPathComponent("m-\(name)")
        try Data(bytes).write(to: url)
        do {
          let extraction = try ArchiveFixtures.extract(url)
          #expect(extraction.document?.kind == .archive)
          listed += 1
        } catch let error as IngestError {
          #expect(error.errorDescription?.contains("m-\(name)") == true)
          refused += 1
        }
      }
    }
    print("mutated archives: \(listed) listed, \(refused) refused")
  }
}
