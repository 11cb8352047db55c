import Foundation
import Testing
import _LongctxTestSupport

/// Coding bound to documents through the real CLI: per-task locator enums in what servers
/// get, coding folded by longctx into `<job>-coding.csv`, and a production that selects
/// by it and withholds privileged documents into `PRIVLOG.csv`, each read back with
/// Python's csv module.
@Suite(.serialized) struct CodingCLITests {
  static let schema = """
      json_schema:
        type: object
        additionalProperties: false
        required: [pages]
        properties:
          pages:
            type: array
            minItems: 1
            maxItems: 3
            items:
              type: object
              additionalProperties: false
              required: [source, responsive, privileged, reason]
              properties:
                source: {type: string, x-longctx: locator}
                responsive: {type: boolean}
                privileged: {type: boolean}
                reason: {type: string, maxLength: 40}
    """

  /// The sample PDFs and mail under `tmp`, and a review job in `jobs/`.
  func fixture(_ tmp: TemporaryDirectory, model: String, inputs: String, production: String = "") throws {
    let fm = FileManager.default
    for dir in ["pdfs", "mail"] {
      try fm.copyItem(at: RepositoryPaths.samples.appendingPathComponent(dir), to: tmp.url.appendingPathComponent(dir))
    }
    try tmp.write(
      "jobs/review.yaml",
      """
      name: review
      inputs:
      \(inputs)
      model: \(model)
      generation: {max_tokens: 160, temperature: 0}
      question: Documents about service availability, outages or service credits.
      ingest: {redact: false}
      map:
        per: document
        prompt: |
          Request: {{question}}
          Pages (each starts with its source in brackets):
          {{window}}
          For each page: its source, whether it is responsive, whether it is privileged, and why. JSON:
      \(Self.schema)
      reduce: {prompt: "{{outputs}}\\nCombined:"}
      coding: {document_field: source, fields: {responsive: any, privileged: any}, reason: reason}
      \(production)
      """)
  }

  /// A CSV file's rows as Python's csv module reads them.
  func readCSV(_ path: URL, delimiter: String = ",", quote: String = "\"", encoding: String = "utf-8")
    throws -> [[String: String]]
  {
    let script = """
      import csv, json, sys
      with open(sys.argv[1], encoding=sys.argv[4], newline="") as f:
          rows = list(csv.DictReader(f, delimiter=sys.argv[2], quotechar=sys.argv[3]))
      print(json.dumps(rows))
      """
    let (data, status) = try Python.run(script, [path.path, delimiter, quote, encoding])
    #expect(status == 0, "python could not read \(path.path)")
    return try JSONDecoder().decode([[String: String]].self, from: data)
  }

  func readDAT(_ path: URL) throws -> [[String: String]] {
    try readCSV(path, delimiter: "\u{14}", quote: "þ", encoding: "utf-8-sig")
  }

  struct ReportJSON: Decodable {
    struct Task: Decodable {
      var kind: String
      var state: String
      var sources: [String]
      var output: String?
    }
    var tasks: [Task]
  }

