import Foundation
import Inference
import Ingest
import Storage

/// A document as the planner reads it: a value, not a database row.
public struct PlanDocument: Sendable, Hashable {
  public var documentHash: String
  /// The path citations use.
  public var displayPath: String
  public var kind: DocumentKind?
  /// The document's sections in order, their locators on `displayPath`.
  public var sections: [Section]
  /// A log's per-line templates as ingest stored them (repeat collapsing groups by them).
  public var templates: LogTemplateStore.DocumentLines?

  public init(
    documentHash: String, displayPath: String, kind: DocumentKind?, sections: [Section],
    templates: LogTemplateStore.DocumentLines? = nil
  ) {
    self.documentHash = documentHash
    self.displayPath = displayPath
    self.kind = kind
    self.sections = sections
    self.templates = templates
  }
}

/// Cuts documents into chunks along their structure and packs the chunks
/// into windows of at most `budget` tokens, in source order.
public struct Planner: Sendable {
  let tokens: TokenCache
  let counter: any TokenCounter
  /// The embedding model for semantic priority, asked for only when a plan needs it
  /// (`Planner+Semantic.swift`); default: the one the executable installed (`Embedders`).
  public var embedder: @Sendable () -> Embedders.Availability = { Embedders.current() }
  /// The most bytes of one piece a chunk is embedded as (`SemanticRelevance.pieces`).
  public var semanticPieceBytes = SemanticRelevance.defaultPieceBytes

  /// Tokens reserved between two chunks of a window ("\n\n" and a possible
  /// merge at the seam), so that a window's real count never exceeds the sum.
  public static let seamTokens = 2

  /// A planner counting with `tokens` (its counter, through its cache).
  public init(tokens: TokenCache) {
    self.tokens = tokens
    counter = tokens.counter
  }

  /// A planner counting with `counter`, nothing cached between plans.
  public init(counter: any TokenCounter) {
    self.init(tokens: TokenCache(workspace: nil, counter: counter))
  }

