import Foundation
import Testing
import _LongctxTestSupport

@testable import Ingest

/// The shared office corpus's Outlook files (`../shared/corpus/office`) against
/// its reference outputs (extract-msg for `.msg`, readpst for `.pst`); skipped
/// where the corpus is absent.
enum OfficeMailCorpus {
  static let shared =
    RepositoryPaths.sharedCorpus
    ?? RepositoryPaths.root.deletingLastPathComponent().appendingPathComponent("shared/corpus")
  static let root = shared.appendingPathComponent("office")
  static let reference = shared.appendingPathComponent("office-reference")
  static var isPresent: Bool {
    FileManager.default.fileExists(atPath: root.appendingPathComponent("manifest.tsv").path)
  }
  static let skipReason: Comment = "the shared office corpus (../shared/corpus/office) is absent"

  /// The manifest's expectation tokens of `relative` (`key=value` or bare flags).
  static func expected(_ relative: String) throws -> [String: String] {
    let manifest = try String(contentsOf: root.appendingPathComponent("manifest.tsv"), encoding: .utf8)
    let row = try #require(manifest.split(separator: "\n").first { $0.hasPrefix(relative + "\t") })
    let tokens = row.split(separator: "\t").last.map { $0.split(separator: ";") } ?? []
    var out: [String: String] = [:]
    for token in tokens {
      let parts = token.split(separator: "=", maxSplits: 1)
      out[String(parts[0])] = parts.count == 2 ? String(parts[1]) : ""
    }
    return out
  }

  static func headers(_ relative: String) throws -> [String: Any] {
    let data = try Data(contentsOf: reference.appendingPathComponent(relative).appendingPathComponent("headers.json"))
    return try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
  }

  static func extract(_ relative: String, kind: DocumentKind) throws -> Extraction {
    let path = root.appendingPathComponent(relative).path
    let input = ExtractionInput(
      path: path, displayPath: (relative as NSString).lastPathComponent, options: IngestOptions(base: root))
    return try #require(Extractors.extractor(for: kind)).extract(input)
  }

  static var hasReadpst: Bool {
    ["/usr/bin/readpst", "/usr/local/bin/readpst"].contains { FileManager.default.isExecutableFile(atPath: $0) }
  }

  /// Non-white-space characters, as the manifest's `body_chars` counts them.
  static func solidCount(_ s: String) -> Int { s.unicodeScalars.filter { !$0.properties.isWhitespace }.count }

  static func collapsed(_ s: String) -> String {
    s.split(whereSeparator: \.isWhitespace).joined(separator: " ")
  }
}

@Suite(.enabled(if: OfficeMailCorpus.isPresent, OfficeMailCorpus.skipReason))
struct OutlookCorpusTests {
  static let messages = [
    "msg/HTMLBodyBinary_UTF-8.msg", "msg/attachment_msg_inlineImg.msg", "msg/attachment_msg_pdf.msg",
    "msg/bug66335.msg", "msg/cyrillic_message.msg",
  ]

