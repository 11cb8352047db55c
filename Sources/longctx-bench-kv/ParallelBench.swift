// longctx-bench-kv parallel: the same map-style windows through the embedded
// engine one at a time and with N sequences decoded together.
import Foundation
import Inference
import LlamaBackend

/// Settings of the parallel benchmark, from `parallel [windows] [window-tokens] [max-tokens] [Ns]`.
struct ParallelBenchSettings {
  var windows = 8
  var windowTokens = 512
  var maxTokens = 32
  var parallel: [Int] = [1, 2, 4]

  init(_ args: [String]) {
    if args.count > 0, let v = Int(args[0]) { windows = v }
    if args.count > 1, let v = Int(args[1]) { windowTokens = v }
    if args.count > 2, let v = Int(args[2]) { maxTokens = v }
    if args.count > 3 { parallel = args[3].split(separator: ",").compactMap { Int($0) } }
    if !parallel.contains(1) { parallel.insert(1, at: 0) }
  }
}

/// One N's figures.
struct ParallelRow {
  var parallel: Int
  var batchInvariant = true
  var wall = 0.0
  var promptTokens = 0
  var outputTokens = 0
  var counters: LlamaEngineCounters
  var texts: [String]
}

/// `windows` distinct synthetic windows of about `tokens` tokens each.
func parallelWindows(_ model: LlamaModel, count: Int, tokens: Int) -> [String] {
  (0..<count).map { w in
    var lines: [String] = []
    var i = 0
    while true {
      i += 1
      lines.append(
        "Entry \(w)-\(i): crate \(i * 7919 % 10_007 + w * 13) left dock \((i + w) % 17) on day \((i * 3 + w) % 365) "
          + "with \(i * i % 53) damaged items; inspector \(["Ana", "Bo", "Chen", "Dara", "Eli"][(i + w) % 5]) signed.")
      if model.tokenize(lines.joined(separator: "\n"), addSpecial: true).count >= tokens { break }
    }
    return "The following log entries come from one warehouse.\n\n" + lines.joined(separator: "\n") + "\n\n"
  }
}

/// Runs every window through an engine with `parallel` sequences, at most
/// `parallel` requests in flight (as `longctx run --concurrency N` does).
func runParallel(
  modelPath: String, windows: [String], settings: ParallelBenchSettings, parallel: Int, batchInvariant: Bool = true
) async throws -> ParallelRow {
  let options = LlamaEngineOptions(
    contextTokens: settings.windowTokens + settings.maxTokens + 256, threads: nil, parallel: parallel,
    batchInvariant: batchInvariant)
  let engine = try LlamaEngine(modelPath: modelPath, options: options)
  let requests = windows.map {
    GenerationRequest(prefix: $0, suffix: "Summary of the entries above:", maxTokens: settings.maxTokens)
  }
  let start = ContinuousClock.now
  let results = try await withThrowingTaskGroup(of: (Int, GenerationResult).self) { group in
    var next = 0
    var out = [GenerationResult?](repeating: nil, count: requests.count)
    while next < min(parallel, requests.count) {
      let i = next
      group.addTask { (i, try await engine.generate(requests[i])) }
      next += 1
    }
    while let (i, result) = try await group.next() {
      out[i] = result
      if next < requests.count {
        let j = next
        group.addTask { (j, try await engine.generate(requests[j])) }
        next += 1
      }
    }
    return out.compactMap { $0 }
  }
  let wall = seconds(ContinuousClock.now - start)
  return ParallelRow(
    parallel: parallel, batchInvariant: batchInvariant, wall: wall,
    promptTokens: results.map(\.promptTokens).reduce(0, +),
    outputTokens: results.map(\.outputTokens).reduce(0, +), counters: engine.counters, texts: results.map(\.text))
}

/// The `parallel` mode: prints one table row per N with ratios against N = 1.
func parallelBench(_ args: [String], modelPath: String) async throws {
  let settings = ParallelBenchSettings(args)
  let vocabulary = try LlamaModel(path: modelPath, vocabOnly: true)
  let windows = parallelWindows(vocabulary, count: settings.windows, tokens: settings.windowTokens)
  print(
    "# longctx-bench-kv parallel: \(settings.windows) windows of ~\(settings.windowTokens) tokens, "
      + "max \(settings.maxTokens) output tokens, greedy, model \(URL(fileURLWithPath: modelPath).lastPathComponent), "
      + "\(ProcessInfo.processInfo.activeProcessorCount) threads")
  // The reference: the one-at-a-time engine without step padding (the
  // engine before parallel sequences), then every N with padding.
  FileHandle.standardError.write(Data("[parallel 1, unpadded] running \(settings.windows) windows…\n".utf8))
  var rows = [
    try await runParallel(
      modelPath: modelPath, windows: windows, settings: settings, parallel: 1, batchInvariant: false)
  ]
  for n in settings.parallel {
    FileHandle.standardError.write(Data("[parallel \(n)] running \(settings.windows) windows…\n".utf8))
    rows.append(
      try await runParallel(
        modelPath: modelPath, windows: windows, settings: settings, parallel: n, batchInvariant: true))
  }
  let padded = rows.first { $0.batchInvariant && $0.parallel == 1 } ?? rows[0]
  let base = rows[0]
  func label(_ r: ParallelRow) -> String { r.batchInvariant ? "\(r.parallel) padded" : "1 unpadded (reference)" }
  func total(_ r: ParallelRow) -> Double { Double(r.promptTokens + r.outputTokens) / r.wall }
  func generated(_ r: ParallelRow) -> Double { Double(r.outputTokens) / r.wall }
  func decode(_ r: ParallelRow) -> Double { Double(r.counters.stepTokens) / r.counters.stepSeconds }
  print("")
  print(
    "| N | wall s | prompt tok | output tok | (prompt+output)/s | ratio | output/s (whole run) | ratio "
      + "| decode steps | mean batch | decode tok/s (steps only) | ratio | outputs = reference | outputs = padded N=1 |"
  )
  print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
  for r in rows {
    let same = zip(r.texts, base.texts).filter { $0 == $1 }.count
    let samePadded = zip(r.texts, padded.texts).filter { $0 == $1 }.count
    print(
      String(
        format: "| %@ | %.1f | %d | %d | %.1f | %.2f× | %.2f | %.2f× | %d | %.2f | %.2f | %.2f× | %d/%d | %d/%d |",
        label(r), r.wall, r.promptTokens, r.outputTokens, total(r), total(r) / total(base), generated(r),
        generated(r) / generated(base), r.counters.steps,
        Double(r.counters.stepTokens) / Double(max(1, r.counters.steps)),
        decode(r), decode(r) / decode(base), same, r.texts.count, samePadded, r.texts.count))
  }
  print("")
  for r in rows {
    print(
      String(
        format: "N=%@: prefill %.1f s (one sequence at a time), decode steps %.1f s", label(r),
        r.counters.prefillSeconds, r.counters.stepSeconds))
  }
}
