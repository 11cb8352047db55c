import Foundation
import Ingest
import Pipeline
import Storage
import Testing
import _LongctxTestSupport

/// What `longctx quote` prints: the stored text behind each kind of locator,
/// checked against the sample files themselves.
@Suite struct ReportQuoteTests {
  static func workspace(_ tmp: TemporaryDirectory) async throws -> (Workspace, SourceLookup) {
    let spec = try ReportCitationTests.setUp(
      tmp,
      folders: ["logs", "pdfs", "mail"].map { RepositoryPaths.samples.appendingPathComponent($0) }, context: 2000)
    let ws = try Workspace(root: tmp.url.appendingPathComponent("ws"))
    try await ReportCitationTests.run(ws, spec)
    return (ws, try SourceLookup(workspace: ws))
  }

  static func lines(_ text: String) -> [Substring] {
    text.split(separator: "\n", omittingEmptySubsequences: false)
  }

  @Test func eachKindOfLocatorGivesItsStoredText() async throws {
    let tmp = try TemporaryDirectory()
    defer { tmp.remove() }
    let (_, lookup) = try await Self.workspace(tmp)
    // A line range with one line of context: lines 2-5 of the file as it is on disk.
    let file = Self.lines(try String(contentsOf: tmp.url.appendingPathComponent("logs/app.log"), encoding: .utf8))
    let range = try lookup.text(of: Locator(path: "logs/app.log", lineStart: 3, lineEnd: 4), context: 1)
    #expect(range.span.description == "logs/app.log#L2-L5")
    #expect(Self.lines(range.text) == Array(file[1...4]))
    // A compressed log: lines of the decompressed file.
    let gz = Process()
    gz.executableURL = URL(fileURLWithPath: "/bin/gzip")
    gz.arguments = ["-dc", tmp.url.appendingPathComponent("logs/app.log.2.gz").path]
    let pipe = Pipe()
    gz.standardOutput = pipe
    try gz.run()
    let plain = Self.lines(String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self))
    gz.waitUntilExit()
    let gzRange = try lookup.text(of: Locator(path: "logs/app.log.2.gz", lineStart: 5, lineEnd: 7)).text
    #expect(Self.lines(gzRange) == Array(plain[4...6]))
    // A page, by a shortened path.
    let page = try lookup.text(of: try #require(Locator(citation: "contract.pdf#page=2"))).text
    #expect(page.contains("4. Service Levels"))
    // A message, by its Message-ID.
    let message = try lookup.text(
      of: try #require(Locator(citation: "mail/ops-team.mbox#msg=weekly-10.tf@harborfreight.example"))
    ).text
    #expect(message.contains("Weekly late-shipment summary"))
    // An attachment: the CSV inside that message, decoded.
    let attachment = try #require(lookup.paths.keys.first { $0.hasSuffix("/attachment=late-shipments-w11.csv") })
    let csv = try lookup.text(of: Locator(path: attachment, lineStart: 1, lineEnd: 2)).text
    #expect(csv == "depot,shipments,late\nhamburg,1204,31")
  }

  @Test func pastTheEndAndUnknownFilesSayWhy() async throws {
    let tmp = try TemporaryDirectory()
    defer { tmp.remove() }
    let (_, lookup) = try await Self.workspace(tmp)
    let lineCount =
      Self.lines(
        try String(contentsOf: tmp.url.appendingPathComponent("logs/app.log"), encoding: .utf8)
      ).count - 1
    #expect(
      throws: SourceLookup.Missing.pastEnd("line \(lineCount + 1) is past the end of logs/app.log (\(lineCount) lines)")
    ) {
      try lookup.check(Locator(path: "logs/app.log", lineStart: lineCount, lineEnd: lineCount + 1))
    }
    #expect(throws: SourceLookup.Missing.noDocument(path: "logs/nope.log")) {
      try lookup.check(Locator(path: "logs/nope.log", lineStart: 1, lineEnd: 1))
    }
    #expect(throws: SourceLookup.Missing.self) {
      try lookup.check(try #require(Locator(citation: "mail/ops-team.mbox#msg=invented@example")))
    }
    // Every stored page of the PDF exists, the next one does not.
    #expect(throws: Never.self) { try lookup.check(Locator(path: "pdfs/contract.pdf", page: 3)) }
    #expect(throws: SourceLookup.Missing.self) { try lookup.check(Locator(path: "pdfs/contract.pdf", page: 4)) }
  }
}
