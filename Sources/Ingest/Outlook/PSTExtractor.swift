import Foundation

/// Reads an Outlook `.pst`/`.ost` store through readpst (`ReadPST`): ONE
/// document whose sections are the store's items, each cited
/// `store.pst#folder=Inbox/Projects&msg=<Message-ID or ordinal>` (the folder
/// relative to the store's root folder, as readpst names it), threads as in
/// mailboxes, attachments as children.
struct PSTExtractor: Extractor {
  /// Seconds readpst may run; `nil` uses `ReadPST.timeLimit(forBytes:)`.
  var timeLimit: Double?
  /// Attachment bytes passed on as children, at most: past this they are only listed (and said so).
  var maxChildBytes = 1 << 30

  func extract(_ input: ExtractionInput) throws -> Extraction {
    let size = (try? FileManager.default.attributesOfItem(atPath: input.path)[.size] as? Int) ?? 0
    let tmp = FileManager.default.temporaryDirectory.appendingPathComponent("longctx-pst-\(UUID().uuidString)")
    defer { try? FileManager.default.removeItem(at: tmp) }
    let output = try ReadPST.run(
      path: input.path, displayPath: input.displayPath, directory: tmp,
      timeLimit: timeLimit ?? ReadPST.timeLimit(forBytes: size))
    return try read(output, displayPath: input.displayPath, redact: input.options.redact)
  }

  /// One item file readpst wrote.
  private struct Item {
    var folder: String?
    var url: URL
  }

  /// The items of readpst's output directory: folders in path order, items in readpst's numbering.
  private static func items(in directory: URL) -> (root: String?, items: [Item]) {
    let fm = FileManager.default
    let top = (try? fm.contentsOfDirectory(atPath: directory.path)) ?? []
    // readpst writes the store's root folder as one directory; its name is the store's display name.
    var base = directory
    var root: String?
    if top.count == 1, let only = top.first {
      var isDir: ObjCBool = false
      if fm.fileExists(atPath: directory.appendingPathComponent(only).path, isDirectory: &isDir), isDir.boolValue {
        base = directory.appendingPathComponent(only)
        root = only
      }
    }
    var items: [Item] = []
    let walker = fm.enumerator(atPath: base.path)
    while let relative = walker?.nextObject() as? String {
      let url = base.appendingPathComponent(relative)
      var isDir: ObjCBool = false
      guard fm.fileExists(atPath: url.path, isDirectory: &isDir), !isDir.boolValue else { continue }
      let folder = (relative as NSString).deletingLastPathComponent
      items.append(Item(folder: folder.isEmpty ? nil : folder, url: url))
    }
    func number(_ u: URL) -> Int { Int(u.lastPathComponent.prefix { $0.isNumber }) ?? Int.max }
    items.sort {
      ($0.folder ?? "", number($0.url), $0.url.lastPathComponent) < (
        $1.folder ?? "", number($1.url), $1.url.lastPathComponent
      )
    }
    return (root, items)
  }

