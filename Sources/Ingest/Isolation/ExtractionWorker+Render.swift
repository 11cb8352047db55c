import Foundation
import Synchronization

/// What a child images: the first `stamps.count` pages of a PDF, written as
/// `directory/STAMP.tif` (`PageImages.pdf`).
struct PageRenderRequest: Codable, Sendable {
  var stamps: [String]
  var directory: String
}

extension ExtractionWorker {
  /// One PDF whose pages a production images.
  public struct PageJob: Sendable {
    public var path: String
    /// The Bates number stamped on each page, in page order; also the image's file name.
    public var stamps: [String]
    public init(path: String, stamps: [String]) {
      self.path = path
      self.stamps = stamps
    }
  }

  /// Seconds a PDF's images may take: the time limit plus ten seconds a page.
  func deadline(forPages pages: Int) -> Double { timeLimit + 10 * Double(pages) }

  /// Images the pages of `jobs` into `directory` in children, `lanes` at a time, so that a
  /// page that crashes poppler or cairo, hangs them or exhausts memory costs its document's
  /// images, not the production. A child writes one TIFF per page (a placeholder saying why
  /// for a page it cannot render) and answers with the pages that are placeholders.
  ///
  /// - Returns: Per job, in order: per page nil (rendered) or why it is a placeholder; or,
  ///   when its child died or timed out, the reason (its pages are then not all written).
  public func renderPages(_ jobs: [PageJob], into directory: URL, workspaceRoot: URL, lanes: Int)
    -> [Result<[String?], PageRenderFailure>]
  {
    let results = Mutex([Result<[String?], PageRenderFailure>](repeating: .success([]), count: jobs.count))
    let next = Atomic<Int>(0)
    DispatchQueue.concurrentPerform(iterations: max(1, min(lanes, jobs.count))) { _ in
      var child: ExtractionChild?
      // Why no child could be started: the lane's later jobs are not tried again.
      var unavailable: String?
      defer { child?.stop() }
      while case let index = next.wrappingAdd(1, ordering: .relaxed).oldValue, index < jobs.count {
        let job = jobs[index]
        let result: Result<[String?], PageRenderFailure>
        if let unavailable {
          results.withLock { $0[index] = .failure(PageRenderFailure(reason: unavailable, workerUnavailable: true)) }
          continue
        }
        let running: ExtractionChild
        do { running = try child ?? ExtractionChild.start(self, workspaceRoot: workspaceRoot) } catch {
          unavailable = error.userDescription
          results.withLock {
            $0[index] = .failure(PageRenderFailure(reason: error.userDescription, workerUnavailable: true))
          }
          continue
        }
        child = running
        let name = (job.path as NSString).lastPathComponent
        let request = ExtractionRequest(
          file: DiscoveredFile(path: job.path, displayPath: name, kind: .pdf, skipReason: nil), password: nil,
          redact: false, kind: .pdf, ocr: nil, skipOCRPages: nil,
          render: PageRenderRequest(stamps: job.stamps, directory: directory.path))
        let asked = running.ask([request], timeLimits: [deadline(forPages: job.stamps.count)])
        let (answers, failure) = (asked.stored, asked.failure)
        if let reply = answers.first, let pages = reply.pageFailures, pages.count == job.stamps.count {
          result = .success(pages)
        } else if let reply = answers.first, case .failed(let reason) = reply.outcome {
          result = .failure(PageRenderFailure(reason: reason))
        } else {
          running.stop()
          child = nil
          let reason = failure?.reason(memoryLimit: memoryLimit) ?? "the image worker gave no answer"
          result = .failure(PageRenderFailure(reason: reason.replacingOccurrences(of: "extractor", with: "renderer")))
        }
        results.withLock { $0[index] = result }
        if let running = child, running.served >= maxFilesPerChild {
          running.stop()
          child = nil
        }
      }
    }
    return results.withLock { $0 }
  }

  /// In a `--serve` child: images the pages of the PDF at `path` as `request` asks.
  static func renderPages(of path: String, _ request: PageRenderRequest) -> ExtractionReply {
    guard let pages = PageImages.pdf(path: path, stamps: request.stamps) else {
      return ExtractionReply(path: path, outcome: .failed("a placeholder page cannot be drawn"))
    }
    let directory = URL(fileURLWithPath: request.directory)
    for (stamp, page) in zip(request.stamps, pages) {
      do { try page.tiff.write(to: directory.appendingPathComponent("\(stamp).tif")) } catch {
        return ExtractionReply(path: path, outcome: .failed("\(stamp).tif cannot be written: \(error.userDescription)"))
      }
    }
    return ExtractionReply(
      path: path, outcome: .stored("", pages.count, 0, [], true), pageFailures: pages.map(\.failure))
  }
}

/// Why a document's pages were not imaged (its renderer crashed, hung or ran out of memory),
/// or that no renderer could be started at all.
public struct PageRenderFailure: Error, Sendable {
  public var reason: String
  /// No child could be started: the pages were not tried (the caller may render them itself).
  public var workerUnavailable = false
}
