import Foundation
import Testing
import _LongctxTestSupport

@testable import Ingest

#if canImport(Glibc)
  import Glibc
#endif

/// Legacy office files (DOC, XLS, PPT, ODF, RTF) through LibreOffice, against the corpus's reference text.
@Suite struct ConvertedOfficeCorpusTests {
  @Test(
    "each legacy corpus file has ≥ 95 % of its reference's distinctive words",
    .enabled(if: ConvertedCorpus.isUsable, ConvertedCorpus.skipReason), arguments: ConvertedCorpus.legacyFiles)
  func distinctiveWords(_ relative: String) throws {
    let extraction = try ConvertedCorpus.extraction(relative).get()
    let document = try #require(extraction.document)
    #expect(document.kind == .officeConverted)
    #expect(document.extractor == DocumentKind.officeConverted.extractorVersion)
    #expect(document.metadata["convertedBy"]?.hasPrefix("LibreOffice ") == true)
    let text = document.sections.map(\.text).joined(separator: "\n").precomposedStringWithCanonicalMapping
    // LibreOffice's text export runs a tracked insertion and deletion together (`difficultcomplex`);
    // ours marks them (`[inserted: difficult][deleted: complex]`). Compared without the marks.
    let unmarked = text.replacingOccurrences(
      of: #"\[(?:inserted|deleted|moved from|moved to): ([^\]]*)\]"#, with: "$1", options: .regularExpression)
    let reference = try #require(ConvertedCorpus.referenceText(relative), "no reference text for \(relative)")
    let wanted = ConvertedCorpus.distinctiveWords(reference)
    let found = wanted.intersection(
      ConvertedCorpus.distinctiveWords(text).union(ConvertedCorpus.distinctiveWords(unmarked)))
    let share = wanted.isEmpty ? 1 : Double(found.count) / Double(wanted.count)
    print(
      "\(relative): \(found.count)/\(wanted.count) distinctive words (\(String(format: "%.1f", share * 100)) %), "
        + "\(document.sections.count) sections")
    #expect(share >= 0.95, "missing: \(wanted.subtracting(found).sorted().prefix(20))")
    for word in ConvertedCorpus.manifestWords(relative) {
      #expect(text.contains(word.precomposedStringWithCanonicalMapping), "\(word) not in \(relative)")
    }
  }

  @Test(
    "sections cite paragraphs, sheet ranges and slides",
    .enabled(if: ConvertedCorpus.isUsable, ConvertedCorpus.skipReason))
  func locators() throws {
    let doc = try #require(try ConvertedCorpus.extraction("word/HeaderFooterProblematic.doc").get().document)
    #expect(doc.sections.first?.locator.paragraph == 1)
    #expect(doc.metadata["author"] == "Stephanie Da Costa")
    let xls = try #require(try ConvertedCorpus.extraction("excel/47245_test.xls").get().document)
    let sheets = Set(xls.sections.compactMap(\.locator.sheet))
    // Four sheets, as the reference's per-sheet CSVs (`sheets=4`).
    #expect(sheets == ["TS_All Prods ", "SSFs", "OKLI", "OCPO"])
    let ssfs = try #require(xls.sections.first { $0.locator.sheet == "SSFs" })
    // The block's used range (the sheet's first column is empty).
    #expect(ssfs.locator.description.hasPrefix("47245_test.xls#sheet=SSFs!B2:"))
    let ppt = try #require(
      try ConvertedCorpus.extraction("powerpoint/br.com.tvcamboriu.www_pps_Pensar_5b1_5d.ppt").get().document)
    // slides=14 in the manifest (LibreOffice's PDF of it).
    #expect(ppt.sections.compactMap(\.locator.slide).max() == 14)
    #expect(ppt.sections.allSatisfy { $0.locator.slide != nil })
  }

