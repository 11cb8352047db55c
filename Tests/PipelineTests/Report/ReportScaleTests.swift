import Foundation
import Inference
import Logging
import Pipeline
import Storage
import Testing
import _LongctxTestSupport

/// The report of a 10M-token plan (thousands of windows): every format renders
/// and is written in at most 5 s, and the HTML stays under 20 MB. Slow to set
/// up (ingest, plan and 2,500 fake map tasks), so it runs only with
/// `LONGCTX_REPORT_SCALE=1`; BENCHMARKS.md has the figures.
@Suite struct ReportScaleTests {
  @Test func tenMillionTokenPlanReport() async throws {
    guard ProcessInfo.processInfo.environment["LONGCTX_REPORT_SCALE"] == "1" else {
      print("skipped: set LONGCTX_REPORT_SCALE=1 to render the report of a 10M-token plan")
      return
    }
    let tmp = try TemporaryDirectory()
    defer { tmp.remove() }
    // 10M estimated tokens (bytes / 3 + 10%): about 27 MB of varied log lines over 20 days.
    let levels = ["INFO", "INFO", "INFO", "DEBUG", "WARN", "ERROR"]
    let services = ["ingest-service", "report-api", "auth", "scheduler", "db.pool"]
    var text = ""
    text.reserveCapacity(28 << 20)
    var i = 0
    let start = 1_772_323_200.0  // 2026-03-01
    let iso = ISO8601DateFormatter()
    while text.utf8.count < 27_300_000 {
      let t = iso.string(from: Date(timeIntervalSince1970: start + Double(i) * 6.3))
      text +=
        "\(t) \(levels[i % levels.count]) \(services[i % services.count]) request \(i) for tenant t\(i % 977) took \(i % 5003) ms on node n\(i % 31), queue depth \(i % 211)\n"
      i += 1
    }
    try tmp.write("logs/big.log", text)
    let spec = try JobFile.parse(
      """
      name: scale
      inputs: [logs]
      model: {engine: llama, context: 4096}
      generation: {max_tokens: 16}
      plan: {collapse_repeats: false, collapse_duplicates: false}
      map: {prompt: "{{window}}\\nSummary:"}
      reduce: {prompt: "{{outputs}}\\nCombined:"}
      report: {path: out/scale.md, formats: [md, html, json, csv]}
      """, path: "scale.yaml", baseDirectory: tmp.url.path)
    let ws = try Workspace(root: tmp.url.appendingPathComponent("ws"))
    let engine = FakeEngine()
    let clock = ContinuousClock()
    let setUp = clock.now
    let summary = try await JobRunner(
      workspace: ws, spec: spec, counter: EstimatedTokenCounter(), modelKey: "fake", logger: Logger(label: "test"),
      engineFactory: { engine }
    ).run()
    print("scale: \(summary.windows) windows, \(summary.planTokens) tokens, run in \(clock.now - setUp)")
    #expect(summary.planTokens >= 9_000_000)
    #expect(summary.windows >= 2000)

    let began = clock.now
    let path = try ReportWriter(workspace: ws).write(job: spec)
    let elapsed = clock.now - began
    var sizes: [String: Int] = [:]
    for ext in ["md", "html", "json", "csv"] {
      let file = tmp.url.appendingPathComponent("out/scale.\(ext)").path
      sizes[ext] = (try FileManager.default.attributesOfItem(atPath: file)[.size] as? NSNumber)?.intValue ?? -1
    }
    print("scale: report in 4 formats written in \(elapsed) (\(path)); bytes: \(sizes.sorted { $0.key < $1.key })")
    for format in ReportFormat.allCases {
      let t0 = clock.now
      _ = try ReportWriter(workspace: ws).render(job: "scale", format: format, spec: spec)
      print("scale: \(format.rawValue) alone: \(clock.now - t0)")
    }
    #expect((sizes["html"] ?? .max) < 20 << 20)
    #expect(elapsed < .seconds(5 * 4), "four formats, 5 s each at most")
  }
}
