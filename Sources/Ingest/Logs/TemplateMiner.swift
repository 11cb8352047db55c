import Foundation

/// A streaming log template miner of the Drain class with Brain's test for
/// variables, and one configuration for every log.
///
/// Each message is split at white space and pre-processed: a token (or each
/// segment of it between `: = | ( ) [ ] { } , ; " ' < >`) that is a number, a
/// number with a unit, a hex id, an IP address, a version, a time, a path or a
/// URL becomes `<*>` (`(HWID=1973)` → `(HWID=<*>)`, `onExtend:1514…` →
/// `onExtend:<*>`, `host.example.com:5070` → `<*>`); a unit word after a
/// variable joins it (`0 bytes`, `<1 sec`), and a run of variables is one `<*>`.
/// Masked messages go down a fixed-depth prefix tree (token count, then the
/// first two tokens; a masked token or a dotted name such as `com.apple.x:`
/// takes the `<*>` branch) to a leaf of candidate templates.
///
/// A message joins the most specific template of its leaf that takes it as it
/// is (`<*>` takes anything). Otherwise a position where it differs from its
/// most similar template (similarity ≥ `threshold`: equal constants over the
/// positions that are not `<*>` in both) becomes `<*>` only once `distinct`
/// templates of the leaf, equal elsewhere, hold different constants there
/// (`distinct` × k when k positions differ at once: `from NEW to UNASSIGNED`
/// and `from RUNNING to SUCCESS` are state transitions, not one variable)
/// (Brain's insight: a constant has few values, `VM Started` / `VM Stopped`;
/// a variable has many). Those templates then merge into the oldest of them;
/// until then the message starts a template of its own.
///
/// Template ids are dense and assigned at creation. A template that generalises
/// keeps its id; a template merged into another keeps a valid id that
/// `resolve(_:)` maps to the one it joined, so ids handed out earlier never
/// dangle. Memory is bounded by the number of templates (`maxTemplates`; past
/// it a message joins the most similar template of its leaf, or an all-`<*>`
/// template of its token count, and `saturated` is set; the same past
/// `maxLeafTemplates` in one leaf, which bounds the time a message costs) and of distinct
/// constant tokens (`maxTokens`; past it new words count as variables).
public struct TemplateMiner: Sendable {
  public struct Template: Sendable, Equatable {
    public let id: Int
    /// Tokens; `nil` is `<*>`.
    public var tokens: [String?]
    public var count: Int
    /// Per position, how a variable is written when it is more than `<*>` (`(<*>):`, `<*> seconds`):
    /// the punctuation and units its messages agree on; `nil` (or no entry) is `<*>`.
    public var variables: [String?] = []
    /// The template as loghub writes templates: constants, and `<*>` with the punctuation and
    /// units around it that its messages share.
    public var text: String {
      tokens.enumerated().map { k, t in t ?? (k < variables.count ? variables[k] : nil) ?? "<*>" }
        .joined(separator: " ")
    }
    /// The template as the miner groups on it: constants and bare `<*>`, one word per position.
    /// Ingest stores this form: the workspace's template store and the join of a file's parts
    /// match templates word by word, with `<*>` as the only wildcard.
    public var maskedText: String { tokens.map { $0 ?? "<*>" }.joined(separator: " ") }
  }

  public let threshold: Double
  public let depth: Int
  public let maxChildren: Int
  public let maxTemplates: Int
  /// Templates one leaf of the tree holds; past it a message joins the leaf's most
  /// similar template, so that a message costs at most this many comparisons.
  public let maxLeafTemplates: Int
  public let maxTokens: Int
  /// Distinct constants at one position (all else equal) that make it a variable.
  public let distinct: Int
  /// `consolidate()`: fewer distinct constants (but at least this many) make a position a variable
  /// when its family has at most `linesPerValue` lines per value on average.
  public let minValues: Int
  public let linesPerValue: Double
  /// `consolidate()`: whether families of templates equal but at one position merge (off: only
  /// trailing fields do).
  public let mergesFamilies: Bool
  /// `consolidate()`: how many optional trailing `key=value` fields a template may have beyond
  /// another and join it (0: none).
  public let trailingFields: Int
  /// Whether templates keep how their variables are written (`Template.variables`: `(<*>):`,
  /// `<*> seconds`), for `Template.text` in loghub's convention. Off, `text` is `maskedText`
  /// and mining costs less; ingest stores `maskedText` either way.
  public let decorates: Bool
  /// Whether messages that differ only in digits are answered from a cache (the
  /// same templates either way; off only to test that).
  public let messageCache: Bool

