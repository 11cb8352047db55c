// The Office extractor's core (ZIP, XML, sections: what `OfficeExtractor` runs
// before redaction) over files given on the command line, ROUNDS times in one
// process; prints files/s and MB/s. Built by bench/office.sh with swiftc -O
// from Sources/Ingest/Office (the fuzz harness's file list).
import Foundation

@main struct Bench {
  static func main() throws {
    let files = Array(CommandLine.arguments.dropFirst())
    let rounds = Int(ProcessInfo.processInfo.environment["ROUNDS"] ?? "20") ?? 20
    var bytes = 0
    for f in files { bytes += (try FileManager.default.attributesOfItem(atPath: f)[.size] as? Int) ?? 0 }
    var chars = 0
    let t0 = Date()
    for _ in 0..<rounds {
      chars = 0
      for f in files {
        let c = try OfficePackage.read(try ZipParts(path: f), path: f)
        chars += c.sections.reduce(0) { $0 + $1.text.count }
      }
    }
    let dt = Date().timeIntervalSince(t0) / Double(rounds)
    print(
      String(
        format: "%d files, %.2f MB, %d chars: %.4f s per pass, %.0f files/s, %.1f MB/s", files.count,
        Double(bytes) / 1e6, chars, dt, Double(files.count) / dt, Double(bytes) / 1e6 / dt))
  }
}
