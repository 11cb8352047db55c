import Foundation

/// Scores a template miner against loghub ground truth.
public enum TemplateEvaluation {
  /// Grouping Accuracy as loghub defines it: a line is correct iff the set of
  /// lines in its predicted group equals the set of lines of its true event.
  public static func groupingAccuracy<P: Hashable, T: Hashable>(predicted: [P], truth: [T]) -> Double {
    precondition(predicted.count == truth.count)
    guard !truth.isEmpty else { return 1 }
    var truthSize: [T: Int] = [:]
    for t in truth { truthSize[t, default: 0] += 1 }
    var groups: [P: [Int]] = [:]
    for (i, p) in predicted.enumerated() { groups[p, default: []].append(i) }
    var correct = 0
    for (_, lines) in groups {
      let t = truth[lines[0]]
      if truthSize[t] == lines.count, lines.allSatisfy({ truth[$0] == t }) { correct += lines.count }
    }
    return Double(correct) / Double(truth.count)
  }

  /// Parsing Accuracy (Loghub-2.0): a line is correct iff its template equals
  /// the true template, after white space and runs of adjacent `<*>` are normalised.
  public static func parsingAccuracy(predicted: [String], truth: [String]) -> Double {
    precondition(predicted.count == truth.count)
    guard !truth.isEmpty else { return 1 }
    var cache: [String: String] = [:]
    func norm(_ s: String) -> String {
      if let n = cache[s] { return n }
      var out: [Substring] = []
      for w in s.split(whereSeparator: { $0 == " " || $0 == "\t" }) {
        if w == "<*>", out.last == "<*>" { continue }
        out.append(w)
      }
      var n = out.joined(separator: " ")
      while n.contains("<*><*>") { n = n.replacingOccurrences(of: "<*><*>", with: "<*>") }
      cache[s] = n
      return n
    }
    var correct = 0
    for i in 0..<truth.count where norm(predicted[i]) == norm(truth[i]) { correct += 1 }
    return Double(correct) / Double(truth.count)
  }

  /// The rows of a CSV file (RFC 4180 quoting), header row included.
  public static func csvRows(_ text: String) -> [[String]] {
    var rows: [[String]] = []
    var row: [String] = []
    var field: [UInt8] = []
    var quoted = false
    let b = Array(text.utf8)
    var i = 0
    while i < b.count {
      let c = b[i]
      if quoted {
        if c == 0x22 {
          if i + 1 < b.count && b[i + 1] == 0x22 {
            field.append(0x22)
            i += 1
          } else {
            quoted = false
          }
        } else {
          field.append(c)
        }
      } else if c == 0x22 {
        quoted = true
      } else if c == 0x2C {
        row.append(String(decoding: field, as: UTF8.self))
        field.removeAll()
      } else if c == 0x0A || c == 0x0D {
        if c == 0x0D && i + 1 < b.count && b[i + 1] == 0x0A { i += 1 }
        row.append(String(decoding: field, as: UTF8.self))
        field.removeAll()
        rows.append(row)
        row = []
      } else {
        field.append(c)
      }
      i += 1
    }
    if !field.isEmpty || !row.isEmpty {
      row.append(String(decoding: field, as: UTF8.self))
      rows.append(row)
    }
    return rows
  }

  /// One loghub dataset: the raw lines and, per line, the true event id and template.
  public struct Dataset: Sendable {
    public var name: String
    public var lines: [String]
    public var eventIDs: [String]
    public var templates: [String]
    public var bytes: Int
  }

  /// Loads `dir/NAME_2k.log` with `NAME_2k.log_structured_corrected.csv` (or the
  /// uncorrected file when there is no corrected one).
  public static func loadLoghub(_ dir: URL) throws -> Dataset? {
    let name = dir.lastPathComponent
    let log = dir.appendingPathComponent("\(name)_2k.log")
    var csv = dir.appendingPathComponent("\(name)_2k.log_structured_corrected.csv")
    if !FileManager.default.fileExists(atPath: csv.path) {
      csv = dir.appendingPathComponent("\(name)_2k.log_structured.csv")
    }
    guard FileManager.default.fileExists(atPath: log.path), FileManager.default.fileExists(atPath: csv.path) else {
      return nil
    }
    let data = try Data(contentsOf: log)
    var bytes = [UInt8](data)
    if bytes.last == 0x0A { bytes.removeLast() }
    // Bytes, not Characters: "\r\n" is one Character.
    let lines = bytes.split(separator: 0x0A, omittingEmptySubsequences: false).map { l in
      String(decoding: l.last == 0x0D ? l.dropLast() : l, as: UTF8.self)
    }
    let rows = csvRows(try String(contentsOf: csv, encoding: .utf8))
    guard let header = rows.first, let e = header.firstIndex(of: "EventId"),
      let t = header.firstIndex(of: "EventTemplate")
    else { return nil }
    let body = rows.dropFirst().filter { $0.count == header.count }
    guard body.count == lines.count else { return nil }
    return Dataset(
      name: name, lines: lines, eventIDs: body.map { $0[e] }, templates: body.map { $0[t] }, bytes: data.count)
  }
}
