// Benchmarks of the orchestrator (issue 6) and the planner (issue 4).
//   swift run -c release longctx-bench orchestrator [tasks]
//   swift run -c release longctx-bench plan [million-tokens]   (exact counts need $LONGCTX_MODEL)
//   swift run -c release longctx-bench needles NAME DIR [budgets]   (issue 34; NeedleBench.swift)
//   swift run -c release longctx-bench embed DIR [pieces]
//   swift run -c release longctx-bench templates-refine [loghub-dir] [budget]   (issue 31; needs the model)
//   swift run -c release longctx-bench queue [tasks] [runs] [durable]   (PostgreSQL server binaries needed)
//   swift run -c release longctx-bench throughput [input-dir] [context] [max-tokens]   (needs $LONGCTX_MODEL)
import Foundation
import Inference
import Ingest
import LlamaBackend
import Logging
import Pipeline
import Segmenter
import Storage
import _LongctxTestSupport

MappedFileGuard.install()  // as the longctx executable does: large logs are mapped
let mode = CommandLine.arguments.dropFirst().first ?? "orchestrator"
if mode == "throughput" {
  let args = Array(CommandLine.arguments.dropFirst(2))
  try await throughputBenchmark(
    input: args.first ?? "Samples/logs", context: args.dropFirst().first.flatMap(Int.init) ?? 1024,
    maxTokens: args.dropFirst(2).first.flatMap(Int.init) ?? 32)
  exit(0)
}
if mode == "needles" {
  let args = Array(CommandLine.arguments.dropFirst(2))
  try await needleBenchmark(
    name: args[0], input: args[1], budgets: args.dropFirst(2).compactMap(Int.init).nilIfEmpty ?? [4096, 8192, 16384])
  exit(0)
}
if mode == "templates-refine" {
  // Issue 31: longctx-bench templates-refine [loghub-dir] [budget per system]
  let args = Array(CommandLine.arguments.dropFirst(2))
  try await templateRefineBenchmark(
    root: args.first ?? "../shared/corpus/logs/loghub", budget: args.dropFirst().first.flatMap(Int.init) ?? 1000)
  exit(0)
}
if mode == "embed" {
  let args = Array(CommandLine.arguments.dropFirst(2))
  try await embedBenchmark(input: args[0], limit: args.dropFirst().first.flatMap(Int.init) ?? 2000)
  exit(0)
}
if mode == "queue" {
  // Issue 30: longctx-bench queue [tasks] [runs] [durable]
  try await sharedQueueBenchmark(
    workerCounts: [1, 4, 16], tasks: CommandLine.arguments.dropFirst(2).first.flatMap(Int.init) ?? 20_000,
    runs: CommandLine.arguments.dropFirst(3).first.flatMap(Int.init) ?? 5,
    durable: CommandLine.arguments.dropFirst(4).first == "durable")
  exit(0)
}
if mode == "plan" {
  try await planBenchmark(
    millionTokens: CommandLine.arguments.dropFirst(2).first.flatMap(Double.init) ?? 10,
    logs: CommandLine.arguments.dropFirst(3).first == "logs")
  exit(0)
}
let taskCount = CommandLine.arguments.dropFirst(2).first.flatMap(Int.init) ?? 20_000
let tmp = try TemporaryDirectory()
defer { tmp.remove() }
let ws = try Workspace(root: tmp.url.appendingPathComponent("ws"))
let store = TaskStore(workspace: ws)

// 1. Bookkeeping alone: install, lease, complete — the runner's per-task writes.
let tasks = (0..<taskCount).map { i in
  TaskRecord(
    id: TaskStore.taskID(job: "bench", kind: .map, level: 0, inputHash: "h\(i)"), job: "bench", kind: .map,
    level: 0, ordinal: i, inputHash: "h\(i)", locators: [Locator(path: "f", lineStart: 1, lineEnd: 2)])
}
var start = Date()
try store.install(job: "bench", kind: .map, level: 0, tasks: tasks)
let installSeconds = Date().timeIntervalSince(start)
start = Date()
for t in tasks {
  try store.lease(t.id, owner: "bench", seconds: 60)
  try store.complete(
    t.id, output: "ok", promptTokens: 10, outputTokens: 2, engine: "fake", model: "fake", durationMs: 0)
}
let runSeconds = Date().timeIntervalSince(start)

