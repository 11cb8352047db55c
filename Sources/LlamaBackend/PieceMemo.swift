internal import CLlama
import Foundation

/// Exact token counts at a fraction of the tokenizer's cost: text is cut where no token of
/// the vocabulary can cross, and each piece's count is remembered.
///
/// Why the cut is exact, for SentencePiece vocabularies (`LLAMA_VOCAB_TYPE_SPM`, Gemma's)
/// as llama.cpp tokenizes them:
/// - user-defined tokens (Gemma's newline, tab and space runs, HTML tags) are carved out
///   of the text first, then each remaining fragment is merged pair by pair, and a merge
///   only ever makes a string that is a token of the vocabulary;
/// - so a token that covers bytes `a` and `b` on both sides of a cut contains `ab`.
///   If no token of the vocabulary contains `ab`, nothing crosses the cut, merges on one
///   side never see the other, and the count of the text is the sum of its pieces' counts.
///
/// `unsafePairs` holds every pair of ASCII bytes that sits inside some token merging may
/// produce, or some user-defined token (SentencePiece's `▁` read as a space); cuts are made
/// only between two ASCII bytes not in it. Vocabularies
/// this reasoning does not cover are not memoized: BPE ones (a regex splits the text
/// before merging), a space prefix added to each fragment, user-defined tokens that strip
/// the whitespace beside them.
///
/// Pieces not yet known are tokenized a run at a time (consecutive unknown pieces, a run
/// is bounded by cuts too), and the run's tokens are attributed back to its pieces by their
/// byte lengths. If that attribution does not add up, nothing is remembered and the run's
/// own count is used, which is still exact.
final class PieceMemo: @unchecked Sendable {
  private let vocab: OpaquePointer
  /// 128 × 128 flags: `unsafePairs[a << 7 | b]` when some token contains bytes `a`, `b` adjacent.
  private let unsafePairs: [Bool]
  /// The number of bytes each token stands for in the text.
  private let tokenBytes: [Int32]
  private let table = PieceTable()
  /// The token count of each one-byte ASCII text, the commonest pieces (digits, punctuation).
  private var singleBytes = [Int32](repeating: -1, count: 128)

  /// Pieces longer than this are tokenized but not remembered.
  static let maxPieceBytes = 256

  /// A memo for `model`'s vocabulary, or nil when the vocabulary is not one whose cuts are provably exact.
  init?(model: LlamaModel) {
    let vocab = model.vocab
    guard llama_vocab_type(vocab) == LLAMA_VOCAB_TYPE_SPM else { return nil }
    guard Self.metadata(model, "tokenizer.ggml.add_space_prefix") != "true" else { return nil }
    let n = Int(llama_vocab_n_tokens(vocab))
    var texts = [[UInt8]](repeating: [], count: n)
    var userDefined = [Bool](repeating: false, count: n)
    var special = [Bool](repeating: false, count: n)
    var lengths = [Int32](repeating: 0, count: n)
    var buffer = [CChar](repeating: 0, count: 256)
    for token in 0..<n {
      let id = llama_token(token)
      let attributes = llama_vocab_get_attr(vocab, id).rawValue
      if attributes & LLAMA_TOKEN_ATTR_USER_DEFINED.rawValue != 0 {
        // Stripping the whitespace beside a token reaches across the cut.
        if attributes & (LLAMA_TOKEN_ATTR_LSTRIP.rawValue | LLAMA_TOKEN_ATTR_RSTRIP.rawValue) != 0 { return nil }
        userDefined[token] = true
      } else if attributes & LLAMA_TOKEN_ATTR_NORMAL.rawValue == 0 {
        special[token] = true
      }
      if let text = llama_vocab_get_text(vocab, id) {
        texts[token] = Array(UnsafeBufferPointer(start: UnsafeRawPointer(text).assumingMemoryBound(to: UInt8.self), count: strlen(text)))
      }
      var written = llama_token_to_piece(vocab, id, &buffer, Int32(buffer.count), 0, true)
      if written < 0 {
        var larger = [CChar](repeating: 0, count: Int(-written))
        written = llama_token_to_piece(vocab, id, &larger, Int32(larger.count), 0, true)
      }
      lengths[token] = max(0, written)
    }
    var pairs = [Bool](repeating: false, count: 128 * 128)
    for (token, producible) in Self.producible(texts, special: special).enumerated() where producible || userDefined[token] {
      let bytes = Self.unescaped(texts[token])
      if bytes.count > 1 {
        for i in 1..<bytes.count where bytes[i - 1] < 0x80 && bytes[i] < 0x80 {
          pairs[Int(bytes[i - 1]) << 7 | Int(bytes[i])] = true
        }
      }
    }
    self.vocab = vocab
    unsafePairs = pairs
    tokenBytes = lengths
    for byte in 1..<128 {
      var one = UInt8(byte)
      singleBytes[byte] = Int32(tokenize(&one, 1).count)
    }
  }

