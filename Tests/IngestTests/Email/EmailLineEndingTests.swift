import Foundation
import Testing
import _LongctxTestSupport

@testable import Ingest

/// Mail with CRLF (and mixed) line ends parses as LF mail does: headers, MIME
/// structure, transfer encodings, charsets and attachments.
@Suite struct EmailLineEndingTests {
  /// CRLF files of the corpus, with their Subject and Message-ID.
  static let crlfFiles: [(file: String, subject: String, id: String)] = [
    (
      "mail/attachment_emails/attachment_nonascii_filename.eml", "testing",
      "9169D984-4E0B-45EF-82D4-8F5E53AD7012@example.com"
    ),
    (
      "mail/attachment_emails/attachment_message_rfc822_inline_image.eml", "test",
      "9169D984-4E0B-45EF-82D5-8F5E53AD7012@example.com"
    ),
    ("mail/mime_emails/email_with_similar_boundaries.eml", "Xxxxxx", "e4b473$b3jkq@xxxx.xxxx.xxxxxxxx.xxx"),
    ("mail/multi_charset/japanese_shift_jis.eml", "test", "xxxxx@docomo.ne.jp"),
    (
      "mail/error_emails/empty_group_lists.eml", "Western Union Swift Money Transfer",
      "203751.85280.qm@web82107.mail.mud.yahoo.com"
    ),
    (
      "mail/multipart_report_emails/multipart_report_multiple_status.eml", "Mail System Error - Returned Mail",
      "20100629154244.OZPA15102.schemailmta04.ci.com@schemailmta04"
    ),
  ]

  @Test(.enabled(if: MailCorpus.isPresent, MailCorpus.skipReason), arguments: crlfFiles.map(\.file))
  func crlfHeadersAreParsedAndCited(file: String) throws {
    let expected = try #require(Self.crlfFiles.first { $0.file == file })
    let raw = try String(contentsOfFile: MailCorpus.path(file), encoding: .isoLatin1)
    #expect(raw.contains("\r\n"))  // the fixture really is CRLF
    let doc = try MailCorpus.extract(file)
    #expect(doc.sections.count == 1)
    #expect(doc.metadata["subject"] == expected.subject)
    #expect(doc.metadata["message-id"] == expected.id)
    #expect(doc.metadata["from"] != nil && doc.metadata["date"] != nil)
    let name = (file as NSString).lastPathComponent
    #expect(doc.sections.first?.locator.description == "\(name)#msg=\(expected.id)")
    let text = try #require(doc.sections.first?.text)
    #expect(text.hasPrefix("From: "))
    // The MIME structure is parsed: no boundaries or part headers in the text, no CRs.
    #expect(!text.contains("Content-Type:") && !text.contains("Content-Transfer-Encoding:"))
    #expect(!text.contains("\r"))
  }

  @Test(.enabled(if: MailCorpus.isPresent, MailCorpus.skipReason))
  func crlfMultipartQuotedPrintableAndAttachment() throws {
    let doc = try MailCorpus.extract("mail/attachment_emails/attachment_nonascii_filename.eml")
    let text = try #require(doc.sections.first?.text)
    #expect(text.contains("This is the first part."))
    #expect(!text.contains("--Apple-Mail-13-196941151"))
    #expect(text.contains("Attachments: ciële.txt (text/plain, "))
    let attachments = try #require(doc.metadata["attachments"])
    #expect(attachments.contains("\"fileName\":\"ciële.txt\""))
  }

  @Test(.enabled(if: MailCorpus.isPresent, MailCorpus.skipReason))
  func crlfSimilarBoundariesAreNotConfused() throws {
    let doc = try MailCorpus.extract("mail/mime_emails/email_with_similar_boundaries.eml")
    let text = try #require(doc.sections.first?.text)
    #expect(text.contains("Attachments: LOGO.png (application/octetstream, "))
    #expect(text.hasSuffix("\n\nTest"))  // the text/plain alternative, not its HTML twin
    #expect(!text.contains("NextPart"))
  }

  @Test(.enabled(if: MailCorpus.isPresent, MailCorpus.skipReason))
  func crlfShiftJISBodyIsDecoded() throws {
    let text = try #require(try MailCorpus.extract("mail/multi_charset/japanese_shift_jis.eml").sections.first?.text)
    #expect(text.hasSuffix("あいうえお\n\nこのメールはテスト用のメールです。\n\n今後ともよろしくお願い申し上げます！"))
  }

  @Test(.enabled(if: MailCorpus.isPresent, MailCorpus.skipReason))
  func crlfEncodedSubjectAndRFC2231FileName() throws {
    let doc = try MailCorpus.extract("mail/multi_charset/japanese_attachment_long_name.eml")
    #expect(doc.metadata["subject"] == String(repeating: "まみむめも", count: 10))
    let name = String(repeating: "かきくけこ", count: 5) + ".txt"
    #expect(doc.metadata["attachments"]?.contains("\"fileName\":\"\(name)\"") == true)
  }

