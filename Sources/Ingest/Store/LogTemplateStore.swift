import Foundation
import GRDB
import Storage

/// A log template as the workspace knows it, over the log files currently ingested.
public struct StoredLogTemplate: Sendable, Codable, Equatable {
  /// Stable across runs: a template that generalises keeps it, and one merged
  /// into another answers to the other's (`LogTemplateStore.resolve`).
  public var id: Int64
  public var text: String
  /// Events of this template in the files asked about.
  public var count: Int
  public var firstTime: Double?
  public var lastTime: Double?
  /// Where its first event is (the earliest in time, else the first file's first line).
  public var firstLocator: Locator
  /// A few events, cited.
  public var examples: [Locator]
  /// When the workspace first saw it (seconds since 1970).
  public var createdAt: Double
  /// Files it occurs in.
  public var files: Int
  /// The miner's template when `text` is the model's (`templates --refine`); nil otherwise.
  public var minedText: String? = nil
}

/// The workspace's log templates: each log document's templates (mined at
/// ingest, `LogTemplateIndex`) are bound to workspace-wide template ids, and
/// each document keeps the template of every line.
///
/// Binding: a document's template takes the id of the stored template with
/// the same text; else of the stored template it is compatible with (same
/// number of tokens, equal wherever both hold a constant, at least one shared
/// constant), the one sharing most constants. When the new one is more general
/// there (a constant became `<*>`), the stored template's text generalises and
/// its id stays, and stored templates the generalised one now covers are
/// merged into it (`mergedInto`), so ids handed out before never dangle.
public enum LogTemplateStore {
  static let wildcard = "<*>"

  /// Stored templates of one token count, with an index from (position, constant) to them.
  struct Candidates {
    var templates: [(id: Int64, tokens: [Substring])] = []
    var live: [Bool] = []
    var byConstant: [String: [Int]] = [:]

    static func key(_ k: Int, _ token: Substring) -> String { "\(k)\u{0}\(token)" }

    mutating func append(_ id: Int64, _ tokens: [Substring]) {
      let i = templates.count
      templates.append((id, tokens))
      live.append(true)
      for (k, t) in tokens.enumerated() where t != LogTemplateStore.wildcard {
        byConstant[Self.key(k, t), default: []].append(i)
      }
    }

    /// Live templates sharing at least one constant, at the same position, with `tokens`.
    func sharing(_ tokens: [Substring]) -> [Int] {
      var out = Set<Int>()
      for (k, t) in tokens.enumerated() where t != LogTemplateStore.wildcard {
        for i in byConstant[Self.key(k, t)] ?? [] where live[i] { out.insert(i) }
      }
      return out.sorted()
    }
  }

  /// Binds `index`'s templates to workspace ids and records them for document `hash`
  /// (replacing what the document had). Call inside a write transaction.
  static func record(
    _ db: Database, documentHash hash: String, index: LogTemplateIndex, linesBlob: String, at time: Double
  )
    throws
  {
    try db.execute(sql: "DELETE FROM log_document_template WHERE documentHash = ?", arguments: [hash])
    var candidates: [Int: Candidates] = [:]
    for (localId, entry) in index.templates.enumerated() {
      let id = try bind(db, text: entry.text, at: time, candidates: &candidates)
      let examples = String(decoding: try JSONEncoder().encode(entry.examples), as: UTF8.self)
      try db.execute(
        sql: """
          INSERT INTO log_document_template
            (documentHash, localId, templateId, count, firstLine, lastLine, firstTime, lastTime, examples)
          VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
          """,
        arguments: [
          hash, localId, id, entry.count, entry.firstLine, entry.lastLine, entry.firstTime, entry.lastTime, examples,
        ])
    }
    try db.execute(
      sql: """
        INSERT OR REPLACE INTO log_document_lines (documentHash, layout, linesBlob, lineCount, saturated)
        VALUES (?, ?, ?, ?, ?)
        """,
      arguments: [hash, index.layout, linesBlob, index.lineTemplates.count, index.saturated])
  }

