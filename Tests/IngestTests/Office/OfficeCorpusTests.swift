import Foundation
import Testing

@testable import Ingest

/// The Office extractor on the shared corpus's docx, xlsx and pptx files,
/// against LibreOffice's reference text and the facts the manifest records.
@Suite(.enabled(if: OfficeCorpus.isPresent, OfficeCorpus.skipReason))
struct OfficeCorpusTests {
  @Test func recoversTheReferenceText() throws {
    let files = OfficeCorpus.readableFiles()
    #expect(files.count == 9)
    let dump = ProcessInfo.processInfo.environment["LONGCTX_OFFICE_TEXT_DIR"]
    var passing = 0
    for (relative, words) in files {
      let text = OfficeCorpus.text(try OfficeCorpus.extract(relative))
      if let dump {
        let url = URL(fileURLWithPath: dump).appendingPathComponent(relative + ".txt")
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try text.write(to: url, atomically: true, encoding: .utf8)
      }
      let reference = try #require(OfficeCorpus.reference(relative), "no reference text for \(relative)")
      let share = OfficeCorpus.coverage(ours: text, reference: reference, words: words)
      print(
        "office coverage \(relative): \(share.total) chars, \(String(format: "%.1f", share.chars * 100)) % of characters, "
          + "\(String(format: "%.1f", share.words * 100)) % of words")
      #expect(share.chars >= 0.95, "\(relative): \(share.chars) of the reference's characters")
      #expect(share.words >= 0.95, "\(relative): \(share.words) of the reference's words")
      for word in words { #expect(text.contains(word), "\(relative) lacks \(word)") }
      if share.chars >= 0.95 && share.words >= 0.95 { passing += 1 }
    }
    print("office coverage: \(passing)/\(files.count) files at >= 95 %")
  }

  @Test func commentsCarryTheirAuthor() throws {
    let extraction = try OfficeCorpus.extract("word/testComment.docx")
    let document = try #require(extraction.document)
    #expect(document.sections.map(\.text) == ["this is a comment paragraph!", "[comment by poi] comment content"])
    #expect(document.sections.map(\.locator.description) == ["testComment.docx#para=1", "testComment.docx#para=2"])
    #expect(document.warnings.contains("the document holds 1 comment"))
    #expect(document.title == "Test Doc")
    #expect(document.metadata["author"] == "Nick Burch")
    #expect(document.metadata["lastModifiedBy"] == "poi")
    #expect(document.metadata["created"] == "2021-05-20T02:58:00Z")
    #expect(document.metadata["subject"] == "Testing is about all")
    #expect(document.metadata["revision"] == "3")
  }

  @Test func trackedChangesAreMarkedNotMerged() throws {
    let document = try #require(try OfficeCorpus.extract("word/58067.docx").document)
    let text = document.sections.map(\.text).joined(separator: "\n")
    #expect(text.contains("[deleted: This is another Test.]"))
    #expect(text.contains("This is a whole paragraph where [deleted: only ]one word is deleted."))
    #expect(!text.contains("where only one"))
    #expect(document.warnings.contains { $0.contains("tracked changes (0 insertions, 2 deletions") })
    #expect(document.metadata["company"] == "TUM")
  }

  @Test func headersFootersAndEmbeddedObjects() throws {
    let extraction = try OfficeCorpus.extract("word/WordWithAttachments.docx")
    let document = try #require(extraction.document)
    let text = OfficeCorpus.text(extraction)
    // Body paragraphs 1-22, then the headers' paragraphs numbered after them, then comments.
    #expect(document.sections.first?.locator.description == "WordWithAttachments.docx#para=1-22")
    #expect(text.contains("[header] Страница 1"))
    #expect(text.contains("[comment by vbiryukova] Первое четверостишье"))
    #expect(text.contains("Таблица | Сначала | Все | На | русском"))
    #expect(extraction.children.count == 5)
    #expect(extraction.children.allSatisfy { $0.suffix.hasPrefix("#object=") && $0.kind == nil && !$0.payload.isEmpty })
    #expect(extraction.children.contains { $0.fileName == "_____Microsoft_Office_Excel1.xlsx" })
    // oleObject1.bin is a packager object: the child is the picture it wraps, under its own name.
    let picture = try #require(extraction.children.first { $0.suffix == "#object=Tryhere.jpg" })
    #expect(picture.fileName == "Tryhere.jpg" && picture.payload.count == 100_287)
    #expect(picture.payload.starts(with: [0xFF, 0xD8, 0xFF]))
    // A document without headers has none.
    let plain = OfficeCorpus.text(try OfficeCorpus.extract("word/NullHeader.docx"))
    #expect(!plain.contains("[header]"))
    #expect(plain.hasPrefix("Hundreds injured in Yemen protest\nBBC Middle East"))
  }

  @Test func workbookCellsFormulasHeadersAndComments() throws {
    let document = try #require(try OfficeCorpus.extract("excel/45540_classic_Header.xlsx").document)
    #expect(document.metadata["sheets"] == "7")
    #expect(document.metadata["author"] == "Paul M. Steven")
    #expect(document.metadata["lastPrinted"] == "2006-10-19T03:37:08Z")
    let first = try #require(document.sections.first)
    #expect(first.locator.description == "45540_classic_Header.xlsx#sheet=Profile of Class!A1:E54")
    #expect(first.text.contains("A10: Seeking Employment | B10: =C10/567 → 93.8271604938272% | C10: 532"))
    #expect(first.text.contains("A5: 2006-09-11"))
    let text = document.sections.map(\.text).joined(separator: "\n")
    #expect(text.contains("C11: =SUM(C12:C18) → 323"))
    #expect(text.contains("[header] testdoc | test phrase"))

    let comments = try #require(try OfficeCorpus.extract("excel/56644.xlsx").document)
    let commentText = comments.sections.map(\.text).joined(separator: "\n")
    #expect(commentText.contains("[comment by Author on A21] Compulsorsy Unique Identifier"))
    #expect(comments.warnings.contains("the workbook holds 11 cell comments"))
  }

  @Test func slidesInOrderWithNotes() throws {
    let document = try #require(try OfficeCorpus.extract("powerpoint/aptia.pptx").document)
    #expect(document.metadata["slides"] == "9")
    #expect(document.pageCount == 9)
    #expect(document.sections.first?.locator.description == "aptia.pptx#slide=1")
    let slide4 = try #require(document.sections.first { $0.locator.slide == 4 })
    #expect(slide4.text.contains("[notes] Stage 3 and 4 timetable yet to be finalised."))
    let slide5 = try #require(document.sections.first { $0.locator.slide == 5 })
    #expect(slide5.text.contains("Clerks – Private Sector Award 2010 | 3A"))
    let deck = try #require(try OfficeCorpus.extract("powerpoint/ececapstonespring2012.pptx").document)
    #expect(deck.sections.count == 24)
    #expect(deck.sections.map { $0.locator.slide ?? 0 } == Array(1...24))
  }

  @Test func encryptedFilesOpenWithTheirPassword() throws {
    // Agile encryption with Office's default password: opened without asking, and said so.
    let agile = try #require(try OfficeCorpus.extract("encrypted/protected_agile.docx").document)
    #expect(agile.sections.map(\.text).joined(separator: "\n").contains("protected document"))
    #expect(
      agile.warnings.first == "the file is encrypted; it was opened with Office's default password (VelvetSweatshop)")

    // Standard encryption with password "tika": refused without it, refused with a wrong one, read with it.
    let file = "encrypted/testEXCEL_protected_passtika.xlsx"
    let name = "testEXCEL_protected_passtika.xlsx"
    #expect(throws: IngestError.officeEncrypted(path: name)) { try OfficeCorpus.extract(file) }
    #expect(
      IngestError.officeEncrypted(path: name).errorDescription
        == "\(name) is password-protected; give its password with --password-file.")
    #expect(throws: IngestError.officeWrongPassword(path: name)) { try OfficeCorpus.extract(file, passwords: ["nope"]) }
    let sheet = try #require(try OfficeCorpus.extract(file, passwords: ["wrong", "tika"]).document)
    let text = sheet.sections.map(\.text).joined(separator: "\n")
    let reference = try #require(OfficeCorpus.reference(file))
    let share = OfficeCorpus.coverage(ours: text, reference: reference, words: ["Encrypted", "spreadsheet"])
    #expect(share.chars == 1 && share.words == 1, "\(share)")
    #expect(sheet.metadata["sheets"] == "3")
    #expect(sheet.warnings.first == "the file is encrypted; it was opened with a password given")
  }

  @Test func corruptFilesGiveOneSentence() throws {
    for file in [
      "corrupt/testWORD_truncated.docx", "corrupt/clusterfuzz-testcase-minimized-POIXSSFFuzzer-6123461607817216.xlsx",
    ] {
      do {
        _ = try OfficeCorpus.extract(file)
        Issue.record("\(file) was read")
      } catch let error as IngestError {
        guard case .officeUnreadable(let path, let reason) = error else {
          Issue.record("\(file): \(error)")
          continue
        }
        #expect(path == (file as NSString).lastPathComponent)
        #expect(!reason.isEmpty)
        let sentence = try #require(error.errorDescription)
        #expect(sentence.hasSuffix(".") && !sentence.contains("\n"))
      }
    }
  }
}
