internal import CLlama
import Foundation
import Storage

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
/// Pieces not yet known are collected over a batch of texts, each distinct piece once, and
/// tokenized together: joined by a separator byte that no token joins to its neighbours
/// (for Gemma a digit), in slices of about 16 KB per call, and the tokens are attributed
/// back to the pieces by the bytes each stands for. If that attribution does not add up,
/// each piece of the slice is tokenized by itself, which is still exact. A piece whose
/// edges might merge with the separator is tokenized by itself at once.
final class PieceMemo: @unchecked Sendable {
  private let vocab: OpaquePointer
  /// 128 × 128 flags: `unsafePairs[a << 7 | b]` when some token contains bytes `a`, `b` adjacent.
  private let unsafePairs: [Bool]
  /// The number of bytes each token stands for in the text.
  private let tokenBytes: [Int32]
  private let table = PieceTable()
  /// Counts new pieces without calling llama.cpp, where it can (`SentencePieceCount`).
  let sentencePiece: SentencePieceCount?
  /// Joins pending pieces in one call to the tokenizer (`separator(unsafePairs:isUserDefinedByte:)`).
  private let separator: UInt8
  /// The token count of each one-byte ASCII text, the commonest pieces (digits, punctuation).
  private var singleBytes = [Int32](repeating: -1, count: 256)
  /// Per pair of bytes `a`, `b` (`cuts[a << 8 | b]`): bit 0 when the text may be cut between
  /// them (both ASCII and not in `unsafePairs`); bit 1 when `b` is ASCII and by itself not
  /// exactly one token (`singleBytes`), so that one-byte pieces may be counted a word at a time. One
  /// load per byte in the scan.
  private var cuts: [UInt8]

  /// Pieces longer than this are tokenized but not remembered.
  static let maxPieceBytes = 256

  /// A memo for `model`'s vocabulary, or nil when the vocabulary is not one whose cuts are provably exact.
  init?(model: LlamaModel) {
    let vocab = model.vocab
    guard llama_vocab_type(vocab) == LLAMA_VOCAB_TYPE_SPM else { return nil }
    guard Self.metadata(model, "tokenizer.ggml.add_space_prefix") != "true" else { return nil }
    let n = Int(llama_vocab_n_tokens(vocab))
    // Read on all cores: each stripe fills its own tokens' slots.
    let read = VocabularyRead(count: n)
    let stripes = ProcessInfo.processInfo.activeProcessorCount
    DispatchQueue.concurrentPerform(iterations: stripes) { stripe in
      read.fill(model.vocab, tokens: (n * stripe / stripes)..<(n * (stripe + 1) / stripes))
    }
    // Stripping the whitespace beside a user-defined token reaches across the cut.
    if read.strips { return nil }
    let texts = read.texts
    let userDefined = read.userDefined
    let special = read.special
    let lengths = read.lengths
    // The pairs and the merge's table are independent: one on each core.
    let derived = Derived()
    let wantMerge = ProcessInfo.processInfo.environment["LONGCTX_TOKEN_MERGE"] != "llama"
    DispatchQueue.concurrentPerform(iterations: 2) { part in
      if part == 0 {
        var pairs = [Bool](repeating: false, count: 128 * 128)
        for (token, producible) in Self.producible(texts, special: special).enumerated()
        where producible || userDefined[token] {
          let bytes = Self.unescaped(texts[token])
          if bytes.count > 1 {
            for i in 1..<bytes.count where bytes[i - 1] < 0x80 && bytes[i] < 0x80 {
              pairs[Int(bytes[i - 1]) << 7 | Int(bytes[i])] = true
            }
          }
        }
        derived.pairs = pairs
      } else if wantMerge {
        derived.merge = SentencePieceCount(
          texts: texts, scores: (0..<n).map { llama_vocab_get_score(model.vocab, llama_token($0)) },
          userDefined: userDefined)
      }
    }
    let pairs = derived.pairs
    self.vocab = vocab
    unsafePairs = pairs
    sentencePiece = derived.merge
    var cuts = [UInt8](repeating: 0, count: 256 * 256)
    for a in 0..<128 {
      for b in 0..<128 where !pairs[a << 7 | b] { cuts[a << 8 | b] = 1 }
    }
    self.cuts = cuts
    tokenBytes = lengths
    let userDefinedBytes = Set(texts.indices.filter { userDefined[$0] && texts[$0].count == 1 }.map { texts[$0][0] })
    separator = Self.separator(unsafePairs: pairs) { userDefinedBytes.contains($0) }
    for byte in 1..<128 {
      var one = UInt8(byte)
      singleBytes[byte] = Int32(tokenize(&one, 1).count)
    }
    // Only ASCII bytes: a one-byte piece is always one (its cuts need ASCII on both sides).
    for b in 0..<128 where singleBytes[b] != 1 {
      for a in 0..<256 { self.cuts[a << 8 | b] |= 2 }
    }
  }

