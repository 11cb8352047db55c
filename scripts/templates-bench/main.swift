// Grouping and Parsing Accuracy of TemplateMiner (and of Segmenter's LogTemplates
// rule, the baseline) on the loghub 2k datasets, and the miner's throughput.
// Built and run by scripts/bench-templates.sh.
import Foundation

/// This thread's CPU seconds: the machine is shared, so wall time overstates the cost.
func cpuSeconds() -> Double {
  var t = timespec()
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t)
  return Double(t.tv_sec) + Double(t.tv_nsec) / 1e9
}

let root = CommandLine.arguments.dropFirst().first ?? "../shared/corpus/logs/loghub"
let dirs = ((try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []).sorted()
  .map { URL(fileURLWithPath: root).appendingPathComponent($0) }
var rows: [(String, Double, Double, Double, Double, Int, Int, LogHeaderLayout)] = []
var worst = Double.infinity
var worstName = ""
var worstMiner = Double.infinity
var worstMinerName = ""
func pad(_ s: String, _ n: Int) -> String { s.count >= n ? s : s + String(repeating: " ", count: n - s.count) }
for dir in dirs {
  guard let d = try TemplateEvaluation.loadLoghub(dir) else { continue }
  let mtime = Date(timeIntervalSince1970: 1_700_000_000)
  let run = LogTemplateMining.mine(lines: d.lines, referenceDate: mtime)
  let ga = TemplateEvaluation.groupingAccuracy(predicted: run.ids, truth: d.eventIDs)
  let texts = Dictionary(uniqueKeysWithValues: run.miner.templates.map { ($0.id, $0.text) })
  let pa = TemplateEvaluation.parsingAccuracy(predicted: run.ids.map { texts[$0]! }, truth: d.templates)
  // Baseline: today's rule on the same message parts.
  let messages = LogTemplateMining.messages(lines: d.lines, referenceDate: mtime)
  let base = messages.map { LogTemplates.template(of: Substring($0)) }
  let bga = TemplateEvaluation.groupingAccuracy(predicted: base, truth: d.eventIDs)
  let bpa = TemplateEvaluation.parsingAccuracy(predicted: base, truth: d.templates)
  // Throughput: the whole pass (header + miner) over the file repeated to >= 32 MB.
  let reps = max(1, 32_000_000 / d.bytes)
  var big: [String] = []
  for _ in 0..<reps { big.append(contentsOf: d.lines) }
  let start = cpuSeconds()
  let r = LogTemplateMining.mine(lines: big, referenceDate: mtime)
  let seconds = cpuSeconds() - start
  let mbps = Double(d.bytes * reps) / seconds / 1e6
  let lps = Double(big.count) / seconds
  // The miner on its own, on the message parts (MB/s of message bytes).
  var bigMessages: [String] = []
  for _ in 0..<reps { bigMessages.append(contentsOf: messages) }
  let messageBytes = bigMessages.reduce(0) { $0 + $1.utf8.count }
  var miner = TemplateMiner()
  let minerStart = cpuSeconds()
  for m in bigMessages { _ = miner.add(m) }
  let minerMBps = Double(messageBytes) / (cpuSeconds() - minerStart) / 1e6
  if minerMBps < worstMiner { worstMiner = minerMBps; worstMinerName = d.name }
  if mbps < worst { worst = mbps; worstName = d.name }
  precondition(r.ids.count == big.count)
  rows.append((d.name, ga, pa, bga, bpa, Int(mbps), Int(lps), run.layout))
  print(
    "| \(pad(d.name, 10)) | \(pad(run.layout.rawValue, 12)) | \(String(format: "%.3f", ga)) | \(String(format: "%.3f", pa)) | \(String(format: "%.3f", bga)) | \(String(format: "%.3f", bpa)) | \(pad(String(run.miner.templateCount), 4)) | \(pad(String(Set(d.eventIDs).count), 4)) | \(Int(mbps)) | \(Int(lps)) | \(Int(minerMBps)) |")
}
let n = Double(rows.count)
print(
  "| mean       |              | \(String(format: "%.3f", rows.map(\.1).reduce(0, +) / n)) | \(String(format: "%.3f", rows.map(\.2).reduce(0, +) / n)) | \(String(format: "%.3f", rows.map(\.3).reduce(0, +) / n)) | \(String(format: "%.3f", rows.map(\.4).reduce(0, +) / n)) | | | worst \(Int(worst)) (\(worstName)) | | worst \(Int(worstMiner)) (\(worstMinerName)) |")
