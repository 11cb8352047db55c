extension Hashing {
  /// FNV-1a, 64 bits: a fast, stable hash of bytes for in-memory tables and
  /// fingerprints (the same value on every run and machine); not for
  /// security, and not for content addresses (those are SHA-256).
  public struct FNV1a: Sendable {
    public static let offsetBasis: UInt64 = 0xcbf2_9ce4_8422_2325
    public static let prime: UInt64 = 0x100_0000_01b3

    /// The hash of the bytes added so far.
    public private(set) var value: UInt64 = offsetBasis

    @inlinable public init() {}

    @inlinable public mutating func add(_ byte: UInt8) {
      value = (value ^ UInt64(byte)) &* Self.prime
    }

    @inlinable public mutating func add(_ bytes: some Sequence<UInt8>) {
      for byte in bytes { add(byte) }
    }

    /// The hash of `bytes`.
    @inlinable public static func hash(_ bytes: some Sequence<UInt8>) -> UInt64 {
      var h = FNV1a()
      h.add(bytes)
      return h.value
    }

    /// The hash of `count` bytes at `bytes`.
    @inlinable public static func hash(_ bytes: UnsafePointer<UInt8>, count: Int) -> UInt64 {
      var h = FNV1a()
      for i in 0..<count { h.add(bytes[i]) }
      return h.value
    }
  }
}
