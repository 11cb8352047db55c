import Crypto
import Foundation
import Testing
import _LongctxTestSupport

/// `longctx produce` through the real CLI on the sample PDFs and mail, with the
/// DAT read back by an independent parser (Python's csv module).
@Suite struct ProduceCLITests {
  /// The sample corpus and job, laid out as in `Samples/`.
  func fixture(_ tmp: TemporaryDirectory) throws {
    let fm = FileManager.default
    for dir in ["pdfs", "mail"] {
      try fm.copyItem(
        at: RepositoryPaths.samples.appendingPathComponent(dir), to: tmp.url.appendingPathComponent(dir))
    }
    try fm.createDirectory(at: tmp.url.appendingPathComponent("jobs"), withIntermediateDirectories: true)
    try fm.copyItem(
      at: RepositoryPaths.samples.appendingPathComponent("jobs/production.yaml"),
      to: tmp.url.appendingPathComponent("jobs/production.yaml"))
  }

  /// The DAT's rows as Python's csv module reads them (delimiter ASCII 20, quote þ, BOM).
  func readDAT(_ path: URL) throws -> [[String: String]] {
    let script = """
      import csv, json, sys
      with open(sys.argv[1], encoding="utf-8-sig", newline="") as f:
          rows = list(csv.DictReader(f, delimiter="\\x14", quotechar="\\u00fe"))
      print(json.dumps(rows))
      """
    let (data, status) = try Python.run(script, [path.path])
    #expect(status == 0)
    return try JSONDecoder().decode([[String: String]].self, from: data)
  }

  func number(_ bates: String) -> Int { Int(bates.drop { !$0.isNumber }) ?? -1 }

