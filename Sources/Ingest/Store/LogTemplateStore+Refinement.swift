import Foundation
import GRDB
import Storage

/// LLM refinement of stored log templates (issue 31, item 4): the lines shown to the model, and
/// its answers cached in the workspace.
extension LogTemplateStore {
  // MARK: - Cached answers

  /// The answers cached within `scope` (the model and the prompt's version), by the miner's
  /// template; "" where the model gave none.
  public static func refinements(_ workspace: Workspace, scope: String) throws -> [String: String] {
    try workspace.db.read { db in
      var out: [String: String] = [:]
      for row in try Row.fetchAll(
        db, sql: "SELECT template, answer FROM log_template_refinement WHERE scope = ?", arguments: [scope])
      {
        out[row["template"]] = row["answer"]
      }
      return out
    }
  }

  /// Caches `answers` (by the miner's template) within `scope`, replacing older ones.
  public static func saveRefinements(_ workspace: Workspace, scope: String, _ answers: [String: String]) throws {
    guard !answers.isEmpty else { return }
    let now = Date().timeIntervalSince1970
    try workspace.db.write { db in
      for (template, answer) in answers {
        try db.execute(
          sql: "INSERT OR REPLACE INTO log_template_refinement (scope, template, answer, at) VALUES (?, ?, ?, ?)",
          arguments: [scope, template, answer, now])
      }
    }
  }

  // MARK: - Lines to show

  /// Up to `limit` distinct message parts (the line without its header, as the miner saw it) of
  /// each template in `ids`, from the log files `paths` names (every ingested log when nil), in
  /// file and line order. Lines come from the stored text, so a redacted log shows redacted lines.
  public static func messageSamples(
    _ workspace: Workspace, paths: [String]?, templates ids: Set<Int64>, limit: Int = TemplateRefinement.sampleSize
  ) throws -> [Int64: [String]] {
    var out: [Int64: [String]] = [:]
    var seen: [Int64: Set<String>] = [:]
    let sources = try workspace.db.read { db in try logSources(db, paths: paths) }
    let corpus = Corpus(workspace: workspace)
    for source in sources {
      let wanted = ids.filter { (out[$0]?.count ?? 0) < limit }
      if wanted.isEmpty { break }
      guard let index = try documentLines(workspace, documentHash: source.documentHash) else { continue }
      // A few candidate lines per template (duplicates are dropped after reading them).
      var lineNumbers: [Int: Int64] = [:]
      var picked: [Int64: Int] = [:]
      for (i, local) in index.lines.enumerated() where local >= 0 && Int(local) < index.ids.count {
        let id = index.ids[Int(local)]
        guard wanted.contains(id), picked[id, default: 0] < 8 * limit else { continue }
        picked[id, default: 0] += 1
        lineNumbers[i + 1] = id
      }
      if lineNumbers.isEmpty { continue }
      let layout = try workspace.db.read { db in
        try String.fetchOne(
          db, sql: "SELECT layout FROM log_document_lines WHERE documentHash = ?", arguments: [source.documentHash])
      }
      var parser = LogHeaderParser(
        layout: layout.flatMap(LogHeaderLayout.init(rawValue:)) ?? .none, referenceDate: Date())
      parser.keepsFields = false
      for section in try corpus.sections(ofDocument: source.documentHash, displayPath: source.displayPath) {
        guard let first = section.locator.lineStart, let last = section.locator.lineEnd, first <= last else {
          continue
        }
        let texts = section.text.split(separator: "\n", omittingEmptySubsequences: false)
        // A section whose lines do not line up with its locator is not read.
        guard texts.count == last - first + 1 else { continue }
        for (k, text) in texts.enumerated() {
          guard let id = lineNumbers[first + k], (out[id]?.count ?? 0) < limit else { continue }
          let message = String(
            LogTemplateMining.message(of: String(text.prefix(4096)), parser: &parser).prefix(400))
          if seen[id, default: []].insert(message).inserted { out[id, default: []].append(message) }
        }
      }
    }
    return out
  }
}
