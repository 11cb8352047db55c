import Foundation
import Ingest

extension Production {
  /// The images one document needs: what it is and its Bates range.
  struct ImageJob: Sendable {
    var name: String
    var ext: String
    var source: String?
    var withheld: Bool
    var parent: Bool
    var failure: String?
    var begin: Int
    var pages: Int
    /// An Office file (`office`, `office-converted`) LibreOffice could not render: a placeholder page.
    var office = false
    /// Whether its native is in NATIVES/.
    var native = true
  }

  /// Renders and writes the images of `jobs` into `directory` (`<BATES>.tif`), documents on
  /// every core at once (each PDF opened by one thread only), and returns how many pages are
  /// placeholders and the warnings, in the jobs' order whatever order they finished in.
  ///
  /// - Throws: the first `ProductionImageError` or write error, after every thread stopped.
  func writeImages(_ jobs: [ImageJob], into directory: URL) throws -> (placeholders: Int, warnings: [String]) {
    // PDFs go to the isolated renderer when there is one; the rest (placeholders) are drawn here.
    let isolated: [Int] =
      imageWorker == nil
      ? [] : jobs.indices.filter { Self.rendersPages(jobs[$0]) }
    let rendered = try renderIsolated(isolated.map { jobs[$0] }, into: directory)
    let results = ImageResults(count: jobs.count)
    for (k, index) in isolated.enumerated() { results.set(index, rendered[k]) }
    let local = Set(jobs.indices).subtracting(isolated).sorted()
    DispatchQueue.concurrentPerform(iterations: local.count) { k in
      let index = local[k]
      var warnings: [String] = []
      results.set(index, Result { try writeInProcess(jobs[index], into: directory, warnings: &warnings) })
    }
    var placeholders = 0
    var warnings: [String] = []
    for result in results.all {
      let (p, w) = try result.get()
      placeholders += p
      warnings += w
    }
    return (placeholders, warnings)
  }

  /// Draws `job`'s images in this process and writes them: its placeholder count and
  /// `warnings` with the job's own appended.
  private func writeInProcess(_ job: ImageJob, into directory: URL, warnings: inout [String]) throws -> (
    Int, [String]
  ) {
    let images = try pageImages(
      member: (
        name: job.name, ext: job.ext, source: job.source, withheld: job.withheld, parent: job.parent,
        failure: job.failure
      ), begin: job.begin, pages: job.pages, office: job.office, native: job.native, warnings: &warnings)
    for (i, image) in images.enumerated() {
      try image.tiff.write(to: directory.appendingPathComponent("\(bates(job.begin + i)).tif"))
    }
    return (images.filter(\.placeholder).count, warnings)
  }

  /// Whether `job`'s images are its PDF's pages (not placeholders).
  static func rendersPages(_ job: ImageJob) -> Bool {
    !job.withheld && job.failure == nil && job.ext == "pdf" && job.source != nil
  }

  /// The pages of PDF `jobs` imaged by `imageWorker`'s children: per job, its placeholder
  /// count and warnings. A document whose renderer died gets a placeholder for every page,
  /// saying why, and a warning; the production goes on.
  private func renderIsolated(_ jobs: [ImageJob], into directory: URL) throws -> [Result<(Int, [String]), any Error>] {
    guard let worker = imageWorker, !jobs.isEmpty else { return [] }
    let stamps = jobs.map { job in (job.begin..<(job.begin + job.pages)).map(bates) }
    let answers = worker.renderPages(
      zip(jobs, stamps).map { ExtractionWorker.PageJob(path: $0.source!, stamps: $1) }, into: directory,
      workspaceRoot: workspace.root, lanes: ProcessInfo.processInfo.activeProcessorCount)
    var out: [Result<(Int, [String]), any Error>] = []
    var warnedUnavailable = false
    for (k, answer) in answers.enumerated() {
      let job = jobs[k]
      switch answer {
      case .success(let failures):
        let warnings = zip(stamps[k], failures).compactMap { stamp, failure in
          failure.map { "\(stamp) (\(job.name)): a placeholder image; \($0)" }
        }
        out.append(.success((failures.compactMap { $0 }.count, warnings)))
      case .failure(let failure) where failure.workerUnavailable:
        // No isolated renderer could start: this process renders the pages, and says so once.
        do {
          var warnings: [String] =
            warnedUnavailable
            ? []
            : ["the isolated page renderer could not start (\(failure.reason)); pages were rendered in this process"]
          warnedUnavailable = true
          out.append(.success(try writeInProcess(job, into: directory, warnings: &warnings)))
        } catch {
          out.append(.failure(error))
        }
      case .failure(let failure):
        // Pages the child wrote before it died are replaced too: the document's images are one set.
        do {
          for (i, stamp) in stamps[k].enumerated() {
            guard
              let tiff = PageImages.placeholder(
                lines: ["Page \(i + 1) could not be imaged:", failure.reason, job.name], stamp: stamp)
            else { throw ProductionImageError(bates: stamp, reason: "a placeholder page cannot be drawn") }
            try tiff.write(to: directory.appendingPathComponent("\(stamp).tif"))
          }
          out.append(
            .success(
              (
                job.pages,
                ["\(stamps[k][0]) (\(job.name)): placeholder images for its \(job.pages) pages; \(failure.reason)"]
              )))
        } catch {
          out.append(.failure(error))
        }
      }
    }
    return out
  }

