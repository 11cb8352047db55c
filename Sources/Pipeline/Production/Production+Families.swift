import Foundation
import Ingest
import Storage

extension Production {
  /// The families of `files` (ingest's files, each file's children after it): a top-level
  /// document and everything inside it, in file order, each child under its direct parent.
  ///
  /// A mailbox is one family per message. A top-level container (a `.pst` store, an archive)
  /// is not produced itself when it has children: each child heads its own family, as review
  /// platforms treat mail stores and ZIP files; a container inside a family (a ZIP attached
  /// to a message) is a member with its own children after it. A child whose parent failed
  /// to extract follows a placeholder row for that parent.
  func collectFamilies(
    files: [IngestedFile], failures: [String: String], corpus: Corpus, custodians: [String: String],
    warnings: inout [String]
  ) throws -> [[Member]] {
    var families: [[Member]] = []
    var familyOf: [String: Int] = [:]
    // Top-level containers not produced, and the top-level file every path lies in.
    var containers = Set<String>()
    var topOf: [String: (path: String, kind: DocumentKind?)] = [:]
    for (index, file) in files.enumerated() {
      let kind = try corpus.kind(ofDocument: file.documentHash)
      let meta = try corpus.metadata(ofDocument: file.documentHash)
      let sections = try corpus.sections(ofDocument: file.documentHash, displayPath: file.displayPath)
      let basePath = Self.basePath(file.displayPath)
      let custodian = custodians[basePath] ?? ""
      let known = Self.parentPath(of: file.displayPath) { familyOf[$0] != nil || containers.contains($0) }
      // A child whose parent is missing (it failed): its display path is not a source's.
      let orphan =
        known == nil && file.displayPath != basePath
        ? try corpus.absolutePath(ofDisplayPath: file.displayPath) == nil : false
      let parentMember = known.flatMap { containers.contains($0) ? nil : $0 }
      let top = known.flatMap { topOf[$0] } ?? (orphan ? (basePath, nil) : (file.displayPath, kind))
      topOf[file.displayPath] = top
      let hasChildren =
        index + 1 < files.count && Self.parentPath(of: files[index + 1].displayPath) { $0 == file.displayPath } != nil

      if parentMember == nil, !orphan, kind == .email, sections.count > 1,
        sections.allSatisfy({ $0.locator.message != nil })
      {
        // A mailbox: one family per message, its attachments after it.
        let source = try corpus.absolutePath(ofDisplayPath: file.displayPath)
        let messages = (try? source.map { try MailMessages.readThreaded(path: $0) }) ?? nil
        let byKey = Dictionary((messages ?? []).map { ($0.message.key, $0) }, uniquingKeysWith: { a, _ in a })
        containers.insert(file.displayPath)
        for section in sections {
          let key = section.locator.message ?? ""
          let path = file.displayPath + "#msg=" + key
          var headers = Self.mailHeaders(section.text)
          let parsed = byKey[key]
          if let raw = parsed?.date { headers["date"] = raw }
          if let bcc = parsed?.bcc, headers["bcc"] == nil { headers["bcc"] = bcc }
          if let id = parsed?.thread.messageID { headers["message-id"] = id }
          var member = Member(
            file: IngestedFile(displayPath: path, documentHash: file.documentHash), parent: nil, metadata: [:],
            pages: 1, custodian: custodian, date: Self.date(meta: [:], headers: headers), headers: headers)
          member.text = section.text
          member.native = parsed?.message.bytes
          member.name = Self.fileName(basePath) + "#msg=" + key
          member.ext = "eml"
          member.kind = .email
          member.thread = parsed?.thread
          member.thread?.key = path
          member.dedupHash = parsed?.message.emailHash ?? Hashing.sha1(Data(section.text.utf8))
          member.numberKey = member.file.displayPath + "|" + member.dedupHash
          topOf[path] = top
          familyOf[path] = families.count
          families.append([member])
          if member.date.isEmpty { warnings.append("\(path): no date; ordered after dated documents") }
        }
        continue
      }
      if parentMember == nil, !orphan, kind == .pst || kind == .archive, hasChildren {
        containers.insert(file.displayPath)
        continue
      }

      var headers = Self.mailHeaders(sections.first?.text ?? "")
      for key in Self.mailKeys { if let v = meta[key], !v.isEmpty { headers[key] = v } }
      let date = Self.date(meta: meta, headers: headers)
      let stored = try corpus.pageCount(ofDocument: file.documentHash)
      let pages = max(1, stored ?? Int(meta["pages"] ?? "") ?? 1)
      let parentPath = parentMember ?? (orphan ? basePath : nil)
      var member = Member(
        file: file, parent: parentPath, metadata: meta, pages: pages, custodian: custodian, date: date,
        headers: headers)
      member.kind = kind
      member.name = meta["attachment.fileName"].map(Self.cleanName) ?? Self.fileName(file.displayPath)
      if kind == .email || kind == .outlook {
        let body = Self.bodyWithoutHeaders(sections.map(\.text).joined(separator: "\n\n"))
        let source = parentPath == nil ? try corpus.absolutePath(ofDisplayPath: file.displayPath) : nil
        if kind == .email, let source, let parsed = try? MailMessages.readThreaded(path: source).first {
          // An .eml file: deduplicated by its email hash, like a mailbox's messages.
          member.dedupHash = parsed.message.emailHash
          member.thread = parsed.thread
        } else {
          member.thread = EmailThreading.Message(
            key: file.displayPath, messageID: headers["message-id"], inReplyTo: headers["in-reply-to"],
            references: MessageIDs.parse(headers["references"] ?? ""), subject: headers["subject"],
            from: headers["from"], to: headers["to"], cc: headers["cc"],
            date: headers["date"].flatMap(MailMessages.mailDate), body: body, attachments: [])
          // A message inside a store is deduplicated by its email hash, across stores and mailboxes.
          if parentPath == nil && source == nil {
            member.dedupHash = MailMessages.emailHash(
              from: headers["from"], to: headers["to"], cc: headers["cc"], subject: headers["subject"],
              date: headers["date"], messageID: headers["message-id"], body: body)
            member.numberKey = file.displayPath + "|" + member.dedupHash
          }
        }
        member.thread?.key = file.displayPath
      }
      if let parentPath, let index = familyOf[parentPath] {
        families[index].append(member)
      } else if let parentPath {
        // Its parent failed to extract (or is gone): a placeholder stands in for it.
        let failure = failures[parentPath] ?? "the parent is not in this production"
        var parent = Member(
          file: IngestedFile(displayPath: parentPath, documentHash: String(repeating: "0", count: 64)), parent: nil,
          metadata: [:], pages: 1, custodian: custodian, date: "", headers: [:])
        parent.failure = failure
        parent.numberKey = parentPath + "|failed"
        parent.dedupHash = "failed|" + parentPath
        warnings.append("\(parentPath): failed to extract (\(failure)); a placeholder row stands in for it")
        familyOf[parentPath] = families.count
        families.append([parent, member])
      } else {
        families.append([member])
      }
      familyOf[file.displayPath] = familyOf[parentPath ?? ""] ?? families.count - 1
      if date.isEmpty && parentPath == nil {
        warnings.append("\(file.displayPath): no date; ordered after dated documents")
      }
    }
    // Files that failed to extract: a placeholder row each (its native, if readable, and its failure).
    for (path, failure) in failures.sorted(by: { $0.key < $1.key }) where familyOf[path] == nil {
      var member = Member(
        file: IngestedFile(displayPath: path, documentHash: String(repeating: "0", count: 64)), parent: nil,
        metadata: [:], pages: 1, custodian: custodians[path] ?? "", date: "", headers: [:])
      member.failure = failure
      member.numberKey = path + "|failed"
      member.dedupHash = "failed|" + path
      warnings.append("\(path): failed to extract (\(failure)); produced as a placeholder row")
      familyOf[path] = families.count
      families.append([member])
    }
    for f in families.indices {
      for m in families[f].indices {
        let top = topOf[families[f][m].file.displayPath]
        families[f][m].top = top?.path
        families[f][m].topKind = top?.kind
      }
    }
    return families
  }

