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
      let n = normalise(s)
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

  /// F1 over groups and F1 over groups with the right template (loghub-2.0, Khan et al. 2022).
  ///
  /// A predicted group is correct when its lines are exactly the lines of one true event (FGA);
  /// it is also template-correct when its template, normalised as `parsingAccuracy` does,
  /// equals that event's template (FTA). Precision divides by the predicted groups, recall by
  /// the true events; each F1 is their harmonic mean (0 when both are 0).
  public static func groupF1<P: Hashable>(
    predicted: [P], templates: [String], truth: [String]
  ) -> (fga: Double, fta: Double) {
    precondition(predicted.count == truth.count && templates.count == truth.count)
    guard !truth.isEmpty else { return (1, 1) }
    var truthSize: [String: Int] = [:]
    for t in truth { truthSize[t, default: 0] += 1 }
    var groups: [P: [Int]] = [:]
    for (i, p) in predicted.enumerated() { groups[p, default: []].append(i) }
    var correct = 0
    var correctTemplates = 0
    for (_, lines) in groups {
      let t = truth[lines[0]]
      guard truthSize[t] == lines.count, lines.allSatisfy({ truth[$0] == t }) else { continue }
      correct += 1
      if normalise(templates[lines[0]]) == normalise(t) { correctTemplates += 1 }
    }
    func f1(_ c: Int) -> Double {
      let p = Double(c) / Double(groups.count)
      let r = Double(c) / Double(truthSize.count)
      return p + r == 0 ? 0 : 2 * p * r / (p + r)
    }
    return (f1(correct), f1(correctTemplates))
  }

  /// A template with white space collapsed and runs of adjacent `<*>` made one.
  public static func normalise(_ s: String) -> String {
    var out: [Substring] = []
    for w in s.split(whereSeparator: { $0 == " " || $0 == "\t" }) {
      if w == "<*>", out.last == "<*>" { continue }
      out.append(w)
    }
    var n = out.joined(separator: " ")
    while n.contains("<*><*>") { n = n.replacingOccurrences(of: "<*><*>", with: "<*>") }
    return n
  }

  /// Leave-one-system-out selection: for each system, the configuration with the best mean
  /// objective over the other systems, never looking at the system itself.
  ///
  /// - Parameter objective: `objective[c][s]`, the score of configuration `c` on system `s`
  ///   (higher is better); every row has one score per system.
  /// - Returns: per system `s`, the index of the configuration chosen for it, from the other
  ///   systems' scores alone; ties go to the lower index (put the defaults first).
  public static func leaveOneOut(objective: [[Double]]) -> [Int] {
    let systems = objective.first?.count ?? 0
    return (0..<systems).map { held in
      var best = 0
      var bestMean = -Double.infinity
      for (c, row) in objective.enumerated() {
        var sum = 0.0
        for (s, v) in row.enumerated() where s != held { sum += v }
        let mean = sum / Double(max(1, systems - 1))
        if mean > bestMean + 1e-12 {
          best = c
          bestMean = mean
        }
      }
      return best
    }
  }

  /// GA, PA, FGA and FTA of one prediction (a group and a template per line) against labels.
  public struct Scores: Sendable, Equatable {
    public var ga: Double
    public var pa: Double
    public var fga: Double
    public var fta: Double

    public init(ga: Double, pa: Double, fga: Double, fta: Double) {
      self.ga = ga
      self.pa = pa
      self.fga = fga
      self.fta = fta
    }

    /// Scores `groups` (any group key per line) and `templates` (the text of each line's group)
    /// against the true templates; the true events are the distinct true templates (loghub-2.0).
    public init<P: Hashable>(groups: [P], templates: [String], truth: [String]) {
      let f = TemplateEvaluation.groupF1(predicted: groups, templates: templates, truth: truth)
      self.init(
        ga: TemplateEvaluation.groupingAccuracy(predicted: groups, truth: truth),
        pa: TemplateEvaluation.parsingAccuracy(predicted: templates, truth: truth), fga: f.fga, fta: f.fta)
    }
  }

  /// Which labels of a loghub dataset: loghub's original ones or loghub-2.0's corrected ones.
  public enum Labels: String, Sendable, CaseIterable {
    case original
    case corrected
  }

  /// One loghub dataset: the raw lines and, per line, the true event id and template.
  public struct Dataset: Sendable {
    public var name: String
    public var lines: [String]
    public var eventIDs: [String]
    public var templates: [String]
    public var bytes: Int
    /// The message part of each line as the labels have it (the `Content` column).
    public var contents: [String] = []
  }

  /// Loads `dir/NAME_2k.log` with `NAME_2k.log_structured_corrected.csv` (or the
  /// uncorrected file when there is no corrected one).
  public static func loadLoghub(_ dir: URL) throws -> Dataset? {
    try loadLoghub(dir, labels: .corrected) ?? loadLoghub(dir, labels: .original)
  }

  /// Loads `dir/NAME_2k.log` with every label set it has (the lines are the same in each).
  ///
  /// - Returns: The lines and each label set's template per line; nil when no label set loads.
  /// - Throws: When a file exists but cannot be read.
  public static func loadLoghubLabelSets(_ dir: URL) throws -> (lines: [String], labels: [Labels: [String]])? {
    var labels: [Labels: [String]] = [:]
    var lines: [String] = []
    for l in Labels.allCases {
      guard let d = try loadLoghub(dir, labels: l) else { continue }
      labels[l] = d.templates
      lines = d.lines
    }
    return labels.isEmpty ? nil : (lines, labels)
  }

  /// Loads `dir/NAME_2k.log` with the given label set; nil when either file is missing or they disagree.
  public static func loadLoghub(_ dir: URL, labels: Labels) throws -> Dataset? {
    let name = dir.lastPathComponent
    let log = dir.appendingPathComponent("\(name)_2k.log")
    let csv = dir.appendingPathComponent(
      labels == .corrected ? "\(name)_2k.log_structured_corrected.csv" : "\(name)_2k.log_structured.csv")
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
    let c = header.firstIndex(of: "Content")
    return Dataset(
      name: name, lines: lines, eventIDs: body.map { $0[e] }, templates: body.map { $0[t] }, bytes: data.count,
      contents: c.map { c in body.map { $0[c] } } ?? [])
  }
}