  // Token ids: 0 is `<*>`, -1 an unknown word once the dictionary is full.
  // Open-addressing table from token bytes (kept in `arena`) to token id.
  private var slots: [Int32] = [Int32](repeating: -1, count: 1 << 12)
  private var slotHashes: [UInt64] = [UInt64](repeating: 0, count: 1 << 12)
  private var arena: [UInt8] = []
  private var spans: [(start: Int, count: Int)] = [(0, 0)]
  private var sequence: [Int32] = []
  private var tokenNames: [String] = ["<*>"]
  /// Per token id: a dotted name or path (`com.apple.foo:`), which takes the tree's `<*>` branch.
  private var tokenWeak: [Bool] = [true]
  private var clusters: [[Int32]] = []
  /// Per template and position, the token id of how its variable is written (`(<*>):`), 0 for `<*>`
  /// (also at constants, until one becomes a variable).
  private var shapes: [[Int32]] = []
  /// Scratch: the shapes of the message being mined.
  private var shapeSequence: [Int32] = []
  /// Scratch: the message's decorations, not yet interned: `shapeSequence` holds `-(k + 1)` for
  /// the k-th span of `decorationBytes` (interned only when a template takes them on).
  private var decorationBytes: [UInt8] = []
  private var decorationSpans: [(start: Int, count: Int)] = []
  /// Per token id, `shape(of:)` once computed (-1: not yet).
  private var tokenShapes: [Int32] = []
  private var counts: [Int] = []
  private var parent: [Int] = []
  /// The prefix tree, by index (a value, so that a copied miner is independent); 0 is the root.
  private var nodes: [Node] = [Node()]
  private var catchAll: [Int: Int] = [:]
  /// Set when a cap was reached.
  public private(set) var saturated = false
  /// Messages by their bytes with every digit read as `0`, to their template.
  private var cache = MessageCache()
  /// Messages answered from that cache.
  public private(set) var cacheHits = 0
  /// Scratch: the digits of a message's constants, as `position << 8 | byte`.
  private var constantDigits: [UInt32] = []

  struct Node: Sendable {
    var children: [Int32: Int] = [:]
    var clusters: [Int] = []
  }

  public init(
    threshold: Double = 0.5, depth: Int = 4, maxChildren: Int = 100, maxTemplates: Int = 20_000,
    maxTokens: Int = 500_000, distinct: Int = 5, maxLeafTemplates: Int = 1_000, messageCache: Bool = true,
    decorates: Bool = false, minValues: Int = 3, linesPerValue: Double = 1, mergesFamilies: Bool = true,
    trailingFields: Int = 3
  ) {
    self.mergesFamilies = mergesFamilies
    self.trailingFields = trailingFields
    self.minValues = minValues
    self.linesPerValue = linesPerValue
    self.decorates = decorates
    self.messageCache = messageCache
    self.maxLeafTemplates = maxLeafTemplates
    self.distinct = distinct
    self.threshold = threshold
    self.depth = depth
    self.maxChildren = maxChildren
    self.maxTemplates = maxTemplates
    self.maxTokens = maxTokens
  }

  public var templateCount: Int { (0..<clusters.count).filter { parent[$0] == $0 }.count }

  public func template(_ id: Int) -> Template {
    Template(
      id: id, tokens: clusters[id].map { $0 > 0 ? tokenNames[Int($0)] : nil }, count: counts[id],
      variables: shapes[id].map { $0 > 0 ? tokenNames[Int($0)] : nil })
  }

  /// The live templates (merged ones left out).
  public var templates: [Template] { (0..<clusters.count).filter { parent[$0] == $0 }.map(template) }

  /// Mines one message; returns its template id.
  public mutating func add(_ message: String) -> Int {
    var m = message
    return m.withUTF8 { add(bytes: $0) }
  }

