import ArgumentParser
import Foundation
import Inference
import Segmenter
import Storage

extension Longctx {
  /// `longctx checkpoints ls|verify|gc`
  struct Checkpoints: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "List, verify and garbage-collect the workspace's KV-cache checkpoints.",
      subcommands: [List.self, Verify.self, Collect.self])
  }
}

/// Options shared by the `checkpoints` subcommands.
struct CheckpointOptions: ParsableArguments {
  @OptionGroup(title: "Global Options") var global: GlobalOptions

  @Flag(help: "Print JSON on stdout.") var json = false

  func openStore() throws -> CheckpointStore {
    let workspace = try global.openWorkspace()
    return CheckpointStore(
      directory: workspace.kvDirectory, maxBytes: CheckpointSettings.maxBytes, logger: global.logger("longctx.kv"))
  }
}

/// Where the engine's checkpoint bound comes from.
enum CheckpointSettings {
  /// `LONGCTX_KV_MAX_BYTES` (e.g. `8G`, `500M`), else 8 GiB.
  static var maxBytes: Int {
    ProcessInfo.processInfo.environment["LONGCTX_KV_MAX_BYTES"].flatMap { ByteCount(argument: $0)?.bytes } ?? 8 << 30
  }
}

/// A byte count with an optional K, M or G suffix (powers of 1024).
struct ByteCount: ExpressibleByArgument, Sendable {
  var bytes: Int

  init?(argument: String) {
    let text = argument.trimmingCharacters(in: .whitespaces).uppercased()
    let units: [(String, Int)] = [("K", 1 << 10), ("M", 1 << 20), ("G", 1 << 30), ("T", 1 << 40)]
    var scale = 1
    var digits = Substring(text.hasSuffix("B") && text.count > 1 ? String(text.dropLast()) : text)
    if let unit = units.first(where: { digits.hasSuffix($0.0) }) {
      scale = unit.1
      digits = digits.dropLast()
    }
    guard let value = Int(digits), value >= 0 else { return nil }
    bytes = value * scale
  }
}

private func pad(_ text: String, _ width: Int) -> String {
  text.count >= width ? text : text + String(repeating: " ", count: width - text.count)
}

/// A checkpoint as `ls --json` prints it: ISO 8601 dates and the ratio.
struct CheckpointEntryJSON: Encodable {
  var model: String
  var tokens: Int
  var prefixHash: String
  var rawBytes: Int
  var compressedBytes: Int
  var ratio: Double
  var lastUsed: String
  var path: String

  init(_ e: CheckpointEntry) {
    model = e.model
    tokens = e.tokens
    prefixHash = e.prefixHash
    rawBytes = e.rawBytes
    compressedBytes = e.compressedBytes
    ratio = (e.ratio * 1000).rounded() / 1000
    lastUsed = ISO8601DateFormatter().string(from: e.lastUsed)
    path = e.path
  }
}

/// Renders a byte count as e.g. "12.3 MiB".
func formatBytes(_ bytes: Int) -> String {
  let units = ["B", "KiB", "MiB", "GiB", "TiB"]
  var value = Double(bytes)
  var unit = 0
  while value >= 1024 && unit < units.count - 1 {
    value /= 1024
    unit += 1
  }
  return unit == 0 ? "\(bytes) B" : String(format: "%.1f %@", value, units[unit])
}

extension Longctx.Checkpoints {
  /// `longctx checkpoints ls`
  struct List: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "ls", abstract: "List checkpoints: model, tokens, raw and compressed size, ratio, last use.")

    @OptionGroup var options: CheckpointOptions

    func run() async throws {
      let store = try options.openStore()
      let entries = store.list()
      if options.json {
        print(try jsonString(entries.map(CheckpointEntryJSON.init)))
        return
      }
      if entries.isEmpty {
        print("no KV checkpoints in \(store.directory.path)")
        return
      }
      let dates = ISO8601DateFormatter()
      print("tokens     raw         stored      ratio  last use              model")
      for e in entries {
        let columns = [
          pad("\(e.tokens)", 9), pad(formatBytes(e.rawBytes), 10), pad(formatBytes(e.compressedBytes), 10),
          pad(String(format: "%5.1f", e.ratio), 5), pad(dates.string(from: e.lastUsed), 20), e.model,
        ]
        print(columns.joined(separator: "  "))
      }
      let total = entries.reduce(0) { $0 + $1.compressedBytes }
      print("\(entries.count) checkpoints, \(formatBytes(total)) of \(formatBytes(store.maxBytes))")
    }
  }

  /// `longctx checkpoints verify`
  struct Verify: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Read every checkpoint back in full and delete the corrupt ones.",
      discussion: "Exits 0 when every checkpoint was intact, 1 when any was corrupt and removed.")

    @OptionGroup var options: CheckpointOptions

    func run() async throws {
      let result = try options.openStore().verify()
      if options.json {
        struct Out: Encodable {
          var intact: [CheckpointEntryJSON]
          var removed: [CheckpointVerification.Removal]
        }
        print(try jsonString(Out(intact: result.intact.map(CheckpointEntryJSON.init), removed: result.removed)))
      } else {
        for r in result.removed { print("removed \(r.path): \(r.reason)") }
        print("\(result.intact.count) intact, \(result.removed.count) corrupt and removed")
      }
      // A cron script must be able to tell that something was corrupt.
      if !result.removed.isEmpty { throw ExitCode.failure }
    }
  }

  /// `longctx checkpoints gc`
  struct Collect: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "gc", abstract: "Evict least-recently-used checkpoints down to a size bound.")

    @OptionGroup var options: CheckpointOptions

    @Option(
      help: ArgumentHelp(
        "The bound in bytes, with an optional K, M or G suffix (default: $LONGCTX_KV_MAX_BYTES or 8G).",
        valueName: "n"))
    var maxBytes: ByteCount?

    func run() async throws {
      let result = try options.openStore().gc(maxBytes: maxBytes?.bytes)
      if options.json {
        struct Out: Encodable {
          var removed: [CheckpointEntryJSON]
          var bytesBefore: Int
          var bytesAfter: Int
        }
        print(
          try jsonString(
            Out(
              removed: result.removed.map(CheckpointEntryJSON.init), bytesBefore: result.bytesBefore,
              bytesAfter: result.bytesAfter)))
      } else {
        print(
          "removed \(result.removed.count) checkpoints; \(formatBytes(result.bytesBefore)) → \(formatBytes(result.bytesAfter))"
        )
      }
    }
  }
}