  func read(_ output: ReadPST.Output, displayPath: String, redact: Bool) throws -> Extraction {
    let (root, items) = Self.items(in: output.directory)
    var messages: [EmailExtractor.Message] = []
    var sections: [Section] = []
    var children: [ChildFile] = []
    var warnings: [String] = []
    var usedKeys = Set<String>()
    var folders = Set<String>()
    var redactor = Redactor(enabled: redact)
    var childBytes = 0
    var cut = 0
    for (index, item) in items.enumerated() {
      let ordinal = index + 1
      let data: Data
      do { data = try Data(contentsOf: item.url) } catch {
        warnings.append("item \(ordinal) written by readpst cannot be read back: \(error.localizedDescription)")
        continue
      }
      let m = Self.message([UInt8](data), fileName: item.url.lastPathComponent, ordinal: ordinal)
      messages.append(m)
      // Citations split at "#" and "&msg=": folder names keep neither.
      let folder = item.folder.map {
        $0.replacingOccurrences(of: "#", with: "_").replacingOccurrences(of: "&", with: "+")
      }
      if let folder { folders.insert(folder) }
      var key = m.id ?? String(ordinal)
      if !usedKeys.insert(key).inserted {
        key = String(ordinal)
        usedKeys.insert(key)
      }
      let locator = Locator(path: displayPath, message: key, folder: folder)
      sections.append(Section(locator: locator, text: redactor.redact(EmailExtractor.render(m), locator: locator)))
      let prefix = folder.map { "#folder=\($0)&msg=\(key)" } ?? "#msg=\(key)"
      var names = Set<String>()
      for a in m.attachments where !a.payload.isEmpty {
        guard childBytes + a.payload.count <= maxChildBytes else {
          cut += 1
          continue
        }
        childBytes += a.payload.count
        // "#" and "/" would break the citation; a repeated name gets a counter.
        let name = ChildFile.citableName(a.fileName, taken: &names)
        children.append(
          ChildFile(
            suffix: "\(prefix)/attachment=\(name)", fileName: a.fileName, contentType: a.contentType,
            payload: Data(a.payload), kind: EmailExtractor.childKind(a), charset: a.charset))
      }
    }
    if cut > 0 {
      warnings.append(
        "\(cut) attachments past the first \(maxChildBytes >> 20) MiB of attachments are listed, not read")
    }
    if output.skipped > 0 {
      warnings.append("readpst skipped \(output.skipped) items it cannot convert (distribution lists and the like)")
    }
    if messages.isEmpty { warnings.append("no items found") }
    warnings += redactor.warnings
    var meta: [String: String] = [
      "messages": String(messages.count), "folders": String(output.folders),
      "folders.withItems": String(folders.count), "skipped": String(output.skipped),
    ]
    let threads = EmailExtractor.threads(messages)
    meta["threads"] = String(threads.count)
    meta["thread.members"] = Self.json(threads)
    let attachments = messages.flatMap(\.attachments)
    if !attachments.isEmpty { meta["attachments"] = Self.json(attachments) }
    if let root { meta["store"] = root }
    let document = ExtractedDocument(
      kind: .pst, title: root, metadata: meta, sections: sections, warnings: warnings,
      extractor: DocumentKind.pst.extractorVersion)
    return Extraction(document: document, children: children)
  }

  /// An item readpst wrote: a mail (`.eml`), an appointment (`.ics`) or a contact (`.vcf`).
  static func message(_ bytes: [UInt8], fileName: String, ordinal: Int) -> EmailExtractor.Message {
    let ext = (fileName as NSString).pathExtension.lowercased()
    if ext == "ics" || ext == "vcf" {
      let text = Charsets.decode(bytes, charset: "utf-8").replacingOccurrences(of: "\r\n", with: "\n")
      // Folded lines (a leading space) are one line; DTSTAMP is when readpst ran, not the item's.
      let unfolded = text.replacingOccurrences(of: "\n ", with: "").split(
        separator: "\n", omittingEmptySubsequences: false
      )
      .filter { !$0.hasPrefix("DTSTAMP:") }.joined(separator: "\n")
      let field = ext == "ics" ? "SUMMARY" : "FN"
      let title = unfolded.split(separator: "\n").first { $0.hasPrefix(field + ":") || $0.hasPrefix(field + ";") }
        .flatMap { $0.split(separator: ":", maxSplits: 1).last.map(String.init) }?
        .replacingOccurrences(of: "\\,", with: ",")
      return EmailExtractor.Message(
        ordinal: ordinal, id: nil, inReplyTo: nil, references: [], from: nil, to: nil, cc: nil, date: nil,
        subject: title, body: unfolded.trimmingCharacters(in: .whitespacesAndNewlines), attachments: [], line: 1)
    }
    var m = EmailExtractor.message(MIMEEntity(bytes[...]), ordinal: ordinal, line: 1)
    // readpst's copy of the RTF body: the body where the message has no other, else a duplicate.
    if let i = m.attachments.firstIndex(where: { $0.fileName == "rtf-body.rtf" }) {
      let rtf = m.attachments.remove(at: i)
      if m.body.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
        switch RTFText.body(rtf.payload) {
        case .text(let text): m.body = text.trimmingCharacters(in: .whitespacesAndNewlines)
        case .html(let html): m.body = HTMLText.text(from: html)
        }
      }
    }
    return m
  }

  private static func json<T: Encodable>(_ value: T) -> String {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    return (try? encoder.encode(value)).map { String(decoding: $0, as: UTF8.self) } ?? "[]"
  }
}