  /// The number of tokens of `bytes` without BOS/EOS, as `llama_tokenize` would count them.
  func count(_ bytes: UnsafeBufferPointer<UInt8>) -> Int {
    var batch = Batch(texts: 1)
    table.read { table in scan(bytes, text: 0, table: table, into: &batch) }
    return finish(&batch)[0]
  }

  /// The token counts of `texts`, each as `count` gives it.
  ///
  /// The pieces of all of them not remembered yet are tokenized together, each distinct
  /// piece once, joined by `separator` into a few calls: a call costs tens of
  /// microseconds however short its text (llama.cpp looks for every user-defined token in
  /// it first), which for a cold memo was most of the cost of counting one text.
  func counts(_ texts: [String]) -> [Int] {
    var batch = Batch(texts: texts.count)
    for (index, text) in texts.enumerated() {
      // The read lock is taken per text, not per batch: another thread's batch that
      // learned pieces waits for the table no longer than one text's scan.
      table.read { table in
        let scanned: Void? = text.utf8.withContiguousStorageIfAvailable {
          scan($0, text: index, table: table, into: &batch)
        }
        if scanned == nil {
          var copy = text
          copy.withUTF8 { scan($0, text: index, table: table, into: &batch) }
        }
      }
    }
    return finish(&batch)
  }

  /// Texts counted together: their counts so far, and the distinct pieces still to tokenize.
  private struct Batch {
    var totals: [Int]
    /// The pending pieces, each followed by `separator`.
    var joined: [UInt8] = []
    /// Where each pending piece is in `joined`, and its key.
    var pending: [(start: Int, end: Int, key: PieceTable.Key)] = []
    /// Pending pieces by key (pieces a key holds whole), so that each is tokenized once.
    var pendingIndex: [PieceTable.Key: Int] = [:]
    /// Each text's uses of pending pieces.
    var uses: [(text: Int, pending: Int)] = []
    /// Counts learned in this batch by tokenizing a piece by itself.
    var known: [PieceTable.Key: Int32] = [:]
    /// Pieces whose counts became known, to remember.
    var learned: [(key: PieceTable.Key, count: Int32)] = []
    /// The bytes of learned pieces longer than a key holds.
    var learnedBytes: [UInt8] = []
    /// The piece boundaries of the text being scanned (reused).
    var bitmap: [UInt64] = []

    init(texts: Int) { totals = [Int](repeating: 0, count: texts) }

    mutating func learn(_ key: PieceTable.Key, _ count: Int32, bytes: UnsafePointer<UInt8>) {
      var key = key
      if key.length > PieceTable.inlineBytes {
        key.offset = UInt32(learnedBytes.count)
        learnedBytes.append(contentsOf: UnsafeBufferPointer(start: bytes, count: key.length))
      }
      learned.append((key, count))
    }
  }

