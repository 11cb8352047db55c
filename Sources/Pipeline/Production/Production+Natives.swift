import Foundation
import Ingest
import Storage

extension Production {
  /// Gives every member inside another file (an attachment, an archive member, a message of
  /// a store, an embedded object) its own bytes: each top-level file with such members is
  /// read again once (`FamilyNatives`), and a child's bytes are kept only when their SHA-256
  /// is the document's hash (what ingest stored). A child left without bytes is produced
  /// with its text only, and said in one warning per top-level file.
  func resolveNatives(_ families: inout [[Member]], corpus: Corpus, warnings: inout [String]) {
    var wanted: [String: Set<String>] = [:]
    var kinds: [String: DocumentKind] = [:]
    for member in families.joined() where member.native == nil && member.failure == nil {
      guard let top = member.top, top != member.file.displayPath else { continue }
      wanted[top, default: []].insert(member.file.displayPath)
      kinds[top] = kinds[top] ?? member.topKind
    }
    guard !wanted.isEmpty else { return }
    var options = JobRunner.ingestOptions(spec, worker: nil)
    options.redact = false
    var found: [String: Data] = [:]
    for (top, paths) in wanted.sorted(by: { $0.key < $1.key }) {
      let kind = kinds[top]
      guard let source = try? corpus.absolutePath(ofDisplayPath: top), let kind else {
        warnings.append("\(top): the files inside it cannot be read again; \(paths.count) produced without natives")
        continue
      }
      let (bytes, problems) = FamilyNatives.payloads(
        path: source, kind: kind, displayPath: top, wanted: paths, options: options)
      warnings += problems
      found.merge(bytes) { a, _ in a }
    }
    var missing: [String: Int] = [:]
    for f in families.indices {
      for m in families[f].indices {
        let member = families[f][m]
        guard let top = member.top, wanted[top]?.contains(member.file.displayPath) == true else { continue }
        if let bytes = found[member.file.displayPath], Hashing.sha256(bytes) == member.file.documentHash {
          families[f][m].native = bytes
        } else {
          missing[top, default: 0] += 1
        }
      }
    }
    for (top, count) in missing.sorted(by: { $0.key < $1.key }) {
      warnings.append(
        "\(top): \(count) file(s) inside it could not be read again (changed or unreadable now); produced as text"
          + " without natives, hashed over their text")
    }
  }

  /// Removes the members whose bytes are on the job's known-file list (`denist`), with
  /// everything inside them: files inside others (attachments, archive members), which
  /// ingest cannot skip as it does top-level files. A family whose first member goes goes
  /// whole. Returns how many documents were removed.
  func removeKnownFiles(_ families: inout [[Member]], warnings: inout [String]) throws -> Int {
    guard let list = JobRunner.ingestOptions(spec, worker: nil).denist else { return 0 }
    let known = try KnownFiles(path: list)
    var removed = 0
    for f in families.indices {
      var gone = Set<String>()
      for member in families[f] {
        let inside = member.parent.map { gone.contains($0) } ?? false
        if inside || (member.native.map(known.contains) ?? false) { gone.insert(member.file.displayPath) }
      }
      guard !gone.isEmpty else { continue }
      removed += gone.count
      if gone.contains(families[f][0].file.displayPath) {
        families[f] = []
      } else {
        families[f].removeAll { gone.contains($0.file.displayPath) }
      }
    }
    families.removeAll(where: \.isEmpty)
    return removed
  }

  /// Every produced message's place in its email thread, by display path.
  func threadMessages(_ families: [[Member]]) -> [String: EmailThreading.Placement] {
    var messages: [EmailThreading.Message] = []
    for family in families {
      for member in family {
        guard var message = member.thread else { continue }
        if message.attachments.isEmpty {
          // A message's attachments are its direct children in the family (their SHA-256).
          message.attachments = family.filter { $0.parent == member.file.displayPath }.map(\.file.documentHash)
        }
        messages.append(message)
      }
    }
    return EmailThreading.thread(messages)
  }

  /// A DAT date: ISO 8601 in UTC (`2025-07-01T07:30:00Z`) where `value` is a date mail or
  /// Office writes, `value` itself otherwise; empty for nil.
  static func isoDate(_ value: String?) -> String {
    guard let value, !value.isEmpty else { return "" }
    guard let date = MailMessages.mailDate(value) else { return value }
    let f = ISO8601DateFormatter()
    f.formatOptions = [.withInternetDateTime]
    return f.string(from: date)
  }

  /// A Message-ID as shown: without angle brackets.
  static func messageID(_ value: String?) -> String {
    (value ?? "").trimmingCharacters(in: CharacterSet(charactersIn: "<> \t\r\n"))
  }

  /// A DAT cell that XML can carry too: a CR LF becomes a space (as the DAT writes it),
  /// other control characters but tab and LF are dropped, so that the DAT and the EDRM XML
  /// hold the same values.
  static func cleanCell(_ value: String) -> String {
    let value = value.replacingOccurrences(of: "\r\n", with: " ")
    func allowed(_ s: Unicode.Scalar) -> Bool {
      (s.value >= 0x20 && s.value != 0xFFFE && s.value != 0xFFFF) || s == "\t" || s == "\n"
    }
    guard !value.unicodeScalars.allSatisfy(allowed) else { return value }
    return String(String.UnicodeScalarView(value.unicodeScalars.filter(allowed)))
  }
}
