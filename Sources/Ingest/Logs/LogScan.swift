import Foundation
import Storage

/// The byte-level, multi-core log pass behind `LogExtractor`.
///
/// It makes exactly the sections of the reference pass
/// (`LogExtractor.extractReference`, which decodes the whole file into one
/// `String` first), in three phases:
///
/// 1. the bytes are split into one chunk per core at newline boundaries, and
///    each chunk's lines are found with `memchr` and classified (event start
///    or continuation) in parallel;
/// 2. lines are grouped into sections in one sequential pass over the line
///    lengths and flags only (integers: cheap), so an event that straddles a
///    chunk border is grouped exactly as in a single pass;
/// 3. sections are scanned (severity, timestamps of event-starting lines,
///    secrets) and written as the blob's JSON straight from the bytes on all
///    cores, then joined in order.
///
/// Text with invalid UTF-8, or an overlong-line cut inside a character, takes
/// the reference pass instead (`NeedsReference`): replacing bytes changes
/// line lengths, which the byte offsets here cannot follow.
struct LogScan {
  var maxLines: Int
  var maxBytes: Int
  var maxLineBytes = 64 * 1024
  var syslogYear: Int
  /// The file's modification time: the year of headers that carry none.
  var referenceDate = Date()
  var redact: Bool
  /// Parallel chunks (1 for small inputs).
  var parallelism = max(1, ProcessInfo.processInfo.activeProcessorCount)
  /// Build `Section` values too (tests, `LogExtractor.extract`); the ingest
  /// path only needs the JSON.
  var wantSections = false
  /// Compress and hash the JSON as it is written, at this zstd level, into
  /// `Output.blob` (one frame per piece of about `pieceBytes` of input),
  /// instead of returning it in `Output.json`. For large logs: the JSON is
  /// then never whole in memory, and its pieces reuse a few buffers.
  var blobLevel: Int32?
  var pieceBytes = 4 << 20

  /// The input cannot be handled on bytes; use the reference pass.
  struct NeedsReference: Error {}

  /// What the pass produced.
  struct Output {
    /// The JSON array of sections, as `SectionsCodec.encode` writes it
    /// (empty when `blobLevel` is set).
    var json: Data
    /// The same JSON compressed and named, when `blobLevel` is set.
    var blob: PreparedBlob?
    /// The sections, when `wantSections` was set.
    var sections: [Section] = []
    var sectionCount = 0
    /// Characters (`String.count`) of all section texts.
    var charCount = 0
    var lineCount = 0
    var cutLines = 0
    var jsonLines = 0
    var severities: [String: Int] = [:]
    var firstTime: Double?
    var lastTime: Double?
    var redactor = Redactor()
  }

  // MARK: - Phase 1: lines

  private struct Lines {
    var starts: [Int] = []
    var lengths: [Int32] = []
    var eventStart: [Bool] = []
    var cut = 0
    var needsReference = false
  }

  /// Lines starting in `from..<to` (`to` is just after a newline, or the end).
  private func scanLines(_ base: UnsafePointer<UInt8>, from: Int, to: Int) -> Lines {
    var out = Lines()
    let estimate = (to - from) / 64 + 1
    out.starts.reserveCapacity(estimate)
    out.lengths.reserveCapacity(estimate)
    out.eventStart.reserveCapacity(estimate)
    var start = from
    while start < to {
      let found = memchr(base + start, 0x0A, to - start)
      let newline = found.map { UnsafeRawPointer(base).distance(to: UnsafeRawPointer($0)) } ?? to
      var end = newline
      if end > start && base[end - 1] == 0x0D { end -= 1 }
      if end - start > maxLineBytes {
        out.cut += 1
        end = start + maxLineBytes
        // A cut inside a character: the reference rounds to a character boundary.
        if base[end] & 0xC0 == 0x80 { out.needsReference = true }
      }
      let line = UnsafeBufferPointer(start: base + start, count: end - start)
      let continuation =
        LogLine.isContinuation(bytes: line)
        ?? LogLine.isContinuation(Substring(String(decoding: line, as: UTF8.self)))
      out.starts.append(start)
      out.lengths.append(Int32(end - start))
      out.eventStart.append(!continuation)
      start = newline + 1
    }
    return out
  }

