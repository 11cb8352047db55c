import Foundation
import Testing
import _LongctxTestSupport

/// Mail in a production through the real CLI, on real messages from the shared corpus:
/// a mailbox is one document per message (each its own Bates range, its attachments its
/// family), and the same message in two custodians' mailboxes is produced once (email hash).
/// Mailboxes are written and read back by Python's `mailbox` and `email` modules.
@Suite struct ProduceMailCLITests {
  let base = ProduceCLITests()

  func python(_ script: String, _ args: [String], cwd: URL) throws -> String {
    let (data, status) = try Python.run(script, args, cwd: cwd)
    #expect(status == 0)
    return String(decoding: data, as: UTF8.self)
  }

  @Test func aMailboxIsOneDocumentPerMessageAndDuplicatesAcrossMailboxesGoOnce() throws {
    guard let corpus = RepositoryPaths.sharedCorpus else {
      print("the shared corpus is absent: skipped")
      return
    }
    let tmp = try TemporaryDirectory()
    defer { tmp.remove() }
    let mail = corpus.appendingPathComponent("email/mail")
    let picks = [
      "plain_emails/raw_email_bad_time.eml", "attachment_emails/attachment_nonascii_filename.eml",
      "mime_emails/email_with_similar_boundaries.eml",
    ].map { mail.appendingPathComponent($0).path }
    let simple = corpus.appendingPathComponent("email/mimekit/mbox/simple.mbox.txt")
    guard picks.allSatisfy({ FileManager.default.fileExists(atPath: $0) }),
      FileManager.default.fileExists(atPath: simple.path)
    else {
      print("the corpus mail files are absent: skipped")
      return
    }
    try FileManager.default.createDirectory(
      at: tmp.url.appendingPathComponent("able"), withIntermediateDirectories: true)
    try FileManager.default.copyItem(at: simple, to: tmp.url.appendingPathComponent("able/simple.mbox"))
    // Able's mailbox holds messages 1 and 2; Baker's holds 2 (as another server delivered it:
    // an extra Received header, another From line) and 3.
    _ = try python(
      """
      import mailbox, email, sys, os
      os.makedirs("baker", exist_ok=True)
      msgs = [email.message_from_bytes(open(p, "rb").read()) for p in sys.argv[1:4]]
      a = mailbox.mbox("able/inbox.mbox"); a.add(msgs[0]); a.add(msgs[1]); a.flush()
      again = email.message_from_bytes(open(sys.argv[2], "rb").read())
      again["Received"] = "from mx2.example.org by mail.example.org; Mon, 1 Jan 2024 00:00:00 +0000"
      b = mailbox.mbox("baker/inbox.mbox"); m = mailbox.mboxMessage(again); m.set_from("MAILER-DAEMON")
      b.add(m); b.add(msgs[2]); b.flush()
      """, picks, cwd: tmp.url)
    try tmp.write(
      "job.yaml",
      """
      name: mail
      inputs:
        - {path: able, custodian: "Able, Ann"}
        - {path: baker, custodian: "Baker, Bob"}
      model: {engine: llama, context: 4096}
      map: {prompt: "{{window}}"}
      reduce: {prompt: "{{outputs}}"}
      ingest: {redact: false}
      production: {prefix: MB-, digits: 5, images: true}
      """)
    let ws = tmp.url.appendingPathComponent("ws").path
    let r = try CLI.run(["produce", "job.yaml", "-o", "out", "--workspace", ws, "--json"], cwd: tmp.url)
    #expect(r.code == 0, "\(r.stderr)")
    struct Summary: Decodable {
      var documents: Int
      var duplicatesRemoved: Int
    }
    let summary = try JSONDecoder().decode(Summary.self, from: Data(r.stdout.utf8))
    let rows = try base.readDAT(tmp.url.appendingPathComponent("out/DATA/mail.dat"))
    let top = rows.filter { ($0["PARENTBATES"] ?? "").isEmpty }
    // Python counts the messages of each mailbox; each is one top-level document of one page,
    // with Baker's copy of message 2 removed as a duplicate.
    let counts = try python(
      """
      import mailbox
      print(len(mailbox.mbox("able/simple.mbox")), len(mailbox.mbox("able/inbox.mbox")), len(mailbox.mbox("baker/inbox.mbox")))
      """, [], cwd: tmp.url
    ).split(separator: " ").compactMap { Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
    #expect(counts == [3, 2, 2])
    #expect(summary.duplicatesRemoved == 1, "\(r.stdout)")
    #expect(top.count == counts.reduce(0, +) - 1, "\(top.map { $0["FILEPATH"] ?? "" })")
    #expect(top.filter { $0["FILEPATH"]!.hasPrefix("able/simple.mbox#msg=") }.count == 3)
    for row in top {
      #expect(row["BEGBATES"] == row["ENDBATES"] && row["PAGECOUNT"] == "1" && row["FILEEXT"] == "eml", "\(row)")
      #expect(row["FILEPATH"]!.contains("#msg="), "\(row)")
    }
    // Each message's native is that message: Python's email parser finds its subject.
    let subjects = try python(
      """
      import email, json, sys
      print(json.dumps([str(email.message_from_bytes(open(p, "rb").read()).get("Subject", "")) for p in sys.argv[1:]]))
      """, top.map { "out/" + $0["NATIVEPATH"]! }, cwd: tmp.url)
    let parsed = try JSONDecoder().decode([String].self, from: Data(subjects.utf8))
    for (row, subject) in zip(top, parsed) {
      #expect(
        row["SUBJECT"]!.split(whereSeparator: \.isWhitespace) == subject.split(whereSeparator: \.isWhitespace),
        "\(row["FILEPATH"]!)")
    }
    // Message 2 once, with both custodians.
    let second = try python(
      "import email, sys; print(email.message_from_bytes(open(sys.argv[1], 'rb').read())['Message-ID'].strip('<> '))",
      [picks[1]], cwd: tmp.url
    ).trimmingCharacters(in: .whitespacesAndNewlines)
    let copies = top.filter { $0["FILEPATH"]!.hasSuffix("#msg=\(second)") }
    #expect(copies.count == 1, "\(top.map { $0["FILEPATH"]! })")
    #expect(copies.first?["ALLCUSTODIANS"] == "Able, Ann; Baker, Bob" && copies.first?["CUSTODIAN"] == "Able, Ann")
    // Its attachment is its family, after it.
    let children = rows.filter { $0["PARENTBATES"] == copies.first?["BEGBATES"] }
    #expect(!children.isEmpty, "\(rows.map { $0["FILEPATH"]! })")
    for child in children { #expect(child["BEGATTACH"] == copies.first?["BEGBATES"]) }
    let check = try CLI.run(["produce", "--check", "out"], cwd: tmp.url)
    #expect(check.code == 0 && check.stdout.contains("sound"), "\(check.stdout)")
  }

  /// A file that fails to extract (a PDF encrypted by qpdf, no password given) is produced as
  /// a placeholder row: Bates numbered, its text stating the failure, its native kept.
  @Test func aFileThatFailedToExtractIsAPlaceholderRow() throws {
    guard let corpus = RepositoryPaths.sharedCorpus else {
      print("the shared corpus is absent: skipped")
      return
    }
    guard FileManager.default.isExecutableFile(atPath: "/usr/bin/qpdf") else {
      print("qpdf absent: skipped")
      return
    }
    let tmp = try TemporaryDirectory()
    defer { tmp.remove() }
    let source = corpus.appendingPathComponent("pdf/pypdf/multilang.pdf")
    guard FileManager.default.fileExists(atPath: source.path) else { return }
    try FileManager.default.createDirectory(at: tmp.url.appendingPathComponent("in"), withIntermediateDirectories: true)
    try FileManager.default.copyItem(at: source, to: tmp.url.appendingPathComponent("in/open.pdf"))
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/qpdf")
    p.arguments = [
      "--encrypt", "secret", "owner", "256", "--", source.path, tmp.url.appendingPathComponent("in/locked.pdf").path,
    ]
    try p.run()
    p.waitUntilExit()
    #expect(p.terminationStatus == 0)
    try tmp.write(
      "job.yaml",
      """
      name: failed
      inputs: [{path: in, custodian: "Cole, Cat"}]
      model: {engine: llama, context: 4096}
      map: {prompt: "{{window}}"}
      reduce: {prompt: "{{outputs}}"}
      production: {prefix: FX-, digits: 4, images: true}
      """)
    let ws = tmp.url.appendingPathComponent("ws").path
    let r = try CLI.run(["produce", "job.yaml", "-o", "out", "--workspace", ws], cwd: tmp.url)
    #expect(r.code == 0, "\(r.stderr)")
    #expect(r.stderr.contains("in/locked.pdf: failed to extract"), "\(r.stderr)")
    let rows = try base.readDAT(tmp.url.appendingPathComponent("out/DATA/failed.dat"))
    #expect(rows.count == 2)
    let locked = try #require(rows.first { $0["FILEPATH"] == "in/locked.pdf" })
    #expect(
      locked["PAGECOUNT"] == "1" && locked["BEGBATES"] == locked["ENDBATES"] && locked["CUSTODIAN"] == "Cole, Cat")
    let text = try String(contentsOf: tmp.url.appendingPathComponent("out/" + locked["TEXTPATH"]!), encoding: .utf8)
    #expect(text.hasPrefix("Document could not be processed:") && text.contains("encrypted"), "\(text)")
    let native = try Data(contentsOf: tmp.url.appendingPathComponent("out/" + locked["NATIVEPATH"]!))
    #expect(native == (try Data(contentsOf: tmp.url.appendingPathComponent("in/locked.pdf"))))
    let check = try CLI.run(["produce", "--check", "out"], cwd: tmp.url)
    #expect(check.code == 0 && check.stdout.contains("sound"), "\(check.stdout)")
  }
}
