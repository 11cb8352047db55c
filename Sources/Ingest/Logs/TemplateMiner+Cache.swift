import Foundation

extension TemplateMiner {
  /// A bounded, set-associative cache from a message's bytes, with every
  /// digit read as `0`, to the template the miner gave it.
  ///
  /// A message's normalised bytes choose a set of `ways` slots, so that the
  /// variants of one form whose constants differ in digits (`svc1 step 4`,
  /// `svc3 step 4`) live side by side. Bounded twice: a fixed number of slots
  /// (a message whose set is full replaces one in turn) and an arena of message
  /// bytes that is emptied, with every slot, when it is full; messages longer
  /// than `maxMessage` are not cached.
  struct MessageCache: Sendable {
    static let slotCount = 1 << 15
    static let ways = 8
    static let maxMessage = 2048
    static let arenaLimit = 16 << 20

    private var hashes = [UInt64](repeating: 0, count: slotCount)
    private var ids = [Int32](repeating: -1, count: slotCount)
    private var starts = [Int32](repeating: 0, count: slotCount)
    private var lengths = [Int32](repeating: 0, count: slotCount)
    /// Per slot, the digits of the message's constants in `digitArena` (`position << 8 | byte`).
    private var digitStarts = [Int32](repeating: 0, count: slotCount)
    private var digitCounts = [Int32](repeating: 0, count: slotCount)
    private var digitArena: [UInt32] = []
    private var arena: [UInt8] = []
    /// Per set, the way the next insertion into a full set replaces.
    private var nextWay = [UInt8](repeating: 0, count: slotCount / ways)
    /// The normalised bytes of the message last probed (`probedCount` of them).
    private var probed: [UInt8] = []
    private var probedCount = 0

    struct Key {
      /// The first slot of the message's set; -1: the message is not cached (too long).
      var slot: Int
      var hash: UInt64
    }

    /// Normalises `bytes` (kept until the next probe) and finds their slot.
    mutating func probe(_ bytes: UnsafeBufferPointer<UInt8>) -> Key {
      guard let base = bytes.baseAddress, bytes.count <= Self.maxMessage else { return Key(slot: -1, hash: 0) }
      let n = bytes.count
      var h: UInt64 = 0x9E37_79B9_7F4A_7C15 ^ UInt64(n)
      if probed.count < Self.maxMessage + 8 { probed = [UInt8](repeating: 0, count: Self.maxMessage + 8) }
      probed.withUnsafeMutableBytes { out in
        let to = out.baseAddress!
        var i = 0
        // Eight bytes at a time: digits (0x30…0x39) become 0x30 by a mask computed on the whole word.
        while i + 8 <= n {
          let w = UInt64(littleEndian: UnsafeRawPointer(base + i).loadUnaligned(as: UInt64.self))
          let v = Self.normalised(w)
          to.storeBytes(of: v.littleEndian, toByteOffset: i, as: UInt64.self)
          h = (h ^ v) &* 0x9FB2_1C65_1E98_DF25
          h ^= h >> 32
          i += 8
        }
        if i < n {
          var w: UInt64 = 0
          for k in i..<n { w |= UInt64(base[k]) << (8 * UInt64(k - i)) }
          let v = Self.normalised(w)
          // Bytes past the end are zero in `w` and stay zero (0x00 is no digit).
          to.storeBytes(of: v.littleEndian, toByteOffset: i, as: UInt64.self)
          h = (h ^ v) &* 0x9FB2_1C65_1E98_DF25
          h ^= h >> 32
        }
      }
      probedCount = n
      h = h == 0 ? 1 : h
      return Key(slot: (Int(truncatingIfNeeded: h >> 17) & (Self.slotCount / Self.ways - 1)) * Self.ways, hash: h)
    }

    /// `w` with each of its bytes that is an ASCII digit replaced by `0`.
    @inline(__always) static func normalised(_ w: UInt64) -> UInt64 {
      let ones: UInt64 = 0x0101_0101_0101_0101
      let t = w ^ (0x30 &* ones)
      // Per byte: zero iff the byte was 0x30…0x39 (high nibble 3, low nibble below 10).
      let z = (t & (0xF0 &* ones)) | (((t & (0x0F &* ones)) &+ (0x06 &* ones)) & (0x10 &* ones))
      let nonzero = (z | ((z & (0x7F &* ones)) &+ (0x7F &* ones))) & (0x80 &* ones)
      let digit = (~nonzero & (0x80 &* ones)) >> 7 &* 0xFF
      return (w & ~digit) | ((0x30 &* ones) & digit)
    }

    /// The template cached for the message last probed (`bytes`), if its set holds it.
    func id(for key: Key, bytes: UnsafeBufferPointer<UInt8>) -> Int? {
      for slot in key.slot..<key.slot + Self.ways where hashes[slot] == key.hash {
        if let id = id(at: slot, bytes: bytes) { return id }
      }
      return nil
    }

    private func id(at slot: Int, bytes: UnsafeBufferPointer<UInt8>) -> Int? {
      guard ids[slot] >= 0, Int(lengths[slot]) == probedCount else { return nil }
      let start = Int(starts[slot])
      if probedCount > 0 {
        let equal = arena.withUnsafeBufferPointer { a in
          probed.withUnsafeBufferPointer { p in memcmp(a.baseAddress! + start, p.baseAddress!, probedCount) == 0 }
        }
        guard equal else { return nil }
      }
      let from = Int(digitStarts[slot])
      for k in from..<from + Int(digitCounts[slot]) {
        let d = digitArena[k]
        if bytes[Int(d >> 8)] != UInt8(truncatingIfNeeded: d) { return nil }
      }
      return Int(ids[slot])
    }

    /// Caches `id` for the message last probed, whose constants hold `digits`.
    mutating func insert(_ id: Int, for key: Key, digits: [UInt32]) {
      if arena.count + probedCount > Self.arenaLimit || digitArena.count + digits.count > Self.arenaLimit / 4 {
        arena.removeAll(keepingCapacity: true)
        digitArena.removeAll(keepingCapacity: true)
        for i in ids.indices { ids[i] = -1 }
      }
      let set = key.slot / Self.ways
      var slot = key.slot + Int(nextWay[set])
      if let empty = (key.slot..<key.slot + Self.ways).first(where: { ids[$0] < 0 }) {
        slot = empty
      } else {
        nextWay[set] = UInt8((Int(nextWay[set]) + 1) % Self.ways)
      }
      hashes[slot] = key.hash
      ids[slot] = Int32(id)
      starts[slot] = Int32(arena.count)
      lengths[slot] = Int32(probedCount)
      arena.append(contentsOf: probed[0..<probedCount])
      digitStarts[slot] = Int32(digitArena.count)
      digitCounts[slot] = Int32(digits.count)
      digitArena.append(contentsOf: digits)
    }
  }
}
