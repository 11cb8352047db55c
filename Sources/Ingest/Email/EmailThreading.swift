import Foundation
import Storage

/// Email threads across mail files of every format (mbox and `.eml`, Outlook `.msg`,
/// messages of a `.pst`), with the inclusive flags of e-discovery email threading.
///
/// Threads come from `Message-ID`, `In-Reply-To` and `References`; a message without
/// any of them (Outlook `.msg` files often lack them) joins the latest earlier
/// message with the same normalised subject and a participant in common, when its
/// subject says it is a reply or a forward (`Re:`, `Fw:`, `AW:` …).
///
/// A message is *inclusive* when a reviewer must read it: it ends its branch (nothing
/// replies to it), or no reply carries all of it forward, that is no reply both
/// contains its whole text (quoted, with `>` markers, re-wrapped or not) and carries
/// every one of its attachments. Reading the inclusive messages alone then covers
/// every message's text and attachments.
public enum EmailThreading {
  /// One message as threading needs it.
  public struct Message: Sendable {
    /// The caller's identifier of the message (unique): its production path.
    public var key: String
    /// `Message-ID`, `In-Reply-To` and `References`, with or without angle brackets.
    public var messageID: String?
    public var inReplyTo: String?
    public var references: [String]
    public var subject: String?
    public var from: String?
    public var to: String?
    public var cc: String?
    /// When it was sent; nil when unknown (ordered by `key` then).
    public var date: Date?
    /// The body text, quoted history included, without the header block.
    public var body: String
    /// Its attachments' identities (SHA-256 of their bytes): what a reply must carry.
    public var attachments: [String]

    public init(
      key: String, messageID: String?, inReplyTo: String?, references: [String], subject: String?,
      from: String?, to: String?, cc: String?, date: Date?, body: String, attachments: [String]
    ) {
      self.key = key
      self.messageID = messageID
      self.inReplyTo = inReplyTo
      self.references = references
      self.subject = subject
      self.from = from
      self.to = to
      self.cc = cc
      self.date = date
      self.body = body
      self.attachments = attachments
    }
  }

  /// Where a message sits in its thread.
  public struct Placement: Sendable, Equatable {
    /// The thread's identifier: `T` and 16 hex digits from its first message's ID, the
    /// same in every production of the same messages.
    public var threadID: String
    /// The message's place in the thread's tree: `1` for the first message, `1.2` for its
    /// second reply, `1.2.1` for the first reply to that, siblings in date order.
    public var position: String
    /// Whether a reviewer must read it (see `EmailThreading`).
    public var inclusive: Bool
    /// The key of the message it replies to, nil for a thread's first message.
    public var parent: String?
    /// Why it is inclusive: `last in its branch`, `text not carried forward`,
    /// `attachment not carried forward`; empty when it is not.
    public var reason: String
  }

  /// Threads `messages`: each one's placement, by key.
  public static func thread(_ messages: [Message]) -> [String: Placement] {
    let n = messages.count
    var byID: [String: Int] = [:]
    for (i, m) in messages.enumerated() {
      if let id = m.messageID.map(normalizedID), !id.isEmpty, byID[id] == nil { byID[id] = i }
    }
    // Union-find over messages and the IDs they name (a missing message still joins its replies).
    var groupOf: [String: String] = [:]
    func find(_ x: String) -> String {
      var x = x
      while let p = groupOf[x], p != x { x = p }
      return x
    }
    func union(_ a: String, _ b: String) {
      let ra = find(a)
      let rb = find(b)
      if ra != rb { groupOf[max(ra, rb)] = min(ra, rb) }
    }
    func node(_ i: Int) -> String { "#\(i)" }
    for i in 0..<n { groupOf[node(i)] = node(i) }
    func idNode(_ id: String) -> String {
      if let i = byID[id] { return node(i) }
      if groupOf["<" + id] == nil { groupOf["<" + id] = "<" + id }
      return "<" + id
    }

    var parent = [Int?](repeating: nil, count: n)
    func isAncestor(_ a: Int, of b: Int) -> Bool {
      var x: Int? = b
      var steps = 0
      while let y = x, steps <= n {
        if y == a { return true }
        x = parent[y]
        steps += 1
      }
      return false
    }
    for (i, m) in messages.enumerated() {
      let refs = m.references.map(normalizedID).filter { !$0.isEmpty }
      let reply = m.inReplyTo.map(normalizedID).flatMap { $0.isEmpty ? nil : $0 }
      for id in refs + (reply.map { [$0] } ?? []) { union(node(i), idNode(id)) }
      if let m = messages[i].messageID.map(normalizedID), !m.isEmpty { union(node(i), idNode(m)) }
      // The direct parent: In-Reply-To when it is here, else the nearest reference that is.
      let candidates = (reply.map { [$0] } ?? []) + refs.reversed()
      for id in candidates {
        if let j = byID[id], j != i, !isAncestor(i, of: j) {
          parent[i] = j
          break
        }
      }
    }
    // Messages without threading headers: a reply by subject and participants.
    let order = (0..<n).sorted { before(messages[$0], messages[$1]) }
    for i in order where parent[i] == nil {
      let m = messages[i]
      guard m.inReplyTo == nil, m.references.isEmpty, let subject = m.subject, isReplyOrForward(subject) else {
        continue
      }
      let key = normalizedSubject(subject)
      let people = addresses(m.from).union(addresses(m.to)).union(addresses(m.cc))
      var best: Int?
      for j in order where j != i && before(messages[j], m) {
        let other = messages[j]
        guard normalizedSubject(other.subject ?? "") == key, !isAncestor(i, of: j) else { continue }
        let theirs = addresses(other.from).union(addresses(other.to)).union(addresses(other.cc))
        if !people.isDisjoint(with: theirs) { best = j }
      }
      if let j = best {
        parent[i] = j
        union(node(i), node(j))
      }
    }

    var children = [[Int]](repeating: [], count: n)
    for i in order { if let p = parent[i] { children[p].append(i) } }
    var components: [String: [Int]] = [:]
    for i in order { components[find(node(i)), default: []].append(i) }

    var out: [String: Placement] = [:]
    for members in components.values {
      let roots = members.filter { parent[$0] == nil }
      guard let first = roots.first ?? members.first else { continue }
      let seed = messages[first].messageID.map(normalizedID) ?? messages[first].key
      let threadID = "T" + String(Hashing.sha1(Data(seed.utf8)).prefix(16)).uppercased()
      var stack: [(Int, String)] = roots.enumerated().reversed().map { ($1, String($0 + 1)) }
      var seen = Set<Int>()
      while let (i, position) = stack.popLast() {
        guard seen.insert(i).inserted else { continue }
        let (inclusive, reason) = inclusiveness(messages[i], replies: children[i].map { messages[$0] })
        out[messages[i].key] = Placement(
          threadID: threadID, position: position, inclusive: inclusive, parent: parent[i].map { messages[$0].key },
          reason: reason)
        for (k, c) in children[i].enumerated().reversed() { stack.append((c, position + "." + String(k + 1))) }
      }
    }
    return out
  }