  /// Cuts one text into pieces and counts the remembered ones; the others become pending
  /// pieces of `batch`, or are tokenized now when they cannot sit next to the separator.
  ///
  /// Four pieces in five are one byte (digits, spaces, punctuation), so the scan avoids a
  /// branch per piece: it first marks every piece boundary in a bitmap (one table load per
  /// byte, no branch), then counts the one-byte pieces from the bitmap's words and looks up
  /// only the longer ones.
  private func scan(_ bytes: UnsafeBufferPointer<UInt8>, text: Int, table: PieceTable, into batch: inout Batch) {
    guard let base = bytes.baseAddress, !bytes.isEmpty else { return }
    let n = bytes.count
    // Bit i: a piece starts at i (or, for i == n, the text ends). One spare word after.
    let words = n / 64 + 2
    var bitmap = batch.bitmap
    batch.bitmap = []
    bitmap.removeAll(keepingCapacity: true)
    bitmap.append(contentsOf: repeatElement(0, count: words))
    var total = 0
    // Bit 1: some byte after the first is not exactly one token by itself.
    var flags: UInt8 = 0
    bitmap.withUnsafeMutableBufferPointer { bound in
      cuts.withUnsafeBufferPointer { cuts in
        var w = 0
        while w * 64 <= n {
          let origin = w * 64
          var word: UInt64 = 0
          var i = max(1, origin)
          let end = min(n, origin + 64)
          var previous = Int(base[i &- 1])
          while i < end {
            let byte = Int(base[i])
            let entry = cuts[previous &<< 8 | byte]
            word |= UInt64(entry & 1) &<< UInt64(i &- origin)
            flags |= entry
            previous = byte
            i &+= 1
          }
          bound[w] = word
          w += 1
        }
        bound[0] |= 1
        bound[n >> 6] |= 1 &<< UInt64(n & 63)
      }
      /// The first boundary at or after `q` (there is one: the text's end).
      func nextBoundary(_ q: Int) -> Int {
        var w = q >> 6
        var x = bound[w] >> UInt64(q & 63)
        if x != 0 { return q + x.trailingZeroBitCount }
        while true {
          w += 1
          x = bound[w]
          if x != 0 { return w * 64 + x.trailingZeroBitCount }
        }
      }
      func piece(_ start: Int, _ length: Int) {
        if length > Self.maxPieceBytes {
          total += tokenize(base + start, length).count  // not remembered
          return
        }
        let key = PieceTable.Key(base + start, length, limit: base + n)
        let known = table.find(key, base + start)
        total += known >= 0 ? Int(known) : unknown(key, base + start, text: text, batch: &batch)
      }
      singleBytes.withUnsafeBufferPointer { singles in
        // Commonly every byte is one token by itself: the one-byte pieces of a word are then
        // counted with one popcount.
        let plain = flags & 2 == 0 && (base[0] >= 0x80 || singles[Int(base[0])] == 1)
        for w in 0...(n >> 6) {
          var starts = bound[w]
          if w == n >> 6 { starts &= ~(1 &<< UInt64(n & 63)) }  // the end is no piece's start
          let next = bound[w] >> 1 | bound[w + 1] << 63  // bit i: a boundary at i + 1
          var one = starts & next
          var longer = starts & ~next
          if plain {
            total &+= one.nonzeroBitCount
            one = 0
          }
          while one != 0 {
            let start = w * 64 + one.trailingZeroBitCount
            one &= one &- 1
            let count = singles[Int(base[start])]
            if count >= 0 { total &+= Int(count) } else { piece(start, 1) }
          }
          while longer != 0 {
            let start = w * 64 + longer.trailingZeroBitCount
            longer &= longer &- 1
            piece(start, nextBoundary(start + 1) - start)
          }
        }
      }
    }
    batch.bitmap = bitmap
    batch.totals[text] += total
  }