  /// Plans `documents` into windows of at most `budget` tokens.
  ///
  /// - Parameters:
  ///   - documents: The documents in source order.
  ///   - budget: The most tokens one window may hold.
  /// - Returns: A deterministic plan.
  /// - Throws: `SegmenterError.budgetTooSmall` when a single line cannot fit.
  public func plan(_ documents: [PlanDocument], budget: Int, options: PlanOptions = PlanOptions()) throws -> Plan {
    guard budget > 16 else { throw SegmenterError.budgetTooSmall(budget: budget) }
    var groups: [[Piece]] = []
    var mayBeNear: [Bool] = []
    var collapsedLines = 0
    var sourceFiles: [(path: String, text: String)] = []
    let templates = LogTemplates()
    var logDocuments = Set<String>()
    for file in documents {
      let kind = file.kind
      if kind == .log { logDocuments.insert(file.documentHash) }
      var sections = file.sections
      if let first = options.startLines[file.displayPath] { sections = Self.sections(sections, from: first) }
      if kind == .code || Self.isReadme(file.displayPath) {
        sourceFiles.append((file.displayPath, sections.map(\.text).joined(separator: "\n")))
      }
      var seen: [String: Int] = [:]
      var pending = LogTemplates.Pending()
      let sectionGroups =
        kind == .log
        ? Self.timeGroups(sections, window: options.logWindow, maxGroupBytes: max(1024, min(16_384, budget * 3 / 16)))
        : sections.map { [$0] }
      let collapse = kind == .log && options.collapseRepeats
      for (g, group) in sectionGroups.enumerated() {
        var pieces: [Piece] = []
        for (i, section) in group.enumerated() {
          var piece = Piece(documentHash: file.documentHash, section: section)
          let last = g == sectionGroups.count - 1 && i == group.count - 1
          if collapse, let first = section.locator.lineStart {
            let lines = section.text.split(separator: "\n", omittingEmptySubsequences: false)
            let result = templates.collapse(
              lines, firstLine: first, seen: &seen, pending: &pending, stored: file.templates)
            piece.section.text = result.text
            collapsedLines += result.collapsed
            // The document's last section carries the notes of what was dropped.
            if last && !pending.isEmpty {
              let notes = templates.notes(&pending)
              piece.section.text = piece.section.text.isEmpty ? notes : piece.section.text + "\n" + notes
            }
          }
          pieces.append(piece)
        }
        // A group whose every line was dropped joins the group before it: its lines are
        // in a note, and the chunk's locator still covers them (no gap in what was read).
        if collapse, pieces.allSatisfy(\.section.text.isEmpty), let last = groups.last,
          last.last?.documentHash == file.documentHash
        {
          groups[groups.count - 1] += pieces
          continue
        }
        groups.append(pieces)
        mayBeNear.append(kind != .log)
      }
    }
    var leftOut: [Plan.LeftOut] = []
    var duplicates = 0
    if options.collapseDuplicates {
      duplicates = collapseDuplicates(&groups, mayBeNear: mayBeNear, leftOut: &leftOut)
    }
    var chunks = try count(groups.map(Self.chunk))
    chunks = try zip(chunks, groups).flatMap { try split($0, pieces: $1, budget: budget, leftOut: &leftOut) }
    let (semantic, relevance) = semanticRelevance(chunks, options: options)
    let scores = Scorer(question: options.question).score(
      chunks, centrality: Centrality.scores(sourceFiles), semantic: semantic)
    for i in chunks.indices {
      chunks[i].score = scores[i].0
      chunks[i].reasons = scores[i].1
    }
    if let maxWindows = options.maxWindows {
      chunks = keepByPriority(chunks, capacity: maxWindows * budget * 9 / 10, leftOut: &leftOut)
    }

    var windows: [Window] = []
    var current: [Chunk] = []
    var used = 0
    var next = chunks.reversed() as [Chunk]  // a stack: the tail of a cut chunk goes back on top
    while let chunk = next.popLast() {
      let cost = chunk.tokens + (current.isEmpty ? 0 : Self.seamTokens)
      let otherDocument =
        options.windowPerDocument && current.last.map { $0.locator.path != chunk.locator.path } == true
      if !current.isEmpty && (used + cost > budget || otherDocument) {
        // A log chunk that does not fit is cut between events so that its head fills the window.
        var cut = false
        if !otherDocument, logDocuments.contains(chunk.documentHash),
          let (head, tail) = try fillCut(chunk, room: budget - used - Self.seamTokens)
        {
          current.append(head)
          used += head.tokens + Self.seamTokens
          next.append(tail)
          cut = true
        }
        windows.append(Window(ordinal: windows.count, chunks: current, tokens: used))
        current = []
        used = 0
        if cut { continue }
      }
      used += chunk.tokens + (current.isEmpty ? 0 : Self.seamTokens)
      current.append(chunk)
    }
    if !current.isEmpty { windows.append(Window(ordinal: windows.count, chunks: current, tokens: used)) }

    let id = Hashing.sha256(
      parts: [String(budget), counter.vocabularyID] + (options.windowPerDocument ? ["per-document"] : [])
        + windows.flatMap { w in w.chunks.map { "\($0.locator)|\($0.tokens)|\(Hashing.sha256($0.text))" } + ["|"] })
    var plan = Plan(
      id: id, budget: budget, vocabulary: counter.vocabularyID, exactTokens: counter.isExact,
      windows: windows, leftOut: leftOut, collapsedLines: collapsedLines, duplicateChunks: duplicates)
    plan.relevance = relevance
    return plan
  }

  /// Groups a log's sections (events) into runs that fall in the same time
  /// window of `window` seconds, are contiguous in the file, and stay under
  /// `maxGroupBytes` (the planner uses about a sixteenth of a window, so
  /// windows still fill well). Sections without a timestamp join the run
  /// before them.
  static func timeGroups(_ sections: [Section], window: Double?, maxGroupBytes: Int = 16_384) -> [[Section]] {
    guard let window, window > 0 else { return sections.map { [$0] } }
    var groups: [[Section]] = []
    var current: [Section] = []
    var bucket: Double?
    var bytes = 0
    for section in sections {
      let b = section.firstTimestamp.map { ($0 / window).rounded(.down) }
      let contiguous =
        current.last.map { last in
          guard let end = last.locator.lineEnd, let start = section.locator.lineStart else { return false }
          return start == end + 1
        } ?? true
      let size = section.text.utf8.count + 1
      if !current.isEmpty && (!contiguous || bytes + size > maxGroupBytes || (b != nil && bucket != nil && b != bucket))
      {
        groups.append(current)
        current = []
        bytes = 0
        bucket = nil
      }
      current.append(section)
      bytes += size
      if bucket == nil { bucket = b }
    }
    if !current.isEmpty { groups.append(current) }
    return groups
  }

