// longctx-bench-kv: re-prefill vs checkpoint restore for a long prefix, and
// zstd sizes/speeds of the KV state, with the default model.
//
//   swift run -c release longctx-bench-kv [prefix-tokens] [levels]
//   swift run -c release longctx-bench-kv parallel [windows] [window-tokens] [max-tokens] [N,N,...]
//   swift run -c release longctx-bench-kv synthetic [GB]   (streamed save/restore of a synthetic f16 state)
//   swift run -c release longctx-bench-kv decode FILE [repetitions] [v1|v2|both]   (restore decode of a llama.cpp state file)
//   swift run -c release longctx-bench-kv engine-memory [prefix-tokens] [f16|q8_0]   (engine save/restore peak RSS)
//   swift run -c release longctx-bench-kv chain [tokens] [prefixes] [f16|q8_0]   (prefix-delta checkpoints of a chain)
//
// Needs LONGCTX_MODEL (eval "$(bash scripts/setup.sh --env)").
import Foundation
import Inference
import LlamaBackend
import Storage

func seconds(_ d: Duration) -> Double {
  Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18
}

func time<T>(_ body: () throws -> T) rethrows -> (T, Double) {
  let start = ContinuousClock.now
  let value = try body()
  return (value, seconds(ContinuousClock.now - start))
}

func mb(_ bytes: Int) -> String { String(format: "%.1f MB", Double(bytes) / 1e6) }

let args = CommandLine.arguments
let targetTokens = args.count > 1 ? Int(args[1]) ?? 16_384 : 16_384
let levels: [Int32] = args.count > 2 ? args[2].split(separator: ",").compactMap { Int32($0) } : [1, 3, 9]
guard let modelPath = ProcessInfo.processInfo.environment["LONGCTX_MODEL"], !modelPath.isEmpty else {
  FileHandle.standardError.write(Data("LONGCTX_MODEL is not set; run eval \"$(bash scripts/setup.sh --env)\".\n".utf8))
  exit(2)
}
if args.count > 1 && args[1] == "synthetic" {
  try syntheticBench(gigabytes: args.count > 2 ? Double(args[2]) ?? 8 : 8)
  exit(0)
}
if args.count > 1 && args[1] == "decode" {
  try decodeBench(Array(args.dropFirst(2)))
  exit(0)
}
if args.count > 1 && args[1] == "engine-memory" {
  try engineMemoryBench(Array(args.dropFirst(2)), modelPath: modelPath)
  exit(0)
}
if args.count > 1 && args[1] == "chain-restore" {
  try chainRestoreBench(Array(args.dropFirst(2)), modelPath: modelPath)
  exit(0)
}
if args.count > 1 && args[1] == "chain" {
  try chainBench(Array(args.dropFirst(2)), modelPath: modelPath)
  exit(0)
}
if args.count > 1 && args[1] == "parallel" {
  try await parallelBench(Array(args.dropFirst(2)), modelPath: modelPath)
  exit(0)
}
let threads = ProcessInfo.processInfo.activeProcessorCount
print(
  "# longctx-bench-kv: \(targetTokens)-token prefix, model \(URL(fileURLWithPath: modelPath).lastPathComponent), \(threads) threads, libzstd \(Zstd.version)"
)

// Non-repeating synthetic records, so attention over the whole prefix matters.
func makePrefix(_ model: LlamaModel) -> String {
  var lines: [String] = []
  var i = 0
  var text = ""
  while true {
    for _ in 0..<200 {
      i += 1
      lines.append(
        "Record \(i): shipment \(i * 7919 % 100_003) of \(i * 37 % 101) crates left dock \(i % 17) on day \(i * 3 % 365) "
          + "with \(i * i % 53) damaged items; inspector \(["Ana", "Bo", "Chen", "Dara", "Eli"][i % 5]) signed.")
    }
    text = lines.joined(separator: "\n") + "\n"
    if model.tokenize(text, addSpecial: true).count >= targetTokens { break }
  }
  // Trim to just under the target at a line boundary.
  while lines.count > 1 {
    let shorter = lines.dropLast().joined(separator: "\n") + "\n"
    if model.tokenize(shorter, addSpecial: true).count < targetTokens { break }
    lines.removeLast()
    text = shorter
  }
  return text
}

