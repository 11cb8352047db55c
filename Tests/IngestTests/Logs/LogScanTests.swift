import Foundation
import Storage
import Testing
import _LongctxTestSupport

@testable import Ingest

/// The byte-level, multi-core log pass must make exactly the reference pass's document.
@Suite struct LogScanTests {
  /// Runs both passes over `text` and returns (byte pass, reference) documents and the byte pass's JSON.
  private func both(
    _ data: Data, parallelism: Int, maxLines: Int = 40, maxBytes: Int = 4096, redact: Bool = true
  ) throws -> (LogScan.Output, ExtractedDocument) {
    var scan = LogScan(
      maxLines: maxLines, maxBytes: maxBytes, syslogYear: 2026, redact: redact, parallelism: parallelism)
    scan.wantSections = true
    let out = try scan.run(data, displayPath: "t.log")
    let extractor = LogExtractor(maxLines: maxLines, maxBytes: maxBytes, syslogYear: 2026, redact: redact)
    let reference = extractor.extractReference(data: data, path: "t.log", displayPath: "t.log")
    return (out, reference)
  }

  private func expectSame(_ out: LogScan.Output, _ reference: ExtractedDocument) throws {
    #expect(out.sections == reference.sections)
    #expect(out.json == SectionsCodec.encode(reference.sections))
    #expect(out.sectionCount == reference.sections.count)
    #expect(out.charCount == reference.sections.reduce(0) { $0 + $1.text.count })
    #expect(String(out.lineCount) == reference.metadata["lines"])
    let warnings = (out.cutLines > 0 ? ["\(out.cutLines) overlong lines cut"] : []) + out.redactor.warnings
    #expect(warnings == reference.warnings)
    let decoded = try JSONDecoder().decode([Section].self, from: out.json)
    #expect(decoded == reference.sections)
  }

  /// A log of `events` events, every seventh an ERROR with a 4-line stack trace.
  private func syntheticLog(events: Int) -> String {
    var s = ""
    for i in 0..<events {
      let level = ["INFO", "DEBUG", "WARN", "INFO", "WARNING", "INFO", "ERROR"][i % 7]
      s +=
        "2026-03-09T02:\(String(format: "%02d", i / 60 % 60)):\(String(format: "%02d", i % 60))Z \(level) svc processed batch \(i)\n"
      if level == "ERROR" {
        s += "java.sql.SQLTransientConnectionException: pool exhausted\n"
        s += "    at com.example.Pool.get(Pool.java:\(i))\n"
        s += "Caused by: java.net.SocketTimeoutException: Read timed out\n"
        s += "\t... 12 more\n"
      }
    }
    return s
  }

  @Test(arguments: [1, 2, 3, 7])
  func sampleLogsMatchTheReference(parallelism: Int) throws {
    for name in ["app.log", "app.log.1", "app.log.2.gz"] {
      let data = try Decompression.read(path: RepositoryPaths.samples.appendingPathComponent("logs/\(name)").path)
      let (out, reference) = try both(data, parallelism: parallelism)
      try expectSame(out, reference)
    }
  }

  /// Over 1 MiB, so the file is split into chunks; with maxLines 3 many
  /// stack traces straddle section and chunk borders.
  @Test(arguments: [(2, 40), (3, 3), (5, 8)])
  func chunkedFileMatchesTheReference(parallelism: Int, maxLines: Int) throws {
    let data = Data(syntheticLog(events: 20_000).utf8)
    #expect(data.count > 1 << 20)
    let (out, reference) = try both(data, parallelism: parallelism, maxLines: maxLines)
    try expectSame(out, reference)
    #expect(out.severities["ERROR"] != nil)
  }

