import Foundation

/// Word, Excel and PowerPoint files in Office Open XML, read natively from their ZIP and XML.
///
/// The application is decided by the package's main part, never by the file
/// name, so a converted legacy file under any name reads the same. The ZIP
/// is ZIPFoundation's (parts inflated on demand, bomb limits checked before
/// and while inflating); the XML goes through `XMLScanner`, a byte tokenizer
/// that expands no entities. Embedded objects become children
/// (`#object=<name>`); images are not passed on. Encrypted packages (an OLE2
/// file holding an `EncryptedPackage` stream) are refused with one sentence:
/// they are not decrypted.
struct OfficeExtractor: Extractor {
  func extract(_ input: ExtractionInput) throws -> Extraction {
    let name = input.displayPath
    try Self.refuseNonZip(input.path, displayPath: name)
    let content: OfficeContent
    let parts: ZipParts
    do {
      parts = try ZipParts(path: input.path)
      content = try OfficePackage.read(parts, path: input.displayPath)
    } catch let error as OfficeError {
      throw Self.ingestError(error, displayPath: name)
    }

    var redactor = Redactor(enabled: input.options.redact)
    let sections = content.sections.map { section in
      Section(locator: section.locator, text: redactor.redact(section.text, locator: section.locator))
    }
    var warnings = content.warnings
    var children: [ChildFile] = []
    for part in content.objects {
      let childName = OfficeObjects.childName(part)
      let suffix = "#object=\(childName)"
      do {
        guard let (bytes, cut) = try parts.read(part, limit: OfficeLimits.maxObjectBytes) else { continue }
        if cut {
          children.append(
            ChildFile(
              suffix: suffix, fileName: childName, payload: Data(),
              refusal: "The embedded object \(childName) is over \(OfficeLimits.maxObjectBytes >> 20) MB; not read."))
        } else {
          children.append(ChildFile(suffix: suffix, fileName: childName, payload: Data(bytes)))
        }
      } catch {
        children.append(
          ChildFile(
            suffix: suffix, fileName: childName, payload: Data(),
            refusal: "The embedded object \(childName) could not be inflated safely; not read."))
      }
    }
    if !children.isEmpty {
      warnings.append("\(children.count) embedded object\(children.count == 1 ? "" : "s") read as attached files")
    }
    warnings += redactor.warnings
    return Extraction(
      document: ExtractedDocument(
        kind: .office, title: content.title, metadata: content.metadata, sections: sections,
        pageCount: content.pageCount, warnings: warnings, extractor: DocumentKind.office.extractorVersion),
      children: children)
  }

  /// The OLE2 compound file signature: legacy binary Office files and encrypted OOXML packages.
  private static let ole2Signature: [UInt8] = [0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1]

  /// Throws the right sentence for a file that is not a ZIP: encrypted OOXML, a legacy binary file, or neither.
  private static func refuseNonZip(_ path: String, displayPath: String) throws {
    guard let handle = FileHandle(forReadingAtPath: path) else {
      throw IngestError.unreadable(path: displayPath, reason: "it cannot be opened")
    }
    defer { try? handle.close() }
    let head = [UInt8]((try? handle.read(upToCount: 8)) ?? Data())
    guard head == ole2Signature else { return }
    // An encrypted package names its `EncryptedPackage` stream in the compound file's directory.
    try? handle.seek(toOffset: 0)
    let body = [UInt8]((try? handle.read(upToCount: 4 << 20)) ?? Data())
    let marker = Array("EncryptedPackage".utf16.flatMap { [UInt8($0 & 0xFF), UInt8($0 >> 8)] })
    if contains(body, marker) { throw IngestError.officeEncrypted(path: displayPath) }
    throw IngestError.officeUnreadable(
      path: displayPath, reason: "it is a legacy binary (OLE2) Office file, not Office Open XML")
  }

  private static func contains(_ haystack: [UInt8], _ needle: [UInt8]) -> Bool {
    guard let first = needle.first, haystack.count >= needle.count else { return false }
    var i = 0
    while i + needle.count <= haystack.count {
      if haystack[i] == first, haystack[i..<(i + needle.count)].elementsEqual(needle) { return true }
      i += 1
    }
    return false
  }

  static func ingestError(_ error: OfficeError, displayPath: String) -> IngestError {
    switch error {
    case .notAPackage(let reason), .notOffice(let reason):
      return .officeUnreadable(path: displayPath, reason: reason)
    case .bomb(let part, let limit):
      return .decompressionBomb(path: "\(displayPath) (part \(part))", limit: limit)
    case .encrypted:
      return .officeEncrypted(path: displayPath)
    }
  }
}
