import Foundation
import Inference
import LlamaBackend
import Storage

/// Resets the peak resident memory the kernel reports (VmHWM) to the current
/// resident size (Linux: `/proc/self/clear_refs`, value 5).
func resetPeakRSS() {
  try? "5".write(toFile: "/proc/self/clear_refs", atomically: false, encoding: .utf8)
}

/// A field of /proc/self/status in bytes ("VmHWM", "VmRSS").
func procStatus(_ field: String) -> Int {
  guard let text = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return 0 }
  for line in text.split(separator: "\n") where line.hasPrefix(field + ":") {
    let kb = line.split(separator: " ").compactMap { Int($0) }.first ?? 0
    return kb * 1024
  }
  return 0
}

/// Real text for a long prefix: the shared corpus's logs, concatenated.
func corpusPrefix(tokens target: Int, model: LlamaModel) throws -> [Int32] {
  let root = URL(fileURLWithPath: "/work/shared/corpus/logs/loghub")
  let files = (FileManager.default.enumerator(atPath: root.path)?.allObjects as? [String] ?? [])
    .filter { $0.hasSuffix(".log") }.sorted()
  guard !files.isEmpty else { throw CocoaError(.fileNoSuchFile, userInfo: [NSFilePathErrorKey: root.path]) }
  var text = ""
  for f in files {
    text += (try? String(contentsOf: root.appendingPathComponent(f), encoding: .utf8)) ?? ""
    if text.utf8.count > target * 6 { break }
  }
  let all = model.tokenize(text, addSpecial: true)
  precondition(all.count >= target, "the corpus logs give only \(all.count) tokens")
  return Array(all.prefix(target))
}

/// Peak resident memory above the loaded model and context while the engine
/// saves and restores one real sequence state, through memory and through
/// a staged file.
///
///     longctx-bench-kv engine-memory [prefix-tokens] [f16|q8_0]
func engineMemoryBench(_ args: [String], modelPath: String) throws {
  let tokens = args.first.flatMap { Int($0) } ?? 16_384
  let type = args.count > 1 ? KVCacheType(rawValue: args[1]) ?? .f16 : .f16
  let root = URL(fileURLWithPath: ProcessInfo.processInfo.environment["LONGCTX_BENCH_DIR"] ?? NSTemporaryDirectory())
    .appendingPathComponent("longctx-bench-kv-engine-\(UUID().uuidString)")
  defer { try? FileManager.default.removeItem(at: root) }
  let staged = CheckpointStore(directory: root.appendingPathComponent("staged"), maxBytes: 64 << 30)
  let memory = CheckpointStore(directory: root.appendingPathComponent("memory"), maxBytes: 64 << 30)
  func options(_ limit: Int) -> LlamaEngineOptions {
    LlamaEngineOptions(contextTokens: tokens + 256, kvCacheType: type, swaFull: true, inMemoryStateBytes: limit)
  }
  let rssStart = procStatus("VmRSS")
  let engine = try LlamaEngine(modelPath: modelPath, options: options(0), checkpoints: staged)
  let inMemory = try LlamaEngine(modelPath: modelPath, options: options(.max), checkpoints: memory)
  let prefix = try corpusPrefix(tokens: tokens, model: engine.model)
  let prompt = prefix + engine.model.tokenize("\nWhich component failed first?", addSpecial: false)
  print(
    "# engine-memory: \(prefix.count)-token prefix of the corpus logs, \(type.rawValue), swa_full, RSS before the engines \(mb(rssStart))"
  )
  FileHandle.standardError.write(Data("prefilling \(prefix.count) tokens…\n".utf8))
  let (_, prefill) = try time { try engine.prefill(prefix) }
  print(String(format: "prefill: %.1f s", prefill))

  // What each operation adds to the resident set, the model and both contexts already in it.
  func measure(_ label: String, _ body: () -> Bool) {
    let before = procStatus("VmRSS")
    resetPeakRSS()
    let (ok, seconds) = time(body)
    let peak = procStatus("VmHWM")
    print(
      String(
        format: "| %@ | %@ | %.3f | %@ | %@ |", label, ok ? "yes" : "NO", seconds, mb(before), mb(max(0, peak - before))
      ))
  }
  print("")
  print("| operation | ok | seconds | RSS before | peak RSS above it |")
  print("|---|---|---|---|---|")
  measure("save, staged file") { engine.saveCheckpointNow(prefix) }
  measure("restore, staged file") { engine.restoreNow(prompt) == prefix.count }
  // The second engine restores the same checkpoint in memory (no second
  // prefill), then saves its state in memory.
  let s = staged.list()[0]
  let copy = memory.directory.appendingPathComponent(
    URL(fileURLWithPath: s.path).deletingLastPathComponent().lastPathComponent)
  try FileManager.default.createDirectory(at: copy, withIntermediateDirectories: true)
  let copied = copy.appendingPathComponent(URL(fileURLWithPath: s.path).lastPathComponent)
  try FileManager.default.copyItem(at: URL(fileURLWithPath: s.path), to: copied)
  measure("restore, in memory") { inMemory.restoreNow(prompt) == prefix.count }
  try FileManager.default.removeItem(at: copied)
  measure("save, in memory") { inMemory.saveCheckpointNow(prefix) }
  let m = memory.list()[0]
  print("")
  print(
    "raw state \(mb(s.rawBytes)); checkpoint \(mb(s.compressedBytes)) staged, \(mb(m.compressedBytes)) in memory (ratio \(String(format: "%.3f", s.ratio))×); same bytes: \(s.compressedBytes == m.compressedBytes ? "yes" : "no")"
  )
}
