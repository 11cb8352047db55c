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
    var batch = Batch(texts: 1)
    table.read { table in scan(bytes, text: 0, table: table, into: &batch) }
    return finish(&batch)[0]
  }

  /// The token counts of `texts`, each as `count` gives it. The pieces of all of them that
  /// are not remembered yet go to the tokenizer together, in a few calls: a call costs tens
  /// of microseconds whatever its length (llama.cpp looks for every user-defined token in
  /// the text first), which for a cold memo was most of the cost of counting one text.
  func counts(_ texts: [String]) -> [Int] {
    var batch = Batch(texts: texts.count)
    table.read { table in
      for (index, text) in texts.enumerated() {
        let scanned = text.utf8.withContiguousStorageIfAvailable { scan($0, text: index, table: table, into: &batch) }
        if scanned == nil {
          var copy = text
          copy.withUTF8 { scan($0, text: index, table: table, into: &batch) }
        }
      }
    }
    return finish(&batch)
  }

  /// A piece of text: its place, and its key in the table.
  private struct Piece {
    var start: Int
    var end: Int
    var key: PieceTable.Key
  }

  /// One call's worth of texts: their counts so far, and the pieces still to tokenize.
  private struct Batch {
    var totals: [Int]
    /// Unknown runs of every text, joined by `separator`.
    var joined: [UInt8] = []
    /// The pieces of `joined` (offsets into it), separators included (origin -1).
    var layout: [Piece] = []
    /// The text of each piece of `layout`, or -1 for a separator.
    var origins: [Int] = []
    /// The layout index after each run of `joined`.
    var runEnds: [Int] = []
    /// Pieces whose counts became known, to remember.
    var learned: [(key: PieceTable.Key, count: Int32)] = []
    /// The bytes of learned pieces longer than a key holds.
    var learnedBytes: [UInt8] = []
    /// The current text's run of unknown pieces (reused).
    var run: [Piece] = []

    init(texts: Int) { totals = [Int](repeating: 0, count: texts) }

    mutating func learn(_ piece: Piece, _ count: Int32, bytes: UnsafePointer<UInt8>) {
      var key = piece.key
      if key.length > PieceTable.inlineBytes {
        key.offset = UInt32(learnedBytes.count)
        learnedBytes.append(contentsOf: UnsafeBufferPointer(start: bytes + piece.start, count: piece.end - piece.start))
      }
      learned.append((key, count))
    }
  }

  /// Cuts one text into pieces and counts the remembered ones; the runs of unknown pieces
  /// go into `batch` (or, when they cannot be joined to others, are tokenized now).
  private func scan(_ bytes: UnsafeBufferPointer<UInt8>, text: Int, table: PieceTable, into batch: inout Batch) {
    guard let base = bytes.baseAddress, !bytes.isEmpty else { return }
    let n = bytes.count
    var total = 0
    batch.run.removeAll(keepingCapacity: true)
    unsafePairs.withUnsafeBufferPointer { pairs in
      singleBytes.withUnsafeBufferPointer { singles in
        var start = 0
        var previous = base[0]
        var i = 1
        while true {
          // The next cut: two ASCII bytes that no token holds side by side.
          while i < n {
            let byte = base[i]
            if (previous | byte) < 0x80 && !pairs[Int(previous) << 7 | Int(byte)] { break }
            previous = byte
            i += 1
          }
          let length = i - start
          var known: Int32 = -1
          var key = PieceTable.Key()
          if length == 1 && base[start] < 0x80 {
            known = singles[Int(base[start])]
          }
          if known < 0 && length <= Self.maxPieceBytes {
            key = PieceTable.Key(base + start, length, limit: base + n)
            known = table.find(key, base + start)
          }
          if known >= 0 {
            total += Int(known)
            if !batch.run.isEmpty { total += closeRun(base, text: text, into: &batch) }
          } else {
            batch.run.append(Piece(start: start, end: i, key: key))
          }
          if i >= n { break }
          start = i
          previous = base[i]
          i += 1
        }
      }
    }
    if !batch.run.isEmpty { total += closeRun(base, text: text, into: &batch) }
    batch.totals[text] += total
  }

  /// Moves the current run into the batch's joined text when both its edges may be cut
  /// against the separator; otherwise tokenizes it by itself.
  ///
  /// - Returns: The run's tokens when they were counted now, else 0 (counted in `finish`).
  private func closeRun(_ base: UnsafePointer<UInt8>, text: Int, into batch: inout Batch) -> Int {
    defer { batch.run.removeAll(keepingCapacity: true) }
    let runStart = batch.run[0].start
    let runEnd = batch.run[batch.run.count - 1].end
    let first = Int(base[runStart])
    let last = Int(base[runEnd - 1])
    let sep = Int(Self.separator)
    if first < 0x80 && last < 0x80 && !unsafePairs[last << 7 | sep] && !unsafePairs[sep << 7 | first] {
      if !batch.joined.isEmpty {
        batch.layout.append(Piece(start: batch.joined.count, end: batch.joined.count + 1, key: PieceTable.Key()))
        batch.origins.append(-1)
        batch.joined.append(Self.separator)
      }
      let shift = batch.joined.count - runStart
      batch.joined.append(contentsOf: UnsafeBufferPointer(start: base + runStart, count: runEnd - runStart))
      for piece in batch.run {
        batch.layout.append(Piece(start: piece.start + shift, end: piece.end + shift, key: piece.key))
        batch.origins.append(text)
      }
      batch.runEnds.append(batch.layout.count)
      return 0
    }
    let local = batch.run.map { Piece(start: $0.start - runStart, end: $0.end - runStart, key: $0.key) }
    let attributed = attribute(base + runStart, local)
    if let perPiece = attributed.perPiece {
      for (k, piece) in local.enumerated() where piece.end - piece.start <= Self.maxPieceBytes {
        batch.learn(piece, perPiece[k], bytes: base + runStart)
      }
    }
    return attributed.total
  }

  /// Tokenizes the batch's joined runs, a slice of whole runs per call, adds each piece's
  /// tokens to its text, and remembers the pieces learned.
  private func finish(_ batch: inout Batch) -> [Int] {
    let joinedBytes = batch.joined
    joinedBytes.withUnsafeBufferPointer { joined in
      guard let base = joined.baseAddress else { return }
      var firstRun = 0
      while firstRun < batch.runEnds.count {
        // Runs up to about `sliceBytes`, at least one.
        let from = firstRun == 0 ? 0 : batch.runEnds[firstRun - 1] + 1  // past the separator
        var lastRun = firstRun
        let sliceStart = batch.layout[from].start
        while lastRun + 1 < batch.runEnds.count
          && batch.layout[batch.runEnds[lastRun + 1] - 1].end - sliceStart <= Self.sliceBytes
        {
          lastRun += 1
        }
        let to = batch.runEnds[lastRun]
        let local = batch.layout[from..<to].map {
          Piece(start: $0.start - sliceStart, end: $0.end - sliceStart, key: $0.key)
        }
        if let perPiece = attribute(base + sliceStart, local).perPiece {
          for k in local.indices where batch.origins[from + k] >= 0 {
            batch.totals[batch.origins[from + k]] += Int(perPiece[k])
            if local[k].end - local[k].start <= Self.maxPieceBytes { batch.learn(local[k], perPiece[k], bytes: base + sliceStart) }
          }
        } else {
          // A token across two pieces (cannot happen by the cut rule, but the count must
          // stay exact if it does): each run by itself, remembering nothing.
          for r in firstRun...lastRun {
            let runFrom = r == 0 ? 0 : batch.runEnds[r - 1] + 1
            let start = batch.layout[runFrom].start
            let end = batch.layout[batch.runEnds[r] - 1].end
            batch.totals[batch.origins[runFrom]] += tokenize(base + start, end - start).count
          }
        }
        firstRun = lastRun + 1
      }
    }
    if !batch.learned.isEmpty {
      let learned = batch.learned
      batch.learnedBytes.withUnsafeBufferPointer { long in
        table.write { table in
          for (key, count) in learned {
            table.insert(key, key.length > PieceTable.inlineBytes ? long.baseAddress! + Int(key.offset) : nil, count)
          }
        }
      }
    }
    return batch.totals
  }

  /// Joins runs of unknown pieces for one call to the tokenizer: a newline, which Gemma's
  /// tokens merge with nothing but newlines (checked per run against `unsafePairs`).
  private static let separator: UInt8 = 0x0A
  /// About the most bytes of joined runs per call to the tokenizer.
  private static let sliceBytes = 16 << 10
  private static let offsetBasis: UInt64 = 0xcbf2_9ce4_8422_2325
  private static let prime: UInt64 = 0x100_0000_01b3

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

