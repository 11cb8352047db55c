import Foundation
import Inference
import Ingest
import LlamaBackend
import Logging
import Pipeline
import Segmenter
import Storage
import _LongctxTestSupport

/// A job's end-to-end tokens/s against the engine alone on the same windows (issue 6).
///
/// Plans `input` once with the model's vocabulary and takes the job's map
/// requests. Then, in ABBA order to spread machine-load drift:
/// - **engine**: a fresh `LlamaEngine` (model load included) generates every map request in order;
/// - **job**: `JobRunner.run()` in a fresh workspace with the same engine settings
///   (ingest, plan, model load, map, reduce, report);
/// - **cli** (when a `longctx` binary sits next to this one): `longctx run --json`
///   as a user runs it, in a fresh workspace (its engine also saves KV checkpoints).
/// Tokens are prompt + output tokens of every request or task; time is wall
/// time, and CPU time (user + system, of this process or of the `longctx` child),
/// which other work on the machine disturbs less.
func throughputBenchmark(input: String, context: Int, maxTokens: Int) async throws {
  guard let modelPath = ProcessInfo.processInfo.environment["LONGCTX_MODEL"] else {
    print("longctx-bench throughput: set LONGCTX_MODEL (eval \"$(bash scripts/setup.sh --env)\")")
    exit(2)
  }
  let inputURL = URL(fileURLWithPath: input).standardizedFileURL
  let tmp = try TemporaryDirectory()
  defer { tmp.remove() }
  let yaml = """
    name: throughput
    inputs: ["\(inputURL.path)"]
    model: {engine: llama, path: "\(modelPath)", context: \(context)}
    generation: {max_tokens: \(maxTokens), temperature: 0, seed: 1}
    map:
      prompt: |
        Log lines follow; each block starts with its file and line range in brackets.

        {{window}}

        Incidents in these lines, citing [file#Lx-Ly]:
    reduce:
      prompt: |
        Incident notes follow, each with its sources.

        {{outputs}}

        Incident summary:
    report: {path: report.md}
    """
  let jobFile = tmp.url.appendingPathComponent("job.yaml")
  try Data(yaml.utf8).write(to: jobFile)
  let spec = try JobFile.parse(yaml, path: jobFile.path, baseDirectory: tmp.url.path)
  let counter = LlamaTokenCounter(model: try LlamaModel(path: modelPath, vocabOnly: true), vocabularyID: "bench-gemma")
  let options = LlamaEngineOptions(contextTokens: context)
  var logger = Logger(label: "bench")
  logger.logLevel = .warning
  let factory: @Sendable () async throws -> any Engine = { try LlamaEngine(modelPath: modelPath, options: options) }

  let planWS = try Workspace(root: tmp.url.appendingPathComponent("ws-plan"))
  let prepared = try await JobRunner(
    workspace: planWS, spec: spec, counter: counter, modelKey: "bench", logger: logger,
    engineFactory: { throw EngineError.unavailable("planning only") }
  ).prepare()
  let requests = prepared.mapTasks.map(\.1)
  print(
    "input: \(inputURL.path); \(requests.count) windows, \(prepared.plan.totalTokens) window tokens (budget \(prepared.budget)); context \(context), max_tokens \(maxTokens), threads \(options.threads)"
  )

  struct Phase {
    var name: String
    var requests: Int
    var prompt: Int
    var output: Int
    var seconds: Double
    var cpu = 0.0
  }
  func cpuSeconds(_ who: Int32) -> Double {
    var usage = rusage()
    getrusage(who, &usage)
    return Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) + Double(
      usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6
  }
  func engineAlone() async throws -> Phase {
    let start = Date()
    let cpu = cpuSeconds(RUSAGE_SELF.rawValue)
    let engine = try await factory()
    var prompt = 0
    var output = 0
    for r in requests {
      let result = try await engine.generate(r)
      prompt += result.promptTokens
      output += result.outputTokens
    }
    return Phase(
      name: "engine alone: LlamaEngine, map requests", requests: requests.count, prompt: prompt, output: output,
      seconds: Date().timeIntervalSince(start), cpu: cpuSeconds(RUSAGE_SELF.rawValue) - cpu)
  }
  var fresh = 0
  func job() async throws -> Phase {
    fresh += 1
    let ws = try Workspace(root: tmp.url.appendingPathComponent("ws-job-\(fresh)"))
    let start = Date()
    let cpu = cpuSeconds(RUSAGE_SELF.rawValue)
    let s = try await JobRunner(
      workspace: ws, spec: spec, counter: counter, modelKey: "bench", logger: logger, engineFactory: factory
    ).run()
    return Phase(
      name: "job: JobRunner.run(), map + reduce", requests: s.executed, prompt: s.promptTokens, output: s.outputTokens,
      seconds: Date().timeIntervalSince(start), cpu: cpuSeconds(RUSAGE_SELF.rawValue) - cpu)
  }
  let cliBinary = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent(
    "longctx")
  func cli() throws -> Phase? {
    guard FileManager.default.isExecutableFile(atPath: cliBinary.path) else { return nil }
    let p = Process()
    fresh += 1
    let start = Date()
    let cpu = cpuSeconds(RUSAGE_CHILDREN.rawValue)
    p.executableURL = cliBinary
    p.arguments = [
      "run", jobFile.path, "--workspace", tmp.url.appendingPathComponent("ws-cli-\(fresh)").path, "--json", "--quiet",
    ]
    let out = Pipe()
    p.standardOutput = out
    try p.run()
    let data = out.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    let seconds = Date().timeIntervalSince(start)
    guard p.terminationStatus == 0 else {
      print("cli run failed with \(p.terminationStatus)")
      return nil
    }
    let s = try JSONDecoder().decode(RunSummary.self, from: data)
    return Phase(
      name: "cli: longctx run (KV checkpoints on), map + reduce", requests: s.executed, prompt: s.promptTokens,
      output: s.outputTokens, seconds: seconds, cpu: cpuSeconds(RUSAGE_CHILDREN.rawValue) - cpu)
  }

  var phases: [Phase] = []
  phases.append(try await engineAlone())
  phases.append(try await job())
  if let c = try cli() { phases.append(c) }
  phases.append(try await job())
  phases.append(try await engineAlone())

  func rate(_ p: Phase) -> Double { Double(p.prompt + p.output) / p.seconds }
  print("")
  print("| round | phase | requests | prompt tok | output tok | seconds | tokens/s | CPU s | tokens/CPU s |")
  print("|---:|---|---:|---:|---:|---:|---:|---:|---:|")
  for (i, p) in phases.enumerated() {
    print(
      String(
        format: "| %d | %@ | %d | %d | %d | %.1f | %.1f | %.1f | %.1f |", i + 1, p.name, p.requests, p.prompt,
        p.output, p.seconds, rate(p), p.cpu, Double(p.prompt + p.output) / p.cpu))
  }
  func mean(_ prefix: String, _ time: (Phase) -> Double) -> Double? {
    let matching = phases.filter { $0.name.hasPrefix(prefix) }
    guard !matching.isEmpty else { return nil }
    let tokens = matching.reduce(0) { $0 + $1.prompt + $1.output }
    return Double(tokens) / matching.reduce(0) { $0 + time($1) }
  }
  let engine = mean("engine", \.seconds) ?? 0
  let engineCPU = mean("engine", \.cpu) ?? 0
  print("")
  print(String(format: "engine alone: %.1f tokens/s, %.1f tokens per CPU second", engine, engineCPU))
  for (prefix, label) in [("job", "job (JobRunner)"), ("cli", "job (longctx run)")] {
    guard let wall = mean(prefix, \.seconds), let cpu = mean(prefix, \.cpu) else { continue }
    print(
      String(
        format: "%@: %.1f tokens/s, ratio %.2f; %.1f tokens per CPU second, ratio %.2f (goal ≥ 0.90)",
        label, wall, wall / engine, cpu, cpu / engineCPU))
  }
}