  /// Leaves out chunks whose text repeats an earlier chunk's, exactly or
  /// nearly, and notes on the earlier one (the representative) where else
  /// its text appears. Returns how many were left out.
  private func collapseDuplicates(_ groups: inout [[Piece]], mayBeNear: [Bool], leftOut: inout [Plan.LeftOut]) -> Int {
    let texts = groups.map { $0.map(\.section.text).joined(separator: "\n") }
    let matches = DuplicateFinder().matches(zip(texts, mayBeNear).map { ($0, $1) })
    var copies: [Int: [Locator]] = [:]
    for (i, match) in matches.enumerated() {
      guard let match else { continue }
      let locator = Self.chunk(groups[i]).locator
      copies[match.representative, default: []].append(locator)
      let what = match.distance == 0 ? "an exact duplicate" : "a near duplicate (SimHash distance \(match.distance))"
      leftOut.append(.init(locator: locator, reason: "\(what) of \(Self.chunk(groups[match.representative]).locator)"))
    }
    for (i, others) in copies {
      let list = others.map(\.description)
      let shown = list.prefix(20).joined(separator: ", ") + (list.count > 20 ? ", and \(list.count - 20) more" : "")
      groups[i][groups[i].count - 1].section.text += "\n(The same or nearly the same text also appears at: \(shown).)"
    }
    let dropped = Set(matches.indices.filter { matches[$0] != nil })
    groups = groups.indices.filter { !dropped.contains($0) }.map { groups[$0] }
    return dropped.count
  }

  /// One ingest section of a chunk (log text after collapsing repeats).
  struct Piece {
    var documentHash: String
    var section: Section
  }

  /// The chunk holding `pieces` (consecutive sections of one document).
  static func chunk(_ pieces: [Piece]) -> Chunk {
    var locator = pieces[0].section.locator
    if pieces.count > 1 { locator.lineEnd = pieces[pieces.count - 1].section.locator.lineEnd }
    let severities = pieces.compactMap(\.section.severity)
    var chunk = Chunk(
      documentHash: pieces[0].documentHash, locator: locator,
      text: render(
        locator, pieces.map(\.section.text).filter { !$0.isEmpty }.joined(separator: "\n"),
        symbols: pieces.flatMap { $0.section.symbols ?? [] }),
      tokens: 0,
      severity: severities.max { (Scorer.severityWeight[$0] ?? 0) < (Scorer.severityWeight[$1] ?? 0) })
    chunk.firstTimestamp = pieces.compactMap(\.section.firstTimestamp).min()
    chunk.lastTimestamp = pieces.compactMap { $0.section.lastTimestamp ?? $0.section.firstTimestamp }.max()
    return chunk
  }

  static func isReadme(_ path: String) -> Bool {
    (path as NSString).lastPathComponent.lowercased().hasPrefix("readme")
  }

  /// Keeps the highest-scoring chunks that fit `capacity` tokens, in source order;
  /// the rest are left out with their score and the cut-off.
  private func keepByPriority(_ chunks: [Chunk], capacity: Int, leftOut: inout [Plan.LeftOut]) -> [Chunk] {
    let total = chunks.reduce(0) { $0 + $1.tokens + Self.seamTokens }
    guard total > capacity else { return chunks }
    // Stable: equal scores keep earlier chunks first.
    let ranked = chunks.indices.sorted { (chunks[$0].score ?? 0, -$0) > (chunks[$1].score ?? 0, -$1) }
    var used = 0
    var keep = Set<Int>()
    var cutoff = Double.infinity
    for i in ranked {
      let cost = chunks[i].tokens + Self.seamTokens
      if used + cost <= capacity {
        used += cost
        keep.insert(i)
        cutoff = min(cutoff, chunks[i].score ?? 0)
      }
    }
    for i in chunks.indices where !keep.contains(i) {
      let why = (chunks[i].reasons ?? []).joined(separator: "; ")
      leftOut.append(
        .init(
          locator: chunks[i].locator,
          reason: String(
            format: "priority %.2f below the cut-off %.2f of max_windows%@", chunks[i].score ?? 0, cutoff,
            why.isEmpty ? "" : " (\(why))")))
    }
    return chunks.indices.filter { keep.contains($0) }.map { chunks[$0] }
  }