  @Test func aProductionIsNumberedStableAndChecked() throws {
    let tmp = try TemporaryDirectory()
    defer { tmp.remove() }
    try fixture(tmp)
    let ws = tmp.url.appendingPathComponent("ws").path
    let r = try CLI.run(["produce", "jobs/production.yaml", "-o", "out", "--workspace", ws, "--json"], cwd: tmp.url)
    #expect(r.code == 0, "\(r.stderr)")
    struct Summary: Decodable {
      var documents: Int
      var pages: Int
      var firstBates: String
      var lastBates: String
    }
    let summary = try JSONDecoder().decode(Summary.self, from: Data(r.stdout.utf8))
    let rows = try readDAT(tmp.url.appendingPathComponent("out/DATA/production.dat"))
    #expect(rows.count == summary.documents && rows.count >= 4, "\(rows.map { $0["FILEPATH"] ?? "" })")
    #expect(summary.firstBates == "LCX-000001")
    // Every page numbered once, in order, no gaps.
    var next = 1
    for row in rows {
      #expect(number(row["BEGBATES"]!) == next, "\(row)")
      next = number(row["ENDBATES"]!) + 1
      #expect(number(row["ENDBATES"]!) - number(row["BEGBATES"]!) + 1 == Int(row["PAGECOUNT"]!))
      #expect(FileManager.default.fileExists(atPath: tmp.url.appendingPathComponent("out/\(row["TEXTPATH"]!)").path))
    }
    #expect(next - 1 == summary.pages && summary.lastBates == String(format: "LCX-%06d", summary.pages))
    // Custodians from the job's inputs, ordered by custodian ("Doe, Jane" before "Smith, John").
    let pdf = try #require(rows.first { $0["FILEPATH"]!.hasSuffix("contract.pdf") })
    #expect(pdf["CUSTODIAN"] == "Smith, John" && pdf["FILEEXT"] == "pdf")
    #expect(Int(pdf["PAGECOUNT"]!)! > 1)
    #expect(pdf["MD5HASH"]?.count == 32 && pdf["SHA1HASH"]?.count == 40)
    let eml = try #require(rows.first { $0["FILEPATH"]!.hasSuffix("quarterly-review.eml") })
    #expect(eml["CUSTODIAN"] == "Doe, Jane")
    #expect(!(eml["FROM"] ?? "").isEmpty && !(eml["SUBJECT"] ?? "").isEmpty, "\(eml)")
    #expect(rows.firstIndex { $0["CUSTODIAN"] == "Doe, Jane" }! < rows.firstIndex { $0["CUSTODIAN"] == "Smith, John" }!)
    // The native is the file itself.
    let native = try Data(contentsOf: tmp.url.appendingPathComponent("out/\(pdf["NATIVEPATH"]!)"))
    #expect(native == (try Data(contentsOf: tmp.url.appendingPathComponent("pdfs/contract.pdf"))))
    // Families: attachments follow their parent, inside its BEGATTACH–ENDATTACH.
    for row in rows where !(row["PARENTBATES"] ?? "").isEmpty {
      #expect(number(row["BEGBATES"]!) >= number(row["BEGATTACH"]!))
      #expect(number(row["ENDBATES"]!) <= number(row["ENDATTACH"]!))
    }

    let check = try CLI.run(["produce", "--check", "out"], cwd: tmp.url)
    #expect(check.code == 0 && check.stdout.contains("sound"), "\(check.stdout)\(check.stderr)")

    // Producing again gives the same numbers; a document added later is numbered after the last.
    try FileManager.default.copyItem(
      at: tmp.url.appendingPathComponent("pdfs/memo.pdf"), to: tmp.url.appendingPathComponent("pdfs/a-late-memo.pdf"))
    try Data("%% a later copy\n".utf8).append(to: tmp.url.appendingPathComponent("pdfs/a-late-memo.pdf"))
    let again = try CLI.run(
      ["produce", "jobs/production.yaml", "-o", "out", "--workspace", ws, "--json"], cwd: tmp.url)
    #expect(again.code == 0, "\(again.stderr)")
    let rows2 = try readDAT(tmp.url.appendingPathComponent("out/DATA/production.dat"))
    for row in rows {
      #expect(rows2.first { $0["FILEPATH"] == row["FILEPATH"] }?["BEGBATES"] == row["BEGBATES"], "\(row["FILEPATH"]!)")
    }
    let late = try #require(rows2.first { $0["FILEPATH"]!.hasSuffix("a-late-memo.pdf") })
    #expect(number(late["BEGBATES"]!) == summary.pages + 1)

    // A damaged production is found out.
    try FileManager.default.removeItem(at: tmp.url.appendingPathComponent("out/\(pdf["TEXTPATH"]!)"))
    let damaged = try CLI.run(["produce", "--check", "out"], cwd: tmp.url)
    #expect(
      damaged.code == 1 && damaged.stdout.contains("TEXTPATH \(pdf["TEXTPATH"]!) is missing"), "\(damaged.stdout)")
  }

  /// A file given by two custodians is produced once, with both in ALLCUSTODIANS; a file on the
  /// known-file list (NSRL RDS form) is left out and counted.
  @Test func duplicatesAndKnownFilesAreLeftOut() throws {
    let tmp = try TemporaryDirectory()
    defer { tmp.remove() }
    try fixture(tmp)
    try FileManager.default.copyItem(
      at: tmp.url.appendingPathComponent("pdfs/contract.pdf"), to: tmp.url.appendingPathComponent("mail/contract.pdf"))
    let memo = try Data(contentsOf: tmp.url.appendingPathComponent("pdfs/memo.pdf"))
    let sha1 = Insecure.SHA1.hash(data: memo).map { String(format: "%02X", $0) }.joined()
    try tmp.write(
      "nsrl.txt",
      "\"SHA-1\",\"MD5\",\"CRC32\",\"FileName\",\"FileSize\",\"ProductCode\",\"OpSystemCode\",\"SpecialCode\"\n"
        + "\"\(sha1)\",\"00000000000000000000000000000000\",\"00000000\",\"memo.pdf\",\(memo.count),1,\"WIN\",\"\"\n")
    let ws = tmp.url.appendingPathComponent("ws").path
    let r = try CLI.run(
      ["produce", "jobs/production.yaml", "-o", "out", "--workspace", ws, "--json", "--denist", "nsrl.txt"],
      cwd: tmp.url)
    #expect(r.code == 0, "\(r.stderr)")
    struct Summary: Decodable {
      var duplicatesRemoved: Int
      var knownFilesRemoved: Int
    }
    let summary = try JSONDecoder().decode(Summary.self, from: Data(r.stdout.utf8))
    #expect(summary.duplicatesRemoved == 1 && summary.knownFilesRemoved == 1)
    let rows = try readDAT(tmp.url.appendingPathComponent("out/DATA/production.dat"))
    let contracts = rows.filter { $0["FILENAME"] == "contract.pdf" }
    #expect(contracts.count == 1)
    // "Doe, Jane" comes first in production order, so her copy is the one kept.
    #expect(contracts.first?["CUSTODIAN"] == "Doe, Jane")
    #expect(contracts.first?["ALLCUSTODIANS"] == "Doe, Jane; Smith, John")
    #expect(!rows.contains { $0["FILENAME"] == "memo.pdf" })
    let check = try CLI.run(["produce", "--check", "out"], cwd: tmp.url)
    #expect(check.code == 0, "\(check.stdout)")
  }

  @Test func badSettingsAndATakenDirectoryAreClearErrors() throws {
    let tmp = try TemporaryDirectory()
    defer { tmp.remove() }
    try fixture(tmp)
    let ws = tmp.url.appendingPathComponent("ws").path
    try tmp.write("taken/notes.txt", "someone else's files\n")
    let taken = try CLI.run(["produce", "jobs/production.yaml", "-o", "taken", "--workspace", ws], cwd: tmp.url)
    #expect(taken.code != 0 && taken.stderr.contains("nothing was written"), "\(taken.stderr)")
    #expect(
      try FileManager.default.contentsOfDirectory(atPath: tmp.url.appendingPathComponent("taken").path) == ["notes.txt"]
    )
    let job = try String(contentsOf: tmp.url.appendingPathComponent("jobs/production.yaml"), encoding: .utf8)
    try job.replacingOccurrences(of: "prefix: LCX-", with: "prefix: LCX2").write(
      to: tmp.url.appendingPathComponent("jobs/digit.yaml"), atomically: true, encoding: .utf8)
    let digit = try CLI.run(["produce", "jobs/digit.yaml", "-o", "out", "--workspace", ws], cwd: tmp.url)
    #expect(digit.code == 2 && digit.stderr.contains("must not end in a digit"), "\(digit.stderr)")
  }
}

extension Data {
  fileprivate func append(to url: URL) throws {
    let h = try FileHandle(forWritingTo: url)
    try h.seekToEnd()
    try h.write(contentsOf: self)
    try h.close()
  }
}