  /// One page image of a production.
  struct PageImage {
    var tiff: Data
    /// Whether it is a placeholder (no page of its own, or a page that failed to render).
    var placeholder: Bool
  }

  /// The `pages` images of a document numbered from `begin`: a PDF's pages rendered, a
  /// withheld document's slip sheet, other documents (text, mail, attachments) a placeholder
  /// page saying they are produced in native format (or as text). A page that fails to render
  /// is a placeholder with a warning, never a failed production.
  ///
  /// - Throws: `ProductionImageError` only when not even a placeholder can be drawn.
  func pageImages(
    member: (name: String, ext: String, source: String?, withheld: Bool, parent: Bool, failure: String?), begin: Int,
    pages: Int, office: Bool = false, native: Bool = true,
    warnings: inout [String]
  ) throws -> [PageImage] {
    let stamps = (begin..<(begin + pages)).map(bates)
    func placeholder(_ lines: [String], _ stamp: String) throws -> PageImage {
      guard let tiff = PageImages.placeholder(lines: lines, stamp: stamp) else {
        throw ProductionImageError(bates: stamp, reason: "a placeholder page cannot be drawn")
      }
      return PageImage(tiff: tiff, placeholder: true)
    }
    if member.withheld {
      return try stamps.map { try placeholder(["Document withheld: \(settings.withhold ?? "")", member.name], $0) }
    }
    if let failure = member.failure {
      return try stamps.map { try placeholder(["Document could not be processed:", failure, member.name], $0) }
    }
    if member.ext == "pdf", let source = member.source {
      guard let rendered = PageImages.pdf(path: source, stamps: stamps) else {
        throw ProductionImageError(bates: stamps[0], reason: "a placeholder page cannot be drawn")
      }
      for (i, page) in rendered.enumerated() {
        if let failure = page.failure {
          warnings.append("\(stamps[i]) (\(member.name)): a placeholder image; \(failure)")
        }
      }
      return rendered.map { PageImage(tiff: $0.tiff, placeholder: $0.failure != nil) }
    }
    if office {
      // Office files are imaged from LibreOffice's PDF (`renderOffice`); one it could not render says so.
      return try stamps.map {
        try placeholder(
          ["LibreOffice could not render this Office file", "Document produced in native format", member.name], $0)
      }
    }
    let how =
      native
      ? (member.parent ? "Attachment produced in native format" : "Document produced in native format")
      : "\(member.parent ? "Attachment" : "Document") produced as text (TEXT/\(stamps[0]).txt)"
    return try stamps.map { try placeholder([how, member.name], $0) }
  }

  /// One Opticon line: `BATES,VOLUME,IMAGEPATH,DOCBREAK,,,PAGECOUNT` (CRLF), DOCBREAK `Y`
  /// and the page count on a document's first page only.
  static func opticonLine(bates: String, volume: String, imagePath: String, documentBreak: Bool, pageCount: Int?)
    -> String
  {
    let clean = { (s: String) in s.replacingOccurrences(of: ",", with: "_") }
    return [
      clean(bates), clean(volume), clean(imagePath), documentBreak ? "Y" : "", "", "", pageCount.map(String.init) ?? "",
    ]
    .joined(separator: ",") + "\r\n"
  }
}