  /// Overlong lines in a file split into chunks: every cut is counted (the
  /// count was lost when the chunks were joined).
  @Test func overlongLinesInChunksAreCounted() throws {
    let long = String(repeating: "z", count: 70_000)
    let text =
      syntheticLog(events: 10_000) + "2026-03-09T09:00:00Z INFO \(long)\n" + syntheticLog(events: 10_000)
      + "2026-03-09T09:00:01Z WARN \(long)\n"
    #expect(text.utf8.count > 1 << 20)  // split into chunks
    let (out, reference) = try both(Data(text.utf8), parallelism: 2)
    #expect(out.cutLines == 2)
    try expectSame(out, reference)
  }

  /// With `blobLevel` the JSON is compressed and hashed piece by piece, and
  /// the blob holds exactly the JSON of the plain pass, whitespace-only
  /// pieces (nothing to separate) included.
  @Test(arguments: [1, 2, 3])
  func blobModeStoresTheSameJSON(parallelism: Int) throws {
    let blank = String(repeating: "   \n", count: 30_000)
    let data = Data((syntheticLog(events: 15_000) + blank + syntheticLog(events: 200) + blank).utf8)
    var scan = LogScan(maxLines: 40, maxBytes: 4096, syslogYear: 2026, redact: true, parallelism: parallelism)
    let plain = try scan.run(data, displayPath: "t.log")
    scan.blobLevel = 1
    scan.pieceBytes = 16 << 10
    let out = try scan.run(data, displayPath: "t.log")
    let blob = try #require(out.blob)
    #expect(out.json.isEmpty)
    #expect(blob.frames.count > 10)
    #expect(blob.hash == Hashing.sha256(plain.json))
    #expect(out.sectionCount == plain.sectionCount && out.charCount == plain.charCount)
    // Stored, the frames read back as one stream with the same name.
    let fixture = try IngestFixture()
    defer { fixture.dir.remove() }
    #expect(try fixture.workspace.blobs.put(blob) == blob.hash)
    #expect(try fixture.workspace.blobs.get(blob.hash) == plain.json)

    // Invalid UTF-8 in one piece still sends the whole file to the reference pass.
    var bad = data
    bad.replaceSubrange(bad.count / 2..<(bad.count / 2 + 2), with: [0xFF, 0xFE])
    #expect(throws: LogScan.NeedsReference.self) { try scan.run(bad, displayPath: "t.log") }
  }

  /// A multi-line event placed exactly across the chunk border stays in one section.
  @Test func eventAcrossTheChunkBorderIsJoined() throws {
    var text = syntheticLog(events: 12_000)
    let half = text.utf8.count / 2
    // Cut at the first newline after the middle (where the pass splits), then
    // put a stack trace's continuation lines right after it.
    let index = text.utf8.index(text.utf8.startIndex, offsetBy: half)
    let newline = try #require(text[index...].firstIndex(of: "\n"))
    let border = text.index(after: newline)
    text.insert(
      contentsOf: "    at straddling.Frame.one(Border.java:1)\n    at straddling.Frame.two(Border.java:2)\n",
      at: border)
    let data = Data(text.utf8)
    let (out, reference) = try both(data, parallelism: 2)
    try expectSame(out, reference)
    let section = try #require(out.sections.first { $0.text.contains("Border.java:1") })
    #expect(section.text.contains("Border.java:2"))
    #expect(!section.text.hasPrefix("    at straddling"))  // the event's first line is in the same section
  }

  @Test func edgeCasesMatchTheReference() throws {
    let long = String(repeating: "y", count: 70_000)
    let inputs: [String] = [
      "", "\n", "\n\n", "one line without newline", "a\r\nb\r\n\r\n", "   \n\t\n", "x\r\r\ny\n",
      "2026-03-09T02:54:06Z INFO ok\n\(long)\nend\n",
      "Mär  9 02:10:01 host x\nmAR  9 02:10:01 host\nCaused by: é\nCaused by:\u{301} x\n...\u{301}\n",
      "{\"level\":\"warn\",\"time\":\"2026-03-09T02:54:06Z\",\"msg\":\"x\"}\n{\u{301}\n{not json ERROR\n",
      "\u{00A0}\u{2003}\n\u{00A0}\n", "ünïcödé INFO line\n  континуация\n",
      "password = \"hunter2-Zq9xK3vLp0\"\nAKIAABCDEFGHIJKLMNOP here\ntoken: short\n",
      "Mar  9 02:10:01 host sshd[1]: Accepted\n1773000000 epoch line\n1773000000123 ms line\n[10/Oct/2025:13:55:36 -0700] GET /\n",
      "trace\r\n\tat x\r\nTraceback (most recent call last):\n  File \"x\"\nValueError: bad\n",
    ]
    for text in inputs {
      for parallelism in [1, 2] {
        let (out, reference) = try both(Data(text.utf8), parallelism: parallelism, maxLines: 3, maxBytes: 60)
        try expectSame(out, reference)
      }
    }
  }