  /// The number of tokens of `bytes` without BOS/EOS, as `llama_tokenize` would count them.
  func count(_ bytes: UnsafeBufferPointer<UInt8>) -> Int {
    guard let base = bytes.baseAddress, !bytes.isEmpty else { return 0 }
    // 1. Cut into pieces.
    var pieces: [Piece] = []
    var total = 0
    pieces.reserveCapacity(bytes.count / 4 + 1)
    var start = 0
    var previous = base[0]
    var hash = (Self.offsetBasis ^ UInt64(previous)) &* Self.prime
    var i = 1
    while i < bytes.count {
      let byte = base[i]
      if previous < 0x80 && byte < 0x80 && !unsafePairs[Int(previous) << 7 | Int(byte)] {
        if i - start == 1 && singleBytes[Int(previous)] >= 0 {
          total += Int(singleBytes[Int(previous)])
        } else {
          pieces.append(Piece(start: start, end: i, hash: hash))
        }
        start = i
        hash = Self.offsetBasis
      }
      hash = (hash ^ UInt64(byte)) &* Self.prime
      previous = byte
      i += 1
    }
    pieces.append(Piece(start: start, end: bytes.count, hash: hash))

    // 2. Look every piece up under one read lock.
    var counts = [Int32](repeating: -1, count: pieces.count)
    table.read { table in
      for (index, piece) in pieces.enumerated() where piece.end - piece.start <= Self.maxPieceBytes {
        counts[index] = table.find(piece.hash, base + piece.start, piece.end - piece.start)
      }
    }

    // 3. Tokenize the runs of unknown pieces; remember what they turned out to be.
    var runs: [ClosedRange<Int>] = []
    var index = 0
    while index < pieces.count {
      if counts[index] >= 0 {
        total += Int(counts[index])
        index += 1
        continue
      }
      var last = index
      // A run is contiguous text: one-byte pieces counted in the scan end it too.
      while last + 1 < pieces.count && counts[last + 1] < 0 && pieces[last + 1].start == pieces[last].end { last += 1 }
      runs.append(index...last)
      index = last + 1
    }
    var learned: [(Piece, Int32)] = []
    total += tokenizeRuns(base, pieces, runs, into: &learned)
    if !learned.isEmpty {
      table.write { table in
        for (piece, count) in learned { table.insert(piece.hash, base + piece.start, piece.end - piece.start, count) }
      }
    }
    return total
  }

  private struct Piece {
    var start: Int
    var end: Int
    var hash: UInt64
  }

  private static let offsetBasis: UInt64 = 0xcbf2_9ce4_8422_2325
  private static let prime: UInt64 = 0x100_0000_01b3
  /// Joins runs of unknown pieces for one call to the tokenizer: a newline, which Gemma's
  /// tokens merge with nothing but newlines (checked per run against `unsafePairs`).
  private static let separator: UInt8 = 0x0A

  /// Tokenizes `runs` of `pieces` and attributes the tokens back to each piece.
  ///
  /// Each call to `llama_tokenize` costs tens of microseconds whatever its length, and a
  /// text typically has a few new pieces here and there, so runs whose edges may be cut
  /// against a newline are joined by newlines and tokenized in one call.
  ///
  /// - Returns: The runs' token count (exact: every run and separator is bounded by cuts).
  private func tokenizeRuns(
    _ base: UnsafePointer<UInt8>, _ pieces: [Piece], _ runs: [ClosedRange<Int>], into learned: inout [(Piece, Int32)]
  ) -> Int {
    let sep = Int(Self.separator)
    func joinable(_ run: ClosedRange<Int>) -> Bool {
      let first = Int(base[pieces[run.lowerBound].start])
      let last = Int(base[pieces[run.upperBound].end - 1])
      return first < 0x80 && last < 0x80 && !unsafePairs[last << 7 | sep] && !unsafePairs[sep << 7 | first]
    }
    var total = 0
    var joined: [ClosedRange<Int>] = []
    for run in runs {
      if runs.count > 1 && joinable(run) { joined.append(run) } else { total += tokenizeAlone(base, pieces, run, into: &learned) }
    }
    guard joined.count > 1 else {
      for run in joined { total += tokenizeAlone(base, pieces, run, into: &learned) }
      return total
    }
    // The runs' bytes with a newline between each two; pieces in the joined text's
    // offsets, each with the index of the piece it copies (-1 for a separator).
    var buffer: [UInt8] = []
    var layout: [Piece] = []
    var origins: [Int] = []
    for (k, run) in joined.enumerated() {
      if k > 0 {
        layout.append(Piece(start: buffer.count, end: buffer.count + 1, hash: 0))
        origins.append(-1)
        buffer.append(Self.separator)
      }
      for i in run {
        let piece = pieces[i]
        layout.append(Piece(start: buffer.count, end: buffer.count + piece.end - piece.start, hash: piece.hash))
        origins.append(i)
        buffer.append(contentsOf: UnsafeBufferPointer(start: base + piece.start, count: piece.end - piece.start))
      }
    }
    let attributed = buffer.withUnsafeBufferPointer { attribute($0.baseAddress!, layout) }
    guard let perPiece = attributed.perPiece else {
      for run in joined { total += tokenizeAlone(base, pieces, run, into: &learned) }
      return total
    }
    for (k, origin) in origins.enumerated() where origin >= 0 {
      total += Int(perPiece[k])
      let piece = pieces[origin]
      if piece.end - piece.start <= Self.maxPieceBytes { learned.append((piece, perPiece[k])) }
    }
    return total
  }

