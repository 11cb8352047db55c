import ArgumentParser
import Foundation
import Ingest

extension Longctx {
  /// `longctx _extract-pdf PATH`: the child process `ingest` runs per PDF.
  ///
  /// Reads an optional password line from standard input and prints one
  /// `PDFWorkerReply` as JSON. Hidden: users never call it.
  struct ExtractPDF: ParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "_extract-pdf", abstract: "Extract one PDF and print JSON (internal).",
      shouldDisplay: false)

    @Option(help: "Address-space limit in bytes; 0 for none.")
    var memoryLimit: Int = 0

    @Option(help: "The path to cite in locators.")
    var displayPath: String?

    @Flag(help: "Serve many PDFs: one JSON request per input line, one JSON reply per output line.")
    var serve = false

    @Argument(help: "The PDF.")
    var path: String?

    func validate() throws {
      if serve == (path != nil) { throw ValidationError("give either a PDF path or '--serve'") }
    }

    func run() throws {
      guard let path else {
        PDFWorkerReply.serve(
          memoryLimit: memoryLimit, readLine: { readLine(strippingNewline: true) },
          write: { FileHandle.standardOutput.write($0) })
        return
      }
      let line = readLine(strippingNewline: true)
      let password = (line?.isEmpty ?? true) ? nil : line
      let reply = PDFWorkerReply.extractInChild(
        path: path, displayPath: displayPath ?? path, password: password, memoryLimit: memoryLimit)
      FileHandle.standardOutput.write(reply)
    }
  }
}
