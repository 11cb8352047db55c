import Foundation
import GRDB
import Inference
import Logging
import Pipeline
import Storage
import Testing
import _LongctxTestSupport

/// `run` records the job file it ran in the workspace, so that a report asked for by the job's
/// name is the one `run` wrote (`longctx report NAME`); workspaces from before say so.
@Suite struct JobSpecRecordedTests {
  static let yaml = """
    name: priced
    inputs: [docs]
    model: {engine: llama, context: 400}
    generation: {max_tokens: 16}
    plan: {collapse_repeats: false}
    map:
      prompt: "{{window}}\\nSummary:"
    reduce:
      prompt: "{{outputs}}\\nCombined:"
    pricing: {input_per_million: 0.15, output_per_million: 0.60}
    """

  func runner(_ ws: Workspace, _ spec: JobSpec, text: String?) -> JobRunner {
    let engine = FakeEngine()
    return JobRunner(
      workspace: ws, spec: spec,
      engine: EngineChoice(counter: EstimatedTokenCounter(), modelKey: "fake", makeEngine: { engine }),
      settings: RunSettings(retryBaseDelay: 0.001), logger: Logger(label: "test"), jobText: text)
  }

  @Test func theRecordedJobGivesTheReportRunWrote() async throws {
    let tmp = try TemporaryDirectory()
    defer { tmp.remove() }
    try JobRunnerTests.corpus(in: tmp, files: 3)
    let ws = try Workspace(root: tmp.url.appendingPathComponent("ws"))
    let spec = try JobFile.parse(Self.yaml, path: "priced.yaml", baseDirectory: tmp.url.path)
    let summary = try await runner(ws, spec, text: Self.yaml).run()
    let written = try String(contentsOfFile: try #require(summary.reportPath), encoding: .utf8)
    #expect(written.contains("Cost estimate: "))

    #expect(try JobSpec.recorded(job: "priced", in: ws) == .spec(spec))
    let recorded = try ReportWriter(workspace: ws).render(job: "priced", format: .md, spec: spec)
    #expect(recorded == written)
    // Without the job file the report lacks the cost: what `report NAME` gave before.
    #expect(try ReportWriter(workspace: ws).render(job: "priced", format: .md) != written)
    #expect(try JobSpec.recorded(job: "other", in: ws) == RecordedJob.none)
  }

  @Test func aQuestionsJobAndEachOfItsQuestionsAreRecorded() async throws {
    let tmp = try TemporaryDirectory()
    defer { tmp.remove() }
    try JobRunnerTests.corpus(in: tmp, files: 3)
    let ws = try Workspace(root: tmp.url.appendingPathComponent("ws"))
    let yaml = QuestionsJobTests.yaml(questions: ["risk", "owner"])
    let spec = try JobFile.parse(yaml, path: "multi.yaml", baseDirectory: tmp.url.path)
    let summary = try await runner(ws, spec, text: yaml).run()
    let written = try String(contentsOfFile: try #require(summary.reportPath), encoding: .utf8)

    guard case .spec(let read) = try JobSpec.recorded(job: "multi", in: ws) else {
      Issue.record("multi was not recorded")
      return
    }
    #expect(read == spec)
    #expect(try ReportWriter(workspace: ws).questionsMarkdown(read) == written)
    #expect(try JobSpec.recorded(job: "multi+owner", in: ws) == .spec(spec.questionJobs[1]))
  }

  @Test func aJobRunBeforeJobFilesWereRecordedSaysSo() async throws {
    let tmp = try TemporaryDirectory()
    defer { tmp.remove() }
    try JobRunnerTests.corpus(in: tmp, files: 2)
    let ws = try Workspace(root: tmp.url.appendingPathComponent("ws"))
    let spec = try JobFile.parse(Self.yaml, path: "priced.yaml", baseDirectory: tmp.url.path)
    _ = try await runner(ws, spec, text: nil).run()
    #expect(try JobSpec.recorded(job: "priced", in: ws) == .notRecorded)

    // A recorded file this longctx no longer reads.
    try await ws.db.write { db in
      try db.execute(sql: "UPDATE job SET specText = 'name: priced\nfuture_key: 1', baseDirectory = '/tmp'")
    }
    guard case .unreadable(let reason) = try JobSpec.recorded(job: "priced", in: ws) else {
      Issue.record("an unreadable record read")
      return
    }
    #expect(reason.contains("future_key"))
  }
}