  /// The workspace id for template `text`, creating or generalising a stored template.
  private static func bind(
    _ db: Database, text: String, at time: Double, candidates: inout [Int: Candidates]
  ) throws -> Int64 {
    if let id = try Int64.fetchOne(
      db, sql: "SELECT id FROM log_template WHERE text = ? AND mergedInto IS NULL", arguments: [text])
    {
      return id
    }
    let tokens = text.split(separator: " ", omittingEmptySubsequences: false)
    let n = tokens.count
    if candidates[n] == nil {
      var c = Candidates()
      for row in try Row.fetchAll(
        db, sql: "SELECT id, text FROM log_template WHERE tokenCount = ? AND mergedInto IS NULL ORDER BY id",
        arguments: [n])
      {
        c.append(row["id"], (row["text"] as String).split(separator: " ", omittingEmptySubsequences: false))
      }
      candidates[n] = c
    }
    var best: (index: Int, shared: Int)?
    for i in candidates[n]!.sharing(tokens) {
      if let shared = sharedConstants(tokens, candidates[n]!.templates[i].tokens), shared > (best?.shared ?? 0) {
        best = (i, shared)
      }
    }
    guard let best else {
      try db.execute(
        sql: "INSERT INTO log_template (text, tokenCount, createdAt) VALUES (?, ?, ?)",
        arguments: [text, n, time])
      let id = db.lastInsertedRowID
      candidates[n]!.append(id, tokens)
      return id
    }
    let stored = candidates[n]!.templates[best.index]
    let general = zip(tokens, stored.tokens).map { $0 == $1 ? $0 : Substring(wildcard) }
    if general != stored.tokens {
      try db.execute(
        sql: "UPDATE log_template SET text = ? WHERE id = ?", arguments: [general.joined(separator: " "), stored.id])
      // The generalised text is indexed anew; templates it now covers join it.
      candidates[n]!.live[best.index] = false
      for i in candidates[n]!.sharing(general) where covers(general, candidates[n]!.templates[i].tokens) {
        try db.execute(
          sql: "UPDATE log_template SET mergedInto = ? WHERE id = ?",
          arguments: [stored.id, candidates[n]!.templates[i].id])
        candidates[n]!.live[i] = false
      }
      candidates[n]!.append(stored.id, general)
    }
    return stored.id
  }

  /// Constants equal in both where both hold one, or `nil` when they conflict somewhere
  /// (or share none).
  static func sharedConstants(_ a: [Substring], _ b: [Substring]) -> Int? {
    guard a.count == b.count else { return nil }
    var shared = 0
    for (x, y) in zip(a, b) {
      if x == wildcard || y == wildcard { continue }
      if x != y { return nil }
      shared += 1
    }
    return shared > 0 ? shared : nil
  }

  /// Whether template `general` takes every message of template `specific`.
  static func covers(_ general: [Substring], _ specific: [Substring]) -> Bool {
    general.count == specific.count && zip(general, specific).allSatisfy { $0 == $1 || $0 == wildcard }
  }

  // MARK: - Reading

  /// The id a (possibly merged) template answers to now.
  public static func resolver(_ db: Database) throws -> (Int64) -> Int64 {
    var into: [Int64: Int64] = [:]
    for row in try Row.fetchAll(db, sql: "SELECT id, mergedInto FROM log_template WHERE mergedInto IS NOT NULL") {
      into[row["id"]] = row["mergedInto"]
    }
    return { id in
      var c = id
      var steps = 0
      while let n = into[c], steps < 1000 {
        c = n
        steps += 1
      }
      return c
    }
  }

  /// Every stored template's text and when the workspace first saw it, by id (merged ones too).
  public static func catalog(_ workspace: Workspace) throws -> [Int64: (text: String, createdAt: Double)] {
    try workspace.db.read { db in
      var out: [Int64: (text: String, createdAt: Double)] = [:]
      for row in try Row.fetchAll(db, sql: "SELECT id, text, createdAt FROM log_template") {
        out[row["id"]] = (row["text"], row["createdAt"])
      }
      return out
    }
  }

  /// One log source currently ingested: its cited path and document.
  struct LogSource {
    var displayPath: String
    var documentHash: String
  }

  static func logSources(_ db: Database, paths: [String]?) throws -> [LogSource] {
    let rows = try Row.fetchAll(
      db,
      sql: """
        SELECT s.path, s.displayPath, s.contentHash FROM source s
        JOIN log_document_lines l ON l.documentHash = s.contentHash
        WHERE s.status = 'ok' ORDER BY s.displayPath
        """)
    return rows.compactMap { row in
      let display: String = row["displayPath"]
      let absolute: String = row["path"]
      if let paths, !paths.contains(where: { Self.matches($0, absolute: absolute, display: display) }) { return nil }
      return LogSource(displayPath: display, documentHash: row["contentHash"])
    }
  }

  /// Whether `path` names this source: its cited path, its absolute path, or a directory above it.
  static func matches(_ path: String, absolute: String, display: String) -> Bool {
    let dir = path.hasSuffix("/") ? path : path + "/"
    return path == display || path == absolute || absolute.hasPrefix(dir) || display.hasPrefix(dir)
  }

  /// The templates of the log files `paths` name (cited or absolute paths, or directories
  /// above them; every ingested log when `nil`), by count.
  public static func templates(_ workspace: Workspace, paths: [String]? = nil) throws -> [StoredLogTemplate] {
    try workspace.db.read { db in try templates(db, paths: paths) }
  }

  /// The ingested log files `paths` name, by cited path.
  public static func logFiles(_ workspace: Workspace, paths: [String]? = nil) throws -> [String] {
    try workspace.db.read { db in try logSources(db, paths: paths).map(\.displayPath) }
  }