struct Row {
  var type: KVCacheType
  var prefixTokens = 0
  var prefill = 0.0
  var save = 0.0
  var restore = 0.0
  var read = 0.0
  var decompress = 0.0
  var verify = 0.0
  var setState = 0.0
  var raw = 0
  var stored = 0
  var exact = false
  // Version 1 (one zstd frame) of the same state, for comparison.
  var v1Stored = 0
  var v1Read = 0.0
  var v1Decode = 0.0
  var v2Save = 0.0
  var v1Save = 0.0
  var v2Read = 0.0
  var v2Decode = 0.0
  var levels: [(level: Int32, size: Int, cMBs: Double, dMBs: Double)] = []
  var codecLevels: [(level: Int32, size: Int, save: Double, restore: Double)] = []
}

var rows: [Row] = []
for type in [KVCacheType.f16, .q8_0] {
  let dir = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("longctx-bench-kv-\(UUID().uuidString)")
  defer { try? FileManager.default.removeItem(at: dir) }
  let store = CheckpointStore(directory: dir, maxBytes: 64 << 30, compressionLevel: 1)
  let options = LlamaEngineOptions(contextTokens: targetTokens + 1024, kvCacheType: type, swaFull: true)
  let engine = try LlamaEngine(modelPath: modelPath, options: options, checkpoints: store)
  let prefix = makePrefix(engine.model)
  let request = GenerationRequest(
    prefix: prefix, suffix: "Question: which inspector signed the most records?\nAnswer:", maxTokens: 16)
  var row = Row(type: type)
  row.prefixTokens = engine.model.tokenize(prefix, addSpecial: true).count
  FileHandle.standardError.write(Data("[\(type.rawValue)] prefilling \(row.prefixTokens) tokens…\n".utf8))
  let first = try await engine.generate(request)
  row.prefill = engine.lastTimings.prefillSeconds
  row.save = engine.lastTimings.saveSeconds
  let second = try await engine.generate(request)
  guard second.cachedTokens == row.prefixTokens else {
    FileHandle.standardError.write(Data("restore did not happen (cached \(second.cachedTokens))\n".utf8))
    exit(1)
  }
  row.restore = engine.lastTimings.restoreSeconds
  row.exact = first.text == second.text && first.outputTokens == second.outputTokens
  FileHandle.standardError.write(
    Data(
      "[\(type.rawValue)] fresh: \(first.text.debugDescription)\n[\(type.rawValue)] restored: \(second.text.debugDescription)\n"
        .utf8))

  // The restore broken down.
  let entry = store.list()[0]
  row.stored = entry.compressedBytes
  row.raw = entry.rawBytes
  let (file, read) = try time { try Data(contentsOf: URL(fileURLWithPath: entry.path)) }
  row.read = read
  let (checkpoint, parse) = try time {
    try store.decodeAny(file, url: URL(fileURLWithPath: entry.path), expecting: nil)
  }
  let state = checkpoint.state
  let (_, hashTime) = time { Hashing.sha256(state) }
  row.verify = hashTime
  row.decompress = parse - hashTime
  let (ok, set) = time { engine.setState(state, tokens: row.prefixTokens) }
  precondition(ok, "setState failed")
  row.setState = set

  // The same state saved by each codec, then read and decoded (verified).
  for version in [2, 1] {
    let vdir = dir.appendingPathComponent("v\(version)")
    let vstore = CheckpointStore(directory: vdir, maxBytes: 64 << 30, compressionLevel: 1, formatVersion: version)
    let (ventry, save) = try time { try vstore.save(model: "bench", tokens: checkpoint.tokens, state: state) }
    let url = URL(fileURLWithPath: ventry.path)
    // The median of 7 reads and decodes: one run is at the mercy of the other load on the machine.
    var reads: [Double] = []
    var decodes: [Double] = []
    var decoded: Checkpoint?
    for _ in 0..<7 {
      let (vfile, vread) = try time { try Data(contentsOf: url) }
      let (d, vdecode) = try time { try CheckpointStore.decode(vfile, url: url, expecting: nil) }
      decoded = d
      reads.append(vread)
      decodes.append(vdecode)
    }
    let vread = reads.sorted()[3]
    let vdecode = decodes.sorted()[3]
    guard let decoded else { exit(1) }
    precondition(decoded.state == state, "round trip failed")
    if version == 1 {
      row.v1Stored = ventry.compressedBytes
      row.v1Read = vread
      row.v1Decode = vdecode
      row.v1Save = save
    } else {
      row.v2Save = save
      row.v2Read = vread
      row.v2Decode = vdecode
    }
  }

  // The KV codec (format 2) at each zstd level: ratio against save and restore time.
  for level in levels {
    let ldir = dir.appendingPathComponent("v2-level\(level)")
    let lstore = CheckpointStore(directory: ldir, maxBytes: 64 << 30, compressionLevel: level, formatVersion: 2)
    let (lentry, save) = try time { try lstore.save(model: "bench", tokens: checkpoint.tokens, state: state) }
    let url = URL(fileURLWithPath: lentry.path)
    let (decoded, restore) = try time {
      try CheckpointStore.decode(try Data(contentsOf: url), url: url, expecting: nil)
    }
    precondition(decoded.state == state, "round trip failed")
    row.codecLevels.append((level, lentry.compressedBytes, save, restore))
  }
  for level in levels {
    let (compressed, c) = try time { try Zstd.compress(state, level: level) }
    let (_, d) = try time { try Zstd.decompress(compressed, exactSize: state.count) }
    row.levels.append((level, compressed.count, Double(state.count) / 1e6 / c, Double(state.count) / 1e6 / d))
  }
  rows.append(row)
}

