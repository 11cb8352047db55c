import Foundation
import Inference
import LlamaBackend
import Storage

/// Disk and restore time of prefix-delta checkpoints (format 3) for a chain
/// of growing prefixes of the corpus logs, against full (format 2)
/// checkpoints of the same states, and restore against re-prefill.
///
///     longctx-bench-kv chain [tokens] [prefixes] [f16|q8_0]
///
/// Each prefix is prefilled as a request's is: the longest stored prefix
/// restored, the rest decoded, the checkpoint saved.
func chainBench(_ args: [String], modelPath: String) throws {
  let total = args.first.flatMap { Int($0) } ?? 16_384
  let count = args.count > 1 ? Int(args[1]) ?? 8 : 8
  let type = args.count > 2 ? KVCacheType(rawValue: args[2]) ?? .f16 : .f16
  let root = URL(fileURLWithPath: ProcessInfo.processInfo.environment["LONGCTX_BENCH_DIR"] ?? NSTemporaryDirectory())
    .appendingPathComponent("longctx-bench-kv-chain-\(UUID().uuidString)")
  defer { try? FileManager.default.removeItem(at: root) }
  let delta = CheckpointStore(directory: root.appendingPathComponent("delta"), maxBytes: 64 << 30)
  let full = CheckpointStore(directory: root.appendingPathComponent("full"), maxBytes: 64 << 30, formatVersion: 2)
  let options = LlamaEngineOptions(contextTokens: total + 256, kvCacheType: type, swaFull: true)
  let engine = try LlamaEngine(modelPath: modelPath, options: options, checkpoints: delta)
  let tokens = try corpusPrefix(tokens: total, model: engine.model)
  let lengths = (1...count).map { total * $0 / count }
  print(
    "# chain: \(count) growing prefixes of a \(total)-token prefix of the corpus logs, \(type.rawValue), swa_full, chunks of \(delta.chunkTokens) tokens"
  )
  print("")
  print("| prefix tokens | restored | prefill+save s | full (v2) file | delta store after |")
  print("|---|---|---|---|---|")
  var longest = Data()
  for n in lengths {
    let prefix = Array(tokens.prefix(n))
    let (restored, t) = try time { try engine.prefillPrefixNow(prefix) }
    let state = engine.getState()
    let entry = try full.save(model: engine.checkpointIdentity, tokens: prefix, state: state)
    longest = state
    print(
      "| \(n) | \(restored) | \(String(format: "%.1f", t)) | \(mb(entry.compressedBytes)) | \(mb(delta.diskBytes())) |")
  }
  let fullSum = full.diskBytes()
  let largest = full.list().map(\.compressedBytes).max() ?? 0
  let deltaBytes = delta.diskBytes()
  // The longest alone in format 3, for its own overhead.
  let alone = CheckpointStore(directory: root.appendingPathComponent("alone"), maxBytes: 64 << 30)
  try alone.save(model: engine.checkpointIdentity, tokens: tokens, state: longest)
  let aloneBytes = alone.diskBytes()

  // Restore of the longest: median of 5, through the engine (delta), and the same state in format 2.
  var deltaTimes: [Double] = []
  for _ in 0..<5 {
    let (restored, t) = time { engine.restoreNow(tokens + [tokens[0]]) }
    precondition(restored == total, "restored \(restored)")
    deltaTimes.append(t)
  }
  let restoredState = engine.getState()
  let fullEngine = try LlamaEngine(modelPath: modelPath, options: options, checkpoints: full)
  var fullTimes: [Double] = []
  for _ in 0..<5 {
    let (restored, t) = time { fullEngine.restoreNow(tokens + [tokens[0]]) }
    precondition(restored == total, "restored \(restored)")
    fullTimes.append(t)
  }
  let (_, prefill) = try time { try engine.prefill(tokens) }
  let fresh = engine.getState()
  let deltaRestore = deltaTimes.sorted()[2]
  let fullRestore = fullTimes.sorted()[2]
  print("")
  print("| figure | value |")
  print("|---|---|")
  print("| delta store (chunks + own files), \(count) checkpoints | \(mb(deltaBytes)) |")
  print("| sum of full (v2) checkpoints | \(mb(fullSum)) |")
  print("| largest full (v2) checkpoint alone | \(mb(largest)) |")
  print("| largest alone in format 3 | \(mb(aloneBytes)) |")
  print("| delta / sum of full | \(String(format: "%.3f", Double(deltaBytes) / Double(fullSum)))× |")
  print("| delta / largest full | \(String(format: "%.3f", Double(deltaBytes) / Double(largest)))× |")
  print("| restore of the longest, delta (median of 5) | \(String(format: "%.3f", deltaRestore)) s |")
  print("| restore of the longest, full v2 (median of 5) | \(String(format: "%.3f", fullRestore)) s |")
  print("| re-prefill of \(total) tokens | \(String(format: "%.1f", prefill)) s |")
  print("| re-prefill / delta restore | \(String(format: "%.0f", prefill / deltaRestore))× |")
  print("| restored state == state saved by the chain | \(restoredState == longest ? "yes" : "NO") |")
  print("| fresh prefill's state == the chain's (byte for byte) | \(fresh == longest ? "yes" : "no") |")
}

/// Restore time of the longest checkpoint of a chain `chain` left in DIR (its
/// `delta` and `full` stores), median of 3 each, through the engine.
///
///     longctx-bench-kv chain-restore DIR [tokens] [chain tokens] [f16|q8_0]
///
/// `chain tokens` is the chain run's total (it sets the context, part of the checkpoints' identity).
func chainRestoreBench(_ args: [String], modelPath: String) throws {
  guard let dir = args.first else { throw CocoaError(.fileNoSuchFile) }
  let total = args.count > 1 ? Int(args[1]) ?? 16_384 : 16_384
  let chainTotal = args.count > 2 ? Int(args[2]) ?? total : total
  let type = args.count > 3 ? KVCacheType(rawValue: args[3]) ?? .f16 : .f16
  let options = LlamaEngineOptions(contextTokens: chainTotal + 256, kvCacheType: type, swaFull: true)
  for (name, version) in [("delta", 3), ("full", 2)] {
    let store = CheckpointStore(
      directory: URL(fileURLWithPath: dir).appendingPathComponent(name), maxBytes: 64 << 30, formatVersion: version)
    let engine = try LlamaEngine(modelPath: modelPath, options: options, checkpoints: store)
    let tokens = try corpusPrefix(tokens: total, model: engine.model)
    var times: [Double] = []
    for _ in 0..<3 {
      let (restored, t) = time { engine.restoreNow(tokens + [tokens[0]]) }
      precondition(restored == total, "restored \(restored)")
      times.append(t)
    }
    print(
      "| restore of the \(total)-token checkpoint, \(name) store (median of 3) | \(String(format: "%.3f", times.sorted()[1])) s |"
    )
  }
}
