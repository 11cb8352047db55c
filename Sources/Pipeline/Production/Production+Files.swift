import Foundation
import Ingest
import Storage

/// The files step of `Production.produce`: TEXT/, NATIVES/, IMAGES/ and DATA/, written to a
/// new directory beside the production, then swapped in.
extension Production {
  /// What writing a production's files reads.
  struct FileLayout {
    /// The directory written before it is swapped in.
    let staging: URL
    let corpus: Corpus
    /// Every member's numbers, by `Member.numberKey`.
    let numbers: [String: Numbers]
    let coding: CodingChoice
    /// ALLCUSTODIANS, by what deduplication compares.
    let allCustodians: [String: String]
    /// Email threads, by display path.
    let threads: [String: EmailThreading.Placement]
    /// Office files' PDFs (for their images), by `Member.numberKey`.
    let officePDFs: [String: String]
    /// The coding fields, as DAT columns after the others.
    let codingFields: [String]

    /// A member's numbers (every member is numbered before the files are written).
    func numbers(of member: Member) -> Numbers { numbers[member.numberKey] ?? (0, 0) }
  }

  /// What the files step has written so far.
  struct WrittenFiles {
    var rows: [[String]] = []
    var privilegeLog: [[String]] = []
    var produced: [Document] = []
    var pages = 0
    var opticon: [String] = []
    var images = 0
    var placeholderImages = 0
    var imageJobs: [ImageJob] = []
  }

  /// A new, empty directory beside `directory` with the production's folders.
  func makeStaging(for directory: URL) throws -> URL {
    let fm = FileManager.default
    let staging = directory.deletingLastPathComponent().appendingPathComponent(
      ".\(directory.lastPathComponent).partial-\(ProcessInfo.processInfo.processIdentifier)")
    try? fm.removeItem(at: staging)
    for sub in ["DATA", "TEXT", "NATIVES"] + ((settings.images == true) ? ["IMAGES"] : []) {
      try fm.createDirectory(at: staging.appendingPathComponent(sub), withIntermediateDirectories: true)
    }
    return staging
  }

  /// Writes one family: each member's text and native, its image job and Opticon lines, its
  /// DAT row and, withheld, its privilege log row.
  func write(_ family: [Member], _ layout: FileLayout, into written: inout WrittenFiles) throws {
    guard let head = family.first, let tail = family.last else { return }
    let first = layout.numbers(of: head)
    let last = layout.numbers(of: tail)
    let attachRange = (bates(first.begin), bates(last.begin + last.pages - 1))
    // Each member's first number, and its direct children (ATTACHCOUNT, ATTACHNAMES).
    var begOf: [String: String] = [:]
    var childrenOf: [String: [String]] = [:]
    for member in family {
      begOf[member.file.displayPath] = bates(layout.numbers(of: member).begin)
      if let parent = member.parent {
        childrenOf[parent, default: []].append(member.name ?? Self.fileName(member.file.displayPath))
      }
    }
    for member in family {
      try write(
        member, layout, attachRange: attachRange, parentBates: member.parent.flatMap { begOf[$0] } ?? "",
        children: childrenOf[member.file.displayPath] ?? [], into: &written)
    }
  }

