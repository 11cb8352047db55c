import Foundation
import Testing
import _LongctxTestSupport

@testable import Ingest

/// The shared development corpus's mail (`../shared/corpus/email`, beside the
/// work tree): tests that read it are skipped where it is absent.
enum MailCorpus {
  static let root = RepositoryPaths.root.deletingLastPathComponent().appendingPathComponent("shared/corpus/email")

  static var isPresent: Bool { FileManager.default.fileExists(atPath: root.path) }

  static let skipReason: Comment = "the shared mail corpus (../shared/corpus/email) is absent"

  static func path(_ relative: String) -> String { root.appendingPathComponent(relative).path }

  /// Extracts corpus file `relative`, cited as its file name.
  static func extract(_ relative: String) throws -> ExtractedDocument {
    try EmailExtractor().extract(path: path(relative), displayPath: (relative as NSString).lastPathComponent)
  }

  /// Every corpus file that is a mailbox by its name or its content, relative to `root`.
  static func mailboxes() -> [String] {
    guard let walker = FileManager.default.enumerator(atPath: root.path) else { return [] }
    var out: [String] = []
    while let relative = walker.nextObject() as? String {
      let full = path(relative)
      var isDir: ObjCBool = false
      guard FileManager.default.fileExists(atPath: full, isDirectory: &isDir), !isDir.boolValue else { continue }
      if relative.contains(".mbox") || startsWithFromLine(full) { out.append(relative) }
    }
    return out.sorted()
  }

  /// Whether the file's first line (after a byte-order mark) starts with `From `.
  static func startsWithFromLine(_ path: String) -> Bool {
    guard let data = FileManager.default.contents(atPath: path) else { return false }
    var bytes = [UInt8](data.prefix(8))
    if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { bytes.removeFirst(3) }
    return bytes.starts(with: Array("From ".utf8))
  }
}

/// How many messages Python's `mailbox.mbox` finds in the mailbox at `path`
/// (`nil` when python3 cannot be run).
func pythonMboxCount(_ path: String) -> Int? {
  let p = Process()
  p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
  p.arguments = [
    "python3", "-c", "import mailbox, sys; print(len(mailbox.mbox(sys.argv[1], create=False)))", path,
  ]
  let out = Pipe()
  p.standardOutput = out
  p.standardError = FileHandle.nullDevice
  do { try p.run() } catch { return nil }
  let data = out.fileHandleForReading.readDataToEndOfFile()
  p.waitUntilExit()
  guard p.terminationStatus == 0 else { return nil }
  return Int(String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))
}