print("")
print(
  "| KV type | prefix tokens | re-prefill s | save s | restore s (engine) | read s | decompress s | SHA-256 s | set state s | speed-up |"
)
print("|---|---|---|---|---|---|---|---|---|---|")
for r in rows {
  print(
    String(
      format: "| %@ | %d | %.2f | %.2f | %.3f | %.3f | %.3f | %.3f | %.3f | %.0f× |", r.type.rawValue, r.prefixTokens,
      r.prefill, r.save, r.restore, r.read, r.decompress, r.verify, r.setState, r.prefill / r.restore))
}
print("")
print(
  "| KV type | prefix tokens | raw state | v1 (zstd) file | v1 ratio | v2 (KV codec) file | v2 ratio | v1 save s | v2 save s | v1 read+decode+set s | v2 read+decode+set s | re-prefill s | v2 speed-up vs re-prefill |"
)
print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
for r in rows {
  let v1 = r.v1Read + r.v1Decode + r.setState
  let v2 = r.v2Read + r.v2Decode + r.setState
  print(
    String(
      format: "| %@ | %d | %@ | %@ | %.3f× | %@ | %.3f× | %.3f | %.3f | %.3f | %.3f | %.2f | %.0f× |", r.type.rawValue,
      r.prefixTokens, mb(r.raw), mb(r.v1Stored), Double(r.raw) / Double(r.v1Stored), mb(r.stored),
      Double(r.raw) / Double(r.stored), r.v1Save, r.v2Save, v1, v2, r.prefill, r.prefill / v2))
}
print("")
print("| KV type | raw state | zstd level | compressed | ratio | compress MB/s | decompress MB/s |")
print("|---|---|---|---|---|---|---|")
for r in rows {
  for l in r.levels {
    print(
      String(
        format: "| %@ | %@ | %d | %@ | %.2f | %.0f | %.0f |", r.type.rawValue, mb(r.raw), l.level, mb(l.size),
        Double(r.raw) / Double(l.size), l.cMBs, l.dMBs))
  }
}
print("")
print("| KV type | raw state | KV codec, zstd level | file | ratio | save s | read+decode s |")
print("|---|---|---|---|---|---|---|")
for r in rows {
  for l in r.codecLevels {
    print(
      String(
        format: "| %@ | %@ | %d | %@ | %.3f× | %.3f | %.3f |", r.type.rawValue, mb(r.raw), l.level, mb(l.size),
        Double(r.raw) / Double(l.size), l.save, l.restore))
  }
}
print("")
for r in rows {
  print(
    "\(r.type.rawValue): restored continuation identical to fresh prefill: \(r.exact ? "yes" : "NO"); checkpoint file \(mb(r.stored)) for \(mb(r.raw)) raw"
  )
}