  @Test(
    "a corrupt presentation fails with one plain sentence",
    .enabled(if: ConvertedCorpus.isUsable, ConvertedCorpus.skipReason)
  )
  func corrupt() throws {
    let relative = "corrupt/clusterfuzz-testcase-minimized-POIHSLFFuzzer-6614960949821440.ppt"
    let result = ConvertedCorpus.extraction(relative)
    guard case .failure(let error) = result else {
      Issue.record("the corrupt file was read")
      return
    }
    let name = (relative as NSString).lastPathComponent
    #expect(
      error
        == .officeNotConverted(
          path: name, reason: "it is damaged or in a format LibreOffice does not read (LibreOffice error 0xE14)"))
    #expect(error.userDescription.hasPrefix("LibreOffice cannot open \(name): it is damaged"))
  }

  @Test(
    "an encrypted .doc asks for its password, opens with it, and says when none fits",
    .enabled(if: ConvertedCorpus.isUsable, ConvertedCorpus.skipReason))
  func encrypted() throws {
    let relative = "encrypted/password_password_cryptoapi.doc"
    let name = "password_password_cryptoapi.doc"
    let locked = ConvertedCorpus.extraction(relative)
    #expect(throws: IngestError.officeEncrypted(path: name)) { try locked.get() }
    if case .failure(let error) = locked {
      #expect(error.userDescription == "\(name) is password-protected; give its password with --password-file.")
    }
    #expect(throws: IngestError.officeWrongPassword(path: name)) {
      try ConvertedCorpus.extraction(relative, passwords: ["wrong"]).get()
    }
    // POI's TestHxxFEncryption: the password is "password", the text "This is a test".
    let opened = try #require(
      try ConvertedCorpus.extraction(relative, passwords: ["wrong", "password"]).get().document)
    #expect(opened.sections.map(\.text).joined().contains("This is a test"))
    #expect(opened.metadata["encrypted"] == "true")
  }

  @Test(
    "any office file converts to PDF: a .doc and a .pptx",
    .enabled(if: ConvertedCorpus.isUsable, ConvertedCorpus.skipReason))
  func pdf() throws {
    let dir = try TemporaryDirectory()
    defer { dir.remove() }
    for (relative, pages, word) in [
      ("word/HeaderFooterProblematic.doc", 7, "insolvency"), ("powerpoint/aptia.pptx", 9, "modernisation"),
    ] {
      let pdf = try LibreOfficeConverter.pdf(of: ConvertedCorpus.path(relative), in: dir.url)
      #expect(
        pdf.lastPathComponent == ((relative as NSString).lastPathComponent as NSString).deletingPathExtension + ".pdf")
      let document = try PDFExtractor(ocr: OCRSettings(mode: .off)).extract(path: pdf.path, displayPath: "x.pdf")
      #expect(document.pageCount == pages, "\(relative)")
      #expect(document.sections.map(\.text).joined().contains(word), "\(relative)")
    }
  }
}

/// LibreOffice on inputs the tests make: runs wherever soffice is installed.
@Suite struct ConvertedOfficeTests {
  static let skipReason: Comment = "LibreOffice (soffice) is not installed"

  private func rtf(_ body: String, in dir: TemporaryDirectory, name: String = "hello.rtf") throws -> String {
    let url = dir.url.appendingPathComponent(name)
    try Data(body.utf8).write(to: url)
    return url.path
  }

  private func extract(_ path: String, displayPath: String = "hello.rtf") throws -> ExtractedDocument {
    let input = ExtractionInput(
      path: path, displayPath: displayPath, options: IngestOptions(base: URL(fileURLWithPath: "/")))
    return try #require(try ConvertedOfficeExtractor().extract(input).document)
  }