  // MARK: - Phase 3: sections

  private struct Part {
    var json: [UInt8] = []
    var sections: [Section] = []
    var count = 0
    var charCount = 0
    var jsonLines = 0
    var severities: [String: Int] = [:]
    /// Sections per level of `LogLine.levels`, by index (added to `severities` at the end).
    var levelCounts = [Int](repeating: 0, count: LogLine.levels.count)
    var firstTime: Double?
    var lastTime: Double?
    var redactor: Redactor
    var needsReference = false
  }

  /// Scans and writes the sections `ranges` (line index ranges).
  private func writeSections(
    _ ranges: ArraySlice<Range<Int>>, base: UnsafePointer<UInt8>, starts: [Int], lengths: [Int32],
    eventStart: [Bool], displayPath: String, layout: LogHeaderLayout, buffer: [UInt8] = []
  ) -> Part {
    var part = Part(json: buffer, redactor: Redactor(enabled: redact))
    var clock = EventClock(layout: layout, referenceDate: referenceDate, syslogYear: syslogYear)
    // Room for the text plus each section's keys, so the buffer is not regrown (and copied).
    if let first = ranges.first, let last = ranges.last {
      let span = starts[last.upperBound - 1] + Int(lengths[last.upperBound - 1]) - starts[first.lowerBound]
      part.json.reserveCapacity(span + span / 32 + ranges.count * (160 + displayPath.utf8.count))
    }
    var scratch: [UInt8] = []
    for r in ranges {
      let first = r.lowerBound
      let last = r.upperBound - 1
      let sliceStart = starts[first]
      let sliceEnd = starts[last] + Int(lengths[last])
      var expected = r.count - 1
      for i in r { expected += Int(lengths[i]) }
      let line = { (i: Int) in UnsafeBufferPointer(start: base + starts[i], count: Int(lengths[i])) }
      let ok: Bool
      if sliceEnd - sliceStart == expected {
        ok = section(
          r, text: UnsafeBufferPointer(start: base + sliceStart, count: sliceEnd - sliceStart), line: line,
          eventStart: eventStart, displayPath: displayPath, clock: &clock, into: &part)
      } else {
        // CR-terminated or cut lines: join the kept parts with "\n".
        scratch.removeAll(keepingCapacity: true)
        for i in r {
          if i > first { scratch.append(0x0A) }
          scratch.append(contentsOf: line(i))
        }
        ok = scratch.withUnsafeBufferPointer {
          section(
            r, text: $0, line: line, eventStart: eventStart, displayPath: displayPath, clock: &clock, into: &part)
        }
      }
      if !ok {
        part.needsReference = true
        return part
      }
    }
    return part
  }

