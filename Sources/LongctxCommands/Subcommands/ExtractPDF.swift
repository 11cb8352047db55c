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

    @Argument(help: "The PDF.")
    var path: String

    func run() throws {
      let line = readLine(strippingNewline: true)
      let password = (line?.isEmpty ?? true) ? nil : line
      let reply = PDFWorkerReply.extractInChild(
        path: path, displayPath: displayPath ?? path, password: password, memoryLimit: memoryLimit)
      FileHandle.standardOutput.write(reply)
    }
  }
}