  /// The metadata keys of messages and Office files a production shows.
  static let mailKeys = [
    "from", "to", "cc", "bcc", "subject", "date", "received", "message-id", "in-reply-to", "references",
  ]

  /// The nearest path that `isKnown` accepts among `displayPath`'s ancestors: the prefixes
  /// that end where a child's suffix begins (`#` or `/`), longest first.
  static func parentPath(of displayPath: String, isKnown: (String) -> Bool) -> String? {
    guard let firstHash = displayPath.firstIndex(of: "#") else { return nil }
    var i = displayPath.endIndex
    while i > firstHash {
      i = displayPath.index(before: i)
      let c = displayPath[i]
      guard c == "#" || c == "/" else { continue }
      let prefix = String(displayPath[..<i])
      if isKnown(prefix) { return prefix }
    }
    return nil
  }

  /// A file name from a parent's listing, without path separators.
  static func cleanName(_ name: String) -> String {
    let last = (name.replacingOccurrences(of: "\\", with: "/") as NSString).lastPathComponent
    return last.isEmpty ? name : last
  }

  /// A message's text without the header block a section starts with (`From:` … up to the
  /// first blank line), when it starts with one.
  static func bodyWithoutHeaders(_ text: String) -> String {
    let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
    guard let first = lines.first, first.range(of: #"^[A-Za-z-]+: "#, options: .regularExpression) != nil,
      let blank = lines.firstIndex(where: { $0.trimmingCharacters(in: .whitespaces).isEmpty })
    else { return text }
    return lines[(blank + 1)...].joined(separator: "\n")
  }
}