  /// One section; `false` when the text is not valid UTF-8.
  private func section(
    _ r: Range<Int>, text: UnsafeBufferPointer<UInt8>, line: (Int) -> UnsafeBufferPointer<UInt8>,
    eventStart: [Bool], displayPath: String, clock: inout EventClock, into part: inout Part
  ) -> Bool {
    // Whitespace-only sections are dropped; ASCII needs no validation.
    var nonWhitespace = false
    var high: UInt64 = 0
    if let base = text.baseAddress {
      var i = 0
      let n = text.count
      while i < n {
        if nonWhitespace && i + 8 <= n {
          high |= UnsafeRawPointer(base + i).loadUnaligned(as: UInt64.self)  // only the high bits matter now
          i += 8
          continue
        }
        let b = base[i]
        high |= UInt64(b)
        if !nonWhitespace && !(b == 0x20 || (b >= 0x09 && b <= 0x0D)) && b < 0x80 { nonWhitespace = true }
        i += 1
      }
    }
    let ascii = high & SWAR.highs == 0
    var decoded: String?
    if !ascii {
      guard let s = String(validating: text, as: UTF8.self) else { return false }
      decoded = s
      if !nonWhitespace && s.allSatisfy(\.isWhitespace) { return true }
    } else if !nonWhitespace {
      return true
    }

    // The highest-ranked level of the section's lines (rank: index in `LogLine.levels`).
    var severity: String?
    var rank = -1
    for i in r {
      let bytes = line(i)
      if bytes.first == UInt8(ascii: "{") {
        let s = Substring(String(decoding: bytes, as: UTF8.self))
        let level: String?
        if let record = JSONLogLine(s) {
          part.jsonLines += 1
          level = record.level
        } else {
          level = LogLine.severity(s)
        }
        if let level {
          let k = LogLine.rank(level)
          if k > rank {
            severity = level
            rank = k
          }
        }
      } else if let k = LogLine.severityIndex(bytes: bytes), k > rank {
        severity = LogLine.levels[k]
        rank = k
      }
    }
    if let severity {
      // Counted by rank without hashing the name, unless a structured record's level is not one of ours.
      if rank >= 0 && LogLine.levels[rank] == severity {
        part.levelCounts[rank] += 1
      } else {
        part.severities[severity, default: 0] += 1
      }
    }
    var firstTime: Double?
    var lastTime: Double?
    var firstAt: Int?
    for i in r where eventStart[i] {
      if let t = clock.time(line(i)) {
        firstTime = t
        firstAt = i
        break
      }
    }
    for i in r.reversed() where eventStart[i] {
      if i == firstAt {
        lastTime = firstTime
        break
      }
      if let t = clock.time(line(i)) {
        lastTime = t
        break
      }
    }
    if part.firstTime == nil { part.firstTime = firstTime }
    if let lastTime { part.lastTime = lastTime }

    let locator = Locator(path: displayPath, lineStart: r.lowerBound + 1, lineEnd: r.upperBound)
    var redacted: String?
    let candidates = redact ? Redactor.candidateRules(bytes: text) : 0
    // The common case on auth logs (`Failed password for …`): only an assignment
    // could match, and the byte scan finds none, so no String is made.
    let onlyAssignments = candidates == 1 << Redactor.assignmentRule && SecretAssignments.values(in: text).isEmpty
    if candidates != 0 && !onlyAssignments {
      let body = decoded ?? String(decoding: text, as: UTF8.self)
      let out = part.redactor.redact(body, locator: locator)
      if out != body { redacted = out }
    }
    if part.count > 0 { part.json.append(UInt8(ascii: ",")) }
    part.count += 1
    if let redacted {
      SectionsCodec.withUTF8(redacted) {
        SectionsCodec.appendSection(
          locator: locator, text: $0, severity: severity, firstTimestamp: firstTime, lastTimestamp: lastTime,
          to: &part.json)
      }
      part.charCount += redacted.count
    } else {
      SectionsCodec.appendSection(
        locator: locator, text: text, severity: severity, firstTimestamp: firstTime, lastTimestamp: lastTime,
        to: &part.json)
      part.charCount += decoded?.count ?? (text.count - Self.crlfPairs(text))
    }
    if wantSections {
      let body = redacted ?? decoded ?? String(decoding: text, as: UTF8.self)
      part.sections.append(
        Section(locator: locator, text: body, severity: severity, firstTimestamp: firstTime, lastTimestamp: lastTime))
    }
    return true
  }

  /// CR LF pairs: one `Character` each, so ASCII text has that many fewer characters than bytes.
  private static func crlfPairs(_ text: UnsafeBufferPointer<UInt8>) -> Int {
    guard let base = text.baseAddress, text.count > 1 else { return 0 }
    var n = 0
    var i = 0
    while i < text.count - 1, let hit = memchr(base + i, 0x0D, text.count - 1 - i) {
      let j = UnsafeRawPointer(base).distance(to: UnsafeRawPointer(hit))
      if text[j + 1] == 0x0A { n += 1 }
      i = j + 1
    }
    return n
  }

  // MARK: - All phases

