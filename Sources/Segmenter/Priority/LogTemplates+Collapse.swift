import Foundation
import Ingest

extension LogTemplates {
  /// Lines dropped so far in one document, by template, waiting for their note.
  public struct Pending: Sendable {
    var dropped: [String: (count: Int, first: Int, last: Int, text: String)] = [:]
    var order: [String] = []
    public init() {}
    public var isEmpty: Bool { order.isEmpty }
  }

  /// Collapses repeats within a document's log text: after `keep` lines of one
  /// template, further lines of it are dropped and counted in `pending`; the
  /// document's last section then carries one note per template (`notes`),
  /// naming the count, the template and the range of lines it dropped, so
  /// that 100,000 repeats of one message cost one line and a count.
  ///
  /// - Parameters:
  ///   - lines: The section's lines.
  ///   - firstLine: The 1-based line number of `lines[0]` in its file.
  ///   - seen: Template occurrence counts so far in this document (updated).
  ///   - pending: Dropped lines so far in this document (updated).
  ///   - stored: The templates ingest mined for the document (`LogTemplateStore`); without
  ///     them (a workspace from before templates were stored) lines are grouped by `template(of:)`.
  /// - Returns: The kept lines' text (empty when every line was dropped), and how many were dropped.
  public func collapse(
    _ lines: [Substring], firstLine: Int, seen: inout [String: Int], pending: inout Pending,
    stored: LogTemplateStore.DocumentLines? = nil
  ) -> (text: String, collapsed: Int) {
    var kept: [Substring] = []
    var collapsed = 0
    for (i, line) in lines.enumerated() {
      let number = firstLine + i
      // Continuation lines (stack traces) always stay with their event.
      if line.first == " " || line.first == "\t" {
        kept.append(line)
        continue
      }
      let key: String
      let text: String
      if let stored, let id = stored.template(ofLine: number), let t = stored.texts[id] {
        (key, text) = ("#\(id)", t)
      } else if let stored, stored.lines.count >= number {
        // A continuation by ingest's rule: it stays with its event.
        kept.append(line)
        continue
      } else {
        text = Self.template(of: line)
        key = text
      }
      let n = seen[key, default: 0] + 1
      seen[key] = n
      if n <= keep {
        kept.append(line)
      } else {
        if pending.dropped[key] == nil {
          pending.order.append(key)
          pending.dropped[key] = (0, number, number, text)
        }
        pending.dropped[key]!.count += 1
        pending.dropped[key]!.last = number
        collapsed += 1
      }
    }
    return (kept.joined(separator: "\n"), collapsed)
  }

  /// The notes for `pending`'s dropped lines, one line per template (empties `pending`).
  public func notes(_ pending: inout Pending) -> String {
    var out: [String] = []
    for key in pending.order {
      let d = pending.dropped[key]!
      let range = d.first == d.last ? "line \(d.first)" : "lines \(d.first)-\(d.last)"
      out.append("(… \(d.count) more line\(d.count == 1 ? "" : "s") like: \(d.text) — \(range))")
    }
    pending = Pending()
    return out.joined(separator: "\n")
  }
}