  @Test(arguments: messages)
  func messageMatchesExtractMsg(_ relative: String) throws {
    let expected = try OfficeMailCorpus.expected(relative)
    let reference = try OfficeMailCorpus.headers(relative)
    let extraction = try OfficeMailCorpus.extract(relative, kind: .outlook)
    let doc = try #require(extraction.document)
    let text = try #require(doc.sections.first?.text).precomposedStringWithCanonicalMapping
    #expect(doc.sections.count == 1)
    #expect(doc.title == reference["subject"] as? String)
    #expect(doc.metadata["subject"] == reference["subject"] as? String)
    // extract-msg writes an address-only sender as `<address>`.
    let sender = (reference["sender"] as? String).map {
      $0.hasPrefix("<") && $0.hasSuffix(">") ? String($0.dropFirst().dropLast()) : $0
    }
    #expect(doc.metadata["from"] == sender)
    if let id = reference["messageId"] as? String {
      #expect(doc.metadata["message-id"] == OutlookMessage.ids(id).first)
      #expect(doc.sections.first?.locator.message == OutlookMessage.ids(id).first)
    }
    let attachments = (reference["attachments"] as? [Any])?.count ?? 0
    let listed = try doc.metadata["attachments"].map {
      try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [Any]).count
    }
    #expect((listed ?? 0) == attachments)
    for word in expected["words"]?.split(separator: "|") ?? [] {
      #expect(text.contains(word), "\(word) missing")
    }
    // The body: extract-msg's plain text body, or its HTML reduced.
    let folder = OfficeMailCorpus.reference.appendingPathComponent(relative)
    if let body = try? String(contentsOf: folder.appendingPathComponent("body.txt"), encoding: .utf8) {
      #expect(OfficeMailCorpus.collapsed(text).contains(OfficeMailCorpus.collapsed(body)))
    } else {
      let html = try String(contentsOf: folder.appendingPathComponent("body.html"), encoding: .utf8)
      #expect(text.hasSuffix("\n\n" + HTMLText.text(from: html)))
    }
  }

  @Test func attachedMessageAndPDFBecomeChildren() throws {
    let extraction = try OfficeMailCorpus.extract("msg/attachment_msg_pdf.msg", kind: .outlook)
    let key = "3975CB0784A2C249A2EDDD4D43C53D08045B971A87@Stitch.pof.com.au"
    #expect(
      extraction.children.map(\.suffix) == [
        "#msg=\(key)/attachment=Test Attachment.eml", "#msg=\(key)/attachment=smbprn.00009008.KdcPjl.pdf",
      ])
    let eml = extraction.children[0]
    #expect(eml.kind == .email)
    let inner = MIMEEntity(ArraySlice([UInt8](eml.payload)))
    #expect(inner.header("subject") == "Test Attachment")
    #expect(inner.header("from") == "Nick Booth <nick.booth@pof.com.au>")
    #expect(String(decoding: inner.body, as: UTF8.self).contains("Blah blah blah"))
    let pdf = extraction.children[1]
    #expect(pdf.payload.count == 13_539)
    #expect(pdf.payload.starts(with: Data("%PDF".utf8)))
  }

  @Test func inlineImagesAreChildrenWithTheirTypes() throws {
    let extraction = try OfficeMailCorpus.extract("msg/attachment_msg_inlineImg.msg", kind: .outlook)
    #expect(extraction.children.map(\.fileName) == ["image001.png", "image002.png", "image003.png", "image006.jpg"])
    #expect(extraction.children.map(\.payload.count) == [25_862, 2_924, 18_852, 29_374])
    #expect(extraction.children.map(\.contentType) == ["image/png", "image/png", "image/png", "image/jpeg"])
  }

  /// POI's fuzzer case: extract-msg reads it ("reference=recovered"), and so do we.
  @Test func clusterfuzzMessageIsRecovered() throws {
    let relative = "corrupt/clusterfuzz-testcase-minimized-POIHSMFFuzzer-4848576776503296.msg"
    let expected = try OfficeMailCorpus.expected(relative)
    #expect(expected["reference"] == "recovered")
    let doc = try #require(try OfficeMailCorpus.extract(relative, kind: .outlook).document)
    #expect(doc.metadata["subject"] == expected["subject"])
    #expect(doc.metadata["from"] == expected["sender"])
    #expect(doc.metadata["attachments"] == nil)
    let text = try #require(doc.sections.first?.text)
    let body = try #require(text.components(separatedBy: "\n\n").last)
    #expect(OfficeMailCorpus.solidCount(body) == Int(expected["body_chars"] ?? ""))
  }

  /// The same fuzzer case, damaged further: a clear one-sentence error, never a trap.
  @Test func damagedClusterfuzzMessageIsAnError() throws {
    let path = OfficeMailCorpus.root.appendingPathComponent(
      "corrupt/clusterfuzz-testcase-minimized-POIHSMFFuzzer-4848576776503296.msg")
    let bytes = [UInt8](try Data(contentsOf: path))
    for cut in [600, 2_048, bytes.count / 2] {
      let error = #expect(throws: IngestError.self) {
        try OutlookMessageTests.extract(Array(bytes.prefix(cut)), name: "fuzz.msg")
      }
      let message = error?.errorDescription ?? ""
      #expect(message.hasPrefix("Cannot read the Outlook message fuzz.msg: "), "\(message)")
      #expect(message.hasSuffix(".") && !message.dropLast().contains("\n"))
    }
  }
}
