import Foundation

extension Production {
  /// Reads a Concordance DAT as `produce` writes it: a byte-order mark, a header row,
  /// þ-qualified fields separated by ASCII 20, CRLF line ends.
  ///
  /// - Returns: The header and the rows, or `nil` when the file is not such a DAT.
  public static func readDAT(_ data: Data) -> (header: [String], rows: [[String]])? {
    var bytes = data
    if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { bytes = bytes.dropFirst(3) }
    guard let text = String(data: bytes, encoding: .utf8) else { return nil }
    var records: [[String]] = []
    for line in text.components(separatedBy: "\r\n") where !line.isEmpty {
      var fields: [String] = []
      for raw in line.split(separator: delimiter, omittingEmptySubsequences: false) {
        guard raw.first == qualifier, raw.last == qualifier, raw.count >= 2 else { return nil }
        fields.append(String(raw.dropFirst().dropLast()))
      }
      records.append(fields)
    }
    guard let header = records.first else { return nil }
    return (header, Array(records.dropFirst()))
  }

  /// Checks the production in `directory`: the DAT parses with its delimiters, every page is
  /// numbered once with no gap or overlap, families are unbroken (each row's range lies in
  /// its BEGATTACH–ENDATTACH, and a family's rows follow each other), and every TEXTPATH and
  /// NATIVEPATH exists, every withheld range has its row in the privilege log, and
  /// an Opticon `.opt` beside the DAT (or an IMAGEPATH column) matches it page for page, and
  /// the EDRM XML beside it (`checkEDRM`) holds the same documents, fields, files and
  /// relationships. Returns the problems (empty: the production is sound).
  public static func check(directory: URL) -> [String] {
    let fm = FileManager.default
    let data = directory.appendingPathComponent("DATA")
    guard let dats = try? fm.contentsOfDirectory(atPath: data.path).filter({ $0.hasSuffix(".dat") }), !dats.isEmpty
    else { return ["\(directory.path) has no DATA/*.dat load file"] }
    var problems: [String] = []
    for dat in dats.sorted() {
      guard let contents = fm.contents(atPath: data.appendingPathComponent(dat).path),
        let (header, rows) = readDAT(contents)
      else {
        problems.append("DATA/\(dat) cannot be read as a DAT (UTF-8, fields þ…þ separated by ASCII 20)")
        continue
      }
      func column(_ name: String) -> Int? { header.firstIndex(of: name) }
      guard let beg = column("BEGBATES"), let end = column("ENDBATES"), let begAttach = column("BEGATTACH"),
        let endAttach = column("ENDATTACH")
      else {
        problems.append("DATA/\(dat) lacks BEGBATES, ENDBATES, BEGATTACH or ENDATTACH")
        continue
      }
      func number(_ bates: String) -> (prefix: String, n: Int)? {
        let digits = bates.reversed().prefix { $0.isNumber }
        guard !digits.isEmpty, let n = Int(String(digits.reversed())) else { return nil }
        return (String(bates.dropLast(digits.count)), n)
      }
      var previousEnd: Int?
      var openFamily: (begin: Int, end: Int)?
      var seenFamilies = Set<String>()
      for (i, row) in rows.enumerated() {
        let line = i + 2
        guard row.count == header.count else {
          problems.append("DATA/\(dat) line \(line): \(row.count) fields where the header has \(header.count)")
          continue
        }
        guard let b = number(row[beg]), let e = number(row[end]), let fb = number(row[begAttach]),
          let fe = number(row[endAttach])
        else {
          problems.append("DATA/\(dat) line \(line): a Bates number without digits")
          continue
        }
        if b.n > e.n { problems.append("DATA/\(dat) line \(line): \(row[beg]) comes after \(row[end])") }
        if let p = previousEnd, b.n != p + 1 {
          problems.append(
            b.n <= p
              ? "DATA/\(dat) line \(line): \(row[beg]) overlaps the document before it"
              : "DATA/\(dat) line \(line): a gap before \(row[beg]) (the previous document ended at \(p))")
        }
        previousEnd = e.n
        if b.n < fb.n || e.n > fe.n {
          problems.append(
            "DATA/\(dat) line \(line): \(row[beg])–\(row[end]) lies outside its family \(row[begAttach])–\(row[endAttach])"
          )
        }
        let family = row[begAttach] + "–" + row[endAttach]
        if let open = openFamily, open.begin == fb.n, open.end == fe.n {
          // Still the same family.
        } else {
          if seenFamilies.contains(family) {
            problems.append("DATA/\(dat) line \(line): family \(family) is broken by another document")
          }
          seenFamilies.insert(family)
          openFamily = (fb.n, fe.n)
        }
        for name in ["TEXTPATH", "NATIVEPATH"] {
          if let c = column(name), !row[c].isEmpty,
            !fm.fileExists(atPath: directory.appendingPathComponent(row[c]).path)
          {
            problems.append("DATA/\(dat) line \(line): \(name) \(row[c]) is missing")
          }
        }
      }
      problems += checkPrivilegeLog(directory: directory, dat: dat, header: header, rows: rows)
      problems += checkOpticon(directory: directory, dat: dat, header: header, rows: rows)
      problems += checkEDRM(directory: directory, dat: dat, header: header, rows: rows)
    }
    return problems
  }
}
