import Foundation
import Ingest
import Storage

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
  /// The steps, each its own function: check the directory; collect the families in
  /// production order; choose them by coding; deduplicate; read the natives of files inside
  /// others and leave out known files; thread the messages; image office files; number;
  /// write the files into a directory beside, then swap it in.
  ///
  /// - Throws: `PipelineError.productionDirectoryTaken` when `directory` holds files that are
  ///   not this job's production (nothing is overwritten then).
  public func produce(files: [IngestedFile], failed: [IngestException] = [], into directory: URL) throws -> Summary {
    try checkDirectory(directory)
    let failures = Dictionary(
      failed.filter { $0.severity == .failed }.map { ($0.path, $0.reason) }, uniquingKeysWith: { a, _ in a })
    let corpus = Corpus(workspace: workspace)
    var warnings: [String] = []
    var families = try orderedFamilies(files: files, failures: failures, corpus: corpus, warnings: &warnings)
    let coding = try chooseByCoding(&families, warnings: &warnings)
    let duplicates = removeDuplicates(&families)
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
    let numbers = try number(families, warnings: &warnings)

    let staging = try makeStaging(for: directory)
    let layout = FileLayout(
      staging: staging, corpus: corpus, numbers: numbers.byKey, coding: coding,
      allCustodians: duplicates.allCustodians, threads: threads, officePDFs: officePDFs,
      codingFields: spec.coding?.fields.map(\.name) ?? [])
    var written = WrittenFiles()
    for family in families { try write(family, layout, into: &written) }
    try writeLoadFiles(&written, layout, warnings: &warnings)
    try swapIn(staging, at: directory)

    let begins = written.produced.map(\.begin)
    return Summary(
      directory: directory.path, documents: written.produced.count, pages: written.pages,
      firstBates: begins.min().map(bates) ?? "",
      lastBates: written.produced.map { $0.begin + $0.pages - 1 }.max().map(bates) ?? "",
      newlyNumbered: numbers.newlyNumbered, duplicatesRemoved: duplicates.removed, knownFilesRemoved: knownFiles,
      withheld: written.privilegeLog.count, images: written.images, placeholderImages: written.placeholderImages,
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
