import Foundation
import Synchronization

#if canImport(Glibc)
  import Glibc
#endif

/// Extracts files of every kind in long-lived child processes, so that a
/// file that traps an extractor, hangs it or makes it allocate without end
/// costs one recorded failure, not the batch.
///
/// A child is `executable arguments --serve --workspace ROOT --memory-limit N`
/// (the longctx binary's hidden `_extract` subcommand). It reads one
/// `ExtractionRequest` per line on its standard input, extracts the file and
/// stores its document in the workspace itself, then writes one
/// `ExtractionReply` per line on its standard output. Requests go in batches
/// (many small files per round trip); the child answers in order, so when it
/// dies the first unanswered file is the one that killed it: that file is
/// recorded as crashed (with the signal and the runtime's last words), and the
/// rest of the batch goes to a fresh child. The child stores a batch's
/// documents together (one sync of their blobs, then one transaction) after
/// its last file, answering the files before that as held: held answers count
/// only once the child's commit line follows, and when it dies before that,
/// they too go to a fresh child (their documents were never stored).
public struct ExtractionWorker: Sendable {
  /// The program to run.
  public var executable: URL
  /// Arguments before the worker's own, e.g. `["_extract"]`.
  public var arguments: [String]
  /// Seconds a file may take, plus one second per `bytesPerSecond` of it.
  public var timeLimit: Double
  /// The slowest extraction rate a healthy extractor is allowed (bytes/s), so
  /// large files get more time.
  public var bytesPerSecond: Double = 2_097_152
  /// The child's data-segment limit in bytes (`RLIMIT_DATA`: heap and
  /// anonymous mappings; memory-mapped input files do not count).
  public var memoryLimit: Int
  /// Files per request batch, at most.
  public var batchFiles = 64
  /// Bytes of input per request batch, at most (a larger file goes alone).
  public var batchBytes = 4 << 20
  /// Files one child extracts before it is replaced, bounding what leaks.
  public var maxFilesPerChild = 2000
  /// Variables added to the children's environment (tests inject faults through it).
  public var environment: [String: String] = [:]

  /// - Parameters:
  ///   - executable: The program to run, normally the running longctx binary.
  ///   - arguments: Arguments placed before the worker's own.
  ///   - timeLimit: Seconds per file (more for large files).
  ///   - memoryLimit: Bytes of heap per child.
  public init(executable: URL, arguments: [String] = ["_extract"], timeLimit: Double = 120, memoryLimit: Int = 8 << 30)
  {
    self.executable = executable
    self.arguments = arguments
    self.timeLimit = timeLimit
    self.memoryLimit = memoryLimit
  }

  /// The time limit for a file of `bytes`.
  func deadline(forBytes bytes: Int) -> Double { timeLimit + Double(bytes) / bytesPerSecond }
}

/// One file for a child to extract.
struct ExtractionRequest: Codable, Sendable {
  var file: DiscoveredFile
  var password: String?
  /// Every password given (archives, Office files); absent from older parents.
  var passwords: [String]?
  var redact: Bool
  var kind: DocumentKind?
  var ocr: OCRSettings?
  /// Pages not to OCR: each killed a child (Tesseract crashed or ran out of memory on it).
  var skipOCRPages: [Int]?
  /// Set when the request is not to extract the file but to image its pages (`renderPages`).
  var render: PageRenderRequest?
  /// Whether the child stores what it holds after this file (the last of the parent's
  /// batch); `false` lets it hold this file's documents for one commit with the next
  /// files'. Absent: after every file.
  var commit: Bool?
}

/// A child's answer for one file.
struct ExtractionReply: Codable, Sendable {
  var path: String
  var outcome: ExtractionOutcome
  /// A page-image request's answer: per page, nil when rendered, else why it is a placeholder.
  var pageFailures: [String?]?
  /// The outcome holds only once the child's next commit line says its batch is stored
  /// (`ExtractionChild.committedLine`); a child that dies first has stored none of it.
  var held: Bool?
}

extension Ingestor {
  /// Extracts `files` (of `sizes` bytes, which batches are cut by) in children
  /// of `worker`, `options.concurrency` at a time.
  func extractIsolated(_ files: [DiscoveredFile], sizes: [Int], worker: ExtractionWorker, options: IngestOptions) async
    -> [String: ExtractionOutcome]
  {
    guard !files.isEmpty else { return [:] }
    let lanes = max(1, min(options.concurrency, files.count))
    // Largest first (stable): a big PDF handed out last ran alone on one core while the others had nothing
    // left (three copies of a 397-page manual at the end of a batch of PDFs: a sixth of the run on one core).
    let order = sizes.indices.sorted { sizes[$0] > sizes[$1] || (sizes[$0] == sizes[$1] && $0 < $1) }
    let queue = WorkQueue(order.map { files[$0] }, sizes: order.map { sizes[$0] }, lanes: lanes)
    let results = Mutex<[String: ExtractionOutcome]>([:])
    let root = workspace.root
    await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
      DispatchQueue.global().async {
        DispatchQueue.concurrentPerform(iterations: lanes) { _ in
          var lane = WorkerLane(worker: worker, workspaceRoot: root, options: options)
          while let batch = queue.take(worker: worker) {
            let answered = lane.run(batch)
            results.withLock { out in
              for (path, outcome) in answered { out[path] = outcome }
            }
          }
          lane.stop()
        }
        done.resume()
      }
    }
    return results.withLock { $0 }
  }
}

