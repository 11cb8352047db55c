import Foundation

/// ZIP, 7z, TAR (plain or gzip/bzip2/xz/zstd-compressed) and the other
/// archives libarchive reads: the archive's document is the listing of its
/// members, and each regular-file member is a child that ingest detects,
/// extracts and stores (a DOCX or a ZIP in a ZIP is read the same way, to
/// `FileExtraction.maxFamilyDepth`).
///
/// The listing has one line per member, in archive order, so line N is
/// member N: `dir/notes.txt<TAB>14 bytes<TAB>2024-01-01T00:00:00Z<TAB>read`.
/// Its sections cite line ranges of it (`bundle.zip#L1-L100`); a member's
/// own text cites `bundle.zip#member=dir/notes.txt#L1-L3`.
struct ArchiveExtractor: Extractor {
  var limits = ArchiveLimits.standard
  /// Listing lines per section.
  static let linesPerSection = 100

  func extract(_ input: ExtractionInput) throws -> Extraction {
    var passwords = input.options.passwords
    if passwords.isEmpty, let password = input.options.password { passwords = [password] }
    let reader = ArchiveReader(limits: limits, passphrases: passwords)
    let contents = try reader.read(path: input.path, displayPath: input.displayPath)
    let lines = contents.members.map(Self.line)
    var sections: [Section] = []
    for start in stride(from: 0, to: lines.count, by: Self.linesPerSection) {
      let end = min(start + Self.linesPerSection, lines.count)
      sections.append(
        Section(
          locator: Locator(path: input.displayPath, lineStart: start + 1, lineEnd: end),
          text: lines[start..<end].joined(separator: "\n")))
    }
    var metadata = [
      "members": String(contents.members.count), "uncompressedBytes": String(contents.totalBytes),
    ]
    metadata["format"] = contents.format
    if !contents.filters.isEmpty { metadata["compression"] = contents.filters.joined(separator: ", ") }
    let encrypted = contents.members.count { if case .encrypted = $0.status { true } else { false } }
    if encrypted > 0 { metadata["encryptedMembers"] = String(encrypted) }
    var warnings = contents.warnings
    if contents.members.isEmpty { warnings.append("the archive has no members") }
    let document = ExtractedDocument(
      kind: .archive, metadata: metadata, sections: sections, warnings: warnings,
      extractor: DocumentKind.archive.extractorVersion)
    return Extraction(document: document, children: contents.children)
  }

  /// One member's listing line: path, size, modified time and status, separated by tabs.
  static func line(_ member: ArchiveMember) -> String {
    let size = member.size.map { "\($0) bytes" } ?? "size unknown"
    let modified = member.modified.map { Date(timeIntervalSince1970: Double($0)).formatted(.iso8601) } ?? "no date"
    var status: String
    switch member.status {
    case .read(let decrypted): status = decrypted ? "read (decrypted)" : "read"
    case .encrypted(let reason): status = reason
    case .refused(let reason): status = "refused: \(reason)"
    case .damaged(let reason): status = "damaged: \(reason)"
    case .directory: status = "directory"
    case .link:
      let target = member.linkTarget.map { " to \(MemberPath.clean(Substring($0)))" } ?? ""
      status = (member.type == .hardLink ? "hard link" : "symbolic link") + target + ", not followed"
    case .special: status = "special file (device, FIFO or socket), not read"
    }
    if let escape = member.path.escape { status += " (\(escape))" }
    return [member.path.path, size, modified, status].joined(separator: "\t")
  }
}
