// Mining speed alone on a replay of the development logs (issue 31): each loghub 2k system's message
// parts (header cut as ingest cuts it) mined again and again by one miner, to LINES lines in all
// (10M by default, split evenly over the systems), then the second pass (`consolidate()`, when the
// sources have it: -D CONSOLIDATE). One core: CPU seconds of this thread.
// With `fresh`, a new miner for each copy of a system's 2,000 lines (each copy a first pass: the
// message cache learns nothing from the copy before; the second pass at the end of each copy).
// Built and run by bench/templates.sh (SPEED=1):  templates-replay LOGHUB [LINES] [fresh]
import Foundation

func cpuSeconds() -> Double {
  var t = timespec()
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t)
  return Double(t.tv_sec) + Double(t.tv_nsec) / 1e9
}

let args = CommandLine.arguments
let root = args.count > 1 ? args[1] : "../shared/corpus/logs/loghub"
let total = args.count > 2 ? Int(args[2]) ?? 10_000_000 : 10_000_000
let fresh = args.count > 3 && args[3] == "fresh"
let dirs = ((try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []).sorted()
  .map { URL(fileURLWithPath: root).appendingPathComponent($0) }
var systems: [(String, [[UInt8]])] = []
for dir in dirs {
  guard let d = try TemplateEvaluation.loadLoghub(dir) else { continue }
  let messages = LogTemplateMining.messages(lines: d.lines, referenceDate: Date(timeIntervalSince1970: 1_700_000_000))
  systems.append((d.name, messages.map { Array($0.utf8) }))
}
let per = total / max(1, systems.count)
var allLines = 0
var allSeconds = 0.0
var row: [String] = []
for (name, messages) in systems {
  var miner = TemplateMiner()
  var lines = 0
  let start = cpuSeconds()
  while lines < per {
    for m in messages where lines < per {
      _ = m.withUnsafeBufferPointer { miner.add(bytes: $0) }
      lines += 1
    }
    if fresh {
      #if CONSOLIDATE
        miner.consolidate()
      #endif
      miner = TemplateMiner()
    }
  }
  #if CONSOLIDATE
    miner.consolidate()
  #endif
  let seconds = cpuSeconds() - start
  allLines += lines
  allSeconds += seconds
  row.append("\(name) \(Int(Double(lines) / seconds))")
}
let mode = fresh ? "fresh miner per copy" : "one miner"
let rate = Int(Double(allLines) / allSeconds)
print("\(mode), replay \(allLines) lines: \(rate) lines/s (\(row.joined(separator: ", ")))")
