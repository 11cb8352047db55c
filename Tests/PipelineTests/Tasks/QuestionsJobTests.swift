import Foundation
import Inference
import Logging
import Storage
import Synchronization
import Testing
import _LongctxTestSupport

@testable import Pipeline

/// Jobs with `questions:`: one plan, a window's questions back to back on one prefix, a task
/// graph per question, one report.
@Suite struct QuestionsJobTests {
  /// Records every request, answering as `FakeEngine` does.
  final class Recorder: Engine, Sendable {
    let name = "recorder"
    let modelIdentity = "fake-model"
    let inner = FakeEngine()
    let requests = Mutex<[GenerationRequest]>([])
    func generate(_ request: GenerationRequest) async throws -> GenerationResult {
      requests.withLock { $0.append(request) }
      return try await inner.generate(request)
    }
    var all: [GenerationRequest] { requests.withLock { $0 } }
  }

  static func yaml(questions: [String], extra: String = "") -> String {
    """
    name: multi
    inputs: [docs]
    model: {engine: llama, context: 900}
    generation: {max_tokens: 16}
    plan: {collapse_repeats: false}
    map:
      prompt: "Job {{job}}, window {{window_number}} of {{window_count}}:\\n{{window}}\\nQuestion: {{question}}\\nAnswer:"
    reduce:
      prompt: "{{outputs}}\\nQuestion: {{question}}\\nCombined:"
    questions:
    \(questions.map { "  - {name: \($0), question: \"What about \($0)?\"}" }.joined(separator: "\n"))
    \(extra)
    """
  }

  static func spec(_ dir: URL, questions: [String], extra: String = "") throws -> JobSpec {
    try JobFile.parse(yaml(questions: questions, extra: extra), path: "multi.yaml", baseDirectory: dir.path)
  }

  func runner(_ ws: Workspace, _ spec: JobSpec, _ engine: any Engine, concurrency: Int = 1) -> JobRunner {
    JobRunner(
      workspace: ws, spec: spec, counter: EstimatedTokenCounter(), modelKey: "fake", logger: Logger(label: "test"),
      settings: RunSettings(retryBaseDelay: 0.001, concurrency: concurrency), engineFactory: { engine })
  }

  // MARK: - Job file

  @Test func questionsAreReadAndASingleQuestionJobHashesAsBefore() throws {
    let spec = try Self.spec(URL(fileURLWithPath: "/tmp"), questions: ["risk", "owner"])
    #expect(spec.questions?.map(\.name) == ["risk", "owner"])
    #expect(spec.questions?.map(\.question) == ["What about risk?", "What about owner?"])
    #expect(spec.questionJobs.map(\.name) == ["multi+risk", "multi+owner"])
    #expect(spec.questionJobs.map(\.jobName) == ["multi", "multi"])
    #expect(spec.questionJobs.map(\.reportFile) == ["reports/multi-risk.md", "reports/multi-owner.md"])
    // A job without questions: encodes no `questions` key, so its hash is what it was.
    let single = try JobRunnerTests.job(URL(fileURLWithPath: "/tmp"))
    let json = String(decoding: try JSONEncoder().encode(single), as: UTF8.self)
    #expect(!json.contains("questions"))
    #expect(single.questions == nil && !single.asksQuestions)
  }

  @Test func aQuestionBeforeTheWindowOrAnotherPrefixIsRefused() throws {
    let base = Self.yaml(questions: ["a"])
    let before = base.replacingOccurrences(
      of: "Job {{job}}, window {{window_number}} of {{window_count}}:\\n{{window}}", with: "{{question}}\\n{{window}}")
    let problems = Self.problems(before)
    #expect(problems.contains { $0.contains("map.prompt") && $0.contains("must place {{question}} after {{window}}") })

    let own = Self.yaml(
      questions: [], extra: "  - {name: b, prompt: \"Other head\\n{{window}}\\nQ\"}\n  - {name: b, question: x}")
    let ownProblems = Self.problems(own)
    #expect(
      ownProblems.contains { $0.hasPrefix("questions[b].prompt") && $0.contains("must begin as map.prompt does") })
    #expect(ownProblems.contains { $0.hasPrefix("questions[b].name") && $0.contains("two questions") })