  /// The batch path (no model): the exported requests carry each task's own locators as an
  /// enum in `response_format`; answers written by hand are folded into coding; the
  /// production selects responsive documents, withholds the privileged one and logs it.
  @Test func batchAnswersGiveCodingAndAProductionWithAPrivilegeLog() throws {
    let tmp = try TemporaryDirectory()
    defer { tmp.remove() }
    try fixture(
      tmp, model: #"{engine: openai, base_url: "http://127.0.0.1:9/v1", name: fake, context: 4096}"#,
      inputs: """
          - {path: ../pdfs, custodian: "Smith, John"}
          - {path: ../mail, custodian: "Doe, Jane"}
        """,
      production: "production: {prefix: REV-, digits: 6, select: responsive, withhold: privileged}")
    let jobs = tmp.url.appendingPathComponent("jobs")
    let ws = tmp.url.appendingPathComponent("ws").path
    let export = try CLI.run(["export-batch", "review.yaml", "-o", "tasks.jsonl", "--workspace", ws], cwd: jobs)
    #expect(export.code == 0, "\(export.stderr)")

    // Hand-made answers: contract.pdf responsive on page 1, privileged on page 2; memo.pdf
    // responsive; the .eml not; the mailbox's task gets an answer citing a page it did not read.
    var results: [String] = []
    var enums: [[String]] = []
    for line in try String(contentsOf: jobs.appendingPathComponent("tasks.jsonl"), encoding: .utf8)
      .split(separator: "\n")
    {
      let request = try #require(JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
      let body = try #require(request["body"] as? [String: Any])
      let format = try #require(body["response_format"] as? [String: Any], "servers get the schema")
      let schema = try #require((format["json_schema"] as? [String: Any])?["schema"] as? [String: Any])
      let items = try #require(
        ((schema["properties"] as? [String: Any])?["pages"] as? [String: Any])?["items"] as? [String: Any])
      let source = try #require((items["properties"] as? [String: Any])?["source"] as? [String: Any])
      let allowed = try #require(source["enum"] as? [String], "the locator field is an enum: \(source)")
      #expect(source["x-longctx"] == nil)
      enums.append(allowed)
      func page(_ src: String, _ r: Bool, _ p: Bool, _ why: String) -> [String: Any] {
        ["source": src, "responsive": r, "privileged": p, "reason": why]
      }
      var pages: [[String: Any]]
      if allowed[0].contains("contract.pdf") {
        pages = [
          page(allowed[0], true, false, "service credits"),
          page(try #require(allowed.first { $0.hasSuffix("#page=2") }), false, true, "advice of counsel"),
        ]
      } else if allowed[0].contains("memo.pdf") {
        pages = [page(allowed[0], true, false, "outage timeline")]
      } else if allowed[0].contains("quarterly-review.eml") {
        pages = [page(allowed[0], false, false, "quarterly numbers")]
      } else if allowed[0].contains("ops-team.mbox#msg="), !allowed[0].contains("attachment=") {
        pages = [page("../pdfs/memo.pdf#page=2", true, true, "not this task's page")]
      } else {
        continue  // the attachment: no answer names it
      }
      let output = String(decoding: try JSONSerialization.data(withJSONObject: ["pages": pages]), as: UTF8.self)
      let result: [String: Any] = [
        "custom_id": request["custom_id"] as? String ?? "",
        "response": [
          "status_code": 200,
          "body": [
            "choices": [["text": output, "finish_reason": "stop"]],
            "usage": ["prompt_tokens": 9, "completion_tokens": 9],
          ],
        ],
      ]
      results.append(String(decoding: try JSONSerialization.data(withJSONObject: result), as: UTF8.self))
    }
    #expect(enums.count >= 4)
    #expect(
      Set(enums.map { Set($0.map { $0.prefix { $0 != "#" } }) }).allSatisfy { $0.count == 1 }, "one document each")
    try (results.joined(separator: "\n") + "\n").write(
      to: jobs.appendingPathComponent("results.jsonl"), atomically: true, encoding: .utf8)
    let imported = try CLI.run(["import-batch", "review.yaml", "results.jsonl", "--workspace", ws], cwd: jobs)
    #expect(imported.code == 0, "\(imported.stderr)")
    #expect(imported.stdout.contains("1 unusable"), "the foreign page is rejected: \(imported.stdout)")

    // The coding, computed by longctx.
    let coding = try CLI.run(["report", "review.yaml", "--coding", "--workspace", ws], cwd: jobs)
    #expect(coding.code == 0, "\(coding.stderr)")
    try tmp.write("coding.csv", coding.stdout)
    let rows = try readCSV(tmp.url.appendingPathComponent("coding.csv"))
    func row(_ suffix: String) -> [String: String]? { rows.first { $0["document"]?.hasSuffix(suffix) == true } }
    #expect(row("contract.pdf")?["responsive"] == "true" && row("contract.pdf")?["privileged"] == "true")
    #expect(row("contract.pdf")?["reason"]?.contains("advice of counsel [../pdfs/contract.pdf#page=2]") == true)
    #expect(row("memo.pdf")?["responsive"] == "true" && row("memo.pdf")?["privileged"] == "false")
    #expect(row("quarterly-review.eml")?["status"] == "coded" && row("quarterly-review.eml")?["responsive"] == "false")
    #expect(row("ops-team.mbox")?["status"] == "uncoded", "its only answer cited another task's page: \(rows)")
    #expect(row("ops-team.mbox")?["responsive"] == "")

    // The same table in the HTML and JSON reports.
    let html = try CLI.run(["report", "review.yaml", "--format", "html", "--workspace", ws], cwd: jobs)
    #expect(html.stdout.contains("<section id=\"coding\">") && html.stdout.contains("advice of counsel"))
    let json = try CLI.run(["report", "review.yaml", "--json", "--workspace", ws], cwd: jobs)
    struct CodingJSON: Decodable {
      struct Table: Decodable {
        struct Row: Decodable {
          var document: String
          var coded: Bool
        }
        var documents: [Row]
        var unbound: Int
        var unfinishedTasks: Int
      }
      var coding: Table
    }
    let table = try JSONDecoder().decode(CodingJSON.self, from: Data(json.stdout.utf8)).coding
    // The foreign answer never got in (import-batch rejected it): its task is unfinished,
    // as is the attachment's, which got no result.
    #expect(table.documents.count == rows.count && table.unbound == 0 && table.unfinishedTasks == 2)