  /// The pre-filter with its two-byte bitmap finds what a plain scan for every trigger finds.
  @Test func secretPrefilterMatchesANaiveScan() {
    let triggers = Redactor.triggers.map { (String(decoding: $0.needle, as: UTF8.self), $0.rule) }
    func naive(_ text: String) -> Int {
      let folded = String(decoding: text.utf8.map { $0 | 0x20 }, as: UTF8.self)
      return triggers.reduce(0) { mask, t in
        folded.contains(String(decoding: t.0.utf8.map { $0 | 0x20 }, as: UTF8.self)) ? mask | 1 << t.1 : mask
      }
    }
    var rng = SystemRandomNumberGenerator()
    let pieces = [
      "a", "s", "ak", "as", "AKIA", "Asia", "x", "xo", "XOX", "pw", "PWD", "to", "tok", "TOKEN", "api", "_key",
      "-key", "gh", "ghp_", "github_", "pat_", "-----", "BEGIN", " ", "\n", "secre", "t", "private", "access", "é",
      "AIza",
      "ai", "sk_", "live_", "rk", "glpat-", "gl", "npm_", "np", "eyJ", "ey", "pypi-", "py",
    ]
    for _ in 0..<2000 {
      let text = (0..<Int.random(in: 0...40, using: &rng)).map { _ in pieces.randomElement(using: &rng) ?? "" }.joined()
      #expect(Redactor.candidateRules(text) == naive(text), "\(text)")
    }
  }

  /// `SWAR.hasBetween` against a byte-by-byte test, every byte value in every lane.
  @Test func swarHasBetweenIsExact() {
    for (m, n) in [(UInt8(0x40), UInt8(0x5B)), (0x1F, 0x80), (0, 0x20)] {
      // Filler bytes outside the range, so only `b` can make the answer true.
      for filler: UInt8 in [0x00, 0x61, 0x7F, 0x80, 0xFF] where !(filler > m && filler < n) {
        for b in 0...255 {
          for lane in 0..<8 {
            var x: UInt64 = 0
            for i in 0..<8 { x |= UInt64(i == lane ? UInt8(b) : filler) << (8 * i) }
            let expected = UInt8(b) > m && UInt8(b) < n
            #expect(SWAR.hasBetween(x, m, n) == expected, "m \(m) n \(n) byte \(b) lane \(lane) filler \(filler)")
          }
        }
      }
    }
  }

  /// `SWAR.capitals` and `gatherHighBits` against a per-byte test, every byte value in every lane.
  @Test func swarCapitalsIsExact() {
    for filler: UInt8 in [0x00, 0x40, 0x5B, 0x61, 0xC1, 0xFF] {
      for b in 0...255 {
        for lane in 0..<8 {
          var x: UInt64 = 0
          for i in 0..<8 { x |= UInt64(i == lane ? UInt8(b) : filler) << (8 * i) }
          let expected: UInt64 = b >= 0x41 && b <= 0x5A ? 1 << lane : 0
          #expect(SWAR.gatherHighBits(SWAR.capitals(x)) == expected, "byte \(b) lane \(lane) filler \(filler)")
        }
      }
    }
  }