  /// Tokenizes one run by itself.
  private func tokenizeAlone(
    _ base: UnsafePointer<UInt8>, _ pieces: [Piece], _ run: ClosedRange<Int>, into learned: inout [(Piece, Int32)]
  ) -> Int {
    let origin = pieces[run.lowerBound].start
    let local = run.map { Piece(start: pieces[$0].start - origin, end: pieces[$0].end - origin, hash: pieces[$0].hash) }
    let attributed = attribute(base + origin, local)
    if let perPiece = attributed.perPiece {
      for (k, i) in run.enumerated() where pieces[i].end - pieces[i].start <= Self.maxPieceBytes {
        learned.append((pieces[i], perPiece[k]))
      }
    }
    return attributed.total
  }

  /// Tokenizes the text `pieces` cover (contiguous, from offset 0) and gives each piece
  /// its tokens, by the bytes each token stands for.
  ///
  /// - Returns: The token count, and per-piece counts unless a token straddles two pieces
  ///   or the lengths do not add up (then nothing may be remembered).
  private func attribute(_ base: UnsafePointer<UInt8>, _ pieces: [Piece]) -> (total: Int, perPiece: [Int32]?) {
    let length = pieces.last!.end
    let tokens = tokenize(base, length)
    var perPiece = [Int32](repeating: 0, count: pieces.count)
    var offset = 0
    var piece = 0
    for token in tokens {
      let bytes = Int(tokenBytes[Int(token)])
      let tokenStart = offset
      offset += bytes
      while piece < pieces.count && pieces[piece].end <= tokenStart { piece += 1 }
      guard bytes > 0, piece < pieces.count, offset <= pieces[piece].end else { return (tokens.count, nil) }
      perPiece[piece] += 1
    }
    return (tokens.count, offset == length ? perPiece : nil)
  }

  private func tokenize(_ bytes: UnsafePointer<UInt8>, _ count: Int) -> [llama_token] {
    LlamaModel.tokenize(vocab, bytes, count: count, addSpecial: false, parseSpecial: false)
  }

  // MARK: - Vocabulary

  /// Which of the `special` tokens (control, byte-fallback, unknown, unused) a SentencePiece
  /// merge could produce: one whose text splits into two parts that are each a single
  /// character or the text of some token. The last merge that makes a token joins two
  /// symbols that are themselves a character or a token, so a token with no such split can
  /// never appear by merging. Byte-fallback tokens (`<0x41>`) and control tokens
  /// (`<unused12>`) have none, so their digits do not keep digits from being cut apart.
  /// Normal and user-defined tokens are all taken as producible: more pairs, fewer cuts,
  /// never a wrong count.
  static func producible(_ texts: [[UInt8]], special: [Bool]) -> [Bool] {
    func fnv(_ bytes: ArraySlice<UInt8>) -> UInt64 {
      var hash = offsetBasis
      for byte in bytes { hash = (hash ^ UInt64(byte)) &* prime }
      return hash
    }
    // A hash shared by two texts only makes a part seem to exist: the safe direction.
    var known = Set<UInt64>(minimumCapacity: texts.count)
    for text in texts where !text.isEmpty { known.insert(fnv(text[...])) }
    var result = [Bool](repeating: true, count: texts.count)
    for token in texts.indices where special[token] {
      let text = texts[token]
      let starts = text.indices.filter { text[$0] & 0xC0 != 0x80 }  // where each character starts
      guard starts.count > 1 else { continue }  // one character: produced as it is
      func exists(_ part: ArraySlice<UInt8>, characters: Int) -> Bool { characters == 1 || known.contains(fnv(part)) }
      result[token] = (1..<starts.count).contains { k in
        exists(text[..<starts[k]], characters: k) && exists(text[starts[k]...], characters: starts.count - k)
      }
    }
    return result
  }

