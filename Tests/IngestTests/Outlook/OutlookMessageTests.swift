import Foundation
import Testing

@testable import Ingest

/// `.msg` reading on files the tests build (no shared corpus needed): the
/// compound file reader, MAPI properties, compressed RTF and the extractor.
@Suite struct OutlookMessageTests {
  /// [MS-OXRTFCP] 4.1.1, "Example 1: Simple Compressed RTF".
  static let specCompressed: [UInt8] = [
    0x2d, 0x00, 0x00, 0x00, 0x2b, 0x00, 0x00, 0x00, 0x4c, 0x5a, 0x46, 0x75, 0xf1, 0xc5, 0xc7, 0xa7, 0x03, 0x00,
    0x0a, 0x00, 0x72, 0x63, 0x70, 0x67, 0x31, 0x32, 0x35, 0x42, 0x32, 0x0a, 0xf3, 0x20, 0x68, 0x65, 0x6c, 0x09,
    0x00, 0x20, 0x62, 0x77, 0x05, 0xb0, 0x6c, 0x64, 0x7d, 0x0a, 0x80, 0x0f, 0xa0,
  ]

  @Test func lzfuDecompressesTheSpecExample() throws {
    #expect(LZFu.initialDictionary.utf8.count == 207)
    let (rtf, crcMatches) = try LZFu.decompress(Self.specCompressed)
    #expect(String(decoding: rtf, as: UTF8.self) == "{\\rtf1\\ansi\\ansicpg1252\\pard hello world}\r\n")
    #expect(crcMatches)
    #expect(RTFText.body(rtf) == .text("hello world"))
  }

  /// [MS-OXRTFCP] 4.1.2: a reference that reads bytes it is writing.
  @Test func lzfuReferenceCrossingTheWritePosition() throws {
    let data: [UInt8] = [
      0x1a, 0x00, 0x00, 0x00, 0x1c, 0x00, 0x00, 0x00, 0x4c, 0x5a, 0x46, 0x75, 0xe2, 0xd4, 0x4b, 0x51, 0x41, 0x00,
      0x04, 0x20, 0x57, 0x58, 0x59, 0x5a, 0x0d, 0x6e, 0x7d, 0x01, 0x0e, 0xb0,
    ]
    let (rtf, crcMatches) = try LZFu.decompress(data)
    #expect(String(decoding: rtf, as: UTF8.self) == "{\\rtf1 WXYZWXYZWXYZWXYZWXYZ}")
    #expect(crcMatches)
  }

  @Test func lzfuRejectsDamage() throws {
    #expect(throws: CompoundFileError.self) { try LZFu.decompress([0x2d, 0, 0, 0]) }
    var bad = Self.specCompressed
    bad[8] = 0x41  // not LZFu, not MELA
    #expect(throws: CompoundFileError.self) { try LZFu.decompress(bad) }
    var flipped = Self.specCompressed
    flipped[20] ^= 0xFF
    #expect(try LZFu.decompress(flipped).crcMatches == false)
  }