  /// The severity scan over a bitmap of capitals finds what a byte-by-byte scan finds.
  @Test func severitySkipMatchesAByteScan() {
    func naive(_ line: [UInt8]) -> Int? {
      var best = -1
      var run: [UInt8] = []
      for b in line.prefix(120) + [0x20] {
        if b >= 0x41 && b <= 0x5A {
          run.append(b)
        } else {
          if let k = LogLine.levels.firstIndex(of: String(decoding: run, as: UTF8.self)) { best = max(best, k) }
          run = []
        }
      }
      guard best >= 0 else { return nil }
      return LogLine.levels[best] == "WARNING" ? LogLine.warnIndex : best
    }
    var rng = SystemRandomNumberGenerator()
    let pieces = [
      "INFO", "WARN", "WARNING", "ERROR", "FATAL", "PANIC", "CRITICAL", "TRACE", "DEBUG", "NOTICE", "ERRORS",
      "XINFO", "E", "RROR", "a", "info", " ", "-", "2026-03-09T02:10:01Z", "é", "[", "]", "ABCDEFGHIJ", "x",
    ]
    for _ in 0..<5000 {
      let line = Array(
        (0..<Int.random(in: 0...40, using: &rng)).map { _ in pieces.randomElement(using: &rng) ?? "" }
          .joined().utf8)
      let fast = line.withUnsafeBufferPointer { LogLine.severityIndex(bytes: $0) }
      #expect(fast == naive(line), "\(String(decoding: line, as: UTF8.self))")
    }
  }

  /// Every trigger, in either case, at every offset of a text long enough
  /// for the sixteen-lane pass (and in its scalar tail), is found.
  @Test func secretPrefilterFindsEveryTriggerAtEveryOffset() {
    let filler = "the quick brown fox jumps over lazy dogs; 0123456789 "
    for (needle, rule) in Redactor.triggers {
      let word = String(decoding: needle, as: UTF8.self)
      for variant in [word, word.uppercased()] {
        for offset in 0..<40 {
          let text = String(filler.prefix(offset)) + variant + filler + filler
          #expect(Redactor.candidateRules(text) & (1 << rule) != 0, "\(variant) at \(offset)")
          let tail = filler + filler + String(filler.prefix(offset % 7)) + variant
          #expect(Redactor.candidateRules(tail) & (1 << rule) != 0, "\(variant) at the end")
        }
      }
    }
    #expect(Redactor.candidateRules(filler + filler + filler) == 0)
  }

  @Test func invalidUTF8FallsBackToTheReference() throws {
    var data = Data("ok line\nbad ".utf8)
    data.append(contentsOf: [0xFF, 0xFE])
    data.append(Data(" bytes\n".utf8))
    let scan = LogScan(maxLines: 40, maxBytes: 4096, syslogYear: 2026, redact: true)
    #expect(throws: LogScan.NeedsReference.self) { try scan.run(data, displayPath: "t.log") }
    // The extractor then takes the reference pass: replaced and counted.
    let dir = try TemporaryDirectory()
    defer { dir.remove() }
    let url = dir.url.appendingPathComponent("bad.log")
    try data.write(to: url)
    let doc = try LogExtractor().extract(path: url.path, displayPath: "bad.log")
    #expect(doc.warnings.contains("2 invalid UTF-8 sequences replaced"))
    let encoded = try LogExtractor().extractEncoded(path: url.path, displayPath: "bad.log")
    #expect(encoded.sectionsJSON == SectionsCodec.encode(doc.sections))
  }

  @Test func cutInsideACharacterFallsBackToTheReference() throws {
    // 65,535 ASCII bytes then "é" (2 bytes): the 64 KiB cut falls inside it.
    let text = String(repeating: "z", count: 65_535) + "é tail\nnext\n"
    let scan = LogScan(maxLines: 40, maxBytes: 4096, syslogYear: 2026, redact: true)
    #expect(throws: LogScan.NeedsReference.self) { try scan.run(Data(text.utf8), displayPath: "t.log") }
  }
}
