import Foundation

extension Production {
  /// The privilege log's file name, at the top of the production.
  public static let privilegeLogName = "PRIVLOG.csv"
  /// The DAT column marking a withheld document's slip sheet (`Y`).
  public static let withheldField = "WITHHELD"
  /// The privilege log's columns (FRCP 26(b)(5)(A): enough to assess the claim).
  public static let privilegeLogFields = [
    "BEGBATES", "ENDBATES", "DATE", "DOCTYPE", "AUTHOR", "TO", "CC", "BCC", "SUBJECT", "PRIVILEGE", "DESCRIPTION",
  ]

  /// The job's coding when the production has coding columns or uses it to select
  /// or withhold; nil when the job has no coding.
  ///
  /// - Throws: `PipelineError.jobInvalid` when `select` or `withhold` needs coding and
  ///   the job has no finished map answers (it has not been run).
  func codingTable() throws -> CodingTable? {
    guard spec.coding != nil else { return nil }
    let table = try CodingTable.compute(workspace: workspace, spec: spec)
    let uses = [settings.select.map { "select: \($0)" }, settings.withhold.map { "withhold: \($0)" }].compactMap { $0 }
    if !uses.isEmpty, table?.documents.contains(where: \.coded) != true {
      throw PipelineError.jobInvalid(
        path: spec.name,
        problems: [
          "production.\(uses.joined(separator: ", ")): the job has no coded document yet; run it first"
            + " (longctx run JOB.yaml) so its map answers can be folded into coding"
        ])
    }
    return table
  }

  /// The privilege claimed for documents withheld by `field`: `privileged` → `Privileged`.
  static func claim(_ field: String) -> String {
    field.prefix(1).uppercased() + field.dropFirst().replacingOccurrences(of: "_", with: " ")
  }

  /// One row of the privilege log.
  static func privilegeLogRow(
    begin: String, end: String, ext: String, isAttachment: Bool, headers h: [String: String],
    metadata: [String: String], privilege: String, description: String
  ) -> [String] {
    let isMail = h["from"] != nil || ["eml", "mbox", "msg"].contains(ext)
    let type =
      isMail
      ? "Email" : (ext.isEmpty ? "Document" : ext.uppercased()) + (isAttachment ? " (attachment)" : "")
    return [
      begin, end, h["date"] ?? metadata["created"] ?? "", type, h["from"] ?? metadata["author"] ?? "", h["to"] ?? "",
      h["cc"] ?? "", h["bcc"] ?? "", h["subject"] ?? metadata["title"] ?? "", privilege, description,
    ]
  }

  /// The privilege log as RFC 4180 CSV with a header row.
  static func privilegeLogCSV(_ rows: [[String]]) -> String {
    ([privilegeLogFields] + rows).map { $0.map(ReportCSV.field).joined(separator: ",") }.joined(separator: "\r\n")
      + "\r\n"
  }

  /// RFC 4180 CSV text as rows of fields.
  static func readCSV(_ text: String) -> [[String]] {
    var rows: [[String]] = []
    var row: [String] = []
    var field = ""
    var quoted = false
    var chars = text.makeIterator()
    var pending: Character? = nil
    func next() -> Character? {
      if let p = pending {
        pending = nil
        return p
      }
      return chars.next()
    }
    while let c = next() {
      if quoted {
        if c == "\"" {
          if let d = next() {
            if d == "\"" {
              field.append("\"")
            } else {
              quoted = false
              pending = d
            }
          } else {
            quoted = false
          }
        } else {
          field.append(c)
        }
        continue
      }
      switch c {
      case "\"": quoted = true
      case ",":
        row.append(field)
        field = ""
      case "\r\n", "\n", "\r":
        row.append(field)
        rows.append(row)
        row = []
        field = ""
      default: field.append(c)
      }
    }
    if !field.isEmpty || !row.isEmpty {
      row.append(field)
      rows.append(row)
    }
    return rows
  }

  /// Problems between a DAT's withheld rows and the privilege log: a withheld range
  /// without its log row, a log row for no withheld range, or a missing log.
  static func checkPrivilegeLog(directory: URL, dat: String, header: [String], rows: [[String]]) -> [String] {
    guard let w = header.firstIndex(of: withheldField), let beg = header.firstIndex(of: "BEGBATES"),
      let end = header.firstIndex(of: "ENDBATES")
    else { return [] }
    let withheld = rows.filter { $0.count == header.count && $0[w] == "Y" }.map { "\($0[beg])–\($0[end])" }
    let url = directory.appendingPathComponent(privilegeLogName)
    guard let text = try? String(contentsOf: url, encoding: .utf8) else {
      return withheld.isEmpty
        ? [] : ["\(privilegeLogName) is missing, and DATA/\(dat) withholds \(withheld.count) documents"]
    }
    let log = readCSV(text)
    guard let logHeader = log.first, let lb = logHeader.firstIndex(of: "BEGBATES"),
      let le = logHeader.firstIndex(of: "ENDBATES")
    else { return ["\(privilegeLogName) has no BEGBATES and ENDBATES header"] }
    let logged = log.dropFirst().filter { $0.count > max(lb, le) }.map { "\($0[lb])–\($0[le])" }
    var problems: [String] = []
    for range in withheld where !logged.contains(range) {
      problems.append("DATA/\(dat): withheld \(range) has no row in \(privilegeLogName)")
    }
    for range in logged where !withheld.contains(range) {
      problems.append("\(privilegeLogName): \(range) is not a withheld document of DATA/\(dat)")
    }
    return problems
  }
}