  @Test(.enabled(if: MailCorpus.isPresent, MailCorpus.skipReason))
  func crlfAttachedMessageIsListedAndRead() throws {
    let doc = try MailCorpus.extract("mail/attachment_emails/attachment_message_rfc822_inline_image.eml")
    let text = try #require(doc.sections.first?.text)
    #expect(text.contains("img.png (image/png, "))
    #expect(text.contains("Testmail.eml (message/rfc822, "))
    #expect(text.contains("---------- Forwarded message ----------\nFrom: Test Tester <xxxx@xxxx.com>"))
    #expect(text.contains("Subject: Another PDF"))
  }

  @Test(.enabled(if: MailCorpus.isPresent, MailCorpus.skipReason))
  func iso2022JPSubjectAndBody() throws {
    let doc = try MailCorpus.extract("mimekit/messages/japanese.txt")
    #expect(doc.metadata["subject"] == "日本語メールテスト (testing Japanese emails)")
    #expect(doc.sections.first?.text.hasSuffix("日本語が\n正常に\n送れているか\nテスト.") == true)
  }

  @Test func ksC5601AndEUCKRAreDecoded() throws {
    // "한국어 메일" in CP949 (what ks_c_5601-1987 means in mail), base64; "안녕하세요" in EUC-KR.
    let body = Data([0xC7, 0xD1, 0xB1, 0xB9, 0xBE, 0xEE, 0x20, 0xB8, 0xDE, 0xC0, 0xCF]).base64EncodedString()
    let subject = Data([0xBE, 0xC8, 0xB3, 0xE7, 0xC7, 0xCF, 0xBC, 0xBC, 0xBF, 0xE4]).base64EncodedString()
    let raw =
      "From: a@example.kr\r\nSubject: =?EUC-KR?B?\(subject)?=\r\nMessage-ID: <k1@example.kr>\r\n"
      + "Content-Type: text/plain; charset=\"ks_c_5601-1987\"\r\nContent-Transfer-Encoding: base64\r\n\r\n\(body)\r\n"
    let doc = try extract(raw)
    #expect(doc.metadata["subject"] == "안녕하세요")
    #expect(doc.sections.first?.text.hasSuffix("\n\n한국어 메일") == true)
  }

  @Test func mixedLineEndingsParseAlike() throws {
    let lf = """
      From: Maria Keller <maria@harbor.example>
      To: legal@harbor.example
      Subject: Mixed
       line ends
      Message-ID: <mixed-1@harbor.example>
      MIME-Version: 1.0
      Content-Type: multipart/mixed; boundary="outer"

      --outer
      Content-Type: text/plain; charset=iso-8859-1
      Content-Transfer-Encoding: quoted-printable

      Caf=E9 at ten, the contract=
       is signed.
      --outer
      Content-Type: text/csv; name="w11.csv"
      Content-Disposition: attachment; filename="w11.csv"
      Content-Transfer-Encoding: base64

      aGFtYnVyZywxMjA0Cg==
      --outer--

      """
    // Every other line CRLF, and the whole file CRLF: the same message each time.
    var mixed = ""
    for (i, line) in lf.split(separator: "\n", omittingEmptySubsequences: false).dropLast().enumerated() {
      mixed += line + (i % 2 == 0 ? "\r\n" : "\n")
    }
    let crlf = lf.replacingOccurrences(of: "\n", with: "\r\n")
    let expected = try extract(lf)
    #expect(expected.metadata["subject"] == "Mixed line ends")
    for raw in [mixed, crlf] {
      let doc = try extract(raw)
      #expect(doc.metadata["subject"] == "Mixed line ends")
      #expect(doc.sections.first?.locator.description == "mixed.eml#msg=mixed-1@harbor.example")
      #expect(doc.sections.first?.text == expected.sections.first?.text)
      #expect(doc.metadata["attachments"] == expected.metadata["attachments"])
    }
    let text = try #require(expected.sections.first?.text)
    #expect(text.hasSuffix("\n\nCafé at ten, the contract is signed."))
    #expect(text.contains("Attachments: w11.csv (text/csv, 13 bytes)"))
  }

  private func extract(_ raw: String) throws -> ExtractedDocument {
    let dir = try TemporaryDirectory()
    defer { dir.remove() }
    let path = dir.url.appendingPathComponent("mixed.eml")
    try Data(raw.utf8).write(to: path)
    return try EmailExtractor().extract(path: path.path, displayPath: "mixed.eml")
  }
}