/// The files still to extract, handed out in batches.
private final class WorkQueue: Sendable {
  private let state: Mutex<(files: [DiscoveredFile], next: Int, sizes: [Int], bytesLeft: Int)>
  private let lanes: Int

  init(_ files: [DiscoveredFile], sizes: [Int], lanes: Int) {
    state = Mutex((files, 0, sizes, sizes.reduce(0, +)))
    self.lanes = lanes
  }

  /// The next batch: up to `batchFiles` files and `batchBytes` bytes (at least one file),
  /// and no more than a lane's share of what is left, so that every lane gets work
  /// (36 small files of 3.6 MB all went to one lane of two).
  func take(worker: ExtractionWorker) -> [(DiscoveredFile, Int)]? {
    state.withLock { s in
      guard s.next < s.files.count else { return nil }
      var batch: [(DiscoveredFile, Int)] = []
      var bytes = 0
      let fileShare = (s.files.count - s.next + lanes - 1) / lanes
      let byteShare = (s.bytesLeft + lanes - 1) / lanes
      while s.next < s.files.count && batch.count < min(worker.batchFiles, fileShare) {
        let size = s.sizes[s.next]
        if !batch.isEmpty && bytes + size > min(worker.batchBytes, byteShare) { break }
        // A PDF or an image goes alone: a scan's OCR takes seconds a page,
        // and a batch is one lane's, so a batch of small scans kept the
        // other cores idle.
        let alone = s.files[s.next].kind == .pdf || s.files[s.next].kind == .image
        if !batch.isEmpty && alone { break }
        batch.append((s.files[s.next], size))
        bytes += size
        s.bytesLeft -= size
        s.next += 1
        if alone { break }
      }
      return batch
    }
  }
}

/// One lane of isolated extraction: a child and the batches it is sent.
/// Used by one thread only.
struct WorkerLane {
  let worker: ExtractionWorker
  let workspaceRoot: URL
  let options: IngestOptions
  var child: ExtractionChild?

  init(worker: ExtractionWorker, workspaceRoot: URL, options: IngestOptions) {
    self.worker = worker
    self.workspaceRoot = workspaceRoot
    self.options = options
  }

  /// Extracts `batch`; every file gets an outcome, whatever the children do.
  mutating func run(_ batch: [(DiscoveredFile, Int)]) -> [(String, ExtractionOutcome)] {
    var out: [(String, ExtractionOutcome)] = []
    var pending = batch[...]
    // Pages whose OCR killed a child, per file: the file is tried again without them.
    var skipped: [String: [Int]] = [:]
    // Children that died storing this batch after answering every file.
    var diedStoring = 0
    while !pending.isEmpty {
      let child: ExtractionChild
      do {
        child = try self.child ?? ExtractionChild.start(worker, workspaceRoot: workspaceRoot)
      } catch {
        for (file, _) in pending { out.append((file.path, .failed(error.userDescription))) }
        return out
      }
      self.child = child
      var requests = pending.map {
        ExtractionRequest(
          file: $0.0, password: options.password, passwords: options.passwords, redact: options.redact,
          kind: options.kind, ocr: options.ocr, skipOCRPages: skipped[$0.0.path], commit: false)
      }
      requests[requests.count - 1].commit = true
      let limits = pending.map { worker.deadline(forBytes: $0.1) }
      let asked = child.ask(requests, timeLimits: limits, commitLimit: max(worker.timeLimit, 60))
      for reply in asked.stored { out.append((reply.path, reply.outcome)) }
      pending = pending.dropFirst(asked.stored.count)
      if let failure = asked.failure {
        child.stop()
        self.child = nil
        // Files answered as held were not stored: they go to the next child with
        // the rest. The first unanswered file is the one the child died on.
        let culprit = pending.index(pending.startIndex, offsetBy: asked.held, limitedBy: pending.endIndex)
        guard let culprit, culprit < pending.endIndex else {
          // It died storing the batch, every file answered: once more, then they fail.
          diedStoring += 1
          if diedStoring > 1 {
            let reason = failure.reason(memoryLimit: worker.memoryLimit)
            for (file, _) in pending { out.append((file.path, .failed("\(reason) while storing its document"))) }
            pending = []
          }
          continue
        }
        // When it died reading a page with OCR, the file is tried again without that page
        // (up to `maxSkippedOCRPages` pages), so the rest of the document is kept.
        let path = pending[culprit].0.path
        if let page = asked.page, skipped[path, default: []].count < Self.maxSkippedOCRPages {
          skipped[path, default: []].append(page)
          continue
        }
        var reason = failure.reason(memoryLimit: worker.memoryLimit)
        if let page = asked.page { reason += " (while OCR read page \(page))" }
        out.append((path, .failed(reason)))
        pending.remove(at: culprit)
      } else if child.served >= worker.maxFilesPerChild {
        child.stop()
        self.child = nil
      }
    }
    return out
  }

  func stop() { child?.stop() }

  /// Pages of one file whose OCR may kill a child before the file counts as failed.
  static let maxSkippedOCRPages = 3
}
