import Foundation

/// Extraction shared by the workers of a shared workspace: the seam between `Ingestor`
/// and whatever hands files out (`SharedWorkspace`'s PostgreSQL queue).
///
/// `Ingestor.ingest` triages as always (unchanged files cost a stat), then gives the
/// files to extract to `extract` instead of extracting them in its own children; every
/// other step (reconcile, record, summarize) is unchanged. A worker extracts a file it
/// claimed with `IsolatedExtraction` (the same isolated children as one machine) into the
/// shared store's workspace, so the outcomes mean what they mean on one machine.
public protocol SharedExtraction: Sendable {
  /// Extracts `files` (of `sizes` bytes) as `options` say, on whichever workers claim them.
  ///
  /// - Returns: Each file's outcome by its path; a file missing from it counts as not finished.
  /// - Throws: When the queue cannot be reached, or the run is interrupted.
  func extract(_ files: [DiscoveredFile], sizes: [Int], options: IngestOptions) async throws
    -> [String: ExtractionOutcome]
}

/// The options of an ingest that matter to a worker extracting one of its files: what
/// `IngestOptions` holds minus what is the coordinator's (its base, its concurrency, its
/// worker). Recorded with each file to extract.
public struct ExtractionSettings: Codable, Sendable, Hashable {
  public var kind: DocumentKind?
  public var password: String?
  public var passwords: [String]
  public var redact: Bool
  public var ocr: OCRSettings

  /// The settings of `options`.
  public init(_ options: IngestOptions) {
    kind = options.kind
    password = options.password
    passwords = options.passwords
    redact = options.redact
    ocr = options.ocr
  }

  /// Ingest options with these settings, extracting `concurrency` files at once.
  public func options(concurrency: Int = 1) -> IngestOptions {
    var options = IngestOptions(
      kind: kind, password: password, base: URL(fileURLWithPath: "/"), concurrency: concurrency)
    options.passwords = passwords
    options.redact = redact
    options.ocr = ocr
    return options
  }
}

/// One lane of isolated extraction kept between calls: its child process serves file
/// after file (one start, one warm LibreOffice), each file stored in the workspace at
/// `workspaceRoot` before its outcome is returned. A worker of a shared workspace runs
/// one per lane, each file it claims one call. Used by one thread at a time.
public final class IsolatedExtraction: @unchecked Sendable {
  private var lane: WorkerLane
  public let settings: ExtractionSettings

  /// A lane extracting with `worker`'s children into the workspace at `workspaceRoot`.
  public init(worker: ExtractionWorker, workspaceRoot: URL, settings: ExtractionSettings) {
    self.settings = settings
    lane = WorkerLane(worker: worker, workspaceRoot: workspaceRoot, options: settings.options())
  }

  deinit { lane.stop() }

  /// Extracts and stores `files` (with their sizes): every file gets an outcome, whatever
  /// the children do (a crash, a hang or a runaway allocation is that file's failure).
  /// Blocks its thread until done.
  public func extract(_ files: [(DiscoveredFile, Int)]) -> [String: ExtractionOutcome] {
    guard !files.isEmpty else { return [:] }
    var out: [String: ExtractionOutcome] = [:]
    for (path, outcome) in lane.run(files) { out[path] = outcome }
    return out
  }

  /// Stops the lane's child.
  public func stop() {
    lane.stop()
    lane.child = nil
  }
}