    // The production: responsive documents only; contract.pdf withheld with a slip sheet.
    let produce = try CLI.run(["produce", "review.yaml", "-o", "../out", "--workspace", ws, "--json"], cwd: jobs)
    #expect(produce.code == 0, "\(produce.stderr)")
    let out = tmp.url.appendingPathComponent("out")
    let dat = try readDAT(out.appendingPathComponent("DATA/review.dat"))
    #expect(dat.map { ($0["FILEPATH"] ?? "").split(separator: "/").last ?? "" } == ["contract.pdf", "memo.pdf"])
    let withheld = try #require(dat.first { $0["WITHHELD"] == "Y" })
    #expect(withheld["FILEPATH"]?.hasSuffix("contract.pdf") == true)
    #expect(withheld["NATIVEPATH"] == "" && withheld["RESPONSIVE"] == "Y" && withheld["PRIVILEGED"] == "Y")
    let slip = try String(contentsOf: out.appendingPathComponent(withheld["TEXTPATH"] ?? ""), encoding: .utf8)
    #expect(slip == "Document withheld: privileged\n")
    let log = try readCSV(out.appendingPathComponent("PRIVLOG.csv"))
    #expect(log.count == 1)
    #expect(log.first?["BEGBATES"] == withheld["BEGBATES"] && log.first?["ENDBATES"] == withheld["ENDBATES"])
    #expect(log.first?["PRIVILEGE"] == "Privileged" && log.first?["DOCTYPE"] == "PDF")
    #expect(log.first?["DESCRIPTION"] == "advice of counsel [../pdfs/contract.pdf#page=2]")
    let columns = Set(log.first.map { Array($0.keys) } ?? [])
    #expect(columns.isSuperset(of: ["DATE", "AUTHOR", "TO", "CC", "BCC", "SUBJECT"]))
    let check = try CLI.run(["produce", "--check", "out"], cwd: tmp.url)
    #expect(check.code == 0, "\(check.stdout)")

    // A privilege log that lost its row is found by --check.
    let header = try String(contentsOf: out.appendingPathComponent("PRIVLOG.csv"), encoding: .utf8)
      .components(separatedBy: "\r\n")[0]
    try (header + "\r\n").write(to: out.appendingPathComponent("PRIVLOG.csv"), atomically: true, encoding: .utf8)
    let broken = try CLI.run(["produce", "--check", "out"], cwd: tmp.url)
    #expect(broken.code == 1)
    #expect(broken.stdout.contains("has no row in PRIVLOG.csv"), "\(broken.stdout)")
  }

  @Test func selectingBeforeTheJobRanIsAClearError() throws {
    let tmp = try TemporaryDirectory()
    defer { tmp.remove() }
    try fixture(
      tmp, model: #"{engine: openai, base_url: "http://127.0.0.1:9/v1", name: fake, context: 4096}"#,
      inputs: "  - ../pdfs", production: "production: {prefix: REV-, select: responsive}")
    let r = try CLI.run(
      ["produce", "review.yaml", "-o", "../out", "--workspace", tmp.url.appendingPathComponent("ws").path],
      cwd: tmp.url.appendingPathComponent("jobs"))
    #expect(r.code == 2)
    #expect(r.stderr.contains("no coded document yet; run it first"), "\(r.stderr)")
    #expect(!FileManager.default.fileExists(atPath: tmp.url.appendingPathComponent("out").path))
  }

  /// Gemma 3 270M in process on the sample PDFs, one task per document: the coding CSV
  /// lists the plan's documents, and every page it cites is a page its document's task read.
  @Test func theRealModelsCodingCitesOnlyRealPagesOfThePlan() throws {
    let model = try SetupPaths.model()
    let tmp = try TemporaryDirectory()
    defer { tmp.remove() }
    try fixture(tmp, model: "{engine: llama, path: \"\(model)\", context: 2048}", inputs: "  - ../pdfs")
    let jobs = tmp.url.appendingPathComponent("jobs")
    let ws = tmp.url.appendingPathComponent("ws").path
    let run = try CLI.run(["run", "review.yaml", "--workspace", ws, "--json"], cwd: jobs)
    #expect(run.code == 0, "\(run.stderr)")
    let rows = try readCSV(jobs.appendingPathComponent("reports/review-coding.csv"))
    let report = try CLI.run(["report", "review", "--workspace", ws, "--json"], cwd: jobs)
    let tasks = try JSONDecoder().decode(ReportJSON.self, from: Data(report.stdout.utf8)).tasks.filter {
      $0.kind == "map"
    }
    #expect(!tasks.isEmpty && tasks.allSatisfy { $0.state == "done" })
    let planDocuments = Set(tasks.flatMap { $0.sources.map { String($0.prefix { $0 != "#" }) } })
    #expect(Set(rows.compactMap { $0["document"] }) == planDocuments, "one row per document of the plan")
    for row in rows {
      let document = row["document"] ?? ""
      #expect(FileManager.default.fileExists(atPath: jobs.appendingPathComponent(document).path), "\(document)")
      let read = Set(tasks.filter { $0.sources.first?.hasPrefix(document + "#") == true }.flatMap(\.sources))
      for page in (row["pages"] ?? "").split(separator: " ") {
        #expect(read.contains(String(page)), "\(page) is not a page \(document)'s task read")
      }
      #expect(["coded", "uncoded"].contains(row["status"] ?? ""))
      if row["status"] == "coded" { #expect(["true", "false"].contains(row["responsive"] ?? "")) }
    }
    #expect(rows.contains { $0["status"] == "coded" }, "the grammar makes every answer name one of its pages")
    let markdown = try String(contentsOf: jobs.appendingPathComponent("reports/review.md"), encoding: .utf8)
    #expect(markdown.contains("## Coding") && markdown.contains("Computed by longctx"))
  }
}