  /// Whether `message` must be read, given its direct replies, and why.
  static func inclusiveness(_ message: Message, replies: [Message]) -> (Bool, String) {
    if replies.isEmpty { return (true, "last in its branch") }
    let text = normalizedText(message.body)
    let own = Set(message.attachments)
    var textCarried = false
    for reply in replies where normalizedText(reply.body).contains(text) {
      textCarried = true
      if own.isSubset(of: Set(reply.attachments)) { return (false, "") }
    }
    return (true, textCarried ? "attachment not carried forward" : "text not carried forward")
  }

  // MARK: - Normalising

  /// A Message-ID without angle brackets and surrounding space, lower-cased.
  static func normalizedID(_ id: String) -> String {
    id.trimmingCharacters(in: CharacterSet(charactersIn: "<> \t\r\n")).lowercased()
  }

  /// Reply and forward prefixes in the languages mail clients write them.
  private static let prefixes = ["re", "fw", "fwd", "aw", "wg", "sv", "vs", "tr", "rv", "antw", "odp", "r", "enc"]

  /// Whether a subject starts with a reply or forward prefix (`Re:`, `FW:`, `Re[2]:`).
  static func isReplyOrForward(_ subject: String) -> Bool {
    normalizedSubject(subject) != collapse(subject).lowercased()
  }

  /// A subject without its reply and forward prefixes, white space collapsed, lower-cased.
  public static func normalizedSubject(_ subject: String) -> String {
    var s = Substring(collapse(subject).lowercased())
    var changed = true
    while changed {
      changed = false
      s = s.drop { $0 == " " }
      guard let colon = s.firstIndex(of: ":") else { break }
      var word = s[..<colon].trimmingCharacters(in: .whitespaces)
      // `Re[2]` and `Re(2)` count as `Re`.
      if let bracket = word.firstIndex(where: { $0 == "[" || $0 == "(" }) { word = String(word[..<bracket]) }
      if prefixes.contains(word) {
        s = s[s.index(after: colon)...]
        changed = true
      }
    }
    return s.trimmingCharacters(in: .whitespaces)
  }

  /// The addresses in a header value (`"Doe, Jane" <jane@x.com>, bob@y.org`), lower-cased.
  static func addresses(_ value: String?) -> Set<String> {
    guard let value else { return [] }
    var out = Set<String>()
    for token in value.split(whereSeparator: { " ,;<>\"'()\t\r\n".contains($0) }) where token.contains("@") {
      out.insert(token.lowercased())
    }
    // Outlook writes display names only: those count as the participants then.
    if out.isEmpty {
      for name in value.split(separator: ";") {
        let clean = collapse(String(name)).lowercased()
        if !clean.isEmpty { out.insert(clean) }
      }
    }
    return out
  }

  /// A body reduced to its letters and digits, lower-cased, so that quoting (`>` markers),
  /// re-wrapping and white space do not hide one message's text inside another's.
  static func normalizedText(_ text: String) -> String {
    String(
      String.UnicodeScalarView(text.lowercased().unicodeScalars.filter { CharacterSet.alphanumerics.contains($0) }))
  }

  private static func collapse(_ s: String) -> String {
    s.split(whereSeparator: \.isWhitespace).joined(separator: " ")
  }

  /// Date order, undated after dated, then by key.
  private static func before(_ a: Message, _ b: Message) -> Bool {
    switch (a.date, b.date) {
    case (let x?, let y?) where x != y: return x < y
    case (.some, nil): return true
    case (nil, .some): return false
    default: return a.key < b.key
    }
  }
}