  /// A piece not in the table: pending (counted in `finish`), or tokenized now.
  ///
  /// - Returns: Its tokens when counted now, else 0.
  private func unknown(_ key: PieceTable.Key, _ bytes: UnsafePointer<UInt8>, text: Int, batch: inout Batch) -> Int {
    let inline = key.length <= PieceTable.inlineBytes
    if inline, let count = batch.known[key] { return Int(count) }
    if inline, let index = batch.pendingIndex[key] {
      batch.uses.append((text, index))
      return 0
    }
    // Bounded by cuts on both sides, a piece's count by itself is its count in the text.
    if let count = sentencePiece?.count(UnsafeBufferPointer(start: bytes, count: key.length)) {
      if inline { batch.known[key] = Int32(count) }
      batch.learn(key, Int32(count), bytes: bytes)
      return count
    }
    let first = Int(bytes[0])
    let last = Int(bytes[key.length - 1])
    let sep = Int(separator)
    if first < 0x80 && last < 0x80 && !unsafePairs[last << 7 | sep] && !unsafePairs[sep << 7 | first] {
      let start = batch.joined.count
      batch.joined.append(contentsOf: UnsafeBufferPointer(start: bytes, count: key.length))
      batch.joined.append(separator)
      if inline { batch.pendingIndex[key] = batch.pending.count }
      batch.uses.append((text, batch.pending.count))
      batch.pending.append((start, start + key.length, key))
      return 0
    }
    // Bounded by cuts on both sides: its count by itself is its count in the text.
    let count = Int32(tokenize(bytes, key.length).count)
    if inline { batch.known[key] = count }
    batch.learn(key, count, bytes: bytes)
    return Int(count)
  }

