import Foundation
import Inference
import Ingest
import Logging
import Pipeline
import Storage
import Testing
import _LongctxTestSupport

/// The HTML, CSV and JSON forms of a report, `report.formats`, escaping, and scale.
@Suite struct ReportFormatTests {
  static let injected = #"<script>alert("pwned")</script> & <img src=x onerror=alert(1)>"#

  /// A job over the sample logs plus a log line and a PDF page carrying HTML.
  static func hostileJob(_ tmp: TemporaryDirectory, formats: String = "[md]") throws -> JobSpec {
    try FileManager.default.copyItem(
      at: RepositoryPaths.samples.appendingPathComponent("logs"), to: tmp.url.appendingPathComponent("docs"))
    try tmp.write(
      "docs/web.log",
      "2026-03-10T05:00:00Z INFO request served\n2026-03-10T05:00:01Z ERROR \(injected) in the query string\n")
    try tmp.write("src/inject.ms", ".LP\nThe page says <script>alert('pdf')</script> and </textarea> too.\n")
    let groff = Process()
    groff.executableURL = URL(fileURLWithPath: "/bin/sh")
    groff.arguments = ["-c", "groff -ms -Tpdf src/inject.ms > docs/inject.pdf"]
    groff.currentDirectoryURL = tmp.url
    try groff.run()
    groff.waitUntilExit()
    #expect(groff.terminationStatus == 0, "groff makes the test PDF")
    return try JobFile.parse(
      """
      name: formats
      inputs: [docs]
      model: {engine: llama, context: 500}
      generation: {max_tokens: 16}
      plan: {collapse_repeats: false}
      map: {prompt: "{{window}}\\nSummary:"}
      reduce: {prompt: "{{outputs}}\\nCombined:"}
      report: {path: out/formats.md, formats: \(formats)}
      """, path: "formats.yaml", baseDirectory: tmp.url.path)
  }

  static func run(_ ws: Workspace, _ spec: JobSpec) async throws -> RunSummary {
    let engine = FakeEngine()
    return try await JobRunner(
      workspace: ws, spec: spec, counter: EstimatedTokenCounter(), modelKey: "fake", logger: Logger(label: "test"),
      engineFactory: { engine }
    ).run()
  }

  @Test func htmlIsSelfContainedAndEscapesWhatDocumentsAndModelsWrite() async throws {
    let tmp = try TemporaryDirectory()
    defer { tmp.remove() }
    let spec = try Self.hostileJob(tmp)
    let ws = try Workspace(root: tmp.url.appendingPathComponent("ws"))
    _ = try await Self.run(ws, spec)
    let tasks = try TaskStore(workspace: ws).currentTasks(job: "formats")
    let maps = tasks.filter { $0.kind == .map }
    let web = try #require(maps.first { $0.locatorList.contains { $0.hasPrefix("docs/web.log") } })
    let pdf = try #require(maps.flatMap(\.locatorList).first { $0.hasPrefix("docs/inject.pdf#page=") })
    let webLocator = try #require(web.locatorList.first { $0.hasPrefix("docs/web.log") })
    try TaskStore(workspace: ws).complete(
      web.id, output: "The model echoes \(Self.injected) from the log [\(webLocator)] and the page [\(pdf)].",
      promptTokens: 1, outputTokens: 1, engine: "test", model: "<b>model</b>", durationMs: 1)

    let html = try ReportWriter(workspace: ws).render(job: "formats", format: .html, spec: spec)
    // Exactly our two script elements: the embedded sources (JSON) and the small viewer.
    #expect(html.components(separatedBy: "<script").count - 1 == 2)
    #expect(!html.contains("<script>alert"))
    #expect(!html.contains("<img"))
    #expect(!html.contains("</textarea>"))
    #expect(html.contains("&lt;script&gt;alert(&quot;pwned&quot;)&lt;/script&gt;"))
    #expect(!html.contains("<b>model</b>"))
    // No external assets: no src or href to anywhere, no stylesheet links.
    #expect(!html.contains(" src=\""))
    #expect(!html.contains("<link"))
    #expect(html.components(separatedBy: "href=\"").dropFirst().allSatisfy { $0.hasPrefix("#") })
    // Citations are links whose source text is embedded (escaped for a script element).
    #expect(html.contains("class=\"cite verified\""))
    #expect(html.contains("page says \\u003cscript\\u003ealert("), "the PDF's text is embedded for the citation")
    #expect(html.contains("id=\"chart-hours\"") && html.contains("id=\"chart-fill\""))
    #expect(html.contains("<table class=\"sortable\">"))
  }