  /// Writes one member of a family.
  private func write(
    _ member: Member, _ layout: FileLayout, attachRange: (String, String), parentBates: String, children: [String],
    into written: inout WrittenFiles
  ) throws {
    let n = layout.numbers(of: member)
    let beg = bates(n.begin)
    let end = bates(n.begin + n.pages - 1)
    let text = try self.text(of: member, corpus: layout.corpus)
    let isWithheld = layout.coding.withheld.contains(member.file.displayPath)
    let textPath = "TEXT/\(beg).txt"
    // A withheld document's text file is its slip sheet.
    let slip = "Document withheld: \(settings.withhold ?? "")\n"
    try Data((isWithheld ? slip : text).utf8).write(to: layout.staging.appendingPathComponent(textPath))
    let name = member.name ?? Self.fileName(member.file.displayPath)
    let ext = member.ext ?? (name as NSString).pathExtension.lowercased()
    let native = try writeNative(
      member, text: text, path: isWithheld ? nil : "NATIVES/\(beg)" + (ext.isEmpty ? "" : ".\(ext)"), layout)
    var imagePath = ""
    if settings.images == true {
      try addImages(
        member, name: name, ext: ext, numbers: n, withheld: isWithheld, nativePath: native.path, layout,
        into: &written)
      imagePath = "IMAGES/\(beg).tif"
    }
    let h = member.headers
    let meta = member.metadata
    let row = layout.coding.row(of: member)
    let codingCells = layout.codingFields.map { f in row?.values[f].map { $0 ? "Y" : "N" } ?? "" }
    let thread = layout.threads[member.file.displayPath]
    let isMessage = member.thread != nil
    let docType =
      isMessage
      ? (member.parent == nil ? "Email" : "Email attachment")
      : (member.parent == nil ? "Document" : "Attachment")
    let cells: [String] = [
      beg, end, attachRange.0, attachRange.1, parentBates, children.isEmpty ? "" : String(children.count),
      children.joined(separator: "; "), member.custodian, layout.allCustodians[member.dedupHash] ?? "", docType,
      name, member.file.displayPath, ext, native.size, native.md5, native.sha1, native.sha256, String(member.pages),
      Self.isoDate(h["date"]), Self.isoDate(h["received"] ?? meta["received"]), Self.isoDate(meta["created"]),
      Self.isoDate(meta["modified"]), Self.isoDate(meta["lastPrinted"]), h["from"] ?? "", h["to"] ?? "",
      h["cc"] ?? "", h["bcc"] ?? "", h["subject"] ?? "",
      Self.messageID(h["message-id"]), thread?.threadID ?? "",
      thread?.position ?? "", thread.map { $0.inclusive ? "Y" : "N" } ?? "", meta["title"] ?? "",
      meta["author"] ?? "", meta["lastModifiedBy"] ?? "", meta["company"] ?? "", meta["revision"] ?? "",
      meta["application"] ?? "", textPath, native.path,
    ]
    written.rows.append(
      cells.map(Self.cleanCell) + ((settings.images == true) ? [imagePath] : []) + codingCells
        + (settings.withhold == nil ? [] : [isWithheld ? "Y" : ""]))
    if isWithheld, let field = settings.withhold {
      let description = row.map { r in
        let own = r.reasonText(where: field)
        return own.isEmpty ? r.reasonText() : own
      }
      written.privilegeLog.append(
        Self.privilegeLogRow(
          begin: beg, end: end, ext: ext, isAttachment: member.parent != nil, headers: h,
          metadata: member.metadata, privilege: settings.privilege ?? Self.claim(field),
          description: description ?? ""))
    }
    written.produced.append(
      Document(
        displayPath: member.file.displayPath, documentHash: member.file.documentHash, begin: n.begin,
        pages: n.pages, parent: member.parent, custodian: member.custodian, date: member.date))
    written.pages += n.pages
  }

  /// A member's text: its own (a message of a mailbox), its failure, or its stored sections.
  private func text(of member: Member, corpus: Corpus) throws -> String {
    if let own = member.text { return own }
    if let failure = member.failure { return "Document could not be processed: \(failure)\n" }
    return try corpus.sections(ofDocument: member.file.documentHash, displayPath: member.file.displayPath)
      .map(\.text).joined(separator: "\n\n")
  }

  /// A native's path in the production (empty when none was written), size and hashes.
  struct NativeFile {
    var path = ""
    var size = ""
    var md5: String
    var sha1: String
    var sha256: String
  }