  @Test("a tiny RTF the test writes", .enabled(if: LibreOfficeConverter.isInstalled, skipReason))
  func tinyRTF() throws {
    let dir = try TemporaryDirectory()
    defer { dir.remove() }
    let document = try extract(try rtf(#"{\rtf1\ansi hello world}"#, in: dir))
    #expect(document.kind == .officeConverted)
    #expect(document.sections.map(\.text) == ["hello world"])
    #expect(document.sections.first?.locator.description == "hello.rtf#para=1")
    #expect(document.metadata["convertedBy"] == LibreOfficeConverter.shared.version)
    #expect(Extractors.extractor(for: .officeConverted) is ConvertedOfficeExtractor)
  }

  @Test(
    "a hung conversion is killed with soffice, and the next file starts a fresh one",
    .enabled(if: LibreOfficeConverter.isInstalled, skipReason))
  func timeLimitAndRestart() throws {
    let dir = try TemporaryDirectory()
    defer { dir.remove() }
    let path = try rtf(#"{\rtf1\ansi second file}"#, in: dir, name: "second.rtf")
    let converter = LibreOfficeConverter()
    let out = dir.url.appendingPathComponent("out")
    try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
    _ = try converter.convert(path, exports: [.plain], into: out, timeLimit: 120)
    let group = try #require(converter.processGroup)
    #expect(!processes(inGroup: group).isEmpty)
    #expect(throws: LibreOfficeFailure.timedOut(0.001)) {
      try converter.convert(path, exports: [.plain], into: out, timeLimit: 0.001)
    }
    // The whole group (driver, soffice) is gone.
    #expect(gone(group))
    let again = try converter.convert(path, exports: [.plain], into: out, timeLimit: 120)
    #expect(again.family == "text")
    #expect(converter.starts == 2)
    // soffice killed behind the driver's back is started again by the driver.
    let second = try #require(converter.processGroup)
    for pid in processes(inGroup: second) where pid != second { kill(pid, SIGKILL) }
    usleep(200_000)
    let third = try converter.convert(path, exports: [.plain], into: out, timeLimit: 120)
    let text = try ConvertedOfficeText.read(try #require(third.files.first?.path))
    #expect(text.contains("second file"))
    converter.stop()
    #expect(gone(second))
  }

  /// Whether process group `group` is empty within 5 s (killed processes take a moment to be reaped).
  private func gone(_ group: Int32) -> Bool {
    for _ in 0..<50 {
      if processes(inGroup: group).isEmpty { return true }
      usleep(100_000)
    }
    return false
  }

  /// The processes of process group `group` (from /proc).
  private func processes(inGroup group: Int32) -> [Int32] {
    let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
    return entries.compactMap { entry -> Int32? in
      guard let pid = Int32(entry),
        let stat = try? String(contentsOfFile: "/proc/\(entry)/stat", encoding: .utf8),
        let close = stat.lastIndex(of: ")")
      else { return nil }
      // pid (comm) state ppid pgrp …
      let fields = stat[stat.index(after: close)...].split(separator: " ")
      guard fields.count > 3, Int32(fields[2]) == group, fields[0] != "Z" else { return nil }
      return pid
    }
  }

  @Test("tab-separated values as LibreOffice quotes them, and column names")
  func tsv() {
    #expect(
      ConvertedOfficeText.parseTSV("a\tb\n\"x\ty\"\t\"say \"\"hi\"\"\"\n\"two\nlines\"\n") == [
        ["a", "b"], ["x\ty", "say \"hi\""], ["two\nlines"],
      ])
    #expect(["A", "Z", "AA", "AZ", "BA"] == [0, 25, 26, 51, 52].map(ConvertedOfficeText.columnName))
    var redactor = Redactor(enabled: false)
    let sections = ConvertedOfficeText.sheet(
      "\t\t\nName\tQty\n\t\t\nBolt\t3\t\n", name: "Q3", displayPath: "b.xls", redactor: &redactor)
    #expect(sections.map(\.locator.description) == ["b.xls#sheet=Q3!A2:B4"])
    #expect(sections.map(\.text) == ["Name\tQty\nBolt\t3"])
  }
}

/// The OOXML route: what the `.office` extractor is handed, and what becomes of its document.
@Suite struct ConvertedOfficeNativeRouteTests {
  /// Stands in for the native OOXML extractor: records the file it is given.
  struct RecordingExtractor: Extractor {
    var fails = false

    func extract(_ input: ExtractionInput) throws -> Extraction {
      if fails { throw IngestError.unreadable(path: input.displayPath, reason: "stub failure") }
      let bytes = try Data(contentsOf: URL(fileURLWithPath: input.path))
      let isZip = bytes.starts(with: [0x50, 0x4B, 0x03, 0x04])
      let name = (input.path as NSString).lastPathComponent
      return Extraction(
        document: ExtractedDocument(
          kind: .office, metadata: ["application": "LibreOffice/7.4.7.2$Linux_X86_64"],
          sections: [Section(locator: Locator(path: input.displayPath, paragraph: 1), text: "\(name) zip=\(isZip)")],
          extractor: DocumentKind.office.extractorVersion))
    }
  }

  @Test(
    "a text document goes to the OOXML extractor as DOCX; if it fails, the plain text is read",
    .enabled(if: LibreOfficeConverter.isInstalled, ConvertedOfficeTests.skipReason))
  func ooxmlRoute() throws {
    let dir = try TemporaryDirectory()
    defer { dir.remove() }
    let path = dir.url.appendingPathComponent("memo.rtf")
    try Data(#"{\rtf1\ansi{\info{\author Ada Lovelace}}native route}"#.utf8).write(to: path)
    let input = ExtractionInput(
      path: path.path, displayPath: "in/memo.rtf", options: IngestOptions(base: dir.url))
    let native = try #require(try ConvertedOfficeExtractor(native: RecordingExtractor()).extract(input).document)
    #expect(native.sections.map(\.text) == ["converted.docx zip=true"])
    #expect(native.kind == .officeConverted)
    #expect(native.extractor == DocumentKind.officeConverted.extractorVersion)
    #expect(native.metadata["author"] == "Ada Lovelace")
    #expect(native.metadata["application"] == nil)
    #expect(native.metadata["convertedBy"]?.hasPrefix("LibreOffice ") == true)

    let fallback = try #require(
      try ConvertedOfficeExtractor(native: RecordingExtractor(fails: true)).extract(input).document)
    #expect(fallback.sections.map(\.text) == ["native route"])
    #expect(fallback.warnings.first?.hasPrefix("the DOCX LibreOffice made could not be read") == true)
  }

  @Test(
    "through the isolated extraction worker: a document, and a damaged file as one failure",
    .enabled(if: LibreOfficeConverter.isInstalled, ConvertedOfficeTests.skipReason))
  func isolatedWorker() async throws {
    guard let binary = CLI.binary else {
      print("skipped: no built longctx binary under .build")
      return
    }
    let f = try IngestFixture()
    defer { f.remove() }
    try f.dir.write("in/hello.rtf", #"{\rtf1\ansi hello from the worker}"#)
    // An OLE2 signature and nothing after it (a .doc of plain text would be read as text).
    try Data([0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1] + [UInt8](repeating: 0, count: 3000))
      .write(to: f.dir.url.appendingPathComponent("in/broken.doc"))
    let worker = ExtractionWorker(executable: binary, timeLimit: 120, memoryLimit: 4 << 30)
    let summary = try await f.ingest(["in"], worker: worker)
    let reasons = Dictionary(uniqueKeysWithValues: summary.exceptions.map { ($0.path, $0.reason) })
    #expect(reasons["in/broken.doc"]?.hasPrefix("LibreOffice cannot open in/broken.doc") == true, "\(reasons)")
    let file = try #require(summary.files.first { $0.displayPath == "in/hello.rtf" })
    let sections = try Corpus(workspace: f.workspace).sections(
      ofDocument: file.documentHash, displayPath: file.displayPath)
    #expect(sections.map(\.text) == ["hello from the worker"])
    #expect(sections.first?.locator.description == "in/hello.rtf#para=1")
  }
}

/// The driver script as Swift holds it.
@Suite struct LibreOfficeDriverScriptTests {
  @Test("the driver script is valid Python")
  func compiles() throws {
    guard FileManager.default.isExecutableFile(atPath: LibreOfficeEnvironment.python) else {
      print("skipped: no \(LibreOfficeEnvironment.python)")
      return
    }
    let process = Process()
    process.executableURL = URL(fileURLWithPath: LibreOfficeEnvironment.python)
    process.arguments = ["-c", "import ast, sys; ast.parse(sys.stdin.read())"]
    let input = Pipe()
    process.standardInput = input
    process.standardError = FileHandle.nullDevice
    try process.run()
    try input.fileHandleForWriting.write(contentsOf: Data(LibreOfficeDriverScript.source.utf8))
    try input.fileHandleForWriting.close()
    process.waitUntilExit()
    #expect(process.terminationStatus == 0)
  }
}