  /// Mines one message given as UTF-8 bytes; returns its template id.
  ///
  /// A message seen before with other digits only (`took 12 ms` after
  /// `took 7 ms`) is answered from `cache` without tokenising it again.
  /// Masking looks at digits as a class, never at their values, so such a
  /// message masks to the same tokens, bar the digits of its constants
  /// (`svc3`), which the cache keeps and compares; a template that took the
  /// message once takes it again.
  public mutating func add(bytes: UnsafeBufferPointer<UInt8>) -> Int {
    // Past a cap the miner's answers follow other rules (unknown words, full leaves): no cache.
    let key = messageCache && !saturated ? cache.probe(bytes) : MessageCache.Key(slot: -1, hash: 0)
    if key.slot >= 0, let cached = cache.id(for: key, bytes: bytes) {
      let id = resolve(cached)
      counts[id] += 1
      cacheHits += 1
      return id
    }
    var seq = sequence
    sequence = []
    seq.removeAll(keepingCapacity: true)
    var digits = constantDigits
    constantDigits = []
    digits.removeAll(keepingCapacity: true)
    var cacheable = key.slot >= 0
    let base = bytes.baseAddress
    let decorating = decorates
    // The scratch of decorations, taken out of `self` only when they are kept.
    var shape: [Int32] = []
    var decorations: [UInt8] = []
    var decorationSpans: [(start: Int, count: Int)] = []
    if decorating {
      swap(&shape, &shapeSequence)
      shape.removeAll(keepingCapacity: true)
      swap(&decorations, &decorationBytes)
      decorations.removeAll(keepingCapacity: true)
      swap(&decorationSpans, &self.decorationSpans)
      decorationSpans.removeAll(keepingCapacity: true)
    }
    Self.tokenize(bytes, decorating: decorating) { token, piece in
      switch piece {
      case .decoration:
        if let k = seq.indices.last, seq[k] == 0 {
          decorationSpans.append((decorations.count, token.count))
          decorations.append(contentsOf: token)
          shape[k] = -Int32(decorationSpans.count)
        }
        return
      case .variable:
        seq.append(0)
        if decorating { shape.append(0) }
        return
      case .constant:
        if decorating { shape.append(0) }
      }
      if cacheable, let t = token.baseAddress {
        for (k, c) in token.enumerated() where c &- 0x30 < 10 {
          // A constant's digit: kept by position when the token lies in the message
          // itself; a rewritten token (`(HWID=<*>)`) with a digit is not cached.
          guard let base, t >= base, t < base + bytes.count else {
            cacheable = false
            break
          }
          digits.append(UInt32(base.distance(to: t) + k) << 8 | UInt32(c))
        }
      }
      seq.append(intern(token))
    }
    if decorating {
      shapeSequence = shape
      decorationBytes = decorations
      self.decorationSpans = decorationSpans
    }
    let id = add(sequence: seq)
    sequence = seq
    if cacheable { cache.insert(id, for: key, digits: digits) }
    constantDigits = digits
    return id
  }

  /// The masked form of a message (its tokens with variables as `<*>`), as the miner sees it.
  public static func masked(_ message: String) -> String {
    var m = message
    var out: [String] = []
    m.withUTF8 { b in
      tokenize(b) { token, masked in out.append(masked ? "<*>" : String(decoding: token, as: UTF8.self)) }
    }
    return out.joined(separator: " ")
  }

  // MARK: - Drain

  /// The template a (possibly merged) id now belongs to; ids returned earlier stay valid through it.
  public func resolve(_ id: Int) -> Int {
    var c = id
    while parent[c] != c { c = parent[c] }
    return c
  }

