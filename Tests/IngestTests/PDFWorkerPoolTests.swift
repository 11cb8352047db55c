import Foundation
import Testing
import _LongctxTestSupport

@testable import Ingest

/// Pooled PDF workers: `/bin/sh` scripts stand in for misbehaving children,
/// the built longctx binary (when present) for the real one.
@Suite struct PDFWorkerPoolTests {
  static let sample = PDFWorkerTests.sample

  func shPool(_ script: String, timeLimit: Double = 10) -> PDFWorker {
    PDFWorker(
      executable: URL(fileURLWithPath: "/bin/sh"), arguments: ["-c", script, "sh"], timeLimit: timeLimit, pooled: true)
  }

  /// Answers "unreadable: ok <n>" to each request; crashes on a request naming "crash", hangs on "hang".
  static let script = """
    n=0
    while read -r line; do
      n=$((n+1))
      case "$line" in
        *crash*) kill -SEGV $$ ;;
        *hang*) exec sleep 30 ;;
        *garbage*) echo nonsense ;;
        *) echo "{\\"errorKind\\":\\"unreadable\\",\\"errorReason\\":\\"ok $n pid $$\\"}" ;;
      esac
    done
    """

  private func reason(_ worker: PDFWorker, _ path: String) -> String {
    do {
      _ = try worker.extract(path: path, displayPath: path, password: nil)
      return "no error"
    } catch let IngestError.pdfUnreadable(_, reason) {
      return reason
    } catch let IngestError.pdfWorkerFailed(_, reason) {
      return "failed: \(reason)"
    } catch {
      return "other: \(error)"
    }
  }

  @Test func oneChildServesManyFilesAndIsReplacedAfterACrashHangOrGarbage() throws {
    let worker = shPool(Self.script, timeLimit: 2)
    let first = reason(worker, "a.pdf")
    #expect(first.hasPrefix("ok 1 pid "))
    let pid = first.split(separator: " ").last.map(String.init)
    #expect(reason(worker, "b.pdf") == "ok 2 pid \(pid ?? "")")  // the same child, second request
    #expect(worker.pool.idleCount == 1)

    #expect(reason(worker, "crash.pdf").hasPrefix("failed: crashed with signal 11"))
    #expect(worker.pool.idleCount == 0)
    let fresh = reason(worker, "c.pdf")
    #expect(fresh.hasPrefix("ok 1 pid ") && fresh != first)  // a new child

    let start = Date()
    #expect(reason(worker, "hang.pdf") == "failed: timed out after 2 s")
    #expect(Date().timeIntervalSince(start) < 8)
    #expect(reason(worker, "d.pdf").hasPrefix("ok 1 pid "))

    #expect(reason(worker, "garbage.pdf") == "failed: answered something that is not a result")
    #expect(reason(worker, "e.pdf").hasPrefix("ok 1 pid "))
  }

  @Test func aChildThatExitsIsReported() {
    let worker = shPool("read -r line; printf 'it broke'; exit 3")
    #expect(reason(worker, "a.pdf") == "failed: exited with status 3 without a result: it broke")
    // A line that is not a reply is reported as such.
    #expect(reason(shPool("read -r line; echo 'it broke'"), "a.pdf") == "failed: answered something that is not a result")
  }

  /// A valid PDF of `pages` pages that all show one content stream of `lines`
  /// text lines: small on disk, megabytes of text once extracted.
  static func bigTextPDF(pages: Int, lines: Int) -> Data {
    var content = "BT /F1 6 Tf 20 780 Td 7 TL\n"
    for i in 0..<lines { content += "(line \(i) of many words to fill the page with extracted text) '\n" }
    content += "ET\n"
    let kids = (0..<pages).map { "\(6 + $0) 0 R" }.joined(separator: " ")
    var objects = [
      "<< /Type /Catalog /Pages 2 0 R >>",
      "<< /Type /Pages /Kids [\(kids)] /Count \(pages) >>",
      "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
      "<< /Length \(content.utf8.count) >>\nstream\n\(content)endstream",
      "<< >>",
    ]
    for _ in 0..<pages {
      objects.append("<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << /Font << /F1 3 0 R >> >> >>")
    }
    var out = "%PDF-1.4\n"
    var offsets: [Int] = []
    for (i, body) in objects.enumerated() {
      offsets.append(out.utf8.count)
      out += "\(i + 1) 0 obj\n\(body)\nendobj\n"
    }
    let xref = out.utf8.count
    out += "xref\n0 \(objects.count + 1)\n0000000000 65535 f \n"
    for o in offsets { out += String(format: "%010d 00000 n \n", o) }
    out += "trailer\n<< /Size \(objects.count + 1) /Root 1 0 R >>\nstartxref\n\(xref)\n%%EOF\n"
    return Data(out.utf8)
  }

  @Test func concurrentCallersGetTheirOwnChildren() async throws {
    let worker = shPool(Self.script)
    let reasons = await withTaskGroup(of: String.self) { group in
      for i in 0..<8 { group.addTask { self.reason(worker, "f\(i).pdf") } }
      var out: [String] = []
      for await r in group { out.append(r) }
      return out
    }
    #expect(reasons.count == 8)
    #expect(reasons.allSatisfy { $0.hasPrefix("ok ") })
    #expect(worker.pool.idleCount >= 1 && worker.pool.idleCount <= 8)
  }

  @Test func realPooledWorkerMatchesInProcessExtractionAndAppliesTheMemoryLimit() throws {
    guard let binary = PDFWorkerTests.longctxBinary else { return }
    let worker = PDFWorker(executable: binary, timeLimit: 60, memoryLimit: 3 << 30, pooled: true)
    for name in ["memo.pdf", "contract.pdf", "memo.pdf"] {
      let path = RepositoryPaths.samples.appendingPathComponent("pdfs/\(name)").path
      let pooled = try worker.extract(path: path, displayPath: name, password: nil)
      let direct = try PDFExtractor(password: nil).extract(path: path, displayPath: name)
      #expect(pooled.sections == direct.sections)
    }
    #expect(worker.pool.idleCount == 1)
    // The child runs under the address-space limit it was given.
    let pid = try #require(worker.pool.idlePIDs.first)
    let limits = try String(contentsOfFile: "/proc/\(pid)/limits", encoding: .utf8)
    let line = try #require(limits.split(separator: "\n").first { $0.hasPrefix("Max address space") })
    #expect(line.split(separator: " ", omittingEmptySubsequences: true).contains("\(3 << 30)"))

    // A pooled child extracts a 300-page PDF with about 2 MB of text like the in-process extractor.
    // (Whether the limit stops a ballooning child is measured by bench/pdf-memory-limit.sh, not
    // here: glibc's already-reserved arenas let a child use tens of MB past any limit, so a test
    // of it would need a PDF that takes minutes to extract in a debug build.)
    let dir = try TemporaryDirectory()
    defer { dir.remove() }
    let big = dir.url.appendingPathComponent("big.pdf")
    try Self.bigTextPDF(pages: 300, lines: 110).write(to: big)
    let doc = try worker.extract(path: big.path, displayPath: "big.pdf", password: nil)
    #expect(doc.pageCount == 300)
    #expect(doc.sections == (try PDFExtractor(password: nil).extract(path: big.path, displayPath: "big.pdf")).sections)
  }
}