// 2. A whole job through JobRunner with an instant fake engine.
let files = 200
for f in 0..<files {
  try tmp.write(
    "docs/f\(f).log", (1...50).map { "2026-01-01T00:00:00Z INFO event \($0) file \(f)" }.joined(separator: "\n") + "\n")
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
print(
  row(
    "whole job, fake engine: \(summary.executed) tasks (ingest + plan + map + reduce + report)",
    Double(summary.executed) / jobSeconds, "tasks/s", goal: nil))
print(
  String(
    format: "\nper-task bookkeeping: %.3f ms; whole fake job: %.2f s for %d windows",
    runSeconds / Double(taskCount) * 1000, jobSeconds, summary.windows))

/// CPU seconds (user + system) this process has used so far.
func cpuSeconds() -> Double {
  var usage = rusage()
  getrusage(RUSAGE_SELF.rawValue, &usage)
  func seconds(_ t: timeval) -> Double { Double(t.tv_sec) + Double(t.tv_usec) / 1e6 }
  return seconds(usage.ru_utime) + seconds(usage.ru_stime)
}

/// Peak resident memory of this process, in MiB.
func peakMiB() -> Double {
  var usage = rusage()
  getrusage(RUSAGE_SELF.rawValue, &usage)
  return Double(usage.ru_maxrss) / 1024
}

/// Generates a corpus of about `millionTokens` million tokens of varied text,
/// ingests it, and plans it for a 10M-token and a 32K-token budget.
///
/// - Parameter logs: Log lines (ISO timestamps, severities, services, hex ids, durations) instead of prose-like text.
func planBenchmark(millionTokens: Double, logs: Bool) async throws {
  let tmp = try TemporaryDirectory()
  defer { tmp.remove() }
  var rng = SystemRandomNumberGenerator()
  let syllables = ["ka", "lo", "mi", "ne", "ru", "ta", "shi", "po", "ve", "dan", "tor", "gel", "mar", "is", "un", "ex"]
  let words = (0..<4000).map { _ in
    (0..<Int.random(in: 1...4, using: &rng)).map { _ in syllables.randomElement(using: &rng)! }.joined()
  }
  // About 1.5 tokens per word with the Gemma vocabulary on such words (measured below).
  let targetWords = Int(millionTokens * 1_000_000 / 1.5)
  let files = 400
  var written = 0
  for f in 0..<files {
    var text = ""
    text.reserveCapacity(targetWords / files * 8)
    let levels = ["INFO", "INFO", "INFO", "DEBUG", "WARN", "ERROR"]
    for line in 0..<(targetWords / files / 12) {
      if logs {
        // About 3.3 tokens per word-equivalent here: fewer words per line for the same tokens.
        if line % 3 != 0 { continue }
        let second = f * 86_400 + line * 7
        text += String(
          format: "2026-03-%02d %02d:%02d:%02d.%03d %@ [svc-%d] ", 1 + second / 86_400 % 28, second / 3600 % 24,
          second / 60 % 60, second % 60, line % 1000, levels[line % levels.count], line % 17)
        text += (0..<6).map { _ in words.randomElement(using: &rng)! }.joined(separator: " ")
        text += String(
          format: " request=%016llx took=%dms\n", UInt64.random(in: 0...UInt64.max, using: &rng),
          Int.random(in: 1...99_999, using: &rng))
        continue
      }
      text += "\(line + 1). " + (0..<11).map { _ in words.randomElement(using: &rng)! }.joined(separator: " ") + "\n"
      if line % 20 == 19 { text += "\n" }
    }
    written += text.utf8.count
    try tmp.write("corpus/doc\(String(format: "%04d", f)).\(logs ? "log" : "txt")", text)
  }
  let ws = try Workspace(root: tmp.url.appendingPathComponent("ws"))
  var t = Date()
  let ingestCPUStart = cpuSeconds()
  let ingest = try await Ingestor(workspace: ws, logger: Logger(label: "bench")).ingest(
    inputs: ["corpus"], options: IngestOptions(base: tmp.url))
  let ingestSeconds = Date().timeIntervalSince(t)
  let ingestCPU = cpuSeconds() - ingestCPUStart

  let counter: any TokenCounter
  var wholeText: LlamaTokenCounter?
  if let model = ProcessInfo.processInfo.environment["LONGCTX_MODEL"] {
    let vocabulary = try LlamaModel(path: model, vocabOnly: true)
    counter = LlamaTokenCounter(model: vocabulary, vocabularyID: "bench-gemma")
    wholeText = LlamaTokenCounter(model: vocabulary, vocabularyID: "bench-gemma-whole", memoize: false)
  } else {
    counter = EstimatedTokenCounter()
  }
  let recorder = RecordingCounter(counter)
  let memoized = (counter as? LlamaTokenCounter)?.isMemoized == true
  print(
    "corpus: \(files) files, \(written / 1_000_000) MB; ingest \(String(format: "%.1f", ingestSeconds)) s; counter \(counter.isExact ? "exact (Gemma 3 vocabulary)" : "estimated")\(memoized ? ", pieces memoized" : "")"
  )
  print("")
  print("| plan | windows | tokens | mean fill | seconds | goal s | ratio to goal | peak MiB | goal MiB |")
  print("|---|---|---|---|---|---|---|---|---|")
  var firstPlanTexts = 0
  for (name, budget) in [
    ("first (tokenizes, 10M budget)", 10_000_000), ("10M budget, cached tokens", 10_000_000),
    ("32K budget, cached tokens", 32_000),
  ] {
    defer { if firstPlanTexts == 0 { firstPlanTexts = recorder.texts.count } }
    t = Date()
    let plan = try CorpusPlanner(workspace: ws, counter: recorder).plan(
      files: ingest.files, budget: budget, options: PlanOptions(collapseRepeats: false))
    let seconds = Date().timeIntervalSince(t)
    let full = plan.windows.dropLast()
    let fill =
      full.isEmpty ? plan.meanFill : full.reduce(0.0) { $0 + Double($1.tokens) / Double(budget) } / Double(full.count)
    print(
      String(
        format: "| %@ | %d | %d | %.1f%% (all but the last) | %.1f | 60 | %.2f× | %.0f | 2048 |",
        name, plan.windows.count, plan.totalTokens, fill * 100, seconds, 60 / seconds, peakMiB()))
  }
  print("")
  // The first plan counts the corpus once; the 32K plan groups log events differently and
  // counts those chunks too (a second tokenization of the corpus, in other texts).
  let allTexts = recorder.texts
  let firstTexts = Array(allTexts.prefix(firstPlanTexts))
  func megabytes(_ texts: [String]) -> Int { texts.reduce(0) { $0 + $1.utf8.count } / 1_000_000 }
  print(
    "| tokenizing the corpus: the \(firstTexts.count) chunk texts (\(megabytes(firstTexts)) MB) of the first plan | seconds | ingest s | share of ingest | CPU s | ingest CPU s | CPU share | goal |"
  )
  print("|---|---|---|---|---|---|---|---|")
  if let wholeText, let model = ProcessInfo.processInfo.environment["LONGCTX_MODEL"] {
    /// Counts every text on all cores; returns the counts and the seconds taken.
    var cpu: [String: Double] = [:]
    func countAll(_ counter: LlamaTokenCounter, _ name: String, _ texts: [String]) -> ([Int], Double) {
      let out = Slots(texts.count)
      let start = Date()
      let cpuStart = cpuSeconds()
      defer { cpu[name] = cpuSeconds() - cpuStart }
      // In batches of consecutive texts, as `TokenCache` hands them out in a plan.
      let batches = TokenCache.batches(texts.count)
      DispatchQueue.concurrentPerform(iterations: batches.count) { b in
        let range = batches[b]
        let counts = (try? counter.counts(Array(texts[range]))) ?? Array(repeating: -1, count: range.count)
        for (i, n) in zip(range, counts) { out.set(i, n) }
      }
      return (out.values, Date().timeIntervalSince(start))
    }
    // A freshly loaded vocabulary, so its memo starts empty, as in a first plan.
    let fresh = LlamaTokenCounter(model: try LlamaModel(path: model, vocabOnly: true), vocabularyID: "fresh")
    let setUp = Date()
    _ = fresh.isMemoized  // reads the vocabulary once: which byte pairs may be cut
    let setUpSeconds = Date().timeIntervalSince(setUp)
    let (cold, coldSeconds) = countAll(fresh, "cold", firstTexts)
    let (_, warmSeconds) = countAll(fresh, "warm", firstTexts)
    let both = LlamaTokenCounter(model: try LlamaModel(path: model, vocabOnly: true), vocabularyID: "both")
    _ = both.isMemoized
    let (coldBoth, coldBothSeconds) = countAll(both, "both", allTexts)
    let (reference, wholeSeconds) = countAll(wholeText, "whole", allTexts)
    func row(_ name: String, _ seconds: Double, goal: String, cpu: Double?) {
      let cpuColumns =
        cpu.map { String(format: "%.2f | %.2f | %.1f%%", $0, ingestCPU, $0 / ingestCPU * 100) } ?? "— | — | —"
      print(
        String(
          format: "| %@ | %.2f | %.2f | %.1f%% | %@ | %@ |", name, seconds, ingestSeconds,
          seconds / ingestSeconds * 100, cpuColumns, goal))
    }
    row("memoized pieces: reading the vocabulary (once per process)", setUpSeconds, goal: "—", cpu: nil)
    row("memoized pieces, cold (as in a first plan), all cores", coldSeconds, goal: "≤ 10%", cpu: cpu["cold"])
    row("memoized pieces, warm, all cores", warmSeconds, goal: "—", cpu: cpu["warm"])
    row(
      "memoized pieces, cold: every text the three plans counted (\(allTexts.count), \(megabytes(allTexts)) MB: the 10M and 32K chunkings)",
      coldBothSeconds, goal: "—", cpu: cpu["both"])
    row(
      "llama_tokenize on each whole text of the three plans, all cores (reference)", wholeSeconds, goal: "—",
      cpu: cpu["whole"])
    let mismatches =
      zip(cold, reference).filter { $0 != $1 }.count + zip(coldBoth, reference).filter { $0 != $1 }.count
      + zip(recorder.counts, reference).filter { $0 != $1 }.count
    print(
      "\nexactness: \(allTexts.count) texts counted through memoized pieces (in the plans, and cold) against llama_tokenize on each whole text: \(mismatches) differences; speed-up cold \(String(format: "%.1f", wholeSeconds / coldBothSeconds))×"
    )
  }
}

/// A counter that keeps every text it was asked about, with its count.
final class RecordingCounter: TokenCounter, @unchecked Sendable {
  let inner: any TokenCounter
  private let lock = NSLock()
  private var pairs: [(String, Int)] = []
  init(_ inner: any TokenCounter) { self.inner = inner }
  var vocabularyID: String { inner.vocabularyID }
  var isExact: Bool { inner.isExact }
  func count(_ text: String) throws -> Int {
    let n = try inner.count(text)
    lock.withLock { pairs.append((text, n)) }
    return n
  }
  func counts(_ texts: [String]) throws -> [Int] {
    let counts = try inner.counts(texts)
    lock.withLock { pairs.append(contentsOf: zip(texts, counts)) }
    return counts
  }
  var texts: [String] { lock.withLock { pairs.map(\.0) } }
  var counts: [Int] { lock.withLock { pairs.map(\.1) } }
}

/// Integers written from concurrent work.
final class Slots: @unchecked Sendable {
  private let lock = NSLock()
  private var storage: [Int]
  init(_ count: Int) { storage = [Int](repeating: 0, count: count) }
  func set(_ i: Int, _ value: Int) { lock.withLock { storage[i] = value } }
  var values: [Int] { lock.withLock { storage } }
}