  private mutating func add(sequence seq: [Int32]) -> Int {
    let leaf = self.leaf(for: seq)
    let candidates = nodes[leaf].clusters
    // 1. A template that takes the message as it is (its `<*>` take anything);
    //    the most specific one when several do.
    var exact = -1
    var exactConstants = -1
    for c in candidates {
      let matched: Int? = clusters[c].withUnsafeBufferPointer { t in
        var constants = 0
        for k in 0..<seq.count where t[k] != 0 {
          if t[k] != seq[k] { return nil }
          constants += 1
        }
        return constants
      }
      if let m = matched, m > exactConstants {
        exact = c
        exactConstants = m
      }
    }
    if exact >= 0 {
      counts[exact] += 1
      agreeExactly(exact, with: seq)
      return exact
    }
    var best = -1
    var bestSim = -1.0
    var bestDiff = 0
    for c in candidates {
      let t = clusters[c]
      var same = 0
      var both = 0
      var diff = 0
      for k in 0..<seq.count {
        let a = t[k]
        if a == 0 { if seq[k] == 0 { both += 1 } } else if a == seq[k] { same += 1 } else if seq[k] != 0 { diff += 1 }
      }
      let denominator = seq.count - both
      let sim = denominator == 0 ? 1.0 : Double(same) / Double(denominator)
      if diff == 0 && sim > bestSim || (bestDiff > 0 && diff == 0) {
        best = c
        bestSim = sim
        bestDiff = 0
      } else if bestDiff != 0 || best < 0, sim > bestSim {
        best = c
        bestSim = sim
        bestDiff = diff
      }
    }
    if best >= 0, bestDiff == 0 {
      absorb(seq, into: best)
      return best
    }
    // 2. A position holds a variable only once `distinct` templates differ
    //    there alone (Brain's insight: a constant has few values, a variable many).
    //    Until then the message starts its own template.
    if best >= 0, bestSim >= threshold {
      let t = clusters[best]
      let differing = (0..<seq.count).filter { t[$0] != 0 && seq[$0] != 0 && t[$0] != seq[$0] }
      var siblings: [Int] = []
      var values = Set<Int32>()
      for c in candidates {
        let u = clusters[c]
        var agrees = true
        for k in 0..<seq.count where u[k] != 0 && seq[k] != 0 && u[k] != seq[k] && !differing.contains(k) {
          agrees = false
          break
        }
        if agrees {
          siblings.append(c)
          values.insert(differing.first.map { u[$0] } ?? 0)
        }
      }
      values.insert(differing.first.map { seq[$0] } ?? 0)
      if values.count >= distinct * max(1, differing.count) {
        let root = siblings.min() ?? best
        let before = clusters[root]
        var merged = before
        for k in 0..<seq.count where merged[k] != seq[k] { merged[k] = 0 }
        for c in siblings where c != root {
          let u = clusters[c]
          for k in 0..<seq.count where merged[k] != u[k] { merged[k] = 0 }
          parent[c] = root
          counts[root] += counts[c]
        }
        clusters[root] = merged
        internDecorations()
        agree(root, was: before, with: seq, shapeSequence)
        for c in siblings where c != root { agree(root, was: merged, with: clusters[c], shapes[c]) }
        let gone = Set(siblings.filter { $0 != root })
        nodes[leaf].clusters.removeAll { gone.contains($0) }
        counts[root] += 1
        return root
      }
    }
    if clusters.count >= maxTemplates || nodes[leaf].clusters.count >= maxLeafTemplates {
      saturated = true
      if best >= 0 {
        absorb(seq, into: best)
        return best
      }
      if let c = catchAll[seq.count] {
        counts[c] += 1
        return c
      }
      // One all-`<*>` template per token count, past the cap.
      let id = clusters.count
      clusters.append([Int32](repeating: 0, count: seq.count))
      shapes.append([Int32](repeating: 0, count: seq.count))
      counts.append(1)
      parent.append(id)
      catchAll[seq.count] = id
      return id
    }
    let id = clusters.count
    clusters.append(seq.map { $0 < 0 ? 0 : $0 })
    internDecorations()
    shapes.append(shapeSequence.count == seq.count ? shapeSequence : [Int32](repeating: 0, count: seq.count))
    counts.append(1)
    parent.append(id)
    nodes[leaf].clusters.append(id)
    return id
  }

  private mutating func absorb(_ seq: [Int32], into c: Int) {
    let before = clusters[c]
    var t = before
    var changed = false
    for k in 0..<seq.count where t[k] != 0 && t[k] != seq[k] {
      t[k] = 0
      changed = true
    }
    if changed { clusters[c] = t }
    counts[c] += 1
    internDecorations()
    agree(c, was: before, with: seq, shapeSequence)
  }

  /// Makes the message's decorations in `shapeSequence` token ids.
  private mutating func internDecorations() {
    guard !decorationSpans.isEmpty else { return }
    var shape = shapeSequence
    for k in shape.indices where shape[k] < 0 {
      let span = decorationSpans[Int(-shape[k]) - 1]
      shape[k] = decorationBytes.withUnsafeBufferPointer { d in
        max(0, intern(UnsafeBufferPointer(rebasing: d[span.start..<(span.start + span.count)])))
      }
    }
    shapeSequence = shape
    decorationSpans.removeAll(keepingCapacity: true)
  }

