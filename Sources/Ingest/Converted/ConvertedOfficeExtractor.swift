import Foundation

/// Office formats read through LibreOffice (`DocumentKind.officeConverted`):
/// DOC, XLS, PPT, RTF, ODF, WordPerfect and the rest of `Discovery.convertedExtensions`.
///
/// The file is converted by the process's warm soffice (`LibreOfficeConverter`)
/// to Office Open XML (a text document to DOCX, a spreadsheet to XLSX, a
/// presentation to PPTX, chosen by what LibreOffice loaded it as) and read by
/// the `.office` extractor, so that it has the same sections and locators as
/// a native OOXML file. Where there is no `.office` extractor, or it fails on
/// the converted file, or the file is a drawing, LibreOffice's plain exports
/// are read instead: text by paragraphs, each sheet's values by row ranges, a
/// presentation's PDF by slides (with its speaker notes).
struct ConvertedOfficeExtractor: Extractor {
  /// The OOXML extractor; `nil` reads the plain exports.
  var native: (any Extractor)? = Extractors.extractor(for: .office)
  var converter = LibreOfficeConverter.shared

  /// The extractor version: `DocumentKind.officeConverted.extractorVersion`.
  static var version: String { DocumentKind.officeConverted.extractorVersion }

  func extract(_ input: ExtractionInput) throws -> Extraction {
    let work = try ConversionDirectory()
    defer { work.remove() }
    let size = (try? FileManager.default.attributesOfItem(atPath: input.path)[.size] as? Int) ?? 0
    let timeLimit = LibreOfficeConverter.timeLimit(forBytes: size)
    var passwords = input.options.passwords
    if passwords.isEmpty, let password = input.options.password { passwords = [password] }

    func convert(_ exports: [LibreOfficeExport], into folder: String) throws -> LibreOfficeConversion {
      let directory = work.url.appendingPathComponent(folder, isDirectory: true)
      try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
      do {
        return try converter.convert(
          input.path, exports: exports, passwords: passwords, into: directory, timeLimit: timeLimit)
      } catch {
        throw error.ingestError(path: input.displayPath)
      }
    }

    var warnings: [String] = []
    if let native {
      let conversion = try convert([.ooxml], into: "ooxml")
      if let file = conversion.files.first(where: { ["docx", "xlsx", "pptx"].contains($0.format) }) {
        do {
          var converted = input
          converted.path = file.path
          var extraction = try native.extract(converted)
          if var document = extraction.document {
            finish(&document, conversion: conversion)
            extraction.document = document
          }
          return extraction
        } catch {
          warnings.append(
            "the \(file.format.uppercased()) LibreOffice made could not be read (\(error.userDescription)); "
              + "its plain text was read instead")
        }
      }
    }
    let conversion = try convert([.plain], into: "plain")
    var document = try plainDocument(conversion, input: input)
    document.warnings = warnings + document.warnings
    finish(&document, conversion: conversion)
    return Extraction(document: document)
  }

  /// Marks `document` as converted: its kind, extractor version, the original's properties and `convertedBy`.
  private func finish(_ document: inout ExtractedDocument, conversion: LibreOfficeConversion) {
    document.kind = .officeConverted
    document.extractor = Self.version
    // The OOXML file's own properties name LibreOffice as its application; the original's come first.
    if document.metadata["application"]?.hasPrefix("LibreOffice") == true { document.metadata["application"] = nil }
    document.metadata.merge(conversion.metadata) { _, original in original }
    document.metadata["convertedBy"] = converter.version ?? "LibreOffice"
    if conversion.password { document.metadata["encrypted"] = "true" }
    if document.title == nil { document.title = conversion.metadata["title"] }
  }

  /// The document read from LibreOffice's plain exports.
  private func plainDocument(_ conversion: LibreOfficeConversion, input: ExtractionInput) throws -> ExtractedDocument {
    var redactor = Redactor(enabled: input.options.redact)
    var sections: [Section] = []
    var pageCount: Int?
    var warnings: [String] = []
    var metadata: [String: String] = [:]
    switch conversion.family {
    case "text":
      guard let file = conversion.files.first(where: { $0.format == "txt" }) else { throw noOutput(input) }
      let text = try ConvertedOfficeText.read(file.path)
      sections = ConvertedOfficeText.paragraphs(text, displayPath: input.displayPath, redactor: &redactor)
    case "sheet":
      for file in conversion.files where file.format == "csv" {
        let values = try ConvertedOfficeText.read(file.path)
        sections += ConvertedOfficeText.sheet(
          values, name: file.sheet ?? "Sheet", displayPath: input.displayPath, redactor: &redactor)
      }
      metadata["sheets"] = String(conversion.files.filter { $0.format == "csv" }.count)
    default:
      guard let file = conversion.files.first(where: { $0.format == "pdf" }) else { throw noOutput(input) }
      var pdf = PDFExtractor(ocr: input.options.ocr)
      pdf.cache = input.ocrCache
      pdf.skippedOCRPages = input.options.skippedOCRPages
      let read = try pdf.extract(path: file.path, displayPath: input.displayPath)
      let slides = conversion.family == "slides"
      let notes = conversion.notes ?? []
      for var section in read.sections {
        let page = section.locator.page ?? 1
        if slides {
          // The PDF has one page per slide, hidden slides included.
          section.locator = Locator(path: input.displayPath, slide: page)
          if page - 1 < notes.count, !notes[page - 1].isEmpty { section.text += "\n\nNotes:\n" + notes[page - 1] }
        }
        section.text = redactor.redact(section.text, locator: section.locator)
        sections.append(section)
      }
      // Notes of a slide with no text of its own.
      let cited = Set(sections.compactMap(\.locator.slide))
      for (index, note) in notes.enumerated() where slides && !note.isEmpty && !cited.contains(index + 1) {
        let locator = Locator(path: input.displayPath, slide: index + 1)
        sections.append(Section(locator: locator, text: redactor.redact("Notes:\n" + note, locator: locator)))
      }
      sections.sort { ($0.locator.slide ?? 0) < ($1.locator.slide ?? 0) }
      pageCount = read.pageCount
      warnings = read.warnings
      if slides { metadata["slides"] = String(read.pageCount ?? 0) }
    }
    return ExtractedDocument(
      kind: .officeConverted, metadata: metadata, sections: sections, pageCount: pageCount,
      warnings: warnings + redactor.warnings, extractor: Self.version)
  }

  private func noOutput(_ input: ExtractionInput) -> IngestError {
    .officeNotConverted(path: input.displayPath, reason: "LibreOffice loaded it but wrote nothing")
  }
}