  /// A token's text with SentencePiece's `▁` (U+2581) read as the space it stands for.
  private static func unescaped(_ text: [UInt8]) -> [UInt8] {
    var bytes: [UInt8] = []
    bytes.reserveCapacity(text.count)
    var i = 0
    while i < text.count {
      if i + 2 < text.count && text[i] == 0xE2 && text[i + 1] == 0x96 && text[i + 2] == 0x81 {
        bytes.append(0x20)
        i += 3
      } else {
        bytes.append(text[i])
        i += 1
      }
    }
    return bytes
  }

  private static func metadata(_ model: LlamaModel, _ key: String) -> String? {
    var buffer = [CChar](repeating: 0, count: 64)
    let n = llama_model_meta_val_str(model.pointer, key, &buffer, buffer.count)
    guard n >= 0 else { return nil }
    return String(decoding: buffer.prefix(Int(min(n, 63))).map { UInt8(bitPattern: $0) }, as: UTF8.self)
  }
}

/// Remembered pieces: open addressing over a flat array, the pieces' bytes in one arena,
/// guarded by a readers-writer lock (lookups far outnumber insertions once warm).
/// When full it starts again empty: a cache, never a source of truth.
final class PieceTable: @unchecked Sendable {
  private struct Slot {
    var hash: UInt64 = 0
    var offset: UInt32 = 0
    var length: UInt16 = 0  // 0: empty
    var count: UInt16 = 0
  }

  private let lock: UnsafeMutablePointer<pthread_rwlock_t>
  private var slots: [Slot]
  private var used = 0
  private var arena: [UInt8] = []
  /// At most this many slots (16 bytes each) and arena bytes before starting again.
  static let maxSlots = 1 << 22
  static let maxArena = 64 << 20

  init() {
    lock = .allocate(capacity: 1)
    pthread_rwlock_init(lock, nil)
    slots = [Slot](repeating: Slot(), count: 1 << 16)
  }

  deinit {
    pthread_rwlock_destroy(lock)
    lock.deallocate()
  }

  func read<T>(_ body: (PieceTable) -> T) -> T {
    pthread_rwlock_rdlock(lock)
    defer { pthread_rwlock_unlock(lock) }
    return body(self)
  }

  func write<T>(_ body: (PieceTable) -> T) -> T {
    pthread_rwlock_wrlock(lock)
    defer { pthread_rwlock_unlock(lock) }
    return body(self)
  }

  /// The remembered count of these bytes, or -1.
  func find(_ hash: UInt64, _ bytes: UnsafePointer<UInt8>, _ length: Int) -> Int32 {
    let mask = slots.count - 1
    var i = Int(truncatingIfNeeded: hash ^ (hash >> 29)) & mask
    return slots.withUnsafeBufferPointer { slots in
      arena.withUnsafeBufferPointer { arena in
        while true {
          let slot = slots[i]
          if slot.length == 0 { return -1 }
          if slot.hash == hash && Int(slot.length) == length
            && memcmp(arena.baseAddress! + Int(slot.offset), bytes, length) == 0
          {
            return Int32(slot.count)
          }
          i = (i + 1) & mask
        }
      }
    }
  }

  /// Remembers `count` for these bytes (writers only).
  func insert(_ hash: UInt64, _ bytes: UnsafePointer<UInt8>, _ length: Int, _ count: Int32) {
    guard length > 0, length <= Int(UInt16.max), count >= 0, count <= Int32(UInt16.max) else { return }
    guard find(hash, bytes, length) < 0 else { return }
    if (used + 1) * 10 > slots.count * 7 {
      if slots.count >= Self.maxSlots { clear() } else { grow() }
    }
    if arena.count + length > Self.maxArena { clear() }
    let offset = arena.count
    arena.append(contentsOf: UnsafeBufferPointer(start: bytes, count: length))
    place(Slot(hash: hash, offset: UInt32(offset), length: UInt16(length), count: UInt16(count)))
    used += 1
  }

  private func place(_ slot: Slot) {
    let mask = slots.count - 1
    var i = Int(truncatingIfNeeded: slot.hash ^ (slot.hash >> 29)) & mask
    while slots[i].length != 0 { i = (i + 1) & mask }
    slots[i] = slot
  }

  private func grow() {
    let old = slots
    slots = [Slot](repeating: Slot(), count: old.count * 2)
    for slot in old where slot.length != 0 { place(slot) }
  }

  private func clear() {
    slots = [Slot](repeating: Slot(), count: slots.count)
    arena.removeAll(keepingCapacity: true)
    used = 0
  }
}