  /// `agree` for a message that template `c` takes as it is, without interning its decorations:
  /// they are compared with the template's by their bytes.
  private mutating func agreeExactly(_ c: Int, with seq: [Int32]) {
    guard decorates, shapeSequence.count == seq.count else { return }
    var changes: [Int] = []
    var constants: [Int] = []
    clusters[c].withUnsafeBufferPointer { now in
      shapes[c].withUnsafeBufferPointer { mine in
        for k in 0..<now.count where now[k] == 0 && mine[k] != 0 {
          let theirs = shapeSequence[k]
          if seq[k] != 0 {
            constants.append(k)
          } else if theirs >= 0 {
            if theirs != mine[k] { changes.append(k) }
          } else if !decorationEquals(Int(-theirs) - 1, token: mine[k]) {
            changes.append(k)
          }
        }
      }
    }
    // A constant under a written variable: written as that constant's punctuation around `<*>`.
    for k in constants where shape(of: seq[k]) != shapes[c][k] { changes.append(k) }
    for k in changes { shapes[c][k] = 0 }
  }

  private func decorationEquals(_ span: Int, token: Int32) -> Bool {
    let d = decorationSpans[span]
    let t = spans[Int(token)]
    guard d.count == t.count else { return false }
    return decorationBytes.withUnsafeBufferPointer { a in
      arena.withUnsafeBufferPointer { b in
        for k in 0..<d.count where a[d.start + k] != b[t.start + k] { return false }
        return true
      }
    }
  }

  /// Keeps, at each variable of template `c` (whose tokens were `before`), the way it is written
  /// (`(<*>):`, `<*> seconds`) only while the messages agree on it: a constant that became a
  /// variable is written with its punctuation around `<*>`; any disagreement makes it `<*>`.
  private mutating func agree(_ c: Int, was before: [Int32], with seq: [Int32], _ seqShapes: [Int32]) {
    guard decorates else { return }
    let now = clusters[c]
    guard seqShapes.count == seq.count, now.count == seq.count else { return }
    var s = shapes[c]
    var changed = false
    for k in 0..<now.count where now[k] == 0 {
      let mine = before[k] == 0 ? s[k] : shape(of: before[k])
      let theirs = seq[k] == 0 ? seqShapes[k] : shape(of: seq[k])
      let v = mine == theirs ? mine : 0
      if v != s[k] {
        s[k] = v
        changed = true
      }
    }
    if changed { shapes[c] = s }
  }

  /// How a constant is written once it is a variable: its punctuation around `<*>` (`com.apple.x:` → `<*>:`), 0 for `<*>`.
  private mutating func shape(of id: Int32) -> Int32 {
    guard id > 0 else { return 0 }
    let k = Int(id)
    while tokenShapes.count <= k { tokenShapes.append(-1) }
    if tokenShapes[k] >= 0 { return tokenShapes[k] }
    let name = Array(tokenNames[k].utf8)
    var lo = 0
    var hi = name.count
    while lo < hi, Self.isOpen(name[lo]) { lo += 1 }
    while hi > lo, Self.isClose(name[hi - 1]) { hi -= 1 }
    var v: Int32 = 0
    if lo > 0 || hi < name.count {
      let text = Array(name[..<lo]) + [0x3C, 0x2A, 0x3E] + Array(name[hi...])
      v = max(0, text.withUnsafeBufferPointer { intern($0) })
    }
    tokenShapes[k] = v
    return v
  }

  /// The index of the leaf `seq` belongs to (created on the way).
  private mutating func leaf(for seq: [Int32]) -> Int {
    func child(_ node: Int, _ key: Int32) -> Int {
      if let n = nodes[node].children[key] { return n }
      nodes.append(Node())
      nodes[node].children[key] = nodes.count - 1
      return nodes.count - 1
    }
    var node = child(0, Int32(truncatingIfNeeded: seq.count))
    let levels = min(depth - 2, seq.count)
    for k in 0..<levels {
      var key = seq[k] <= 0 || tokenWeak[Int(seq[k])] ? 0 : seq[k]
      if nodes[node].children[key] == nil, key != 0, nodes[node].children.count >= maxChildren { key = 0 }
      node = child(node, key)
    }
    return node
  }

