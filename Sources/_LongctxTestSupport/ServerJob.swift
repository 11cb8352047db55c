import Foundation

/// What the CLI suites against a real `llama-server` share: their inputs, a job on the
/// `openai` engine, the CLI run on a workspace, and the summary `run --json` prints.
public enum ServerJob {
  /// Writes `inputs/service-1.log` … `inputs/service-4.log` into `dir`, six lines each:
  /// three windows or more at a context of 256 tokens.
  ///
  /// - Throws: When a file cannot be written.
  public static func writeServiceLogs(in dir: TemporaryDirectory) throws {
    for i in 1...4 {
      let lines = (1...6).map { n in
        "2026-01-0\(i) 10:\(String(format: "%02d", n)):00 INFO service-\(i) handled request \(n * 7 + i) for customer \(i)-\(n) in \(n * 3) ms"
      }
      try dir.write("inputs/service-\(i).log", lines.joined(separator: "\n") + "\n")
    }
  }

  /// A job that summarizes `inputs/` through `server`: context 256, two requests at a time,
  /// 8 output tokens per task, a map and a reduce, the report in `report.md`.
  ///
  /// - Parameters:
  ///   - name: The job's name.
  ///   - server: The server the job's `model.base_url` points at.
  ///   - model: More lines inside `model:`, e.g. `api: chat`.
  ///   - more: More top-level lines at the end, e.g. `budget: {usd: 1}`.
  /// - Returns: The job file's text.
  public static func yaml(name: String, server: LlamaServer, model: [String] = [], more: [String] = []) -> String {
    let head = [
      "name: \(name)",
      "inputs: [inputs]",
      "model:",
      "  engine: openai",
      "  base_url: \(server.baseURL)",
      "  name: gemma",
      "  context: 256",
      "  concurrency: 2",
      "  timeout: 60",
    ]
    let tail = [
      "generation: {max_tokens: 8, seed: 1}",
      "map:",
      "  prompt: |",
      "    Log excerpt:",
      "    {{window}}",
      "    One-line summary:",
      "reduce:",
      "  prompt: |",
      "    Summaries:",
      "    {{outputs}}",
      "    Overall summary:",
      "report: {path: report.md}",
    ]
    return (head + model.map { "  " + $0 } + tail + more).joined(separator: "\n") + "\n"
  }

  /// Runs the CLI with `--workspace workspace` after `arguments`.
  ///
  /// - Returns: Its exit code and output.
  /// - Throws: When the CLI cannot be started.
  public static func longctx(_ arguments: [String], workspace: String, environment: [String: String] = [:])
    async throws -> CLI.Result
  {
    try await CLI.launch(arguments + ["--workspace", workspace], environment: environment).finish()
  }

  /// Decodes the JSON summary that `run --json` prints after any other text.
  ///
  /// - Returns: The summary.
  /// - Throws: `HarnessError` when the output holds no JSON object; a decoding error when it does not fit `T`.
  public static func summary<T: Decodable>(_ type: T.Type, of result: CLI.Result) throws -> T {
    guard let start = result.stdout.firstIndex(of: "{") else {
      throw HarnessError("no JSON summary; stderr: \(result.stderr)")
    }
    return try JSONDecoder().decode(T.self, from: Data(result.stdout[start...].utf8))
  }
}
