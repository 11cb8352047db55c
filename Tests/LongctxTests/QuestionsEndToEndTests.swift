import Foundation
import Testing
import _LongctxTestSupport

/// `questions:` with the real CLI and the real model (Gemma 3 270M in process, KV checkpoints
/// on as `run` has them) on the sample repository: one report with a section per question,
/// every window prefilled once (the counts show it), answers identical to a one-question job's
/// at temperature 0, and a question added later runs only its own tasks.
@Suite(.serialized) struct QuestionsEndToEndTests {
  struct RunJSON: Decodable {
    var tasks: Int
    var executed: Int
    var reused: Int
    var failed: Int
    var windows: Int
    var promptTokens: Int
    var cachedTokens: Int
  }

  struct Report: Decodable {
    struct Question: Decodable {
      var name: String
      var report: One
    }
    struct One: Decodable {
      var tasks: [Task]
    }
    struct Task: Decodable {
      var kind: String
      var ordinal: Int
      var output: String?
      var promptTokens: Int?
    }
    var questions: [Question]
  }

  /// `asList`: a single question written as a one-entry `questions:` list (planned as a
  /// questions job is: the same window budget, no question steering the plan).
  static func job(questions: [String], name: String = "questions-e2e", asList: Bool = false) -> String {
    let all = [
      "errors": "Which errors and exceptions occur, and where are they raised?",
      "retries": "How are retries and timeouts handled?",
      "config": "What configuration defaults are there?",
    ]
    let list =
      questions.count == 1 && !asList
      ? "question: \(all[questions[0]] ?? "")"
      : "questions:\n" + questions.map { "  - {name: \($0), question: \"\(all[$0] ?? "")\"}" }.joined(separator: "\n")
    return """
      name: \(name)
      inputs: [../repo]
      model: {engine: llama, context: 1024}
      generation: {max_tokens: 24, temperature: 0, seed: 42}
      map:
        prompt: "Source excerpts follow, each starting with its file and lines in brackets.\\n\\n{{window}}\\n\\nQuestion: {{question}}\\nAnswer briefly, citing [file#Lx-Ly]:"
      reduce:
        prompt: "Answers from parts of a repository follow.\\n\\n{{outputs}}\\n\\nQuestion: {{question}}\\nCombined answer:"
      \(list)
      report: {path: ../reports/\(name).md, formats: [md, json]}
      """
  }

  @Test func oneReportPrefillOnceSameAnswersAndAnAddedQuestionRunsAlone() throws {
    _ = try SetupPaths.model()
    let tmp = try TemporaryDirectory()
    defer { tmp.remove() }
    let samples = try SampleCopy.make(in: tmp)
    let jobs = samples.appendingPathComponent("jobs")
    let ws = tmp.url.appendingPathComponent("ws").path
    try Self.job(questions: ["errors", "retries"]).write(
      to: jobs.appendingPathComponent("q.yaml"), atomically: true, encoding: .utf8)

    let first = try CLI.run(["run", "q.yaml", "--workspace", ws, "--json"], cwd: jobs)
    #expect(first.code == 0, "first run failed: \(first.stderr)")
    let run1 = try JSONDecoder().decode(RunJSON.self, from: Data(first.stdout.utf8))
    #expect(run1.windows >= 2 && run1.failed == 0)
    let reports = samples.appendingPathComponent("reports")
    let markdown = try String(contentsOf: reports.appendingPathComponent("questions-e2e.md"), encoding: .utf8)
    #expect(markdown.hasPrefix("# Report: questions-e2e\n\n2 questions over \(run1.windows) windows: errors, retries."))
    #expect(markdown.components(separatedBy: "\n## Question: ").count == 3)
    #expect(markdown.contains("## Question: errors\n\n> Which errors and exceptions occur"))
    // `report NAME` is the report `run` wrote, byte for byte (issue 29), from any directory.
    let byName = try CLI.run(["report", "questions-e2e", "--workspace", ws], cwd: tmp.url)
    #expect(byName.code == 0 && byName.stderr.isEmpty, "\(byName.stderr)")
    #expect(byName.stdout == markdown)
    let report = try JSONDecoder().decode(
      Report.self, from: Data(contentsOf: reports.appendingPathComponent("questions-e2e.json")))
    #expect(report.questions.map(\.name) == ["errors", "retries"])

    // Prefill once: every map task of the second question restored its window's prefix, so at
    // least its map prompts' tokens less their question part were reused, not computed.
    let maps = report.questions.map { $0.report.tasks.filter { $0.kind == "map" } }
    #expect(maps.allSatisfy { $0.count == run1.windows })
    let secondMapPrompt = maps[1].compactMap(\.promptTokens).reduce(0, +)
    #expect(
      run1.cachedTokens >= secondMapPrompt - 40 * run1.windows, "reused \(run1.cachedTokens) of \(run1.promptTokens)")
    #expect(run1.cachedTokens * 10 >= (run1.promptTokens - run1.cachedTokens) * 3)

    // The same answers as a job asking that question alone, which prefills each window itself
    // (fresh workspace; a one-entry `questions:` list, so its windows are the same).
    try Self.job(questions: ["retries"], name: "questions-one", asList: true).write(
      to: jobs.appendingPathComponent("one.yaml"), atomically: true, encoding: .utf8)
    let fresh = tmp.url.appendingPathComponent("ws-one").path
    let one = try CLI.run(["run", "one.yaml", "--workspace", fresh, "--json"], cwd: jobs)
    #expect(one.code == 0, "one-question run failed: \(one.stderr)")
    let aloneReport = try JSONDecoder().decode(
      Report.self, from: Data(contentsOf: reports.appendingPathComponent("questions-one.json")))
    let alone = try #require(aloneReport.questions.first).report
    let aloneMaps: [Report.Task] = alone.tasks.filter { $0.kind == "map" }.sorted { $0.ordinal < $1.ordinal }
    let askedTogether: [Report.Task] = maps[1].sorted { $0.ordinal < $1.ordinal }
    #expect(aloneMaps.count == run1.windows)
    #expect(aloneMaps.map { $0.output ?? "" } == askedTogether.map { $0.output ?? "" })

    // A third question: only its tasks run; the others are reused.
    try Self.job(questions: ["errors", "retries", "config"]).write(
      to: jobs.appendingPathComponent("q.yaml"), atomically: true, encoding: .utf8)
    let third = try CLI.run(["run", "q.yaml", "--workspace", ws, "--json"], cwd: jobs)
    #expect(third.code == 0, "third-question run failed: \(third.stderr)")
    let run3 = try JSONDecoder().decode(RunJSON.self, from: Data(third.stdout.utf8))
    #expect(run3.windows == run1.windows)
    #expect(run3.reused == run1.tasks)
    #expect(run3.executed == run3.tasks - run1.tasks)
    // Its windows' prefixes come from the checkpoints the first run saved.
    #expect(run3.cachedTokens > 0)
    let after = try String(contentsOf: reports.appendingPathComponent("questions-e2e.md"), encoding: .utf8)
    #expect(after.components(separatedBy: "\n## Question: ").count == 4)
    #expect(after.contains("## Question: config\n"))
  }
}