/// Remembered pieces: open addressing over a flat array; a piece of up to 16 bytes is its
/// own key (no hashing of bytes, no comparison outside the slot), longer ones keep a hash
/// and their bytes in an arena. Guarded by a readers-writer lock (lookups far outnumber
/// insertions once warm). When full it starts again empty: a cache, never a source of truth.
final class PieceTable: @unchecked Sendable {
  /// Pieces up to this long are keyed by their bytes.
  static let inlineBytes = 16

  /// A piece's identity: its bytes (up to 16) or a hash of them, and its length.
  struct Key {
    var lo: UInt64 = 0
    var hi: UInt64 = 0
    var length = 0
    /// Where the bytes of a long piece are (in the arena, or in a learned-bytes buffer).
    var offset: UInt32 = 0

    init() {}

    /// The key of `length` bytes at `bytes`; bytes up to `limit` may be read.
    /// (Little-endian, as every platform longctx builds for: byte `i` is bits `8i..<8i+8`.)
    @inline(__always)
    init(_ bytes: UnsafePointer<UInt8>, _ length: Int, limit: UnsafePointer<UInt8>) {
      self.length = length
      let raw = UnsafeRawPointer(bytes)
      if length <= 16 && bytes + 16 <= limit {
        let a = raw.loadUnaligned(as: UInt64.self)
        let b = raw.loadUnaligned(fromByteOffset: 8, as: UInt64.self)
        if length >= 8 {
          lo = a
          hi = length == 16 ? b : b & ((1 << UInt64(8 * (length - 8))) - 1)
        } else {
          lo = a & ((1 << UInt64(8 * length)) - 1)
        }
      } else if length <= 16 {
        for i in 0..<length {
          if i < 8 { lo |= UInt64(bytes[i]) << UInt64(8 * i) } else { hi |= UInt64(bytes[i]) << UInt64(8 * (i - 8)) }
        }
      } else {
        // A hash of the words, then of the last (partial) word's bytes.
        var h: UInt64 = 0x9e37_79b9_7f4a_7c15 ^ UInt64(length)
        var i = 0
        while i + 8 <= length {
          h = (h ^ raw.loadUnaligned(fromByteOffset: i, as: UInt64.self)) &* 0xff51_afd7_ed55_8ccd
          h ^= h >> 29
          i += 8
        }
        while i < length {
          h = (h ^ UInt64(bytes[i])) &* 0x100_0000_01b3
          i += 1
        }
        lo = h
      }
    }

