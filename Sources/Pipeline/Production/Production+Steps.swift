import Foundation
import GRDB
import Ingest
import Storage

/// The steps of `Production.produce` before the files: which documents, in which order,
/// under which numbers.
extension Production {
  /// Refuses a directory that holds files and is not this job's production (its marker
  /// names another job, or there is none).
  ///
  /// - Throws: `PipelineError.productionDirectoryTaken`.
  func checkDirectory(_ directory: URL) throws {
    let fm = FileManager.default
    guard fm.fileExists(atPath: directory.path) else { return }
    let contents = (try? fm.contentsOfDirectory(atPath: directory.path)) ?? []
    let owner = (try? String(contentsOf: directory.appendingPathComponent(Self.marker), encoding: .utf8))?
      .trimmingCharacters(in: .whitespacesAndNewlines)
    if !contents.isEmpty && owner != spec.name {
      throw PipelineError.productionDirectoryTaken(path: directory.path, owner: owner)
    }
  }

  /// The families of `files` in production order: custodian, then date (undated last), then path.
  func orderedFamilies(
    files: [IngestedFile], failures: [String: String], corpus: Corpus, warnings: inout [String]
  ) throws -> [[Member]] {
    var families = try collectFamilies(
      files: files, failures: failures, corpus: corpus, custodians: try Custodians.byDisplayPath(workspace),
      warnings: &warnings)
    families.sort { a, b in
      let x = a[0]
      let y = b[0]
      return (x.custodian, x.date.isEmpty ? "~" : x.date, x.file.displayPath)
        < (y.custodian, y.date.isEmpty ? "~" : y.date, y.file.displayPath)
    }
    return families
  }

  /// The job's coding as a production uses it: a row by document, and the documents withheld.
  struct CodingChoice {
    /// By document, so a large production looks each one up once.
    var rows: [String: CodingTable.Row] = [:]
    /// Display paths of the documents withheld.
    var withheld: Set<String> = []

    /// The coding row of `member`: its own, else its file's (a message of a mailbox).
    func row(of member: Member) -> CodingTable.Row? {
      rows[member.file.displayPath] ?? rows[Production.basePath(member.file.displayPath)]
    }
  }

  /// Keeps the families with a member coded `select` (every family without it), and
  /// finds the documents coded `withhold`.
  ///
  /// - Throws: `PipelineError.jobInvalid` when the job has no finished map answers to code from.
  func chooseByCoding(_ families: inout [[Member]], warnings: inout [String]) throws -> CodingChoice {
    guard let coding = try codingTable() else { return CodingChoice() }
    var choice = CodingChoice(
      rows: Dictionary(coding.documents.map { ($0.document, $0) }, uniquingKeysWith: { first, _ in first }))
    if let select = settings.select {
      let before = families.count
      families.removeAll { family in !family.contains { choice.row(of: $0)?.values[select] == true } }
      let uncoded = coding.documents.filter { !$0.coded }.count
      if uncoded > 0 {
        warnings.append(
          "\(uncoded) document(s) are uncoded (no answer names them): select: \(select) produces them only in a family"
            + " with a member coded \(select)")
      }
      if before > 0 && families.isEmpty { warnings.append("no document is coded \(select): nothing produced") }
    }
    if let field = settings.withhold {
      var unreviewed = 0
      for member in families.joined() {
        switch choice.row(of: member)?.values[field] {
        case true?: choice.withheld.insert(member.file.displayPath)
        case false?: break
        case nil: unreviewed += 1
        }
      }
      if unreviewed > 0 {
        warnings.append(
          "\(unreviewed) produced document(s) have no \(field) coding (no answer gives it): produced, not withheld")
      }
    }
    return choice
  }

  /// Leaves out duplicate top-level documents (children never leave their family): the first
  /// in production order stays.
  ///
  /// - Returns: How many families left, and every document's custodians (ALLCUSTODIANS), by
  ///   what deduplication compares, counted before any left.
  func removeDuplicates(_ families: inout [[Member]]) -> (removed: Int, allCustodians: [String: String]) {
    var allCustodianSets: [String: Set<String>] = [:]
    for member in families.joined() where !member.custodian.isEmpty {
      allCustodianSets[member.dedupHash, default: []].insert(member.custodian)
    }
    var duplicates = 0
    if settings.dedup != .none {
      var seen = Set<String>()
      families.removeAll { family in
        let top = family[0]
        let k = settings.dedup == .global ? top.dedupHash : top.custodian + "|" + top.dedupHash
        if seen.insert(k).inserted { return false }
        duplicates += 1
        return true
      }
    }
    return (duplicates, allCustodianSets.mapValues { $0.sorted().joined(separator: "; ") })
  }

  /// A document's first Bates number and page count.
  typealias Numbers = (begin: Int, pages: Int)

  /// Gives every member its numbers: the ones given before stay; new documents, and
  /// documents whose page count changed, get numbers after the last. Stored in the workspace.
  ///
  /// - Returns: The numbers by `Member.numberKey` (path and hash; the hash is fixed-length,
  ///   so the key is unambiguous), and how many were given now.
  func number(_ families: [[Member]], warnings: inout [String]) throws -> (
    byKey: [String: Numbers], newlyNumbered: Int
  ) {
    var numbered = try workspace.db.read { db in
      try Dictionary(
        Row.fetchAll(
          db, sql: "SELECT documentKey, begin, pages FROM production_bates WHERE job = ?", arguments: [spec.name]
        ).map { ($0["documentKey"] as String, (begin: $0["begin"] as Int, pages: $0["pages"] as Int)) },
        uniquingKeysWith: { a, _ in a })
    }
    var next = max(settings.start, numbered.values.map { $0.begin + $0.pages }.max() ?? settings.start)
    var newRows: [(String, Int, Int)] = []
    for member in families.joined() {
      let k = member.numberKey
      if let n = numbered[k], n.pages == member.pages { continue }
      if numbered[k] != nil {
        warnings.append("\(member.file.displayPath): its page count changed; it gets new numbers after the last")
      }
      numbered[k] = (next, member.pages)
      newRows.append((k, next, member.pages))
      next += member.pages
    }
    if !newRows.isEmpty {
      try workspace.db.write { db in
        for (k, begin, pages) in newRows {
          try db.execute(
            sql: "INSERT OR REPLACE INTO production_bates (job, documentKey, begin, pages) VALUES (?, ?, ?, ?)",
            arguments: [spec.name, k, begin, pages])
        }
      }
    }
    return (numbered, newRows.count)
  }
}