  /// Runs the pass over `data`.
  ///
  /// - Throws: `NeedsReference` for invalid UTF-8 or a cut inside a character.
  func run(_ data: Data, displayPath: String) throws -> Output {
    // The reference makes one empty line of an empty file: no section.
    if data.isEmpty { return Output(json: Data("[]".utf8), lineCount: 1) }
    return try data.withUnsafeBytes { (raw: UnsafeRawBufferPointer) throws -> Output in
      guard let base = raw.bindMemory(to: UInt8.self).baseAddress else { throw NeedsReference() }
      let n = raw.count
      let k = n < (1 << 20) ? 1 : parallelism

      // Phase 1: chunk borders just after a newline.
      var borders = [0]
      for c in 1..<max(k, 1) {
        var p = max(n * c / k, borders[borders.count - 1])
        if let hit = memchr(base + p, 0x0A, n - p) {
          p = UnsafeRawPointer(base).distance(to: UnsafeRawPointer(hit)) + 1
        } else {
          p = n
        }
        borders.append(p)
      }
      borders.append(n)
      var chunks = [Lines](repeating: Lines(), count: borders.count - 1)
      chunks.withUnsafeMutableBufferPointer { out in
        parallelFor(out.count) { c in
          out[c] = scanLines(base, from: borders[c], to: borders[c + 1])
        }
      }
      if chunks.contains(where: \.needsReference) { throw NeedsReference() }
      let cut = chunks.reduce(0) { $0 + $1.cut }  // before the chunks are emptied below
      var starts: [Int] = []
      var lengths: [Int32] = []
      var eventStart: [Bool] = []
      if chunks.count == 1 {
        (starts, lengths, eventStart) = (chunks[0].starts, chunks[0].lengths, chunks[0].eventStart)
      } else {
        let total = chunks.reduce(0) { $0 + $1.starts.count }
        starts.reserveCapacity(total)
        lengths.reserveCapacity(total)
        eventStart.reserveCapacity(total)
        for c in chunks.indices {
          starts.append(contentsOf: chunks[c].starts)
          lengths.append(contentsOf: chunks[c].lengths)
          eventStart.append(contentsOf: chunks[c].eventStart)
          chunks[c] = Lines()
        }
      }

      // Phase 2: sequential grouping over lengths and flags.
      let ranges = LineGrouper.group(
        count: starts.count, maxLines: maxLines, maxBytes: maxBytes, lineBytes: { Int(lengths[$0]) },
        startsUnit: { eventStart[$0] })

      // The header layout, for event times (every part parses with its own clock).
      let layout = EventClock.layout(lines: starts.count) {
        UnsafeBufferPointer(start: base + starts[$0], count: Int(lengths[$0]))
      }

      // Phase 3: sections on all cores, in contiguous runs joined in order.
      var pieces = k == 1 ? 1 : min(ranges.count, k * 4)
      let builder = blobLevel.map {
        BlobBuilder(level: $0, prefix: Data("[".utf8), separator: Data(",".utf8), suffix: Data("]".utf8))
      }
      let pool = BufferPool()
      if builder != nil { pieces = max(pieces, min(ranges.count, n / max(pieceBytes, 1))) }
      var parts = [Part?](repeating: nil, count: max(pieces, 1))
      parts.withUnsafeMutableBufferPointer { out in
        parallelFor(out.count) { p in
          let lo = ranges.count * p / out.count
          let hi = ranges.count * (p + 1) / out.count
          var part = writeSections(
            ranges[lo..<hi], base: base, starts: starts, lengths: lengths, eventStart: eventStart,
            displayPath: displayPath, layout: layout, buffer: builder == nil ? [] : pool.take())
          if let builder {
            // Every piece is added, even a failed one: the ones after it are hashed only once it is.
            for buffer in builder.add(part.json, index: p) { pool.give(back: buffer) }
            part.json = []
          }
          out[p] = part
        }
      }
      var output = Output(json: Data())
      output.lineCount = starts.count
      output.cutLines = cut
      output.redactor = Redactor(enabled: redact)
      if let builder {
        if parts.contains(where: { $0?.needsReference == true }) { throw NeedsReference() }
        output.blob = try builder.finish()
      }
      // The parts are copied once, into memory the Data then owns (without `blobLevel`).
      let capacity = builder != nil ? 0 : parts.reduce(2) { $0 + ($1?.json.count ?? 0) + 1 }
      let json = UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: 1)
      var size = 0
      func put(_ bytes: UnsafeRawBufferPointer) {
        if let src = bytes.baseAddress { (json + size).copyMemory(from: src, byteCount: bytes.count) }
        size += bytes.count
      }
      func put(_ byte: UInt8) { withUnsafeBytes(of: byte) { put($0) } }
      if builder == nil { put(UInt8(ascii: "[")) }
      for case let part? in parts {
        if part.needsReference {
          json.deallocate()
          throw NeedsReference()
        }
        guard part.count > 0 else { continue }
        if builder == nil {
          if output.sectionCount > 0 { put(UInt8(ascii: ",")) }
          part.json.withUnsafeBytes { put($0) }
        }
        output.sectionCount += part.count
        output.charCount += part.charCount
        output.jsonLines += part.jsonLines
        output.severities.merge(part.severities, uniquingKeysWith: +)
        for (k, n) in part.levelCounts.enumerated() where n > 0 {
          output.severities[LogLine.levels[k], default: 0] += n
        }
        if output.firstTime == nil { output.firstTime = part.firstTime }
        if let t = part.lastTime { output.lastTime = t }
        output.redactor.append(contentsOf: part.redactor)
        if wantSections { output.sections.append(contentsOf: part.sections) }
      }
      if builder == nil { put(UInt8(ascii: "]")) }
      output.json = Data(bytesNoCopy: json, count: size, deallocator: .custom { p, _ in p.deallocate() })
      return output
    }
  }
}

