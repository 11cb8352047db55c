// The template miner alone on one loghub 2k dataset's messages, 100 fresh miners in a row (as
// ingest's miner: message cache on, no decorations); run under callgrind by
// scripts/templates-miner-instructions.sh, which reads the instructions of TemplateMiner.add(bytes:).
//   templates-instructions NAME [nocache] [LOGHUB]
import Foundation
func cpu() -> Double { var t = timespec(); clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t); return Double(t.tv_sec) + Double(t.tv_nsec) / 1e9 }
let name = CommandLine.arguments[1]
let d = try TemplateEvaluation.loadLoghub(URL(fileURLWithPath: (CommandLine.arguments.count > 3 ? CommandLine.arguments[3] : "../shared/corpus/logs/loghub") + "/\(name)"))!
let msgs = LogTemplateMining.messages(lines: d.lines, referenceDate: Date())
let cacheOff = CommandLine.arguments.count > 2 && CommandLine.arguments[2] == "nocache"
let t0 = cpu()
var n = 0
for _ in 0..<100 { var m = TemplateMiner(messageCache: !cacheOff); for s in msgs { n += m.add(s) } }
print(name, String(format: "%.1f us/line", (cpu() - t0) / Double(100 * msgs.count) * 1e6), n % 7)
