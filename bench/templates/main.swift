// Grouping and Parsing Accuracy of TemplateMiner (and of Segmenter's LogTemplates
// rule, the baseline) on the loghub 2k datasets, and the miner's throughput.
// Built and run by bench/templates.sh.
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
var wholeLineBaseline: [Double] = []
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