  static func templates(_ db: Database, paths: [String]?) throws -> [StoredLogTemplate] {
    let resolve = try resolver(db)
    var texts: [Int64: (text: String, createdAt: Double)] = [:]
    for row in try Row.fetchAll(db, sql: "SELECT id, text, createdAt FROM log_template") {
      texts[row["id"]] = (row["text"], row["createdAt"])
    }
    var out: [Int64: StoredLogTemplate] = [:]
    var firstKey: [Int64: (time: Double, path: String, line: Int)] = [:]
    for source in try logSources(db, paths: paths) {
      let rows = try Row.fetchAll(
        db,
        sql: """
          SELECT templateId, count, firstLine, firstTime, lastTime, examples FROM log_document_template
          WHERE documentHash = ? ORDER BY localId
          """,
        arguments: [source.documentHash])
      var seenHere = Set<Int64>()
      for row in rows {
        let id = resolve(row["templateId"])
        guard let info = texts[id] else { continue }
        let count: Int = row["count"]
        let firstLine: Int = row["firstLine"]
        let firstTime: Double? = row["firstTime"]
        let lastTime: Double? = row["lastTime"]
        let lines = (try? JSONDecoder().decode([Int].self, from: Data((row["examples"] as String).utf8))) ?? []
        let here = Locator(path: source.displayPath, lineStart: firstLine, lineEnd: firstLine)
        var t =
          out[id]
          ?? StoredLogTemplate(
            id: id, text: info.text, count: 0, firstTime: nil, lastTime: nil, firstLocator: here, examples: [],
            createdAt: info.createdAt, files: 0)
        t.count += count
        if seenHere.insert(id).inserted { t.files += 1 }
        if let f = firstTime, t.firstTime.map({ f < $0 }) ?? true { t.firstTime = f }
        if let l = lastTime, t.lastTime.map({ l > $0 }) ?? true { t.lastTime = l }
        // The first locator: the earliest event in time; without times, the first file's.
        let key = (firstTime ?? .infinity, source.displayPath, firstLine)
        if let k = firstKey[id], (k.time, k.path, k.line) <= key {
        } else {
          firstKey[id] = key
          t.firstLocator = here
        }
        for line in lines where t.examples.count < LogTemplateIndex.exampleCount {
          t.examples.append(Locator(path: source.displayPath, lineStart: line, lineEnd: line))
        }
        out[id] = t
      }
    }
    return out.values.sorted { ($0.count, $1.id) > ($1.count, $0.id) }
  }

  /// The template of each line of log `displayPath`: its line number, template id and text
  /// (`nil` for a continuation line), or `nil` when the file is not an ingested log.
  public static func lines(_ workspace: Workspace, displayPath: String) throws -> [(
    line: Int, id: Int64?, text: String?
  )]? {
    guard let index = try documentLines(workspace, displayPath: displayPath) else { return nil }
    return index.lines.enumerated().map { i, local in
      guard local >= 0, Int(local) < index.ids.count else { return (i + 1, nil, nil) }
      let id = index.ids[Int(local)]
      return (i + 1, id, index.texts[id])
    }
  }

  /// A log document's per-line local template ids, and the workspace id and text of each local id.
  public struct DocumentLines: Sendable, Hashable {
    public var lines: [Int32]
    public var ids: [Int64]
    public var texts: [Int64: String]

    /// The workspace template id of 1-based line `n`, `nil` for a continuation line or past the end.
    public func template(ofLine n: Int) -> Int64? {
      guard n >= 1, n <= lines.count, lines[n - 1] >= 0, Int(lines[n - 1]) < ids.count else { return nil }
      return ids[Int(lines[n - 1])]
    }
  }

  /// The per-line templates of the log cited as `displayPath`.
  public static func documentLines(_ workspace: Workspace, displayPath: String) throws -> DocumentLines? {
    let hash = try workspace.db.read { db in
      try String.fetchOne(
        db, sql: "SELECT contentHash FROM source WHERE displayPath = ? AND status = 'ok'", arguments: [displayPath])
    }
    guard let hash else { return nil }
    return try documentLines(workspace, documentHash: hash)
  }

  /// The per-line templates of log document `hash`, or `nil` when it has none stored.
  public static func documentLines(_ workspace: Workspace, documentHash hash: String) throws -> DocumentLines? {
    let stored = try workspace.db.read { db -> (String, [Int64], [Int64: String])? in
      guard
        let blob = try String.fetchOne(
          db, sql: "SELECT linesBlob FROM log_document_lines WHERE documentHash = ?", arguments: [hash])
      else { return nil }
      let resolve = try resolver(db)
      let ids = try Int64.fetchAll(
        db, sql: "SELECT templateId FROM log_document_template WHERE documentHash = ? ORDER BY localId",
        arguments: [hash]
      ).map(resolve)
      var texts: [Int64: String] = [:]
      for row in try Row.fetchAll(
        db,
        sql: "SELECT id, text FROM log_template WHERE id IN (SELECT value FROM json_each(?))",
        arguments: [String(decoding: try JSONEncoder().encode(Array(Set(ids))), as: UTF8.self)])
      {
        texts[row["id"]] = row["text"]
      }
      return (blob, ids, texts)
    }
    guard let (blob, ids, texts) = stored else { return nil }
    return DocumentLines(lines: LogTemplateIndex.decodeLines(try workspace.blobs.get(blob)), ids: ids, texts: texts)
  }
}
