import Foundation
import Testing
import _LongctxTestSupport

/// `longctx quote` as a user runs it, on the sample logs and PDFs.
@Suite struct QuoteCLITests {
  @Test func quotesLinesPagesAndSaysWhyALocatorIsUnknown() throws {
    let tmp = try TemporaryDirectory()
    defer { tmp.remove() }
    for folder in ["logs", "pdfs"] {
      try FileManager.default.copyItem(
        at: RepositoryPaths.samples.appendingPathComponent(folder), to: tmp.url.appendingPathComponent(folder))
    }
    let ws = tmp.url.appendingPathComponent("ws").path
    let ingest = try CLI.run(["ingest", "logs", "pdfs", "--workspace", ws], cwd: tmp.url)
    #expect(ingest.code == 0, "\(ingest.stderr)")
    let file = try String(contentsOf: tmp.url.appendingPathComponent("logs/app.log"), encoding: .utf8)
      .split(separator: "\n", omittingEmptySubsequences: false)

    let lines = try CLI.run(["quote", "[logs/app.log#L3-L4]", "--context", "1", "--workspace", ws], cwd: tmp.url)
    #expect(lines.code == 0, "\(lines.stderr)")
    let out = lines.stdout.split(separator: "\n")
    #expect(out.first == "==> [logs/app.log#L3-L4] (shown: logs/app.log#L2-L5)")
    #expect(out.dropFirst().prefix(4).map { $0.dropFirst(10) } == file[1...4].map { $0[...] })
    #expect(out[2].hasPrefix(">") && out[3].hasPrefix(">") && out[1].hasPrefix(" "), "cited lines are marked")

    let page = try CLI.run(["quote", "contract.pdf#page=2", "--json", "--workspace", ws], cwd: tmp.url)
    #expect(page.code == 0, "\(page.stderr)")
    let json = try #require(try JSONSerialization.jsonObject(with: Data(page.stdout.utf8)) as? [[String: Any]])
    #expect(json.first?["resolved"] as? String == "pdfs/contract.pdf#page=2")
    #expect((json.first?["text"] as? String)?.contains("4. Service Levels") == true)

    let bad = try CLI.run(
      ["quote", "logs/app.log#L1", "logs/app.log#L9000", "nope.pdf#page=1", "--workspace", ws], cwd: tmp.url)
    #expect(bad.code == 2)
    #expect(bad.stdout.contains("==> [logs/app.log#L1]"), "the known one is still printed")
    let errors = bad.stderr.split(separator: "\n")
    #expect(errors.count == 2, "\(bad.stderr)")
    #expect(errors.first?.contains("line 9000 is past the end of logs/app.log") == true)
    #expect(errors.last?.contains("no document nope.pdf in the workspace") == true)
  }

  @Test func aReportOfAJobThatNeverRanSaysSoInEveryFormat() throws {
    let tmp = try TemporaryDirectory()
    defer { tmp.remove() }
    let ws = tmp.url.appendingPathComponent("ws").path
    for format in ["md", "json", "html", "csv"] {
      let r = try CLI.run(["report", "never-ran", "--format", format, "--workspace", ws], cwd: tmp.url)
      #expect(r.code == 2)
      #expect(r.stdout.isEmpty)
      #expect(r.stderr.contains("No job named never-ran has run in this workspace"), "\(r.stderr)")
    }
    let bad = try CLI.run(["report", "never-ran", "--format", "pdf", "--workspace", ws], cwd: tmp.url)
    #expect(bad.code == 2)
  }
}