  @Test func csvHasARowPerTaskAndJobFormatsWriteEachFile() async throws {
    let tmp = try TemporaryDirectory()
    defer { tmp.remove() }
    let spec = try Self.hostileJob(tmp, formats: "[md, html, csv, json]")
    #expect(spec.reportFormats == [.md, .html, .csv, .json])
    let ws = try Workspace(root: tmp.url.appendingPathComponent("ws"))
    let summary = try await Self.run(ws, spec)
    for ext in ["md", "html", "csv", "json"] {
      #expect(
        FileManager.default.fileExists(atPath: tmp.url.appendingPathComponent("out/formats.\(ext)").path), "\(ext)")
    }
    #expect(summary.reportPath?.hasSuffix("out/formats.md") == true)
    let csv = try String(contentsOf: tmp.url.appendingPathComponent("out/formats.csv"), encoding: .utf8)
    let rows = Self.parseCSV(csv)
    let tasks = try TaskStore(workspace: ws).currentTasks(job: "formats")
    #expect(rows.count == tasks.count + 1)
    #expect(rows.allSatisfy { $0.count == rows[0].count })
    let outputColumn = try #require(rows[0].firstIndex(of: "output"))
    #expect(Set(rows.dropFirst().map { $0[outputColumn] }) == Set(tasks.map { $0.output ?? "" }))
    let json =
      try JSONSerialization.jsonObject(
        with: try Data(contentsOf: tmp.url.appendingPathComponent("out/formats.json"))) as? [String: Any]
    #expect(json?["citations"] != nil && json?["facts"] != nil)
  }

  @Test func aStructuredJobsCSVHasARowPerListedDocument() async throws {
    let tmp = try TemporaryDirectory()
    defer { tmp.remove() }
    let spec = try ReportCitationTests.setUp(
      tmp, folders: [RepositoryPaths.samples.appendingPathComponent("pdfs")], context: 2000)
    let ws = try Workspace(root: tmp.url.appendingPathComponent("ws"))
    try await ReportCitationTests.run(ws, spec)
    let maps = try TaskStore(workspace: ws).currentTasks(job: "checked").filter { $0.kind == .map }
    for map in maps {
      let first = try #require(map.locatorList.first)
      try ReportCitationTests.setOutput(
        ws, map,
        #"{"pages":[{"source":"\#(first)","responsive":true,"pages":2,"reason":"SLA, \"credits\""},{"source":"memo.pdf#page=9","responsive":false,"pages":1,"reason":null}]}"#
      )
    }
    let rows = Self.parseCSV(try ReportWriter(workspace: ws).render(job: "checked", format: .csv, spec: spec))
    #expect(rows.first == ["window", "pages", "reason", "responsive", "source", "source_state"])
    #expect(rows.count == 1 + 2 * maps.count)
    let first = try #require(rows.dropFirst().first)
    #expect(
      first[1] == "2" && first[2] == "SLA, \"credits\"" && first[3] == "true" && first[5] == "verified", "\(first)")
    let second = try #require(rows.dropFirst(2).first)
    #expect(second[2] == "" && second[3] == "false" && second[5] == "unknown", "\(second)")
  }

  @Test func aBadFormatInAJobFileIsAnErrorNamingTheKey() throws {
    #expect(throws: PipelineError.self) {
      try JobFile.parse(
        """
        name: x
        inputs: [a]
        model: {engine: llama, context: 500}
        map: {prompt: "{{window}}"}
        reduce: {prompt: "{{outputs}}"}
        report: {formats: [md, pdf]}
        """, path: "x.yaml", baseDirectory: "/tmp")
    }
  }

  @Test func aJobThatNeverRanIsAClearError() throws {
    let tmp = try TemporaryDirectory()
    defer { tmp.remove() }
    let ws = try Workspace(root: tmp.url.appendingPathComponent("ws"))
    for format in ReportFormat.allCases {
      #expect(throws: PipelineError.unknownJob("never")) {
        try ReportWriter(workspace: ws).render(job: "never", format: format)
      }
    }
  }

  /// RFC 4180 records.
  static func parseCSV(_ text: String) -> [[String]] {
    var rows: [[String]] = []
    var row: [String] = []
    var field = ""
    var quoted = false
    var chars = Array(text)[...]
    while let c = chars.popFirst() {
      if quoted {
        if c == "\"" {
          if chars.first == "\"" {
            field.append("\"")
            chars.removeFirst()
          } else {
            quoted = false
          }
        } else {
          field.append(c)
        }
      } else if c == "\"" {
        quoted = true
      } else if c == "," {
        row.append(field)
        field = ""
      } else if c == "\r\n" || c == "\n" {
        row.append(field)
        rows.append(row)
        row = []
        field = ""
      } else {
        field.append(c)
      }
    }
    if !field.isEmpty || !row.isEmpty { rows.append(row + [field]) }
    return rows
  }
}
