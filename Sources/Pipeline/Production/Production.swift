import Foundation
import GRDB
import Ingest
import Workspace

/// A discovery production: documents in production order (families together,
/// by custodian, then date, then path), Bates numbers per page that stay the
/// same when produced again, and the files a review platform loads: a
/// Concordance DAT, the text of each document and its native file.
///
/// With `select` and `withhold`, the job's coding (`CodingTable`, folded from its
/// map answers) chooses the documents produced and those withheld: a slip sheet in
/// the DAT and a row in the privilege log (`PRIVLOG.csv`).
///
/// With `images`, `IMAGES/<BATES>.tif` (one stamped 300-dpi Group 4 TIFF per page,
/// `Production+Images.swift`) and the Opticon cross-reference `DATA/<job>.opt`.
///
/// Every production also has `DATA/<job>.xml`, the same documents as an EDRM XML 1.2 load
/// file (`Production+EDRM.swift`). Documents of every kind are produced with their
/// families (attachments, archive members, embedded objects, messages of a store with
/// their attachments; `Production+Families.swift`), each child with its own native
/// (`Production+Natives.swift`), and every message placed in its email thread.
public struct Production: Sendable {
  let workspace: Workspace
  let spec: JobSpec
  let settings: JobSpec.ProductionSpec
  /// Where PDF pages are imaged (`--images`): in these isolated children, so that a page
  /// that crashes the renderer costs its document's images, not the production; nil renders
  /// in this process.
  public var imageWorker: ExtractionWorker?

  /// The DAT's field delimiter (ASCII 20, shown as ¶) and text qualifier (þ).
  public static let delimiter: Character = "\u{14}"
  public static let qualifier: Character = "þ"
  /// The marker a production directory holds: which job made it.
  static let marker = ".longctx-production"

  /// The DAT's columns (then IMAGEPATH with images, the coding fields, WITHHELD). Dates are
  /// ISO 8601 in UTC where the file's date could be read, as the file has it otherwise.
  /// PARENTBATES is the direct parent's first number; ATTACHCOUNT and ATTACHNAMES count and
  /// name a document's direct children; THREADID, THREADPOSITION and INCLUSIVE (`Y`/`N`)
  /// place every message in its email thread (`EmailThreading`).
  public static let fields = [
    "BEGBATES", "ENDBATES", "BEGATTACH", "ENDATTACH", "PARENTBATES", "ATTACHCOUNT", "ATTACHNAMES", "CUSTODIAN",
    "ALLCUSTODIANS", "DOCTYPE", "FILENAME", "FILEPATH", "FILEEXT", "FILESIZE", "MD5HASH", "SHA1HASH", "SHA256HASH",
    "PAGECOUNT", "DATESENT", "DATERECEIVED", "DATECREATED", "DATEMODIFIED", "DATELASTPRINTED", "FROM", "TO", "CC",
    "BCC", "SUBJECT", "MESSAGEID", "THREADID", "THREADPOSITION", "INCLUSIVE", "TITLE", "AUTHOR", "LASTMODIFIEDBY",
    "COMPANY", "REVISION", "APPLICATION", "TEXTPATH", "NATIVEPATH",
  ]

  public init(workspace: Workspace, spec: JobSpec) throws {
    guard let settings = spec.production else { throw PipelineError.noProduction(job: spec.name) }
    self.workspace = workspace
    self.spec = spec
    self.settings = settings
  }

  /// One produced document.
  public struct Document: Sendable, Equatable {
    public var displayPath: String
    public var documentHash: String
    public var begin: Int
    public var pages: Int
    public var parent: String?
    public var custodian: String
    public var date: String
  }

  /// What `produce` did.
  public struct Summary: Sendable, Codable {
    public var directory: String
    public var documents: Int
    public var pages: Int
    public var firstBates: String
    public var lastBates: String
    /// Documents numbered for the first time in this production.
    public var newlyNumbered: Int
    /// Top-level documents left out as duplicates (`dedup`).
    public var duplicatesRemoved: Int
    /// Files left out as known files (`denist`; skipped at ingest, counted by the caller).
    public var knownFilesRemoved: Int
    /// Documents withheld (`withhold`): slip sheets in the DAT, rows in `PRIVLOG.csv`.
    public var withheld: Int
    /// Page images written (`images`); 0 without them.
    public var images: Int = 0
    /// Of those, placeholder pages (documents without pages of their own, pages that failed to render).
    public var placeholderImages: Int = 0
    /// Email threads among the produced messages, and the messages a reviewer must read
    /// (INCLUSIVE `Y`: the rest is carried whole by their replies).
    public var threads: Int = 0
    public var inclusiveMessages: Int = 0
    public var warnings: [String]
  }