  @Test func rtfEncapsulatedHTMLAndCodePages() {
    let html = Array(
      #"{\rtf1\ansi\ansicpg1252\fromhtml1 {\*\htmltag19 <p>}{\htmlrtf skip\htmlrtf0}caf\'e9 \u8364? x{\*\htmltag244 </p>}}"#
        .utf8)
    #expect(RTFText.body(html) == .html("<p>café € x</p>"))
    let cyrillic = Array(#"{\rtf1\ansi\ansicpg1251{\fonttbl{\f0 Arial;}}\'cf\'f0\'e8\'e2\'e5\'f2\par}"#.utf8)
    #expect(RTFText.body(cyrillic) == .text("Привет\n"))
  }

  // MARK: - A built .msg

  static let sent = UInt64(1_704_164_645 + 11_644_473_600) * 10_000_000  // 2024-01-02T03:04:05Z
  static let bigPayload = (0..<5000).map { UInt8($0 % 251) }

  /// A Unicode .msg: RTF-only body, To and Cc recipients, a text attachment,
  /// a 5,000-byte attachment (regular sectors) and an attached message.
  static func builtMessage() -> [UInt8] {
    typealias B = CompoundFileBuilder
    let recipient = { (n: Int, type: UInt64, name: String, address: String) -> B.Node in
      .storage(
        "__recip_version1.0_#0000000\(n)",
        [B.properties(header: 8, [(0x0C15_0003, type)]), B.unicode(0x3001, name), B.unicode(0x39FE, address)])
    }
    let inner: B.Node = .storage(
      "__substg1.0_3701000D",
      [
        B.properties(header: 24, [(0x0039_0040, sent - 600 * 10_000_000)]), B.unicode(0x0037, "Inner subject"),
        B.unicode(0x1000, "inner body"), B.unicode(0x0C1A, "Bob"), B.unicode(0x5D01, "bob@example.com"),
      ])
    return B.build([
      B.properties(header: 32, [(0x0039_0040, sent), (0x0E06_0040, sent + 30 * 10_000_000)]),
      B.unicode(0x001A, "IPM.Note"), B.unicode(0x0037, "Quarterly report ✓"),
      B.unicode(0x0C1A, "Ada Lovelace"), B.unicode(0x5D01, "ada@example.com"),
      B.unicode(0x1035, "<abc@example.com>"), B.unicode(0x1042, "<parent@example.com>"),
      B.binary(0x1009, specCompressed),
      recipient(0, 1, "Bob", "bob@example.com"), recipient(1, 2, "Carol, C.", "carol@example.com"),
      .storage(
        "__attach_version1.0_#00000000",
        [
          B.properties(header: 8, [(0x3705_0003, 1)]), B.unicode(0x3707, "notes.txt"),
          B.unicode(0x370E, "text/plain"), B.binary(0x3701, Array("attached words".utf8)),
        ]),
      .storage(
        "__attach_version1.0_#00000001",
        [B.properties(header: 8, [(0x3705_0003, 1)]), B.unicode(0x3707, "big.bin"), B.binary(0x3701, bigPayload)]),
      .storage(
        "__attach_version1.0_#00000002",
        [B.properties(header: 8, [(0x3705_0003, 5)]), B.unicode(0x3001, "Inner subject"), inner]),
    ])
  }

  static func extract(_ bytes: [UInt8], name: String = "built.msg") throws -> Extraction {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("outlook-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: dir) }
    let file = dir.appendingPathComponent(name)
    try Data(bytes).write(to: file)
    let input = ExtractionInput(path: file.path, displayPath: name, options: IngestOptions(base: dir))
    return try #require(Extractors.extractor(for: .outlook)).extract(input)
  }

  @Test func builtMessageIsRead() throws {
    let extraction = try Self.extract(Self.builtMessage())
    let doc = try #require(extraction.document)
    #expect(doc.kind == .outlook)
    #expect(doc.title == "Quarterly report ✓")
    #expect(doc.sections.count == 1)
    let section = try #require(doc.sections.first)
    #expect(section.locator.description == "built.msg#msg=abc@example.com")
    #expect(section.text.hasPrefix("From: Ada Lovelace <ada@example.com>\nTo: Bob <bob@example.com>\n"))
    #expect(section.text.contains("Cc: \"Carol, C.\" <carol@example.com>\n"))
    #expect(section.text.contains("Date: Tue, 2 Jan 2024 03:04:05 +0000\n"))
    #expect(section.text.contains("Attachments: notes.txt (text/plain, 14 bytes); big.bin"))
    #expect(section.text.hasSuffix("\n\nhello world"))
    #expect(doc.metadata["date"] == "2024-01-02T03:04:05Z")
    #expect(doc.metadata["received"] == "2024-01-02T03:04:35Z")
    #expect(doc.metadata["message-id"] == "abc@example.com")
    #expect(doc.metadata["in-reply-to"] == "parent@example.com")
    #expect(doc.metadata["cc"] == "\"Carol, C.\" <carol@example.com>")
    #expect(doc.metadata["body-format"] == "rtf")

    #expect(
      extraction.children.map(\.suffix) == [
        "#msg=abc@example.com/attachment=notes.txt", "#msg=abc@example.com/attachment=big.bin",
        "#msg=abc@example.com/attachment=Inner subject.eml",
      ])
    #expect(extraction.children[0].payload == Data("attached words".utf8))
    #expect(extraction.children[1].payload == Data(Self.bigPayload))
    let eml = extraction.children[2]
    #expect(eml.kind == .email)
    #expect(eml.fileName == "Inner subject.eml")
    // The attached message reads back through the mail code.
    let entity = MIMEEntity(ArraySlice([UInt8](eml.payload)))
    #expect(entity.header("subject") == "Inner subject")
    #expect(entity.header("from") == "Bob <bob@example.com>")
    #expect(entity.header("date") == "Tue, 2 Jan 2024 02:54:05 +0000")
    #expect(String(decoding: entity.body, as: UTF8.self).contains("inner body"))
  }

  @Test func damagedFilesAreOneSentenceErrors() throws {
    let good = Self.builtMessage()
    func message(_ bytes: [UInt8]) -> String? {
      do {
        _ = try Self.extract(bytes)
        return nil
      } catch {
        return (error as? IngestError)?.errorDescription
      }
    }
    // A FAT whose directory chain points back at itself.
    var loop = good
    let directoryStart = Int(CompoundFile.u32(good, 48))
    loop.replaceSubrange(
      (512 + 4 * directoryStart)..<(516 + 4 * directoryStart),
      with: CompoundFileBuilder.le32(
        UInt32(directoryStart)))
    #expect(message(loop) == "Cannot read the Outlook message built.msg: the directory's sector chain loops.")
    // Cut after the header and FAT: the directory lies past the end.
    #expect(message(Array(good.prefix(1024)))?.hasSuffix("lies past the end of the file.") == true)
    #expect(
      message(Array("not a compound file at all, just words".utf8))
        == "Cannot read the Outlook message built.msg: it is not an OLE2 compound file (no D0 CF 11 E0 signature).")
    // A compound file with no MAPI properties (an empty one).
    #expect(
      message(CompoundFileBuilder.build([.stream("WordDocument", [1, 2, 3])]))
        == "Cannot read the Outlook message built.msg: it holds no Outlook message properties.")
  }

  @Test func fileTimes() {
    #expect(FileTime.iso8601(Self.sent) == "2024-01-02T03:04:05Z")
    #expect(FileTime.rfc5322(Self.sent) == "Tue, 2 Jan 2024 03:04:05 +0000")
    #expect(FileTime.iso8601(0) == "1601-01-01T00:00:00Z")
    #expect(FileTime.iso8601(UInt64.max) == nil)
  }
}