  /// The part of `sections` from line `first` on: sections ending before it are
  /// dropped, and one that straddles it keeps only its lines from `first`.
  /// A section whose text does not map line for line onto its range (a
  /// multi-line redaction) is kept whole rather than cut at a wrong line.
  static func sections(_ sections: [Section], from first: Int) -> [Section] {
    sections.compactMap { section in
      guard let start = section.locator.lineStart, let end = section.locator.lineEnd else { return section }
      if end < first { return nil }
      if start >= first { return section }
      let lines = section.text.split(separator: "\n", omittingEmptySubsequences: false)
      guard lines.count == end - start + 1 else { return section }
      var cut = section
      cut.locator.lineStart = first
      cut.text = lines[(first - start)...].joined(separator: "\n")
      return cut
    }
  }

  /// A chunk's text in a window: a header naming its locator (and, for
  /// code, the declarations it holds), then its text.
  ///
  /// - Parameters:
  ///   - locator: Where the text came from, cited as `[path#Lx-Ly]`.
  ///   - text: The chunk's text.
  ///   - symbols: Declaration names shown after the citation.
  public static func render(_ locator: Locator, _ text: String, symbols: [String] = []) -> String {
    symbols.isEmpty ? "[\(locator)]\n\(text)" : "[\(locator)] \(symbols.joined(separator: ", "))\n\(text)"
  }

  /// Least room (tokens) left in a window worth cutting a log chunk for.
  static let minFillTokens = 64

  /// Cuts a log chunk that does not fit the `room` left in a window before an event (a line
  /// that is not indented: a stack trace stays whole), so that the head fills the room.
  ///
  /// - Returns: The head (within `room`) and the rest, or nil when no cut fits (the room is
  ///   small, the chunk's text no longer maps line for line onto the file after collapsing
  ///   repeats, or its first event alone is larger).
  private func fillCut(_ chunk: Chunk, room: Int) throws -> (head: Chunk, tail: Chunk)? {
    guard room >= Self.minFillTokens, chunk.tokens > room, let start = chunk.locator.lineStart,
      let end = chunk.locator.lineEnd
    else { return nil }
    let lines = Array(chunk.text.split(separator: "\n", omittingEmptySubsequences: false).dropFirst())
    guard lines.count == end - start + 1, lines.count > 1 else { return nil }
    func startsEvent(_ k: Int) -> Bool { !(lines[k].first == " " || lines[k].first == "\t") }
    // First guess by bytes, then earlier event starts until the head fits.
    let target = lines.reduce(0) { $0 + $1.utf8.count + 1 } * room / chunk.tokens
    var k = 0
    var bytes = 0
    while k < lines.count - 1 && bytes + lines[k].utf8.count + 1 <= target {
      bytes += lines[k].utf8.count + 1
      k += 1
    }
    for _ in 0..<4 {
      while k > 0 && !startsEvent(k) { k -= 1 }
      guard k > 0 else { return nil }
      var head = chunk
      var tail = chunk
      head.locator.lineEnd = start + k - 1
      tail.locator.lineStart = start + k
      head.text = Self.render(head.locator, lines[..<k].joined(separator: "\n"))
      tail.text = Self.render(tail.locator, lines[k...].joined(separator: "\n"))
      let counted = try count([head, tail])
      if counted[0].tokens <= room { return (counted[0], counted[1]) }
      k -= 1
    }
    return nil
  }

  private func count(_ chunks: [Chunk]) throws -> [Chunk] {
    let counts = try tokens.counts(for: chunks.map(\.text)).counts
    var out = chunks
    for i in out.indices { out[i].tokens = counts[i] }
    return out
  }

