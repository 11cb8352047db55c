import ArgumentParser
import Foundation
import Ingest

extension Longctx {
  /// `longctx _extract-pdf PATH`: one PDF's text as JSON, from the same
  /// extractor ingest runs. For the PDF benchmarks and coverage scripts
  /// (`bench/ingest.sh`, `scripts/pdf-text-coverage.py`); hidden: ingest
  /// itself isolates files through `_extract`.
  ///
  /// Reads an optional password line from standard input and prints
  /// `{"document": …}` or `{"errorKind": "encrypted"|"unreadable", "errorReason": …}`.
  struct ExtractPDF: ParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "_extract-pdf", abstract: "Extract one PDF and print JSON (internal).",
      shouldDisplay: false)

    @Option(help: "Heap limit in bytes; 0 for none.")
    var memoryLimit: Int = 0

    @Option(help: "The path to cite in locators.")
    var displayPath: String?

    @Argument(help: "The PDF.")
    var path: String

    struct Reply: Encodable {
      var document: ExtractedDocument?
      var errorKind: String?
      var errorReason: String?
    }

    func run() throws {
      ExtractionWorker.limitHeap(memoryLimit)
      let line = readLine(strippingNewline: true)
      let password = (line?.isEmpty ?? true) ? nil : line
      var reply = Reply()
      do {
        reply.document = try PDFExtractor(password: password).extract(path: path, displayPath: displayPath ?? path)
      } catch IngestError.pdfEncrypted {
        reply.errorKind = "encrypted"
      } catch IngestError.pdfUnreadable(_, let reason) {
        reply.errorKind = "unreadable"
        reply.errorReason = reason
      } catch {
        reply.errorKind = "unreadable"
        reply.errorReason = error.userDescription
      }
      FileHandle.standardOutput.write(try JSONEncoder().encode(reply))
    }
  }
}