/// A page image that could not be made at all, not even as a placeholder (no memory).
struct ProductionImageError: LocalizedError {
  var bates: String
  var reason: String
  var errorDescription: String? { "The image of \(bates) cannot be written: \(reason); nothing was produced." }
}

extension Production {
  /// The Opticon cross-reference beside `dat` checked against the DAT's rows: one line per
  /// page of every row's BEGBATES–ENDBATES range, in order; each line's image present;
  /// DOCBREAK `Y` on a document's first page and nowhere else, with its page count; the
  /// DAT's IMAGEPATH the first page's image.
  static func checkOpticon(directory: URL, dat: String, header: [String], rows: [[String]]) -> [String] {
    let name = String(dat.dropLast(4)) + ".opt"
    let url = directory.appendingPathComponent("DATA/\(name)")
    let imageColumn = header.firstIndex(of: "IMAGEPATH")
    guard let data = FileManager.default.contents(atPath: url.path) else {
      return imageColumn == nil ? [] : ["DATA/\(dat) has IMAGEPATH but DATA/\(name) is missing"]
    }
    guard let text = String(data: data, encoding: .utf8) else { return ["DATA/\(name) is not UTF-8 text"] }
    let lines = text.components(separatedBy: "\r\n").filter { !$0.isEmpty }.map {
      $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
    }
    var problems: [String] = []
    for (i, fields) in lines.enumerated() where fields.count != 7 {
      problems.append(
        "DATA/\(name) line \(i + 1): \(fields.count) fields, not 7 (BATES,VOLUME,IMAGEPATH,DOCBREAK,,,PAGECOUNT)")
    }
    guard problems.isEmpty, let beg = header.firstIndex(of: "BEGBATES"), let end = header.firstIndex(of: "ENDBATES")
    else { return problems }
    func split(_ bates: String) -> (prefix: String, n: Int, digits: Int)? {
      let digits = String(bates.reversed().prefix { $0.isNumber }.reversed())
      guard let n = Int(digits) else { return nil }
      return (String(bates.dropLast(digits.count)), n, digits.count)
    }
    // The pages the DAT says, in order, with whether each starts a document.
    var expected: [(bates: String, first: Bool, pages: Int, image: String?)] = []
    for row in rows where row.count == header.count {
      guard let b = split(row[beg]), let e = split(row[end]), b.n <= e.n else { continue }
      for n in b.n...e.n {
        let digits = String(n)
        let bates = b.prefix + String(repeating: "0", count: max(0, b.digits - digits.count)) + digits
        expected.append((bates, n == b.n, e.n - b.n + 1, n == b.n ? imageColumn.map { row[$0] } : nil))
      }
    }
    if lines.count != expected.count {
      problems.append("DATA/\(name) has \(lines.count) pages where DATA/\(dat) numbers \(expected.count)")
    }
    for (i, (fields, page)) in zip(lines, expected).enumerated() {
      let line = "DATA/\(name) line \(i + 1)"
      if fields[0] != page.bates {
        problems.append("\(line): \(fields[0]) where the DAT's ranges give \(page.bates)")
        break  // out of step: every later line would differ too
      }
      if !FileManager.default.fileExists(atPath: directory.appendingPathComponent(fields[2]).path) {
        problems.append("\(line): image \(fields[2]) is missing")
      }
      if page.first != (fields[3] == "Y") {
        problems.append(
          page.first
            ? "\(line): \(fields[0]) starts a document but has no DOCBREAK Y" : "\(line): DOCBREAK inside a document")
      }
      if page.first && fields[6] != String(page.pages) {
        problems.append("\(line): page count \(fields[6]) where the DAT's range has \(page.pages)")
      }
      if let image = page.image, image != fields[2] {
        problems.append("\(line): the DAT's IMAGEPATH is \(image), the OPT's \(fields[2])")
      }
    }
    return problems
  }
}

/// Per-document outcomes of `writeImages`, filled from several threads.
private final class ImageResults: @unchecked Sendable {
  private let lock = NSLock()
  private var results: [Result<(Int, [String]), any Error>]

  init(count: Int) { results = Array(repeating: .success((0, [])), count: count) }

  func set(_ index: Int, _ result: Result<(Int, [String]), any Error>) {
    lock.lock()
    results[index] = result
    lock.unlock()
  }

  var all: [Result<(Int, [String]), any Error>] {
    lock.lock()
    defer { lock.unlock() }
    return results
  }
}
