import Foundation
import Testing
import _LongctxTestSupport

/// `longctx quote` with locators as a person types them: the path as the shell
/// sees it from the current directory, or as it was given to `ingest`, rather
/// than as reports cite it (relative to the directory ingest ran in).
@Suite struct QuoteTypedPathCLITests {
  /// Samples' logs, PDFs and mail ingested from a `jobs/` directory, as a job file there
  /// would: stored as `../logs/app.log`, `../pdfs/memo.pdf`, `../mail/ops-team.mbox`.
  static func ingested(_ tmp: TemporaryDirectory) throws -> String {
    for folder in ["logs", "pdfs", "mail"] {
      try FileManager.default.copyItem(
        at: RepositoryPaths.samples.appendingPathComponent(folder), to: tmp.url.appendingPathComponent(folder))
    }
    let jobs = tmp.url.appendingPathComponent("jobs")
    try FileManager.default.createDirectory(at: jobs, withIntermediateDirectories: true)
    let ws = tmp.url.appendingPathComponent("ws").path
    let ingest = try CLI.run(["ingest", "../logs", "../pdfs", "../mail", "--workspace", ws], cwd: jobs)
    #expect(ingest.code == 0, "\(ingest.stderr)")
    return ws
  }

  @Test func pathsFromTheCurrentDirectoryAndAbsolutePathsNameTheStoredDocument() throws {
    let tmp = try TemporaryDirectory()
    defer { tmp.remove() }
    let ws = try Self.ingested(tmp)
    let log = try String(contentsOf: tmp.url.appendingPathComponent("logs/app.log"), encoding: .utf8)
      .split(separator: "\n", omittingEmptySubsequences: false)

    // As the shell sees it from the directory above the samples.
    let shell = try CLI.run(["quote", "logs/app.log#L2-L4", "--workspace", ws], cwd: tmp.url)
    #expect(shell.code == 0, "\(shell.stderr)")
    let out = shell.stdout.split(separator: "\n")
    #expect(out.first == "==> [../logs/app.log#L2-L4]", "\(shell.stdout)")
    #expect(out.dropFirst().prefix(3).map { $0.dropFirst(10) } == log[1...3].map { $0[...] })
    #expect(shell.stderr.isEmpty, "one document: no note")

    // From inside the folder, with ./, and absolute (as given to ingest).
    let inside = try CLI.run(["quote", "./app.log#L2", "--workspace", ws], cwd: tmp.url.appendingPathComponent("logs"))
    #expect(inside.code == 0 && inside.stdout.hasPrefix("==> [../logs/app.log#L2]"), "\(inside.stdout)\(inside.stderr)")
    let memo = tmp.url.appendingPathComponent("pdfs/memo.pdf").path
    let absolute = try CLI.run(["quote", "\(memo)#page=1", "--json", "--workspace", ws], cwd: tmp.url)
    #expect(absolute.code == 0, "\(absolute.stderr)")
    let json = try #require(try JSONSerialization.jsonObject(with: Data(absolute.stdout.utf8)) as? [[String: Any]])
    #expect(json.first?["resolved"] as? String == "../pdfs/memo.pdf#page=1")
    #expect((json.first?["text"] as? String)?.isEmpty == false)

    // A file never ingested is still "no document".
    try tmp.write("other.log", "one line\n")
    let missing = try CLI.run(["quote", "other.log#L1", "--workspace", ws], cwd: tmp.url)
    #expect(missing.code == 2)
    #expect(missing.stderr.contains("no document other.log in the workspace"), "\(missing.stderr)")
  }

  /// A document inside another (a mail's attachment) typed with its container's path on disk.
  @Test func aDocumentInsideAFileTypedWithTheFilesAbsolutePath() throws {
    let tmp = try TemporaryDirectory()
    defer { tmp.remove() }
    let ws = try Self.ingested(tmp)
    let inside = "#msg=weekly-10.tf@harborfreight.example/attachment=late-shipments-w11.csv"
    let stored = try CLI.run(["quote", "../mail/ops-team.mbox\(inside)#L2-L3", "--workspace", ws], cwd: tmp.url)
    #expect(stored.code == 0, "the stored form: \(stored.stderr)")
    #expect(stored.stdout.contains("rotterdam"), "\(stored.stdout)")

    let mbox = tmp.url.appendingPathComponent("mail/ops-team.mbox").path
    let typed = try CLI.run(["quote", "\(mbox)\(inside)#L2-L3", "--workspace", ws], cwd: tmp.url)
    #expect(typed.code == 0, "\(typed.stderr)")
    #expect(typed.stdout.hasPrefix("==> [../mail/ops-team.mbox\(inside)#L2-L3]"), "\(typed.stdout)")
    #expect(typed.stdout.contains("rotterdam"))
    let relative = try CLI.run(["quote", "mail/ops-team.mbox\(inside)#L2-L3", "--workspace", ws], cwd: tmp.url)
    #expect(relative.code == 0 && relative.stdout == typed.stdout, "\(relative.stderr)")
  }

  /// A typed path that names one stored document as written and another as a file on disk:
  /// the stored one is printed, and a note says which was meant and names the other.
  @Test func whenTwoDocumentsMatchTheNoteSaysWhichWasMeant() throws {
    let tmp = try TemporaryDirectory()
    defer { tmp.remove() }
    let ws = tmp.url.appendingPathComponent("ws").path
    try tmp.write("a/app.log", "alpha one\nalpha two\n")
    try tmp.write("b/app.log", "bravo one\nbravo two\n")
    // Stored as `app.log` (ingested from a/) and as `b/app.log` (ingested from the top).
    #expect(try CLI.run(["ingest", "app.log", "--workspace", ws], cwd: tmp.url.appendingPathComponent("a")).code == 0)
    #expect(try CLI.run(["ingest", "b", "--workspace", ws], cwd: tmp.url).code == 0)

    let both = try CLI.run(["quote", "app.log#L1", "--workspace", ws], cwd: tmp.url.appendingPathComponent("b"))
    #expect(both.code == 0, "\(both.stderr)")
    #expect(both.stdout.hasPrefix("==> [app.log#L1]") && both.stdout.contains("alpha one"), "\(both.stdout)")
    let file = tmp.url.appendingPathComponent("b/app.log").path
    #expect(
      both.stderr.contains(
        "note: app.log is taken as the stored document app.log; the file \(file) is stored as b/app.log"),
      "\(both.stderr)")
    let json = try CLI.run(
      ["quote", "app.log#L1", "--json", "--workspace", ws], cwd: tmp.url.appendingPathComponent("b"))
    let rows = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [[String: Any]])
    #expect((rows.first?["note"] as? String)?.contains("stored as b/app.log") == true)

    // Where only the file matches, it is the one meant.
    let only = try CLI.run(["quote", "b/app.log#L2", "--workspace", ws], cwd: tmp.url)
    #expect(only.code == 0 && only.stdout.contains("bravo two") && only.stderr.isEmpty, "\(only.stderr)")
  }
}