  /// Tokenizes the batch's pending pieces, a slice of them per call, adds each piece's
  /// tokens to the texts that hold it, and remembers the pieces.
  private func finish(_ batch: inout Batch) -> [Int] {
    var counts = [Int32](repeating: 0, count: batch.pending.count)
    let joined = batch.joined
    joined.withUnsafeBufferPointer { joined in
      guard let base = joined.baseAddress else { return }
      var first = 0
      while first < batch.pending.count {
        // Pieces up to about `sliceBytes`, at least one; each with its separator.
        let sliceStart = batch.pending[first].start
        var last = first
        while last + 1 < batch.pending.count && batch.pending[last + 1].end + 1 - sliceStart <= Self.sliceBytes {
          last += 1
        }
        var bounds: [Int] = []  // piece, separator, piece, separator, …: their ends
        bounds.reserveCapacity(2 * (last - first + 1))
        for k in first...last {
          bounds.append(batch.pending[k].end - sliceStart)
          bounds.append(batch.pending[k].end + 1 - sliceStart)
        }
        if let perPart = attribute(base + sliceStart, ends: bounds) {
          for k in first...last { counts[k] = perPart[2 * (k - first)] }
        } else {
          // A token across a piece and a separator (not possible by the cut rule, but the
          // count must stay exact if it happens): each piece by itself.
          for k in first...last {
            let p = batch.pending[k]
            counts[k] = Int32(tokenize(base + p.start, p.end - p.start).count)
          }
        }
        first = last + 1
      }
      for (k, p) in batch.pending.enumerated() { batch.learn(p.key, counts[k], bytes: base + p.start) }
    }
    for use in batch.uses { batch.totals[use.text] += Int(counts[use.pending]) }
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

  /// About the most bytes of pending pieces per call to the tokenizer.
  private static let sliceBytes = 16 << 10

  /// The ASCII byte that separates pending pieces in one call to the tokenizer: the one
  /// that the most ASCII bytes may be cut against on both sides (for Gemma a digit, which
  /// no token joins to anything), and that is a normal token, so that llama.cpp does not
  /// split the text at each one before merging.
  static func separator(unsafePairs: [Bool], isUserDefinedByte: (UInt8) -> Bool) -> UInt8 {
    var best: UInt8 = 0x0A
    var bestSafe = -1
    for b in 0x21..<0x7F where !isUserDefinedByte(UInt8(b)) {
      let safe = (0..<128).filter { !unsafePairs[$0 << 7 | b] && !unsafePairs[b << 7 | $0] }.count
      if safe > bestSafe {
        best = UInt8(b)
        bestSafe = safe
      }
    }
    return best
  }

  /// Tokenizes the text of `ends.last!` bytes at `base`, cut into parts ending at `ends`,
  /// and gives each part its tokens, by the bytes each token stands for.
  ///
  /// - Returns: Per-part counts, or nil when a token straddles two parts or the lengths
  ///   do not add up.
  private func attribute(_ base: UnsafePointer<UInt8>, ends: [Int]) -> [Int32]? {
    let length = ends.last!
    let tokens = tokenize(base, length)
    var perPart = [Int32](repeating: 0, count: ends.count)
    var offset = 0
    var part = 0
    for token in tokens {
      let bytes = Int(tokenBytes[Int(token)])
      let tokenStart = offset
      offset += bytes
      while part < ends.count && ends[part] <= tokenStart { part += 1 }
      guard bytes > 0, part < ends.count, offset <= ends[part] else { return nil }
      perPart[part] += 1
    }
    return offset == length ? perPart : nil
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
    func fnv(_ bytes: ArraySlice<UInt8>) -> UInt64 { Hashing.FNV1a.hash(bytes) }
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
  struct Key: Hashable {
    var lo: UInt64 = 0
    var hi: UInt64 = 0
    var length = 0
    /// Where the bytes of a long piece are (in the arena, or in a learned-bytes buffer).
    var offset: UInt32 = 0

    init() {}

    // Identity is the bytes (or hash) and length; `offset` only says where long bytes are.
    static func == (a: Key, b: Key) -> Bool { a.lo == b.lo && a.hi == b.hi && a.length == b.length }

    func hash(into hasher: inout Hasher) {
      hasher.combine(lo)
      hasher.combine(hi)
      hasher.combine(length)
    }

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
          h = (h ^ UInt64(bytes[i])) &* Hashing.FNV1a.prime
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
  private var bits = 10  // grown as pieces come: a table no larger than its content stays in cache
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
        if let bytes,
          arena.withUnsafeBufferPointer({ memcmp($0.baseAddress! + Int(slot.offset), bytes, key.length) == 0 })
        {
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

/// What `PieceMemo` reads of each token, filled by several threads, each its own tokens.
private final class VocabularyRead: @unchecked Sendable {  // disjoint slots per thread; read after all end
  var texts: [[UInt8]]
  var userDefined: [Bool]
  var special: [Bool]
  var lengths: [Int32]
  private var stripped: [Bool]
  var strips: Bool { stripped.contains(true) }

  init(count: Int) {
    texts = [[UInt8]](repeating: [], count: count)
    userDefined = [Bool](repeating: false, count: count)
    special = [Bool](repeating: false, count: count)
    lengths = [Int32](repeating: 0, count: count)
    stripped = [Bool](repeating: false, count: count)
  }

  func fill(_ vocab: OpaquePointer, tokens: Range<Int>) {
    var buffer = [CChar](repeating: 0, count: 256)
    texts.withUnsafeMutableBufferPointer { texts in
      userDefined.withUnsafeMutableBufferPointer { userDefined in
        special.withUnsafeMutableBufferPointer { special in
          lengths.withUnsafeMutableBufferPointer { lengths in
            stripped.withUnsafeMutableBufferPointer { stripped in
              for token in tokens {
                let id = llama_token(token)
                let attributes = llama_vocab_get_attr(vocab, id).rawValue
                if attributes & LLAMA_TOKEN_ATTR_USER_DEFINED.rawValue != 0 {
                  userDefined[token] = true
                  stripped[token] =
                    attributes & (LLAMA_TOKEN_ATTR_LSTRIP.rawValue | LLAMA_TOKEN_ATTR_RSTRIP.rawValue) != 0
                } else if attributes & LLAMA_TOKEN_ATTR_NORMAL.rawValue == 0 {
                  special[token] = true
                }
                if let text = llama_vocab_get_text(vocab, id) {
                  texts[token] = Array(
                    UnsafeBufferPointer(
                      start: UnsafeRawPointer(text).assumingMemoryBound(to: UInt8.self), count: strlen(text)))
                }
                var written = llama_token_to_piece(vocab, id, &buffer, Int32(buffer.count), 0, true)
                if written < 0 {
                  var larger = [CChar](repeating: 0, count: Int(-written))
                  written = llama_token_to_piece(vocab, id, &larger, Int32(larger.count), 0, true)
                }
                lengths[token] = max(0, written)
              }
            }
          }
        }
      }
    }
  }
}

/// The two halves of `PieceMemo`'s set-up that run side by side.
private final class Derived: @unchecked Sendable {  // each field written by one iteration, read after both end
  var pairs: [Bool] = []
  var merge: SentencePieceCount?
}
