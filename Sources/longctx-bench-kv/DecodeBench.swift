import Foundation
import Inference
import Storage

/// Read + decode of one real state in format 1 and 2, many times, for
/// timing and profiling the restore without a prefill. The state comes from
/// a llama.cpp sequence-state file (`llama-server --slot-save-path`, then
/// `?action=save`): magic, version, token count, tokens, then the state
/// (`get_data`'s 8-byte prefix is put back in front).
///
///     longctx-bench-kv decode FILE [repetitions] [v1|v2|both]
func decodeBench(_ args: [String]) throws {
  guard let path = args.first else {
    FileHandle.standardError.write(Data("usage: longctx-bench-kv decode FILE [repetitions] [v1|v2|both]\n".utf8))
    exit(2)
  }
  let reps = args.count > 1 ? Int(args[1]) ?? 21 : 21
  let which = args.count > 2 ? args[2] : "both"
  let file = try Data(contentsOf: URL(fileURLWithPath: path))
  let count =
    Int(file[file.startIndex + 8]) | Int(file[file.startIndex + 9]) << 8
    | Int(file[file.startIndex + 10]) << 16 | Int(file[file.startIndex + 11]) << 24
  let tokens = (0..<Int32(count)).map { $0 }
  var state = Data([0xD8, 0x3C, 0x14, 0xAF, 0, 0, 0, 0])
  state.append(file.dropFirst(12 + 4 * count))
  let dir = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("longctx-bench-decode-\(UUID())")
  defer { try? FileManager.default.removeItem(at: dir) }
  print(
    "# decode: \(URL(fileURLWithPath: path).lastPathComponent), \(count) tokens, state \(mb(state.count)), \(reps) runs each"
  )
  print("| format | file | ratio | read s (median) | decode s (median) | read+decode s (median) | min |")
  print("|---|---|---|---|---|---|---|")
  for version in which == "both" ? [1, 2] : [which == "v1" ? 1 : 2] {
    let store = CheckpointStore(
      directory: dir.appendingPathComponent("v\(version)"), maxBytes: 1 << 40, formatVersion: version)
    let entry = try store.save(model: "bench", tokens: tokens, state: state)
    let url = URL(fileURLWithPath: entry.path)
    var reads: [Double] = []
    var decodes: [Double] = []
    var totals: [Double] = []
    for _ in 0..<reps {
      let (bytes, r) = try time { try Data(contentsOf: url) }
      let (decoded, d) = try time { try CheckpointStore.decode(bytes, url: url, expecting: nil) }
      precondition(decoded.state.count == state.count)
      reads.append(r)
      decodes.append(d)
      totals.append(r + d)
    }
    func median(_ x: [Double]) -> Double { x.sorted()[x.count / 2] }
    print(
      String(
        format: "| v%d | %@ | %.3f× | %.4f | %.4f | %.4f | %.4f |", version, mb(entry.compressedBytes), entry.ratio,
        median(reads), median(decodes), median(totals), totals.min() ?? 0))
  }
}
