import ArgumentParser
import Foundation
import Ingest
import Pipeline

extension Longctx {
  /// `longctx quote LOCATOR… [--context N] [--json]`
  struct Quote: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      abstract:
        "Print the stored text behind locators a report cites (a page, a line range, a message, an attachment).",
      discussion: """
        Reads the workspace, not the original files. A locator is what reports cite, with or without its brackets: \
        contract.pdf#page=3, app.log#L120-L188, inbox.mbox#msg=<id>, inbox.mbox#msg=<id>/attachment=report.pdf#page=2. \
        A path may drop leading directories when that leaves one stored document, and may be typed as the file's \
        path on disk (absolute, as given to ingest, or relative to the current directory): /abs/memo.pdf#page=1, \
        /abs/bundle.zip#member=a.txt#L1-L2. When the typed path names one stored document as written and another \
        as a file, the stored one is printed and a note on stderr names the other. Exit code 2 when a locator names \
        no stored text (the others are still printed).
        """)

    @OptionGroup(title: "Global Options") var global: GlobalOptions

    @Argument(help: ArgumentHelp("Locators to print.", valueName: "locator")) var locators: [String]

    @Option(help: ArgumentHelp("Lines of context around a line range.", valueName: "N")) var context = 0

    @Flag(help: "Print JSON instead of text.") var json = false

    func validate() throws {
      if locators.isEmpty { throw ValidationError("give at least one locator, e.g. app.log#L10-L12") }
      if context < 0 { throw ValidationError("'--context' must be 0 or more") }
    }

    /// One locator's text, or why there is none.
    struct Quoted: Encodable {
      var locator: String
      /// The stored locator it names, when written differently.
      var resolved: String?
      /// Which document was meant when the typed path names two (the stored one and a file on disk).
      var note: String?
      /// What is printed: the locator widened by the context.
      var span: String?
      var firstLine: Int?
      var text: String?
      var error: String?
    }

    func run() async throws {
      let workspace = try global.openWorkspace()
      let lookup = try SourceLookup(workspace: workspace)
      let directory = FileManager.default.currentDirectoryPath
      var results: [Quoted] = []
      for raw in locators {
        var text = raw.trimmingCharacters(in: .whitespaces)
        if text.hasPrefix("[") && text.hasSuffix("]") { text = String(text.dropFirst().dropLast()) }
        guard let locator = Locator(citation: text[...]) else {
          results.append(Quoted(locator: text, error: SourceLookup.Missing.notALocator(text).description))
          continue
        }
        do {
          let resolution = try lookup.resolve(typed: locator.path, from: directory)
          var stored = locator
          stored.path = resolution.path
          let found = try lookup.text(of: stored, context: context)
          let resolved = try lookup.check(stored)
          if let note = resolution.note, !json { printError("longctx: note: \(note).") }
          results.append(
            Quoted(
              locator: text, resolved: resolved.path == locator.path ? nil : resolved.description,
              note: resolution.note, span: found.span.description, firstLine: found.span.lineStart, text: found.text))
        } catch {
          results.append(Quoted(locator: text, error: "\(error)"))
        }
      }
      let failures = results.filter { $0.error != nil }
      if json {
        print(try jsonString(results))
      } else {
        for r in results {
          guard let body = r.text else { continue }
          print(
            "==> [\(r.resolved ?? r.locator)]"
              + (r.span.map { $0 == (r.resolved ?? r.locator) ? "" : " (shown: \($0))" } ?? ""))
          if let first = r.firstLine, let loc = Locator(citation: (r.resolved ?? r.locator)[...]) {
            for (i, line) in body.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
              let n = first + i
              let cited = n >= (loc.lineStart ?? 0) && n <= (loc.lineEnd ?? 0)
              print("\(cited && context > 0 ? ">" : " ")\(String(n).leftPadded(to: 7))  \(line)")
            }
          } else {
            print(body)
          }
          print("")
        }
      }
      if !failures.isEmpty {
        throw CommandFailure(
          code: ExitCodes.usage,
          message: failures.map { "longctx: \($0.locator): \($0.error ?? "not found")." }.joined(separator: "\n"))
      }
    }
  }
}

extension String {
  fileprivate func leftPadded(to width: Int) -> String {
    count >= width ? self : String(repeating: " ", count: width - count) + self
  }
}
