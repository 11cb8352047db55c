import Foundation
import Pipeline
import Storage
import Testing
import _LongctxTestSupport

/// The computed-facts section, checked against counts taken from the sample files directly.
@Suite struct ReportFactsTests {
  /// The text of a sample file, decompressed with gzip for `.gz`.
  static func text(_ file: URL) throws -> String {
    guard file.pathExtension == "gz" else { return try String(contentsOf: file, encoding: .utf8) }
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/bin/gzip")
    p.arguments = ["-dc", file.path]
    let pipe = Pipe()
    p.standardOutput = pipe
    try p.run()
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    return String(decoding: data, as: UTF8.self)
  }

  @Test func factsMatchTheFiles() async throws {
    let tmp = try TemporaryDirectory()
    defer { tmp.remove() }
    let spec = try ReportCitationTests.setUp(
      tmp, folders: ["logs", "pdfs", "mail"].map { RepositoryPaths.samples.appendingPathComponent($0) }, context: 2000)
    // A corrupt compressed log among the inputs: a failure the facts name with its reason.
    try tmp.write("logs/broken.log.gz", "\u{1f}\u{8b}\u{8}\u{0}this is not gzip data")
    let ws = try Workspace(root: tmp.url.appendingPathComponent("ws"))
    try await ReportCitationTests.run(ws, spec)
    let facts = try ReportWriter(workspace: ws).json(job: "checked", spec: spec).facts

    // Log events: every line that starts with a timestamp, by its level word.
    var events = 0
    var levels: [String: Int] = [:]
    var hours = Set<String>()
    for name in ["app.log", "app.log.1", "app.log.2.gz"] {
      for line in try Self.text(tmp.url.appendingPathComponent("logs/\(name)")).split(separator: "\n") {
        let fields = line.split(separator: " ")
        guard let first = fields.first, first.count >= 20, first.dropFirst(4).first == "-", first.contains("T") else {
          continue
        }
        events += 1
        levels[String(fields[1]), default: 0] += 1
        hours.insert(String(first.prefix(13)))
      }
    }
    #expect(facts.logEvents == events)
    #expect(Dictionary(uniqueKeysWithValues: facts.bySeverity.map { ($0.severity, $0.events) }) == levels)
    #expect(facts.byHour.map { $0.events.values.reduce(0, +) }.reduce(0, +) == events)
    #expect(Set(facts.byHour.map { String($0.hour.prefix(13)) }) == hours)
    #expect(facts.bySeverity.allSatisfy { !$0.locators.isEmpty && $0.locators.allSatisfy { $0.hasPrefix("logs/") } })
    // Templates: the ones ingest mined for these logs, by count, each with its first event cited.
    #expect(!facts.topTemplates.isEmpty && facts.templateCount >= facts.topTemplates.count)
    #expect(facts.topTemplates.map(\.events) == facts.topTemplates.map(\.events).sorted(by: >))
    #expect(facts.topTemplates.allSatisfy { $0.locator.hasPrefix("logs/") && $0.firstTime != nil })
    #expect(facts.topTemplates.reduce(0) { $0 + $1.events } <= events)

    // Mail: one row per message, with its sender's address.
    let mbox = try String(contentsOf: tmp.url.appendingPathComponent("mail/ops-team.mbox"), encoding: .utf8)
    let eml = try String(contentsOf: tmp.url.appendingPathComponent("mail/quarterly-review.eml"), encoding: .utf8)
    let senders = (mbox + "\n" + eml).split(separator: "\n").filter { $0.hasPrefix("From: ") }.compactMap {
      $0.split(separator: "<").last?.split(separator: ">").first.map(String.init)
    }
    let mail = facts.documents.filter { $0.kind == "email" }
    #expect(mail.count == senders.count)
    #expect(
      Set(mail.compactMap { $0.author?.split(separator: "<").last?.split(separator: ">").first.map(String.init) })
        == Set(senders))
    #expect(mail.contains { $0.author?.contains("Tomás Ferreira") == true }, "encoded words decoded")
    // PDFs: both, with their pages counted.
    let pdf = try #require(facts.read.first { $0.kind == "pdf" })
    #expect(pdf.documents == 2)
    #expect(pdf.pages == 5)
    #expect(
      facts.documents.filter { $0.kind == "pdf" }.map(\.locator).sorted() == [
        "pdfs/contract.pdf#page=1", "pdfs/memo.pdf#page=1",
      ])
    // The broken file, with why.
    let broken = try #require(facts.exceptions.first { $0.path == "logs/broken.log.gz" })
    #expect(broken.severity == "failed")
    #expect(broken.reason.lowercased().contains("decompress"), "\(broken.reason)")
    let md = try ReportWriter(workspace: ws).markdown(job: "checked", spec: spec)
    #expect(md.contains("- failed: `logs/broken.log.gz`: "))
    #expect(
      md.range(of: "## Computed facts")?.lowerBound ?? md.endIndex < md.range(of: "## Summary")?.lowerBound
        ?? md.startIndex)
  }

  @Test func codeFactsNameLanguagesAndTheMostCentralFiles() async throws {
    let tmp = try TemporaryDirectory()
    defer { tmp.remove() }
    let spec = try ReportCitationTests.setUp(
      tmp,
      folders: [
        RepositoryPaths.samples.appendingPathComponent("repo"), RepositoryPaths.samples.appendingPathComponent("mail"),
      ],
      context: 2000)
    let ws = try Workspace(root: tmp.url.appendingPathComponent("ws"))
    try await ReportCitationTests.run(ws, spec)
    let facts = try ReportWriter(workspace: ws).json(job: "checked", spec: spec).facts
    let python = try #require(facts.languages.first { $0.language == "Python" })
    let pyFiles = RepositoryPaths.files(under: tmp.url.appendingPathComponent("repo"), suffixes: [".py"])
    #expect(python.files == pyFiles.count)
    // README first (+2), then the entry point main.py (+1.5).
    #expect(facts.centralFiles.first?.locator.hasPrefix("repo/README.md#L1-") == true, "\(facts.centralFiles)")
    #expect(
      facts.centralFiles.contains {
        $0.locator.hasPrefix("repo/src/manifests/main.py") && $0.reasons.contains("entry point")
      })
    // Six dated messages: the HTML charts them by day.
    let html = try ReportWriter(workspace: ws).render(job: "checked", format: .html, spec: spec)
    #expect(html.contains("id=\"chart-documents\""))
    #expect(html.contains("6 dated documents"), "ops-team.mbox has 5 messages, quarterly-review.eml 1")
  }
}