  /// Writes a member's native file to `path` (nil: withheld, not written) and hashes it; a
  /// child whose bytes could not be read again (see `resolveNatives`) is hashed over its text.
  private func writeNative(_ member: Member, text: String, path: String?, _ layout: FileLayout) throws -> NativeFile {
    let bytes: Data? =
      if let native = member.native {
        native
      } else if member.parent == nil, member.text == nil {
        try Self.sourcePath(member.file.displayPath, corpus: layout.corpus, failed: member.failure != nil)
          .flatMap { FileManager.default.contents(atPath: $0) }
      } else {
        nil
      }
    guard let bytes else {
      let data = Data(text.utf8)
      return NativeFile(md5: Hashing.md5(data), sha1: Hashing.sha1(data), sha256: Hashing.sha256(data))
    }
    if let path { try bytes.write(to: layout.staging.appendingPathComponent(path)) }
    return NativeFile(
      path: path ?? "", size: String(bytes.count), md5: Hashing.md5(bytes), sha1: Hashing.sha1(bytes),
      sha256: Hashing.sha256(bytes))
  }

  /// Adds a member's image job and Opticon lines. A top-level file is imaged from its
  /// source; a file inside another from the native just written (an attachment's, an
  /// archive member's).
  private func addImages(
    _ member: Member, name: String, ext: String, numbers n: Numbers, withheld: Bool, nativePath: String,
    _ layout: FileLayout, into written: inout WrittenFiles
  ) throws {
    let original =
      member.parent == nil && member.text == nil && member.failure == nil
      ? try layout.corpus.absolutePath(ofDisplayPath: member.file.displayPath) : nil
    let source =
      member.failure == nil && !nativePath.isEmpty
      ? original ?? layout.staging.appendingPathComponent(nativePath).path : nil
    let officePDF = member.failure == nil ? layout.officePDFs[member.numberKey] : nil
    written.imageJobs.append(
      ImageJob(
        name: name, ext: officePDF == nil ? ext : "pdf", source: officePDF ?? source, withheld: withheld,
        parent: member.parent != nil, failure: member.failure, begin: n.begin, pages: n.pages,
        office: officePDF == nil && (member.kind == .office || member.kind == .officeConverted),
        native: !nativePath.isEmpty))
    for i in 0..<n.pages {
      let bates = bates(n.begin + i)
      written.opticon.append(
        Self.opticonLine(
          bates: bates, volume: spec.name, imagePath: "IMAGES/\(bates).tif", documentBreak: i == 0,
          pageCount: i == 0 ? n.pages : nil))
    }
    written.images += n.pages
  }

  /// Writes DATA/ (the DAT, the EDRM XML and, with images, the Opticon file), the page
  /// images, the privilege log and the marker.
  func writeLoadFiles(_ written: inout WrittenFiles, _ layout: FileLayout, warnings: inout [String]) throws {
    let staging = layout.staging
    let header =
      Self.fields + ((settings.images == true) ? ["IMAGEPATH"] : []) + layout.codingFields.map { $0.uppercased() }
      + (settings.withhold == nil ? [] : [Self.withheldField])
    try Self.dat(written.rows, header: header).write(to: staging.appendingPathComponent("DATA/\(spec.name).dat"))
    try Self.edrmXML(header: header, rows: written.rows, directory: staging, batch: spec.name).write(
      to: staging.appendingPathComponent("DATA/\(spec.name).xml"))
    if settings.images == true {
      let images = try writeImages(written.imageJobs, into: staging.appendingPathComponent("IMAGES"))
      written.placeholderImages = images.placeholders
      warnings += images.warnings
      try Data(written.opticon.joined().utf8).write(to: staging.appendingPathComponent("DATA/\(spec.name).opt"))
    }
    if settings.withhold != nil {
      try Data(Self.privilegeLogCSV(written.privilegeLog).utf8).write(
        to: staging.appendingPathComponent(Self.privilegeLogName))
    }
    try Data((spec.name + "\n").utf8).write(to: staging.appendingPathComponent(Self.marker))
  }

  /// Replaces the production at `directory` (this job's, or none) with `staging`: the old
  /// one goes only once the new one is complete.
  func swapIn(_ staging: URL, at directory: URL) throws {
    let fm = FileManager.default
    if fm.fileExists(atPath: directory.path) { try fm.removeItem(at: directory) }
    try fm.createDirectory(at: directory.deletingLastPathComponent(), withIntermediateDirectories: true)
    try fm.moveItem(at: staging, to: directory)
  }
}
