import Foundation
import Inference
import Ingest
import Logging
import Pipeline
import Segmenter
import Storage
import Testing
import _LongctxTestSupport

/// `map.per: document`: one map task per document, a per-document reduce for
/// documents larger than a window, then the reduce tree over documents.
@Suite struct PerDocumentTests {
  static func job(_ dir: URL, per: String) throws -> JobSpec {
    let yaml = """
      name: docs
      inputs: [docs]
      model: {engine: llama, context: 400}
      generation: {max_tokens: 16}
      plan: {collapse_repeats: false}
      map: {prompt: "{{window}}\\nIs this document responsive?", per: \(per)}
      reduce: {prompt: "{{outputs}}\\nCombined:"}
      """
    return try JobFile.parse(yaml, path: "docs.yaml", baseDirectory: dir.path)
  }

  static func corpus(_ tmp: TemporaryDirectory) throws {
    try tmp.write(
      "docs/big.txt",
      (1...150).map { "Clause \($0): the supplier shall deliver part \($0) on time." }.joined(separator: "\n") + "\n")
    for f in 1...4 { try tmp.write("docs/note\(f).txt", "Note \(f): short memo about invoices.\n") }
  }

  func run(_ ws: Workspace, _ spec: JobSpec, _ engine: FakeEngine) async throws -> RunSummary {
    try await JobRunner(
      workspace: ws, spec: spec, counter: EstimatedTokenCounter(), modelKey: "fake", logger: Logger(label: "test"),
      engineFactory: { engine }
    ).run()
  }

  @Test func oneMapTaskPerDocumentAndOneAnswerPerDocumentBeforeTheTree() async throws {
    let tmp = try TemporaryDirectory()
    defer { tmp.remove() }
    try Self.corpus(tmp)
    let ws = try Workspace(root: tmp.url.appendingPathComponent("ws"))
    let engine = FakeEngine()
    let s = try await run(ws, try Self.job(tmp.url, per: "document"), engine)
    #expect(s.failed == 0)
    let tasks = try TaskStore(workspace: ws).currentTasks(job: "docs")
    let maps = tasks.filter { $0.kind == .map }
    let path = { (t: TaskRecord) in Set(t.locators.map(\.path)) }
    for m in maps { #expect(path(m).count == 1, "a map task reads one document") }
    for f in 1...4 { #expect(maps.filter { path($0) == ["docs/note\(f).txt"] }.count == 1) }
    let bigMaps = maps.filter { path($0) == ["docs/big.txt"] }
    #expect(bigMaps.count > 1, "the large document spans several windows")
    // Its parts are reduced per document until one task covers it; small documents need none.
    let documents = tasks.filter { $0.kind == .document }
    #expect(!documents.isEmpty)
    for d in documents { #expect(path(d) == ["docs/big.txt"]) }
    let topDocument = try #require(documents.max { $0.level < $1.level })
    #expect(documents.filter { $0.level == topDocument.level }.count == 1)
    #expect(Set(topDocument.locatorList) == Set(bigMaps.flatMap(\.locatorList)))
    // The tree's first level reads one answer per document: 5 documents.
    let level1 = tasks.filter { $0.kind == .reduce && $0.level == 1 }
    let inputsOfLevel1 = level1.flatMap { path($0) }
    #expect(Set(inputsOfLevel1).count == 5)
    #expect(engine.calls == tasks.count)
    let md = try ReportWriter(workspace: ws).markdown(job: "docs")
    #expect(md.contains("## Documents"))
    #expect(md.contains("### docs/big.txt"))
  }

  @Test func byWindowSmallDocumentsShareAWindowAndNoDocumentTasksRemain() async throws {
    let tmp = try TemporaryDirectory()
    defer { tmp.remove() }
    try Self.corpus(tmp)
    let ws = try Workspace(root: tmp.url.appendingPathComponent("ws"))
    let perDocument = try await run(ws, try Self.job(tmp.url, per: "document"), FakeEngine())
    let perWindow = try await run(ws, try Self.job(tmp.url, per: "window"), FakeEngine())
    #expect(perWindow.windows < perDocument.windows)
    let tasks = try TaskStore(workspace: ws).currentTasks(job: "docs")
    #expect(!tasks.contains { $0.kind == .document }, "switching back retires the per-document level")
  }

  @Test func anUnknownUnitIsAnErrorWithItsLine() throws {
    #expect(throws: PipelineError.self) { try Self.job(URL(fileURLWithPath: "/tmp"), per: "page") }
    do {
      _ = try Self.job(URL(fileURLWithPath: "/tmp"), per: "page")
    } catch {
      #expect(error.localizedDescription.contains("map.per (line "))
      #expect(error.localizedDescription.contains("must be 'window' or 'document', not 'page'"))
    }
  }
}