/// Runs `body` for `0..<n` on all cores and returns when every call has.
///
/// `concurrentPerform` takes a `@Sendable` closure; the callers here hand
/// each iteration its own slot of a buffer and read shared arrays only, which
/// the compiler cannot see, so the closure is passed through unchecked.
private func parallelFor(_ n: Int, _ body: (Int) -> Void) {
  withoutActuallyEscaping(body) { body in
    let box = UncheckedSendableBox(body)
    DispatchQueue.concurrentPerform(iterations: n) { box.value($0) }
  }
}

/// Runs `side` on another thread while `body` runs on this one, and returns
/// both results.
///
/// Not `concurrentPerform`: a `concurrentPerform` inside one (the log pass
/// inside `body`) gets only the width left over, which on 2 cores was one
/// thread, and the pass ran serially.
func alongside<Side: Sendable, Result>(
  _ side: @escaping @Sendable () -> Side, _ body: () throws -> Result
) rethrows -> (Result, Side) {
  let slot = SideSlot<Side>()
  let done = DispatchSemaphore(value: 0)
  DispatchQueue.global().async {
    slot.value = side()
    done.signal()
  }
  let result: Result
  do { result = try body() } catch {
    done.wait()
    throw error
  }
  done.wait()
  guard let value = slot.value else { preconditionFailure("side task ended without a value") }
  return (result, value)
}

/// `alongside`'s result slot: written before the semaphore is signalled, read after.
private final class SideSlot<Value>: @unchecked Sendable {
  var value: Value?
}

private struct UncheckedSendableBox<T>: @unchecked Sendable {
  let value: T
  init(_ value: T) { self.value = value }
}

/// Byte buffers handed from one piece of the log pass to the next, so that
/// the pieces reuse memory already touched instead of fresh pages.
private final class BufferPool: @unchecked Sendable {  // state under `lock`
  private let lock = NSLock()
  private var free: [[UInt8]] = []

  func take() -> [UInt8] { lock.withLock { free.popLast() ?? [] } }

  func give(back buffer: [UInt8]) {
    var buffer = buffer
    buffer.removeAll(keepingCapacity: true)
    lock.withLock { free.append(buffer) }
  }
}