  public func bates(_ n: Int) -> String {
    let digits = String(n)
    return settings.prefix + String(repeating: "0", count: max(0, settings.digits - digits.count)) + digits
  }

  /// Produces `files` (the job's ingested files, attachments after their parent) into `directory`.
  ///
  /// A mailbox is produced one document per message (its attachments that message's family);
  /// each file in `failed` (ingest's failures) is a placeholder row stating its failure, and
  /// a family whose parent failed keeps its children after such a placeholder.
  ///
  /// - Throws: `PipelineError.productionDirectoryTaken` when `directory` holds files that are
  ///   not this job's production (nothing is overwritten then).
  public func produce(files: [IngestedFile], failed: [IngestException] = [], into directory: URL) throws -> Summary {
    let failures = Dictionary(
      failed.filter { $0.severity == .failed }.map { ($0.path, $0.reason) }, uniquingKeysWith: { a, _ in a })
    let fm = FileManager.default
    let markerURL = directory.appendingPathComponent(Self.marker)
    if fm.fileExists(atPath: directory.path) {
      let contents = (try? fm.contentsOfDirectory(atPath: directory.path)) ?? []
      let owner = (try? String(contentsOf: markerURL, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
      if !contents.isEmpty && owner != spec.name {
        throw PipelineError.productionDirectoryTaken(path: directory.path, owner: owner)
      }
    }
    let corpus = Corpus(workspace: workspace)
    let custodians = try Custodians.byDisplayPath(workspace)
    var warnings: [String] = []

    var families = try collectFamilies(
      files: files, failures: failures, corpus: corpus, custodians: custodians, warnings: &warnings)
    families.sort { a, b in
      let x = a[0]
      let y = b[0]
      // Custodian, then date (undated last), then path.
      return (x.custodian, x.date.isEmpty ? "~" : x.date, x.file.displayPath)
        < (y.custodian, y.date.isEmpty ? "~" : y.date, y.file.displayPath)
    }

    // Coding: which families are produced (any member selected) and which documents withheld.
    let coding = try codingTable()
    // By document, so a large production looks each one up once.
    let codingRows = Dictionary(
      (coding?.documents ?? []).map { ($0.document, $0) }, uniquingKeysWith: { first, _ in first })
    var withheld = Set<String>()
    if let coding {
      if let select = settings.select {
        let before = families.count
        families.removeAll { family in
          !family.contains { m in
            (codingRows[m.file.displayPath] ?? codingRows[Self.basePath(m.file.displayPath)])?.values[select] == true
          }
        }
        let uncoded = coding.documents.filter { !$0.coded }.count
        if uncoded > 0 {
          warnings.append(
            "\(uncoded) document(s) are uncoded (no answer names them): select: \(select) produces them only in a family"
              + " with a member coded \(select)")
        }
        if before > 0 && families.isEmpty { warnings.append("no document is coded \(select): nothing produced") }
      }
      if let field = settings.withhold {
        var unreviewed = 0
        for member in families.joined() {
          switch (codingRows[member.file.displayPath] ?? codingRows[Self.basePath(member.file.displayPath)])?
            .values[field]
          {
          case true?: withheld.insert(member.file.displayPath)
          case false?: break
          case nil: unreviewed += 1
          }
        }
        if unreviewed > 0 {
          warnings.append(
            "\(unreviewed) produced document(s) have no \(field) coding (no answer gives it): produced, not withheld")
        }
      }
    }

    // Deduplication of top-level documents (children never leave their family): the first in
    // production order stays, and every duplicate's custodian is kept in ALLCUSTODIANS.
    var allCustodianSets: [String: Set<String>] = [:]
    for member in families.joined() where !member.custodian.isEmpty {
      allCustodianSets[member.dedupHash, default: []].insert(member.custodian)
    }
    var duplicates = 0
    if settings.dedup != .none {
      var seen = Set<String>()
      families.removeAll { family in
        let top = family[0]
        let k = settings.dedup == .global ? top.dedupHash : top.custodian + "|" + top.dedupHash
        if seen.insert(k).inserted { return false }
        duplicates += 1
        return true
      }
    }

    // Natives of the files inside others (attachments, archive members, messages of a store),
    // read again from their top-level file; de-NIST then reaches them too (top-level known
    // files never reach `files`: ingest skips them).
    resolveNatives(&families, corpus: corpus, warnings: &warnings)
    let knownFiles = try removeKnownFiles(&families, warnings: &warnings)
    // Email threads over every message produced (mailboxes, .eml, .msg, messages of stores).
    let threads = threadMessages(families)
    // Office files imaged through LibreOffice's PDF: their page counts before numbering.
    let officeDirectory = FileManager.default.temporaryDirectory
      .appendingPathComponent("longctx-office-pdf-\(UUID().uuidString)")
    defer { try? FileManager.default.removeItem(at: officeDirectory) }
    let officePDFs =
      settings.images == true
      ? renderOffice(&families, corpus: corpus, into: officeDirectory, warnings: &warnings) : [:]

    // Numbers: the ones given before stay; new documents get numbers after the last.
    // The hash is fixed-length, so "path|hash" is unambiguous.
    let key = { (m: Member) in m.numberKey }
    var numbered = try workspace.db.read { db in
      try Dictionary(
        Row.fetchAll(
          db, sql: "SELECT documentKey, begin, pages FROM production_bates WHERE job = ?", arguments: [spec.name]
        ).map { ($0["documentKey"] as String, (begin: $0["begin"] as Int, pages: $0["pages"] as Int)) },
        uniquingKeysWith: { a, _ in a })
    }
    var next = max(settings.start, numbered.values.map { $0.begin + $0.pages }.max() ?? settings.start)
    var newRows: [(String, Int, Int)] = []
    for member in families.joined() {
      let k = key(member)
      if let n = numbered[k], n.pages == member.pages { continue }
      if numbered[k] != nil {
        warnings.append("\(member.file.displayPath): its page count changed; it gets new numbers after the last")
      }
      numbered[k] = (next, member.pages)
      newRows.append((k, next, member.pages))
      next += member.pages
    }
    if !newRows.isEmpty {
      try workspace.db.write { db in
        for (k, begin, pages) in newRows {
          try db.execute(
            sql: "INSERT OR REPLACE INTO production_bates (job, documentKey, begin, pages) VALUES (?, ?, ?, ?)",
            arguments: [spec.name, k, begin, pages])
        }
      }
    }

    // Files: TEXT/, NATIVES/, DATA/<job>.dat; written to a new directory beside, then swapped in.
    let staging = directory.deletingLastPathComponent().appendingPathComponent(
      ".\(directory.lastPathComponent).partial-\(ProcessInfo.processInfo.processIdentifier)")
    try? fm.removeItem(at: staging)
    for sub in ["DATA", "TEXT", "NATIVES"] + ((settings.images == true) ? ["IMAGES"] : []) {
      try fm.createDirectory(at: staging.appendingPathComponent(sub), withIntermediateDirectories: true)
    }
    var rows: [[String]] = []
    var privilegeLog: [[String]] = []
    let codingFields = spec.coding?.fields.map(\.name) ?? []
    var produced: [Document] = []
    var pagesTotal = 0
    var opticon: [String] = []
    var imageCount = 0
    var placeholderCount = 0
    var imageJobs: [ImageJob] = []
    let allCustodians = allCustodianSets.mapValues { $0.sorted().joined(separator: "; ") }
    for family in families {
      let first = numbered[key(family[0])]!
      let last = numbered[key(family[family.count - 1])]!
      let begAttach = bates(first.begin)
      let endAttach = bates(last.begin + last.pages - 1)
      // Each member's first number, and its direct children (ATTACHCOUNT, ATTACHNAMES).
      var begOf: [String: String] = [:]
      var childrenOf: [String: [String]] = [:]
      for member in family {
        begOf[member.file.displayPath] = bates(numbered[key(member)]!.begin)
        if let parent = member.parent {
          childrenOf[parent, default: []].append(member.name ?? Self.fileName(member.file.displayPath))
        }
      }
      for member in family {
        let n = numbered[key(member)]!
        let beg = bates(n.begin)
        let end = bates(n.begin + n.pages - 1)
        let text: String
        if let own = member.text {
          text = own
        } else if let failure = member.failure {
          text = "Document could not be processed: \(failure)\n"
        } else {
          text = try corpus.sections(ofDocument: member.file.documentHash, displayPath: member.file.displayPath)
            .map(\.text).joined(separator: "\n\n")
        }
        let isWithheld = withheld.contains(member.file.displayPath)
        let textPath = "TEXT/\(beg).txt"
        // A withheld document's text file is its slip sheet.
        let slip = "Document withheld: \(settings.withhold ?? "")\n"
        try Data((isWithheld ? slip : text).utf8).write(to: staging.appendingPathComponent(textPath))
        let name = member.name ?? Self.fileName(member.file.displayPath)
        let ext = member.ext ?? (name as NSString).pathExtension.lowercased()
        var nativePath = ""
        var md5 = ""
        var sha1 = ""
        var sha256 = ""
        var size = ""
        let nativeBytes: Data? =
          if let native = member.native {
            native
          } else if member.parent == nil, member.text == nil {
            try Self.sourcePath(member.file.displayPath, corpus: corpus, failed: member.failure != nil)
              .flatMap { fm.contents(atPath: $0) }
          } else {
            nil
          }
        if let bytes = nativeBytes {
          if !isWithheld {
            nativePath = "NATIVES/\(beg)" + (ext.isEmpty ? "" : ".\(ext)")
            try bytes.write(to: staging.appendingPathComponent(nativePath))
          }
          md5 = Hashing.md5(bytes)
          sha1 = Hashing.sha1(bytes)
          sha256 = Hashing.sha256(bytes)
          size = String(bytes.count)
        } else {
          // A child whose bytes could not be read again (see `resolveNatives`): hashed over its text.
          md5 = Hashing.md5(Data(text.utf8))
          sha1 = Hashing.sha1(Data(text.utf8))
          sha256 = Hashing.sha256(Data(text.utf8))
        }
        var imagePath = ""
        if settings.images == true {
          // A top-level file is imaged from its source; a file inside another from the native
          // just written (an attachment's, an archive member's).
          let original =
            member.parent == nil && member.text == nil && member.failure == nil
            ? try corpus.absolutePath(ofDisplayPath: member.file.displayPath) : nil
          let source =
            member.failure == nil && !nativePath.isEmpty
            ? original ?? staging.appendingPathComponent(nativePath).path : nil
          let officePDF = member.failure == nil ? officePDFs[member.numberKey] : nil
          imageJobs.append(
            ImageJob(
              name: name, ext: officePDF == nil ? ext : "pdf", source: officePDF ?? source, withheld: isWithheld,
              parent: member.parent != nil, failure: member.failure, begin: n.begin, pages: n.pages,
              office: officePDF == nil && (member.kind == .office || member.kind == .officeConverted),
              native: !nativePath.isEmpty))
          for i in 0..<n.pages {
            let bates = bates(n.begin + i)
            opticon.append(
              Self.opticonLine(
                bates: bates, volume: spec.name, imagePath: "IMAGES/\(bates).tif", documentBreak: i == 0,
                pageCount: i == 0 ? n.pages : nil))
          }
          imageCount += n.pages
          imagePath = "IMAGES/\(beg).tif"
        }
        let h = member.headers
        let meta = member.metadata
        let parentBates = member.parent.flatMap { begOf[$0] } ?? ""
        let row = codingRows[member.file.displayPath] ?? codingRows[Self.basePath(member.file.displayPath)]
        let codingCells = codingFields.map { f in row?.values[f].map { $0 ? "Y" : "N" } ?? "" }
        let children = childrenOf[member.file.displayPath] ?? []
        let thread = threads[member.file.displayPath]
        let isMessage = member.thread != nil
        let docType =
          isMessage
          ? (member.parent == nil ? "Email" : "Email attachment")
          : (member.parent == nil ? "Document" : "Attachment")
        let cells: [String] = [
          beg, end, begAttach, endAttach, parentBates, children.isEmpty ? "" : String(children.count),
          children.joined(separator: "; "), member.custodian, allCustodians[member.dedupHash] ?? "", docType,
          name, member.file.displayPath, ext, size, md5, sha1, sha256, String(member.pages),
          Self.isoDate(h["date"]), Self.isoDate(h["received"] ?? meta["received"]), Self.isoDate(meta["created"]),
          Self.isoDate(meta["modified"]), Self.isoDate(meta["lastPrinted"]), h["from"] ?? "", h["to"] ?? "",
          h["cc"] ?? "", h["bcc"] ?? "", h["subject"] ?? "",
          Self.messageID(h["message-id"]), thread?.threadID ?? "",
          thread?.position ?? "", thread.map { $0.inclusive ? "Y" : "N" } ?? "", meta["title"] ?? "",
          meta["author"] ?? "", meta["lastModifiedBy"] ?? "", meta["company"] ?? "", meta["revision"] ?? "",
          meta["application"] ?? "", textPath, nativePath,
        ]
        rows.append(
          cells.map(Self.cleanCell) + ((settings.images == true) ? [imagePath] : []) + codingCells
            + (settings.withhold == nil ? [] : [isWithheld ? "Y" : ""]))
        if isWithheld, let field = settings.withhold {
          let description = row.map { r in
            let own = r.reasonText(where: field)
            return own.isEmpty ? r.reasonText() : own
          }
          privilegeLog.append(
            Self.privilegeLogRow(
              begin: beg, end: end, ext: ext, isAttachment: member.parent != nil, headers: h,
              metadata: member.metadata, privilege: settings.privilege ?? Self.claim(field),
              description: description ?? ""))
        }
        produced.append(
          Document(
            displayPath: member.file.displayPath, documentHash: member.file.documentHash, begin: n.begin,
            pages: n.pages, parent: member.parent, custodian: member.custodian, date: member.date))
        pagesTotal += n.pages
      }
    }
    let header =
      Self.fields + ((settings.images == true) ? ["IMAGEPATH"] : []) + codingFields.map { $0.uppercased() }
      + (settings.withhold == nil ? [] : [Self.withheldField])
    try Self.dat(rows, header: header).write(to: staging.appendingPathComponent("DATA/\(spec.name).dat"))
    try Self.edrmXML(header: header, rows: rows, directory: staging, batch: spec.name).write(
      to: staging.appendingPathComponent("DATA/\(spec.name).xml"))
    if settings.images == true {
      let written = try writeImages(imageJobs, into: staging.appendingPathComponent("IMAGES"))
      placeholderCount = written.placeholders
      warnings += written.warnings
      try Data(opticon.joined().utf8).write(to: staging.appendingPathComponent("DATA/\(spec.name).opt"))
    }
    if settings.withhold != nil {
      try Data(Self.privilegeLogCSV(privilegeLog).utf8).write(
        to: staging.appendingPathComponent(Self.privilegeLogName))
    }
    try Data((spec.name + "\n").utf8).write(to: staging.appendingPathComponent(Self.marker))
    // The old production (this job's) goes only once the new one is complete.
    if fm.fileExists(atPath: directory.path) { try fm.removeItem(at: directory) }
    try fm.createDirectory(at: directory.deletingLastPathComponent(), withIntermediateDirectories: true)
    try fm.moveItem(at: staging, to: directory)
    let begins = produced.map(\.begin)
    return Summary(
      directory: directory.path, documents: produced.count, pages: pagesTotal,
      firstBates: begins.min().map(bates) ?? "",
      lastBates: produced.map { $0.begin + $0.pages - 1 }.max().map(bates) ?? "",
      newlyNumbered: newRows.count, duplicatesRemoved: duplicates, knownFilesRemoved: knownFiles,
      withheld: privilegeLog.count, images: imageCount, placeholderImages: placeholderCount,
      threads: Set(threads.values.map(\.threadID)).count, inclusiveMessages: threads.values.filter(\.inclusive).count,
      warnings: warnings)
  }

  /// The DAT's bytes: UTF-8 with a byte-order mark, a header row, þ-qualified fields separated by ASCII 20.
  static func dat(_ rows: [[String]], header: [String] = fields) -> Data {
    func line(_ values: [String]) -> String {
      values.map { "\(qualifier)\($0.replacingOccurrences(of: String(qualifier), with: ""))\(qualifier)" }
        .joined(separator: String(delimiter)) + "\r\n"
    }
    var out = Data([0xEF, 0xBB, 0xBF])
    out.append(Data(line(header).utf8))
    for row in rows { out.append(Data(line(row.map { $0.replacingOccurrences(of: "\r\n", with: " ") }).utf8)) }
    return out
  }

  static func fileName(_ displayPath: String) -> String {
    if let r = displayPath.range(of: "/attachment=") { return String(displayPath[r.upperBound...]) }
    return (displayPath as NSString).lastPathComponent
  }

  /// The first message's headers in a mail section's text (`From:`, `To:`, …), by lower-cased name.
  static func mailHeaders(_ text: String) -> [String: String] {
    var out: [String: String] = [:]
    for line in text.split(separator: "\n", omittingEmptySubsequences: false).prefix(40) {
      if line.isEmpty { break }
      guard let colon = line.firstIndex(of: ":") else { continue }
      let name = line[..<colon].lowercased()
      if ["from", "to", "cc", "bcc", "subject", "date"].contains(name), out[name] == nil {
        out[name] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
      }
    }
    return out
  }

  /// A display path without its fragment: the file (`inbox.mbox` of `inbox.mbox#msg=…`).
  static func basePath(_ displayPath: String) -> String { String(displayPath.prefix { $0 != "#" }) }

  /// The file behind a display path: the workspace's source row, or for a file that failed
  /// to extract (no `ok` row) the path the workspace recorded for it.
  static func sourcePath(_ displayPath: String, corpus: Corpus, failed: Bool) throws -> String? {
    if let ok = try corpus.absolutePath(ofDisplayPath: displayPath) { return ok }
    guard failed else { return nil }
    return try corpus.anyPath(ofDisplayPath: displayPath)
  }

  /// One document of a production as it is assembled.
  struct Member {
    var file: IngestedFile
    var parent: String?
    var metadata: [String: String]
    var pages: Int
    var custodian: String
    var date: String
    var headers: [String: String]
    /// A message of a mailbox: its own text and native bytes, name and extension.
    var text: String? = nil
    var native: Data? = nil
    var name: String? = nil
    var ext: String? = nil
    /// Why this file failed to extract: the document is a placeholder row.
    var failure: String? = nil
    /// What deduplication compares (the document hash; a message's email hash).
    var dedupHash: String
    /// The document's kind (nil for a placeholder).
    var kind: DocumentKind? = nil
    /// A message (mailbox, `.eml`, `.msg`, a store's): what threading reads of it.
    var thread: EmailThreading.Message? = nil
    /// The display path of the top-level file it lies in (itself for a top-level file), and its kind.
    var top: String? = nil
    var topKind: DocumentKind? = nil
    /// What its Bates numbers are stored under (path and hash).
    var numberKey: String

    init(
      file: IngestedFile, parent: String?, metadata: [String: String], pages: Int, custodian: String, date: String,
      headers: [String: String]
    ) {
      self.file = file
      self.parent = parent
      self.metadata = metadata
      self.pages = pages
      self.custodian = custodian
      self.date = date
      self.headers = headers
      dedupHash = file.documentHash
      numberKey = file.displayPath + "|" + file.documentHash
    }
  }

  /// A sortable date (ISO 8601) for ordering: a PDF's creation date or a message's `Date:`.
  static func date(meta: [String: String], headers: [String: String]) -> String {
    if let created = meta["created"] { return created }
    if let d = headers["date"] {
      for f in mailDateFormats { if let date = f.date(from: d) { return ISO8601DateFormatter().string(from: date) } }
      // ISO 8601 and the other forms Outlook and stores write.
      if let date = MailMessages.mailDate(d) { return ISO8601DateFormatter().string(from: date) }
    }
    return ""
  }

  /// RFC 5322 dates as mail writes them, made once.
  nonisolated(unsafe) static let mailDateFormats: [DateFormatter] =
    ["EEE, d MMM yyyy HH:mm:ss Z", "d MMM yyyy HH:mm:ss Z", "EEE, d MMM yyyy HH:mm Z"].map { format in
      let f = DateFormatter()
      f.locale = Locale(identifier: "en_US_POSIX")
      f.dateFormat = format
      return f
    }
}