  private mutating func intern(_ token: UnsafeBufferPointer<UInt8>) -> Int32 {
    // FNV-1a
    var h: UInt64 = 0xcbf2_9ce4_8422_2325
    for c in token { h = (h ^ UInt64(c)) &* 0x100_0000_01b3 }
    let mask = slots.count - 1
    var i = Int(truncatingIfNeeded: h) & mask
    while slots[i] >= 0 {
      if slotHashes[i] == h {
        let id = Int(slots[i])
        let span = spans[id]
        if span.count == token.count {
          var equal = true
          arena.withUnsafeBufferPointer { a in
            for k in 0..<span.count where a[span.start + k] != token[k] {
              equal = false
              break
            }
          }
          if equal { return Int32(id) }
        }
      }
      i = (i + 1) & mask
    }
    guard tokenNames.count < maxTokens else {
      saturated = true
      return -1
    }
    let id = Int32(tokenNames.count)
    slots[i] = id
    slotHashes[i] = h
    spans.append((arena.count, token.count))
    arena.append(contentsOf: token)
    tokenNames.append(String(decoding: token, as: UTF8.self))
    var lo = 0
    var hi = token.count
    while lo < hi, Self.isOpen(token[lo]) || Self.isDelimiter(token[lo]) { lo += 1 }
    while hi > lo, Self.isClose(token[hi - 1]) || Self.isDelimiter(token[hi - 1]) { hi -= 1 }
    tokenWeak.append(Self.isDotted(UnsafeBufferPointer(rebasing: token[lo..<hi])))
    if tokenNames.count * 2 > slots.count { grow() }
    return id
  }

  private mutating func grow() {
    let size = slots.count * 2
    var newSlots = [Int32](repeating: -1, count: size)
    var newHashes = [UInt64](repeating: 0, count: size)
    for i in 0..<slots.count where slots[i] >= 0 {
      var j = Int(truncatingIfNeeded: slotHashes[i]) & (size - 1)
      while newSlots[j] >= 0 { j = (j + 1) & (size - 1) }
      newSlots[j] = slots[i]
      newHashes[j] = slotHashes[i]
    }
    slots = newSlots
    slotHashes = newHashes
  }
}

// MARK: - Second pass

extension TemplateMiner {
  /// Merges, once a file is mined, templates that the streaming pass kept apart but that are one
  /// event, and returns how many were merged. Ids stay valid (`resolve(_:)` maps a merged one to the
  /// template it joined); a merged template keeps its place in the tree, so lines mined after this
  /// still reach it (and resolve to where it went), and a later call merges the templates they made.
  ///
  /// Within the templates of one token count, a family of templates equal but at one position
  /// (`k`):
  /// - joins a member that already has `<*>` at `k` (a variable elsewhere), whatever their first
  ///   tokens, which the tree keeps apart (`alice says hi` once `<*> says hi` exists);
  /// - past the tree's levels (the first tokens name the event), becomes one template with `<*>`
  ///   at `k` when `k` takes many values relative to how often the family occurs: at least
  ///   `distinct` values, or at least `minValues` values with at most `linesPerValue` lines per
  ///   value on average (ids and names seen once each; constants such as states repeat).
  /// A template that is another one followed by one to `trailingFields` `key=value` fields, after a
  /// `key=value` field (`… rhost=<*>` and `… rhost=<*> user=root`), joins it: optional trailing
  /// fields.
  @discardableResult
  public mutating func consolidate() -> Int {
    guard !clusters.isEmpty else { return 0 }
    var merged = 0
    for _ in 0..<3 {
      let round = (mergesFamilies ? mergeFamilies() : 0) + (trailingFields > 0 ? mergeTrailingFields() : 0)
      merged += round
      if round == 0 { break }
    }
    return merged
  }

  private static func positionHash(_ k: Int, _ token: Int32) -> UInt64 {
    var h = UInt64(truncatingIfNeeded: Int64(k)) &* 0x9E37_79B9_7F4A_7C15 ^ UInt64(UInt32(bitPattern: token))
    h = (h ^ (h >> 29)) &* 0xBF58_476D_1CE4_E5B9
    return h ^ (h >> 32)
  }

