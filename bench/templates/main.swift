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
  var labels: [TemplateEvaluation.Labels: [String]] = [:]
  var lines: [String] = []
  for l in TemplateEvaluation.Labels.allCases {
    guard let d = try TemplateEvaluation.loadLoghub(dir, labels: l) else { continue }
    labels[l] = d.templates
    lines = d.lines
  }
  if !labels.isEmpty { systems.append(System(name: dir.lastPathComponent, lines: lines, labels: labels)) }
}

/// The miner's parameters that the leave-one-system-out protocol may choose.
struct Config: Hashable, CustomStringConvertible {
  var threshold: Double
  var distinct: Int
  var minValues: Int
  var linesPerValue: Double
  func miner() -> TemplateMiner {
    TemplateMiner(
      threshold: threshold, distinct: distinct, decorates: true, minValues: minValues, linesPerValue: linesPerValue)
  }
  var description: String {
    "threshold \(threshold) distinct \(distinct) minValues \(minValues) linesPerValue \(linesPerValue)"
  }
}
let m0 = TemplateMiner()
let defaults = Config(
  threshold: m0.threshold, distinct: m0.distinct, minValues: m0.minValues, linesPerValue: m0.linesPerValue)
let grid = [defaults] + [0.3, 0.4, 0.5, 0.6, 0.7].flatMap { t in
  [2, 3, 4, 5, 6, 8].flatMap { d in
    [(2, 1.0), (3, 1.0), (3, 2.0), (4, 2.0), (100, 1.0)].map {
      Config(threshold: t, distinct: d, minValues: $0.0, linesPerValue: $0.1)
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
  let run = LogTemplateMining.mine(lines: s.lines, referenceDate: mtime, miner: c.miner())
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

// Leave one system out: for each system, the configuration with the best mean GA
// (corrected labels; the original when a system has no corrected ones) on the six others
// (ties: the default, then the grid's order), scored on the one left out.
func objective(_ s: [TemplateEvaluation.Labels: TemplateEvaluation.Scores]) -> Double {
  (s[.corrected] ?? s[.original])?.ga ?? 0
}
var loso: [(String, [TemplateEvaluation.Labels: TemplateEvaluation.Scores])] = []
var chosen: [String] = []
for (k, s) in systems.enumerated() {
  var best = defaults
  var bestMean = -1.0
  for c in grid {
    let others = byConfig[c]!.enumerated().filter { $0.offset != k }.map { objective($0.element) }
    let mean = others.reduce(0, +) / Double(max(1, others.count))
    if mean > bestMean + 1e-12 {
      best = c
      bestMean = mean
    }
  }
  chosen.append("\(s.name): \(best)")
  loso.append((s.name, byConfig[best]![k]))
}
table("Leave one system out (parameters chosen on the six others by mean GA, scored on the seventh):", loso)
print("")
print("Chosen: " + chosen.joined(separator: "; "))

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
