// Accuracy of TemplateMiner on the loghub 2k datasets (GA, PA, FGA, FTA on both label sets,
// whole lines as in the file; leave-one-system-out over the miner's parameters; another
// parser's predictions scored the same way), then the baseline rule and the miner's throughput.
// Built and run by bench/templates.sh:  templates-bench [LOGHUB] [--predictions DIR NAME]… [--no-speed]
import Foundation

/// This thread's CPU seconds: the machine is shared, so wall time overstates the cost.
func cpuSeconds() -> Double {
  var t = timespec()
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t)
  return Double(t.tv_sec) + Double(t.tv_nsec) / 1e9
}

var arguments = Array(CommandLine.arguments.dropFirst())
var speed = true
/// Where to write the miner's predictions (`NAME.tsv`, as bench/drain3-baseline.py writes them).
var dump: String?
var foreign: [(name: String, dir: String)] = []
var positional: [String] = []
while let a = arguments.first {
  arguments.removeFirst()
  if a == "--no-speed" {
    speed = false
  } else if a == "--dump", let d = arguments.first {
    dump = d
    arguments.removeFirst()
  } else if a == "--predictions", arguments.count >= 2 {
    foreign.append((arguments[1], arguments[0]))
    arguments.removeFirst(2)
  } else {
    positional.append(a)
  }
}
let root = positional.first ?? "../shared/corpus/logs/loghub"
let dirs = ((try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []).sorted()
  .map { URL(fileURLWithPath: root).appendingPathComponent($0) }
let mtime = Date(timeIntervalSince1970: 1_700_000_000)
func f3(_ x: Double) -> String { String(format: "%.3f", x) }
func pad(_ s: String, _ n: Int) -> String { s.count >= n ? s : s + String(repeating: " ", count: n - s.count) }

// MARK: - Accuracy

/// Both label sets of one system (the lines are the same).
struct System {
  var name: String
  var lines: [String]
  var labels: [TemplateEvaluation.Labels: [String]]
}
var systems: [System] = []
for dir in dirs {
  if let loaded = try TemplateEvaluation.loadLoghubLabelSets(dir) {
    systems.append(System(name: dir.lastPathComponent, lines: loaded.lines, labels: loaded.labels))
  }
}

/// The miner's parameters that the leave-one-system-out protocol may choose.
struct Config: Hashable, CustomStringConvertible {
  var threshold: Double
  var distinct: Int
  var depth: Int
  /// Whether `consolidate()` runs at all (the second pass).
  var secondPass: Bool
  var mergesFamilies: Bool
  var minValues: Int
  var linesPerValue: Double
  var trailingFields: Int
  func miner() -> TemplateMiner {
    TemplateMiner(
      threshold: threshold, depth: depth, distinct: distinct, decorates: true, minValues: minValues,
      linesPerValue: linesPerValue, mergesFamilies: mergesFamilies, trailingFields: trailingFields)
  }
  var description: String {
    let second =
      !secondPass
      ? "no second pass"
      : "families \(mergesFamilies ? "minValues \(minValues) linesPerValue \(linesPerValue)" : "off") trailing \(trailingFields)"
    return "threshold \(threshold) distinct \(distinct) depth \(depth) \(second)"
  }
}
let m0 = TemplateMiner()
let defaults = Config(
  threshold: m0.threshold, distinct: m0.distinct, depth: m0.depth, secondPass: true, mergesFamilies: m0.mergesFamilies,
  minValues: m0.minValues, linesPerValue: m0.linesPerValue, trailingFields: m0.trailingFields)
// The grid (documented in BENCHMARKS.md, issue 31): the first pass's similarity threshold and
// distinct values, the tree's depth, and the second pass: off, or families (by minValues and
// linesPerValue; 100 = only `distinct` values make a variable; or no families) with 0 or 3
// optional trailing fields. 5 × 6 × 2 × 12 = 720 configurations, the defaults first.
let secondPasses: [(Bool, Bool, Int, Double, Int)] =
  [(false, true, 3, 1.0, 3)]
  + [(2, 1.0), (3, 1.0), (3, 2.0), (4, 2.0), (100, 1.0)].flatMap { v in
    [0, 3].map { (true, true, v.0, v.1, $0) }
  }
  + [(true, false, 3, 1.0, 3)]
let grid = [defaults] + [0.3, 0.4, 0.5, 0.6, 0.7].flatMap { t in
  [2, 3, 4, 5, 6, 8].flatMap { d in
    [4, 5].flatMap { depth in
      secondPasses.map {
        Config(
          threshold: t, distinct: d, depth: depth, secondPass: $0.0, mergesFamilies: $0.1, minValues: $0.2,
          linesPerValue: $0.3, trailingFields: $0.4)
      }
    }
  }
}
.filter { $0 != defaults }

/// A group and a template per line.
struct Prediction {
  var groups: [Int]
  var templates: [String]
}
func mine(_ s: System, _ c: Config) -> Prediction {
  let run = LogTemplateMining.mine(lines: s.lines, referenceDate: mtime, miner: c.miner(), consolidate: c.secondPass)
  let texts = Dictionary(uniqueKeysWithValues: run.miner.templates.map { ($0.id, $0.text) })
  return Prediction(groups: run.ids, templates: run.ids.map { texts[$0] ?? "" })
}
func scores(_ p: Prediction, _ s: System) -> [TemplateEvaluation.Labels: TemplateEvaluation.Scores] {
  s.labels.mapValues { TemplateEvaluation.Scores(groups: p.groups, templates: p.templates, truth: $0) }
}

/// Prints one table: per system GA/PA/FGA/FTA on both label sets, then the mean and the worst.
func table(_ title: String, _ rows: [(String, [TemplateEvaluation.Labels: TemplateEvaluation.Scores])]) {
  print("")
  print(title)
  print("")
  print("| system | GA | PA | FGA | FTA | GA corr. | PA corr. | FGA corr. | FTA corr. |")
  print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
  func cells(_ pick: ([Double]) -> Double) -> [String] {
    TemplateEvaluation.Labels.allCases.flatMap { l -> [String] in
      [\TemplateEvaluation.Scores.ga, \.pa, \.fga, \.fta].map { k in
        let v = rows.compactMap { $0.1[l]?[keyPath: k] }
        return v.isEmpty ? "-" : f3(pick(v))
      }
    }
  }
  for (name, s) in rows {
    let c = TemplateEvaluation.Labels.allCases.flatMap { l in
      [\TemplateEvaluation.Scores.ga, \.pa, \.fga, \.fta].map { k in s[l].map { v in f3(v[keyPath: k]) } ?? "-" }
    }
    print("| \(name) | " + c.joined(separator: " | ") + " |")
  }
  print("| **mean** | " + cells { $0.reduce(0, +) / Double($0.count) }.joined(separator: " | ") + " |")
  print("| **worst** | " + cells { $0.min() ?? 0 }.joined(separator: " | ") + " |")
}

// Every configuration on every system, once.
var byConfig: [Config: [[TemplateEvaluation.Labels: TemplateEvaluation.Scores]]] = [:]
for c in grid { byConfig[c] = systems.map { scores(mine($0, c), $0) } }
if let dump {
  try? FileManager.default.createDirectory(atPath: dump, withIntermediateDirectories: true)
  for s in systems {
    let p = mine(s, defaults)
    let rows = zip(p.groups, p.templates).map { "\($0)\t\($1)\n" }.joined()
    try rows.write(toFile: "\(dump)/\(s.name).tsv", atomically: true, encoding: .utf8)
  }
}
table(
  "TemplateMiner, default parameters (\(defaults)), whole lines as in the file:",
  zip(systems.map(\.name), byConfig[defaults]!).map { ($0, $1) })

// Leave one system out, nested: for each system, the configuration of the grid with the best
// mean objective on the six others (ties: the default, then the grid's order;
// TemplateEvaluation.leaveOneOut), scored on the one left out. Two objectives, each on the
// corrected labels (the original where a system has none): GA alone, and the mean of GA, PA,
// FGA and FTA.
typealias Row = [TemplateEvaluation.Labels: TemplateEvaluation.Scores]
let objectives: [(name: String, of: (Row) -> Double)] = [
  ("GA", { ($0[.corrected] ?? $0[.original])?.ga ?? 0 }),
  (
    "mean of GA, PA, FGA, FTA",
    { r in (r[.corrected] ?? r[.original]).map { ($0.ga + $0.pa + $0.fga + $0.fta) / 4 } ?? 0 }
  ),
]
print("")
print("Grid: \(grid.count) configurations (defaults: \(defaults)).")
for objective in objectives {
  let objectiveTable = grid.map { c in byConfig[c]!.map(objective.of) }
  let picks = TemplateEvaluation.leaveOneOut(objective: objectiveTable)
  let loso = systems.indices.map { (systems[$0].name, byConfig[grid[picks[$0]]]![$0]) }
  table(
    "Leave one system out, chosen on the six others by mean \(objective.name), scored on the seventh:", loso)
  print("")
  for (k, s) in systems.enumerated() {
    let c = grid[picks[k]]
    print("- \(s.name): \(c == defaults ? "the defaults" : c.description)")
  }
  // For reference only (in-sample, not a held-out figure): the best configuration on all seven.
  let all = objectiveTable.map { $0.reduce(0, +) / Double(max(1, $0.count)) }
  if let best = all.indices.max(by: { all[$0] < all[$1] || all[$0] == all[$1] && $0 > $1 }) {
    print(
      "- in-sample best on all seven by \(objective.name) (not a held-out figure): "
        + (grid[best] == defaults ? "the defaults" : grid[best].description)
        + String(format: ", %.4f against the defaults' %.4f", all[best], all[0]))
  }
}

// Another parser's predictions (bench/drain3-baseline.py writes `NAME.tsv`: group<TAB>template per line).
for (name, dir) in foreign {
  var rows: [(String, [TemplateEvaluation.Labels: TemplateEvaluation.Scores])] = []
  for s in systems {
    let file = URL(fileURLWithPath: dir).appendingPathComponent("\(s.name).tsv")
    guard let text = try? String(contentsOf: file, encoding: .utf8) else { continue }
    var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
    if lines.last == "" { lines.removeLast() }
    guard lines.count == s.lines.count else {
      print("\(name) \(s.name): \(lines.count) predictions for \(s.lines.count) lines, skipped")
      continue
    }
    let parts = lines.map { $0.split(separator: "\t", maxSplits: 1, omittingEmptySubsequences: false) }
    let p = Prediction(
      groups: parts.map { Int($0[0]) ?? -1 }, templates: parts.map { $0.count > 1 ? String($0[1]) : "" })
    rows.append((s.name, scores(p, s)))
  }
  table("\(name), same lines, same scorer:", rows)
}
guard speed else { exit(0) }

// MARK: - Baseline and speed

print("")
print("| dataset    | layout       | GA    | PA    | base GA | base PA | templates | events | pass MB/s | pass lines/s | miner MB/s | cache hits |")
print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
var rows: [(String, Double, Double, Double, Double, Int, Int, LogHeaderLayout)] = []
var worst = Double.infinity
var worstName = ""
var wholeLineBaseline: [Double] = []
var worstMiner = Double.infinity
var worstMinerName = ""
for dir in dirs {
  guard let d = try TemplateEvaluation.loadLoghub(dir) else { continue }
  let run = LogTemplateMining.mine(lines: d.lines, referenceDate: mtime)
  let ga = TemplateEvaluation.groupingAccuracy(predicted: run.ids, truth: d.eventIDs)
  let texts = Dictionary(uniqueKeysWithValues: run.miner.templates.map { ($0.id, $0.text) })
  let pa = TemplateEvaluation.parsingAccuracy(predicted: run.ids.map { texts[$0]! }, truth: d.templates)
  // Baseline: today's rule on the same message parts.
  let messages = LogTemplateMining.messages(lines: d.lines, referenceDate: mtime)
  let base = messages.map { LogTemplates.template(of: Substring($0)) }
  let bga = TemplateEvaluation.groupingAccuracy(predicted: base, truth: d.eventIDs)
  let bpa = TemplateEvaluation.parsingAccuracy(predicted: base, truth: d.templates)
  let wholeBase = d.lines.map { LogTemplates.template(of: Substring($0)) }
  let wga = TemplateEvaluation.groupingAccuracy(predicted: wholeBase, truth: d.eventIDs)
  wholeLineBaseline.append(wga)
  // Throughput: the whole pass (header + miner) over the file, again and again to >= 32 MB,
  // each time with a fresh miner, so that nothing learnt on one copy (the miner's message
  // cache included) helps the next: every figure is a 2,000-line log's first pass.
  let reps = max(1, 32_000_000 / d.bytes)
  let start = cpuSeconds()
  var lines = 0
  for _ in 0..<reps { lines += LogTemplateMining.mine(lines: d.lines, referenceDate: mtime).ids.count }
  let seconds = cpuSeconds() - start
  let mbps = Double(d.bytes * reps) / seconds / 1e6
  let lps = Double(lines) / seconds
  // The miner on its own, on the message parts (MB/s of message bytes), fresh per copy too.
  let messageBytes = messages.reduce(0) { $0 + $1.utf8.count } * reps
  let minerStart = cpuSeconds()
  for _ in 0..<reps {
    var miner = TemplateMiner()
    for m in messages { _ = miner.add(m) }
  }
  let minerMBps = Double(messageBytes) / (cpuSeconds() - minerStart) / 1e6
  let hitRate = Double(run.miner.cacheHits) / Double(max(1, d.lines.count))
  if minerMBps < worstMiner { worstMiner = minerMBps; worstMinerName = d.name }
  if mbps < worst { worst = mbps; worstName = d.name }
  precondition(lines == d.lines.count * reps)
  rows.append((d.name, ga, pa, bga, bpa, Int(mbps), Int(lps), run.layout))
  print(
    "| \(pad(d.name, 10)) | \(pad(run.layout.rawValue, 12)) | \(String(format: "%.3f", ga)) | \(String(format: "%.3f", pa)) | \(String(format: "%.3f", bga)) | \(String(format: "%.3f", bpa)) | \(pad(String(run.miner.templateCount), 4)) | \(pad(String(Set(d.eventIDs).count), 4)) | \(Int(mbps)) | \(Int(lps)) | \(Int(minerMBps)) | \(String(format: "%.2f", hitRate)) |")
}
let n = Double(rows.count)
print(
  "| mean       |              | \(String(format: "%.3f", rows.map(\.1).reduce(0, +) / n)) | \(String(format: "%.3f", rows.map(\.2).reduce(0, +) / n)) | \(String(format: "%.3f", rows.map(\.3).reduce(0, +) / n)) | \(String(format: "%.3f", rows.map(\.4).reduce(0, +) / n)) | | | worst \(Int(worst)) (\(worstName)) | | worst \(Int(worstMiner)) (\(worstMinerName)) | |")
print("")
print("Baseline GA on whole lines (today's rule, no header recognition): " + wholeLineBaseline.map { String(format: "%.3f", $0) }.joined(separator: " ") + String(format: ", mean %.3f", wholeLineBaseline.reduce(0, +) / Double(max(1, wholeLineBaseline.count))))

// Logs without ground truth (../other): layout and template count, as a sanity check.
let other = URL(fileURLWithPath: root).deletingLastPathComponent().appendingPathComponent("other")
if let e = FileManager.default.enumerator(at: other, includingPropertiesForKeys: nil) {
  print("")
  print("| other log | layout | lines | templates |")
  print("|---|---|---:|---:|")
  var urls: [URL] = []
  while let u = e.nextObject() as? URL { if !u.hasDirectoryPath, !u.pathExtension.contains("gz") { urls.append(u) } }
  for u in urls.sorted(by: { $0.path < $1.path }) {
    guard let data = try? Data(contentsOf: u) else { continue }
    let lines = [UInt8](data).split(separator: 0x0A).map { String(decoding: $0.last == 0x0D ? $0.dropLast() : $0, as: UTF8.self) }
    let r = LogTemplateMining.mine(lines: lines, referenceDate: Date(timeIntervalSince1970: 1_700_000_000))
    print("| \(u.deletingLastPathComponent().lastPathComponent)/\(u.lastPathComponent) | \(r.layout.rawValue) | \(lines.count) | \(r.miner.templateCount) |")
  }
}