  /// One sweep of families (templates of one token count equal but at one position).
  private mutating func mergeFamilies() -> Int {
    let live = (0..<clusters.count).filter { parent[$0] == $0 && catchAll[clusters[$0].count] != $0 }
    var byLength: [Int: [Int]] = [:]
    for c in live { byLength[clusters[c].count, default: []].append(c) }
    var merged = 0
    var sums = [UInt64](repeating: 0, count: clusters.count)
    var keys: [UInt64: Int] = [:]
    for (length, members) in byLength where members.count > 1 && length > 1 {
      for c in members {
        var h: UInt64 = 0
        for (k, t) in clusters[c].enumerated() { h &+= Self.positionHash(k, t) }
        sums[c] = h
      }
      for k in 0..<length {
        // Families at k: the same tokens everywhere but k (most positions have none: counted first).
        keys.removeAll(keepingCapacity: true)
        var repeated = false
        for c in members where parent[c] == c {
          let key = sums[c] &- Self.positionHash(k, clusters[c][k])
          keys[key, default: 0] += 1
          if keys[key]! > 1 { repeated = true }
        }
        guard repeated else { continue }
        var families: [UInt64: [Int]] = [:]
        for c in members where parent[c] == c {
          let key = sums[c] &- Self.positionHash(k, clusters[c][k])
          if keys[key]! > 1 { families[key, default: []].append(c) }
        }
        for (_, family) in families where family.count > 1 {
          // Hash collisions aside: members equal to the first everywhere but k.
          let first = clusters[family[0]]
          let same = family.filter { c in
            let u = clusters[c]
            for j in 0..<length where j != k && u[j] != first[j] { return false }
            return true
          }
          guard same.count > 1 else { continue }
          let lines = same.reduce(0) { $0 + counts[$1] }
          let values = Set(same.map { clusters[$0][k] }).subtracting([0]).count
          let variable = same.contains { clusters[$0][k] == 0 }
          // The tree's levels (the first tokens) name the event: only a variable elsewhere opens them.
          let keyed = k < depth - 2
          guard
            variable
              || !keyed
                && (values >= distinct || values >= minValues && Double(values) * linesPerValue >= Double(lines))
          else { continue }
          let root = same.first { clusters[$0][k] == 0 } ?? same.min()!
          let before = clusters[root]
          var tokens = before
          tokens[k] = 0
          clusters[root] = tokens
          if decorates { agree(root, was: before, with: before, shapes[root]) }
          for c in same where c != root {
            if decorates { agree(root, was: clusters[root], with: clusters[c], shapes[c]) }
            parent[c] = root
            counts[root] += counts[c]
            counts[c] = 0
            merged += 1
          }
          sums[root] = sums[root] &- Self.positionHash(k, before[k]) &+ Self.positionHash(k, 0)
        }
      }
    }
    return merged
  }

  /// Whether token `t` is a `key=value` field (`rhost=<*>`, `user=root`, `ruser=`).
  private func isField(_ t: Int32) -> Bool {
    guard t > 0 else { return false }
    let span = spans[Int(t)]
    return arena.withUnsafeBufferPointer { a in
      var k = 0
      while k < span.count, a[span.start + k] != UInt8(ascii: "=") { k += 1 }
      guard k > 0, k < span.count else { return false }
      return Self.isKey(UnsafeBufferPointer(rebasing: a[span.start..<(span.start + k)]))
    }
  }

  /// Templates that are a shorter template followed by one to `trailingFields` `key=value` fields, after a
  /// `key=value` field, join the shorter one.
  private mutating func mergeTrailingFields() -> Int {
    // Most logs have no template ending in two fields: nothing to index then.
    let candidates = (0..<clusters.count).filter { c in
      let t = clusters[c]
      return parent[c] == c && t.count >= 3 && isField(t[t.count - 1]) && isField(t[t.count - 2])
    }
    guard !candidates.isEmpty else { return 0 }
    var byTokens: [[Int32]: Int] = [:]
    for c in 0..<clusters.count where parent[c] == c { byTokens[clusters[c]] = c }
    var merged = 0
    for c in candidates where parent[c] == c {
      let t = clusters[c]
      var extra = 0
      while extra < min(trailingFields, t.count - 2), isField(t[t.count - 1 - extra]) {
        extra += 1
        let prefix = Array(t[0..<(t.count - extra)])
        guard let last = prefix.last, isField(last), let into = byTokens[prefix], into != c else { continue }
        parent[c] = into
        counts[into] += counts[c]
        counts[c] = 0
        merged += 1
        break
      }
    }
    return merged
  }
}
