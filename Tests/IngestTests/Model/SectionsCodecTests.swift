import Foundation
import Testing
import _LongctxTestSupport

@testable import Ingest

@Suite struct SectionsCodecTests {
  @Test func roundTripsThroughJSONDecoder() throws {
    let sections = [
      Section(locator: Locator(path: "a \"q\"\\b.pdf", page: 3), text: "tab\there\nline\r\u{1}\u{1F} é — 😀 </script>"),
      Section(
        locator: Locator(path: "x.log", lineStart: 4, lineEnd: 9), text: "", severity: "ERROR",
        firstTimestamp: 1_773_024_846.123, lastTimestamp: 1_773_024_900),
      Section(locator: Locator(path: "m.mbox", message: "id@x"), text: "plain"),
      Section(
        locator: Locator(path: "scan.pdf", page: 2), text: "OCR'd",
        ocr: OCRInfo(engine: "tesseract 5.3.0", languages: "eng+deu", confidence: 91.4, dpi: 300)),
    ]
    let data = SectionsCodec.encode(sections)
    // Sections stored before OCR existed decode with no OCR info.
    let old = #"[{"locator":{"path":"a.pdf","page":1},"text":"t"}]"#
    #expect(try JSONDecoder().decode([Section].self, from: Data(old.utf8)).first?.ocr == nil)
    #expect(try JSONDecoder().decode([Section].self, from: data) == sections)
    #expect(try JSONDecoder().decode([Section].self, from: SectionsCodec.encode([])) == [])
  }

  /// Escapes at every offset within the eight-byte steps, side by side and far apart, among
  /// non-ASCII text: the escaped text always decodes back to itself.
  @Test func escapingIsExactAtEveryOffset() throws {
    let pieces = ["a", "bcdefgh", "\"", "\\", "\n", "\r\n", "\t", "\u{1}", "\u{1F}", "é", "😀", "        ", "\u{7F}"]
    var state: UInt64 = 9
    for round in 0..<300 {
      var text = ""
      for _ in 0..<(round % 40) {
        state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        text += pieces[Int(state >> 33) % pieces.count]
      }
      let data = SectionsCodec.encode([Section(locator: Locator(path: "p"), text: text)])
      #expect(try JSONDecoder().decode([Section].self, from: data).first?.text == text, "round \(round)")
    }
  }

  @Test func exceptionNames() {
    #expect(LogLine.isExceptionName("java.sql.SQLTransientConnectionException: HikariPool-1"))
    #expect(LogLine.isExceptionName("org.example.FatalError"))
    #expect(!LogLine.isExceptionName("Exception: plain"))
    #expect(!LogLine.isExceptionName("hello.world says hi"))
    #expect(LogLine.isContinuation("java.io.IOException: boom"))
  }

  /// The byte-level test of a continuation line answers as the `Substring` one, on crafted
  /// starts (every level word and month, in any case, cut short, followed by anything) and
  /// on every line of the corpus's logs.
  @Test func continuationOnBytesAnswersAsOnText() throws {
    var lines: [String] = [
      "", " x", "\tat x", "Caused by: y", "... 3 more", "Traceback (most recent", "java.x.BadError",
    ]
    for word in LogLine.levels + ["JAN", "Jul", "dec", "Sep"] {
      for variant in [word, word.lowercased(), word.capitalized] {
        for tail in ["", " ", ":", "  9 02:10:01 host", "X rest", "ING", "é"] {
          lines.append(variant + tail)
          lines.append(String(variant.dropLast()) + tail)
        }
      }
    }
    if let root = RepositoryPaths.sharedCorpus?.appendingPathComponent("logs"),
      let walker = FileManager.default.enumerator(at: root, includingPropertiesForKeys: nil)
    {
      for case let url as URL in walker where url.lastPathComponent.contains(".log") && !url.hasDirectoryPath {
        guard let data = try? Data(contentsOf: url) else { continue }
        lines += [UInt8](data).split(separator: 0x0A).prefix(5000).map { String(decoding: $0, as: UTF8.self) }
      }
      #expect(lines.count > 14_000)
    }
    var continuations = 0
    for line in lines {
      var copy = line
      let text = LogLine.isContinuation(Substring(line))
      let bytes = copy.withUTF8 { LogLine.isContinuation(bytes: $0) }
      #expect(bytes == nil || bytes == text, "\(line)")
      if text { continuations += 1 }
    }
    // Five crafted lines continue an event (two indented, `Caused by:`, `...`, an exception name;
    // `Traceback` starts with the level word TRACE, so it starts an event).
    #expect(continuations >= 5 && continuations < lines.count / 2, "\(continuations) of \(lines.count)")
  }
}

@Suite struct TextLinesJoinTests {
  @Test func joinedMatchesPlainJoinWithCRAndCutLines() {
    let raw = "a\r\nbb\n\(String(repeating: "x", count: 50))\nlast"
    let text = TextLines(Data(raw.utf8), maxLineBytes: 10)
    for lo in 0..<text.lines.count {
      for hi in lo...text.lines.count {
        #expect(text.joined(lo..<hi) == text.lines[lo..<hi].joined(separator: "\n"))
      }
    }
  }
}
