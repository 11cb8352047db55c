import Foundation
import Pipeline
import Testing
import _LongctxTestSupport

extension EndToEndTests {
  struct ReportJSON: Decodable {
    struct Task: Decodable {
      var kind: String
      var state: String
      var output: String?
      var error: String?
    }
    var tasks: [Task]
  }

  /// The legal-review sample with its map.json_schema, Gemma 3 270M in process:
  /// every map output is JSON that matches the schema (the grammar at work).
  @Test func legalReviewMapOutputsAreJSONThatMatchesTheSchema() throws {
    _ = try SetupPaths.model()
    let tmp = try TemporaryDirectory()
    defer { tmp.remove() }
    let samples = try SampleCopy.make(in: tmp)
    let jobs = samples.appendingPathComponent("jobs")
    let ws = tmp.url.appendingPathComponent("ws").path
    let run = try CLI.run(["run", "legal-review.yaml", "--workspace", ws, "--json"], cwd: jobs)
    #expect(run.code == 0, "run failed: \(run.stderr)")
    let report = try CLI.run(["report", "legal-review", "--workspace", ws, "--json"], cwd: jobs)
    #expect(report.code == 0, "\(report.stderr)")
    // `report NAME` is the report `run` wrote, byte for byte, coding table included (issue 29).
    let reports = samples.appendingPathComponent("reports")
    let written = try String(contentsOf: reports.appendingPathComponent("legal-review.md"), encoding: .utf8)
    #expect(written.contains("## Coding"))
    let byName = try CLI.run(["report", "legal-review", "--workspace", ws], cwd: tmp.url)
    #expect(byName.code == 0 && byName.stderr.isEmpty, "\(byName.stderr)")
    #expect(byName.stdout == written)
    let codingByName = try CLI.run(["report", "legal-review", "--coding", "--workspace", ws], cwd: tmp.url)
    #expect(
      codingByName.stdout
        == (try String(contentsOf: reports.appendingPathComponent("legal-review-coding.csv"), encoding: .utf8)))
    let tasks = try JSONDecoder().decode(ReportJSON.self, from: Data(report.stdout.utf8)).tasks
    let spec = try JobFile.load(path: jobs.appendingPathComponent("legal-review.yaml").path)
    let schema = try JSONSchema(text: try #require(spec.map.jsonSchema))
    let maps = tasks.filter { $0.kind == "map" }
    #expect(!maps.isEmpty)
    for map in maps {
      #expect(map.state == "done", "\(map.error ?? "")")
      let output = try #require(map.output)
      #expect(schema.firstViolation(inText: output) == nil, "\(output)")
    }
    // The free-text reduce does not loop (the loop guard): no sentence comes more than twice.
    let reduces = tasks.filter { $0.kind != "map" && $0.state == "done" }
    #expect(!reduces.isEmpty)
    for task in reduces {
      let output = task.output ?? ""
      #expect(ReportRepeats.repeated(in: output).isEmpty, "\(task.kind) loops:\n\(output)")
    }
  }
}

extension BadInputTests {
  @Test func anUnsupportedSchemaKeywordIsNamedBeforeAnythingRuns() throws {
    let job = Self.validJob.replacingOccurrences(
      of: "  prompt: \"{{window}} Summary:\"",
      with: "  prompt: \"{{window}} Summary:\"\n  json_schema: '{\"type\": \"string\", \"format\": \"date\"}'")
    let (r, touched) = try runInTemp(job)
    #expect(r.code == 2)
    #expect(
      r.stderr.contains("map.json_schema (line 8): at /format: the keyword 'format' is not supported"), "\(r.stderr)")
    #expect(!touched)
  }

  @Test func chatFormatWithABaseModelIsAConfigurationError() throws {
    let job = Self.validJob.replacingOccurrences(of: "  context: 1024", with: "  context: 1024\n  prompt_format: chat")
    let (r, touched) = try runInTemp(job)
    #expect(r.code == 2)
    #expect(r.stderr.contains("has no chat template"), "\(r.stderr)")
    #expect(!touched)
  }
}
