// Benchmarks that need no model: orchestrator overhead (issue 6).
//   swift run -c release longctx-bench [tasks]
import Foundation
import Logging
import Pipeline
import Segmenter
import Workspace
import _LongctxTestSupport

let taskCount = CommandLine.arguments.dropFirst().first.flatMap(Int.init) ?? 20_000
let tmp = try TemporaryDirectory()
defer { tmp.remove() }
let ws = try Workspace(root: tmp.url.appendingPathComponent("ws"))
let store = TaskStore(workspace: ws)

// 1. Bookkeeping alone: install, lease, complete — the runner's per-task writes.
let tasks = (0..<taskCount).map { i in
  TaskRecord(
    id: TaskStore.taskID(job: "bench", kind: "map", level: 0, inputHash: "h\(i)"), job: "bench", kind: "map",
    level: 0, ordinal: i, inputHash: "h\(i)", locators: "[\"f#L1-L2\"]")
}
var start = Date()
try store.install(job: "bench", kind: "map", level: 0, tasks: tasks)
let installSeconds = Date().timeIntervalSince(start)
start = Date()
for t in tasks {
  try store.lease(t.id, owner: "bench", seconds: 60)
  try store.complete(t.id, output: "ok", promptTokens: 10, outputTokens: 2, engine: "fake", model: "fake", durationMs: 0)
}
let runSeconds = Date().timeIntervalSince(start)

// 2. A whole job through JobRunner with an instant fake engine.
let files = 200
for f in 0..<files {
  try tmp.write("docs/f\(f).log", (1...50).map { "2026-01-01T00:00:00Z INFO event \($0) file \(f)" }.joined(separator: "\n") + "\n")
}
let yaml = """
  name: bench-job
  inputs: [docs]
  model: {engine: llama, context: 300}
  generation: {max_tokens: 8}
  map: {prompt: "{{window}}"}
  reduce: {prompt: "{{outputs}}"}
  """
let spec = try JobFile.parse(yaml, path: "bench.yaml", baseDirectory: tmp.url.path)
let engine = FakeEngine()
let runner = JobRunner(
  workspace: ws, spec: spec, counter: EstimatedTokenCounter(), modelKey: "fake", logger: Logger(label: "bench"),
  engineFactory: { engine })
start = Date()
let summary = try await runner.run()
let jobSeconds = Date().timeIntervalSince(start)

func row(_ name: String, _ value: Double, _ unit: String, goal: Double?) -> String {
  let ratio = goal.map { String(format: "%.1f×", value / $0) } ?? "—"
  let goalText = goal.map { String(format: "%.0f", $0) } ?? "—"
  return "| \(name) | \(String(format: "%.0f", value)) \(unit) | \(goalText) | \(ratio) |"
}
print("| figure | value | goal | ratio to goal |")
print("|---|---|---|---|")
print(row("install \(taskCount) tasks (one transaction)", Double(taskCount) / installSeconds, "tasks/s", goal: nil))
print(row("lease + complete, one transaction each", Double(taskCount) / runSeconds, "tasks/s", goal: 5000))
print(row("whole job, fake engine: \(summary.executed) tasks (ingest + plan + map + reduce + report)", Double(summary.executed) / jobSeconds, "tasks/s", goal: nil))
print(String(format: "\nper-task bookkeeping: %.3f ms; whole fake job: %.2f s for %d windows", runSeconds / Double(taskCount) * 1000, jobSeconds, summary.windows))
