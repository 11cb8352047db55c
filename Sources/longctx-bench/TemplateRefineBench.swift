import Foundation
import Inference
import Ingest
import LlamaBackend
import Pipeline

/// Issue 31, item 4: what LLM refinement adds to the miner's template text on the loghub 2k logs
/// of `root` (PA and FTA on both label sets, with and without), with the model at `$LONGCTX_MODEL`
/// (default: the setup's Gemma 3 270M). At most `budget` calls per system, most frequent templates
/// first.
///   longctx-bench templates-refine [loghub-dir] [budget]
func templateRefineBenchmark(root: String, budget: Int) async throws {
  let modelPath =
    ProcessInfo.processInfo.environment["LONGCTX_MODEL"]
    ?? NSHomeDirectory() + "/.cache/longctx/models/gemma-3-270m-q4_k_m.gguf"
  let engine = try LlamaEngine(modelPath: modelPath, options: LlamaEngineOptions(contextTokens: 2048))
  let refiner = TemplateRefiner(engine: engine, budget: budget)
  let mtime = Date(timeIntervalSince1970: 1_700_000_000)
  let dirs = ((try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []).sorted()
    .map { URL(fileURLWithPath: root).appendingPathComponent($0) }
  print("model \(URL(fileURLWithPath: modelPath).lastPathComponent), budget \(budget) calls per system")
  print("")
  print(
    "| system | templates | calls | accepted | changed | refused | PA | PA refined | FTA | FTA refined | PA corr. | PA corr. refined | FTA corr. | FTA corr. refined | seconds |"
  )
  print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
  var sums = [Double](repeating: 0, count: 8)
  var systems = 0
  for dir in dirs {
    guard let system = try TemplateEvaluation.loadLoghubLabelSets(dir) else { continue }
    let (lines, labels) = system
    let run = LogTemplateMining.mine(lines: lines, referenceDate: mtime, miner: TemplateMiner(decorates: true))
    let messages = LogTemplateMining.messages(lines: lines, referenceDate: mtime)
    var members: [Int: [String]] = [:]
    for (k, id) in run.ids.enumerated() { members[id, default: []].append(messages[k]) }
    let templates = run.miner.templates.sorted { $0.count > $1.count || $0.count == $1.count && $0.id < $1.id }
    let clusters = templates.map { TemplateRefiner.Cluster(template: $0.text, lines: members[$0.id] ?? []) }
    var cache: [String: String] = [:]
    let start = Date()
    let (outcomes, calls) = try await refiner.refine(clusters, cache: &cache)
    let seconds = Date().timeIntervalSince(start)
    var text = Dictionary(uniqueKeysWithValues: templates.map { ($0.id, $0.text) })
    var refinedText = text
    var accepted = 0
    var changed = 0
    var refused = 0
    for (t, o) in zip(templates, outcomes) {
      switch o {
      case .refined(let s):
        refinedText[t.id] = s
        accepted += 1
        if s != TemplateRefinement.collapse(t.text) { changed += 1 }
        if ProcessInfo.processInfo.environment["VERBOSE"] != nil { print("  + \(t.text)  =>  \(s)") }
      case .refused(let s):
        refused += 1
        if ProcessInfo.processInfo.environment["VERBOSE"] != nil { print("  - \(t.text)  =>  \(s ?? "(none)")") }
      case .skipped, .nothingToAsk: break
      }
    }
    text[-1] = ""
    func scores(_ texts: [Int: String], _ l: TemplateEvaluation.Labels) -> TemplateEvaluation.Scores? {
      labels[l].map {
        TemplateEvaluation.Scores(groups: run.ids, templates: run.ids.map { texts[$0] ?? "" }, truth: $0)
      }
    }
    var cells: [Double] = []
    for l in TemplateEvaluation.Labels.allCases {
      let a = scores(text, l)
      let b = scores(refinedText, l)
      cells += [a?.pa ?? 0, b?.pa ?? 0, a?.fta ?? 0, b?.fta ?? 0]
    }
    for k in cells.indices { sums[k] += cells[k] }
    systems += 1
    print(
      "| \(dir.lastPathComponent) | \(templates.count) | \(calls) | \(accepted) | \(changed) | \(refused) | "
        + cells.map { String(format: "%.3f", $0) }.joined(separator: " | ") + String(format: " | %.0f |", seconds))
  }
  print(
    "| **mean** | | | | | | "
      + sums.map { String(format: "%.3f", $0 / Double(max(1, systems))) }.joined(separator: " | ")
      + " | |")
}
