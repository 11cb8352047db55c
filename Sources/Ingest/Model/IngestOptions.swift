import Foundation

/// Options of one ingest run.
public struct IngestOptions: Sendable {
  /// Extract every file as this kind instead of detecting it.
  public var kind: DocumentKind?
  /// The password for encrypted PDFs.
  public var password: String?
  /// Every password the user gave (`--password-file`, one per line), tried in
  /// order on encrypted archives, archive members and Office files; `password` is the first.
  public var passwords: [String] = []
  /// The directory that relative inputs and display paths are taken from.
  public var base: URL
  /// How many files to extract at once.
  public var concurrency: Int
  /// Extract every file in child processes (a crash, hang or runaway
  /// allocation on one file is that file's recorded failure); `nil`
  /// extracts in this process.
  public var worker: ExtractionWorker?
  /// Extraction shared with the workers of a shared workspace: each file to extract is
  /// handed to it (and claimed by whichever worker is free) instead of extracted here.
  public var shared: (any SharedExtraction)?
  /// Replace secrets with `[REDACTED:kind]` (and record each); off keeps the
  /// extracted text faithful to the file, as productions need.
  public var redact = true
  /// Which scanned pages and images are read with OCR (`--ocr`, the job's `ocr:`).
  public var ocr = OCRSettings()
  /// A known-file list (`--denist`, the job's `ingest.denist` or `production.denist`):
  /// files on it are skipped as "known file (NSRL)" and counted in `knownFiles`.
  public var denist: String?
  /// Pages of the file in hand not to OCR (they crashed an isolated worker).
  var skippedOCRPages: Set<Int> = []

  public init(kind: DocumentKind? = nil, password: String? = nil, base: URL, concurrency: Int? = nil) {
    self.kind = kind
    self.password = password
    self.base = base
    self.concurrency = concurrency ?? max(1, ProcessInfo.processInfo.activeProcessorCount)
  }
}