  /// Splits a chunk over the budget: between its pieces (ingest sections)
  /// first, then at line boundaries, halving until each part fits.
  private func split(_ chunk: Chunk, pieces: [Piece], budget: Int, leftOut: inout [Plan.LeftOut]) throws -> [Chunk] {
    if chunk.tokens <= budget { return [chunk] }
    if pieces.count > 1 {
      let halves = [Array(pieces[..<(pieces.count / 2)]), Array(pieces[(pieces.count / 2)...])]
      return try zip(count(halves.map(Self.chunk)), halves).flatMap {
        try split($0, pieces: $1, budget: budget, leftOut: &leftOut)
      }
    }
    return try split(chunk, budget: budget, leftOut: &leftOut)
  }

  /// Splits a chunk over the budget at line boundaries, halving until each part fits.
  private func split(_ chunk: Chunk, budget: Int, leftOut: inout [Plan.LeftOut]) throws -> [Chunk] {
    if chunk.tokens <= budget { return [chunk] }
    let body = chunk.text.split(separator: "\n", omittingEmptySubsequences: false).dropFirst()
    let lines = Array(body)
    // Collapsed log text no longer maps line-for-line onto the file: keep the
    // parent's (covering) locator for the halves.
    let exactLines = chunk.locator.lineStart.map { chunk.locator.lineEnd! - $0 + 1 == lines.count } ?? false
    guard lines.count > 1 else {
      leftOut.append(
        .init(locator: chunk.locator, reason: "a single line of \(chunk.tokens) tokens exceeds the budget of \(budget)")
      )
      return []
    }
    let mid = lines.count / 2
    var parts: [Chunk] = []
    for (range, lineSlice) in [(0..<mid, lines[0..<mid]), (mid..<lines.count, lines[mid..<lines.count])] {
      var locator = chunk.locator
      if exactLines, let start = chunk.locator.lineStart {
        locator.lineStart = start + range.lowerBound
        locator.lineEnd = start + range.upperBound - 1
      }
      var part = chunk
      part.locator = locator
      part.text = Self.render(locator, lineSlice.joined(separator: "\n"))
      parts.append(part)
    }
    return try count(parts).flatMap { try split($0, budget: budget, leftOut: &leftOut) }
  }
}

/// Choices that shape a plan besides the budget.
public struct PlanOptions: Sendable, Hashable {
  /// Collapse repeated log lines (same Drain-style template) beyond a few occurrences.
  public var collapseRepeats: Bool
  /// The job's question, for relevance scores.
  public var question: String?
  /// Keep only the highest-priority chunks that fill this many windows.
  public var maxWindows: Int?
  /// Log events are grouped into chunks by time windows of this many seconds
  /// (nil: one chunk per event group from ingest).
  public var logWindow: Double?
  /// Leave out chunks that repeat an earlier chunk exactly or nearly, noting
  /// on the earlier one where else the text appears.
  public var collapseDuplicates: Bool
  /// Per display path, the first line to plan; earlier lines are left out
  /// (incremental runs plan only what is new). Paths not listed are planned whole.
  public var startLines: [String: Int] = [:]
  /// Never put two documents in one window (per-document map tasks).
  public var windowPerDocument = false
  /// Blend semantic similarity to the question into the priority where the embedding model is
  /// available (`plan: {semantic: false}` turns it off), and how.
  public var semantic = true
  public var semanticBlend = SemanticBlend.rrf
  /// The semantic side's share of the blend, 0–1 (BM25 has the rest).
  public var semanticWeight = SemanticBlend.defaultSemanticWeight

  public init(
    collapseRepeats: Bool = true, question: String? = nil, maxWindows: Int? = nil, logWindow: Double? = 3600,
    collapseDuplicates: Bool = true, windowPerDocument: Bool = false
  ) {
    self.windowPerDocument = windowPerDocument
    self.collapseRepeats = collapseRepeats
    self.question = question
    self.maxWindows = maxWindows
    self.logWindow = logWindow
    self.collapseDuplicates = collapseDuplicates
  }
}

/// Errors of planning.
public enum SegmenterError: Error, LocalizedError, Equatable {
  case budgetTooSmall(budget: Int)
  case vocabularyUnavailable(String)

  public var errorDescription: String? {
    switch self {
    case .budgetTooSmall(let budget):
      "A window budget of \(budget) tokens is too small; raise the context or lower the reserved output tokens."
    case .vocabularyUnavailable(let what): "No vocabulary for \(what); name a model or a vocabulary family."
    }
  }
}