    let both = Self.yaml(questions: ["a"], extra: "question: also")
    #expect(Self.problems(both).contains { $0.hasPrefix("question") && $0.contains("cannot be given with questions") })
  }

  static func problems(_ yaml: String) -> [String] {
    do {
      _ = try JobFile.parse(yaml, path: "multi.yaml", baseDirectory: "/tmp")
      return []
    } catch PipelineError.jobInvalid(_, let problems) {
      return problems
    } catch {
      return ["\(error)"]
    }
  }

  // MARK: - Running

  @Test func everyQuestionOfAWindowSharesItsPrefixAndRunsBackToBack() async throws {
    let tmp = try TemporaryDirectory()
    defer { tmp.remove() }
    try JobRunnerTests.corpus(in: tmp)
    let ws = try Workspace(root: tmp.url.appendingPathComponent("ws"))
    let spec = try Self.spec(tmp.url, questions: ["risk", "owner", "cost"])
    let engine = Recorder()
    let summary = try await runner(ws, spec, engine).run()
    #expect(summary.windows > 2)
    #expect(summary.failed == 0)

    let maps = engine.all.filter { $0.suffix.contains("Answer:") }
    #expect(maps.count == 3 * summary.windows)
    // Window-major: each run of three requests shares one prefix, with the three questions after it.
    for (w, start) in stride(from: 0, to: maps.count, by: 3).enumerated() {
      let group = maps[start..<start + 3]
      #expect(Set(group.map(\.prefix)).count == 1, "window \(w + 1): one prefix")
      #expect(group.map(\.prefix).first?.hasPrefix("Job multi, window \(w + 1) of \(summary.windows):") == true)
      #expect(
        group.map { $0.suffix.contains("What about risk?") ? "risk" : $0.suffix.contains("owner") ? "owner" : "cost" }
          == ["risk", "owner", "cost"])
    }
    #expect(Set(maps.map(\.prefix)).count == summary.windows)

    // A task graph per question, each ending in one answer.
    let store = TaskStore(workspace: ws)
    for name in ["risk", "owner", "cost"] {
      let tasks = try store.currentTasks(job: "multi+\(name)")
      #expect(tasks.filter { $0.kind == .map }.count == summary.windows)
      #expect(ReportWriter.finalTask(in: tasks)?.kind == .reduce)
      #expect(tasks.allSatisfy { $0.state == .done })
    }
    #expect(summary.tasks == engine.all.count)

    // One report, a section per question in the job's order.
    let report = try String(contentsOfFile: try #require(summary.reportPath), encoding: .utf8)
    #expect(report.hasPrefix("# Report: multi\n\n3 questions over \(summary.windows) windows: risk, owner, cost.\n"))
    let sections = report.components(separatedBy: "\n## Question: ").dropFirst().map { $0.prefix { $0 != "\n" } }
    #expect(sections == ["risk", "owner", "cost"])
    #expect(report.contains("> What about owner?\n"))
    #expect(report.components(separatedBy: "\n### Summary\n").count == 4)
    #expect(report.components(separatedBy: "\n#### Window 1\n").count == 4)
  }

  @Test func addingAQuestionRunsOnlyItsTasks() async throws {
    let tmp = try TemporaryDirectory()
    defer { tmp.remove() }
    try JobRunnerTests.corpus(in: tmp)
    let ws = try Workspace(root: tmp.url.appendingPathComponent("ws"))
    let first = try await runner(ws, try Self.spec(tmp.url, questions: ["risk", "owner"]), Recorder()).run()
    let before = try TaskStore(workspace: ws).currentTasks(job: "multi+risk").map(\.id)

    let engine = Recorder()
    let second = try await runner(ws, try Self.spec(tmp.url, questions: ["risk", "owner", "cost"]), engine).run()
    let added = try TaskStore(workspace: ws).currentTasks(job: "multi+cost")
    #expect(second.windows == first.windows, "the plan does not depend on the questions")
    #expect(second.executed == added.count)
    #expect(engine.all.count == added.count)
    #expect(engine.all.allSatisfy { $0.suffix.contains("What about cost?") })
    #expect(second.reused == first.tasks)
    #expect(try TaskStore(workspace: ws).currentTasks(job: "multi+risk").map(\.id) == before)
  }

  @Test func severalTasksAtOnceStillGoWindowByWindow() async throws {
    let tmp = try TemporaryDirectory()
    defer { tmp.remove() }
    try JobRunnerTests.corpus(in: tmp)
    let ws = try Workspace(root: tmp.url.appendingPathComponent("ws"))
    let engine = Recorder()
    let summary = try await runner(ws, try Self.spec(tmp.url, questions: ["a", "b"]), engine, concurrency: 2).run()
    let maps = engine.all.filter { $0.suffix.contains("Answer:") }
    #expect(maps.count == 2 * summary.windows)
    // Two in flight: windows in blocks of two taking turns (see `reuseOrder`). The two lanes of a
    // block reach the engine in either order, so each block is compared as a set: windows 1 and 2
    // are first seen before window 3, and so on.
    var firstSeen: [String] = []
    for r in maps where !firstSeen.contains(r.prefix) { firstSeen.append(r.prefix) }
    #expect(firstSeen.count == summary.windows)
    let numbers = firstSeen.map { prefix in
      Int(prefix.dropFirst("Job multi, window ".count).prefix { $0.isNumber }) ?? 0
    }
    for start in stride(from: 0, to: numbers.count, by: 2) {
      let block = numbers[start..<min(start + 2, numbers.count)]
      #expect(Set(block) == Set((start + 1)...(start + block.count)), "\(numbers)")
    }
  }

  @Test func tasksInFlightAreOfDifferentWindowsEachWindowsQuestionsInOrder() {
    let byWindow = [0: ["0a", "0b", "0c"], 1: ["1a", "1b", "1c"], 2: ["2a", "2b", "2c"], 4: ["4b"]]
    #expect(JobRunner.reuseOrder(byWindow, lanes: 1) == ["0a", "0b", "0c", "1a", "1b", "1c", "2a", "2b", "2c", "4b"])
    #expect(JobRunner.reuseOrder(byWindow, lanes: 2) == ["0a", "1a", "0b", "1b", "0c", "1c", "2a", "4b", "2b", "2c"])
    #expect(JobRunner.reuseOrder(byWindow, lanes: 8) == ["0a", "1a", "2a", "4b", "0b", "1b", "2b", "0c", "1c", "2c"])
    #expect(JobRunner.reuseOrder([Int: [String]](), lanes: 3).isEmpty)
  }
}