    /// The slot to start looking at, in a table of `1 << bits` slots.
    @inline(__always) func home(bits: Int) -> Int {
      let x = (lo ^ (hi &* 0x9e37_79b9_7f4a_7c15) ^ UInt64(length)) &* 0xbf58_476d_1ce4_e5b9
      return Int(truncatingIfNeeded: x >> UInt64(64 - bits))
    }
  }

  private struct Slot {
    var lo: UInt64 = 0
    var hi: UInt64 = 0
    var length: UInt16 = 0  // 0: empty
    var count: UInt16 = 0
    var offset: UInt32 = 0
  }

  private let lock: UnsafeMutablePointer<pthread_rwlock_t>
  private var slots: UnsafeMutablePointer<Slot>
  private var bits = 16
  private var used = 0
  private var arena: [UInt8] = []
  /// At most this many slots (24 bytes each) and arena bytes before starting again.
  static let maxSlots = 1 << 22
  static let maxArena = 64 << 20

  init() {
    lock = .allocate(capacity: 1)
    pthread_rwlock_init(lock, nil)
    slots = Self.emptySlots(1 << bits)
  }

  deinit {
    pthread_rwlock_destroy(lock)
    lock.deallocate()
    slots.deallocate()
  }

  private static func emptySlots(_ n: Int) -> UnsafeMutablePointer<Slot> {
    let p = UnsafeMutablePointer<Slot>.allocate(capacity: n)
    p.initialize(repeating: Slot(), count: n)
    return p
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

  /// The remembered count of the piece `key` (whose bytes are at `bytes`), or -1.
  @inline(__always)
  func find(_ key: Key, _ bytes: UnsafePointer<UInt8>?) -> Int32 {
    let mask = (1 << bits) - 1
    var i = key.home(bits: bits)
    while true {
      let slot = slots[i]
      if slot.length == 0 { return -1 }
      if slot.lo == key.lo && slot.hi == key.hi && Int(slot.length) == key.length {
        if key.length <= Self.inlineBytes { return Int32(slot.count) }
        if let bytes, arena.withUnsafeBufferPointer({ memcmp($0.baseAddress! + Int(slot.offset), bytes, key.length) == 0 }) {
          return Int32(slot.count)
        }
      }
      i = (i + 1) & mask
    }
  }

  /// Remembers `count` for the piece `key`; `bytes` are its bytes when it is longer than
  /// a key holds (writers only).
  func insert(_ key: Key, _ bytes: UnsafePointer<UInt8>?, _ count: Int32) {
    guard key.length > 0, key.length <= Int(UInt16.max), count >= 0, count <= Int32(UInt16.max) else { return }
    let long = key.length > Self.inlineBytes
    guard !long || bytes != nil, find(key, bytes) < 0 else { return }
    if (used + 1) * 10 > (1 << bits) * 7 {
      if 1 << bits >= Self.maxSlots { clear() } else { grow() }
    }
    var offset: UInt32 = 0
    if long {
      if arena.count + key.length > Self.maxArena { clear() }
      offset = UInt32(arena.count)
      arena.append(contentsOf: UnsafeBufferPointer(start: bytes, count: key.length))
    }
    place(Slot(lo: key.lo, hi: key.hi, length: UInt16(key.length), count: UInt16(count), offset: offset))
    used += 1
  }

  private func place(_ slot: Slot) {
    var key = Key()
    key.lo = slot.lo
    key.hi = slot.hi
    key.length = Int(slot.length)
    let mask = (1 << bits) - 1
    var i = key.home(bits: bits)
    while slots[i].length != 0 { i = (i + 1) & mask }
    slots[i] = slot
  }

  private func grow() {
    let old = slots
    let oldCount = 1 << bits
    bits += 1
    slots = Self.emptySlots(1 << bits)
    for i in 0..<oldCount where old[i].length != 0 { place(old[i]) }
    old.deallocate()
  }

  private func clear() {
    slots.update(repeating: Slot(), count: 1 << bits)
    arena.removeAll(keepingCapacity: true)
    used = 0
  }
}
