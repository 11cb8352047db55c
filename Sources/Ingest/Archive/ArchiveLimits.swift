import Foundation

/// The limits that stop an archive bomb, in one place.
///
/// Each is checked on the bytes actually decompressed, never on the sizes
/// the headers declare (a header may lie; a declared size past a limit
/// only refuses the member sooner). Nesting depth (a ZIP in a ZIP in a
/// ZIP…) is ingest's: `FileExtraction.maxFamilyDepth`.
struct ArchiveLimits: Sendable {
  /// A member that expands more than this many times the archive bytes its
  /// data took is refused (a legitimate text or office file rarely passes 20:1;
  /// a 1 GB file of zeros deflates about 1,000:1).
  var maxRatio: Int64 = 200
  /// The ratio is judged only past this many decompressed bytes of one member:
  /// small members compress far better than 200:1 without harm.
  var ratioFloor: Int64 = 1 << 20
  /// Bytes of all members together; reading stops at the member that passes it.
  var maxTotalBytes: Int64 = 4 << 30
  /// Members (of any type) listed; reading stops after this many.
  var maxMembers = 100_000
  /// Bytes of one member: reading stops at this many and refuses the member.
  var maxMemberBytes: Int64 = 1 << 30

  /// The limits ingest uses.
  static let standard = ArchiveLimits()

  /// Bytes read from libarchive at a time, and the slack allowed for its read-ahead
  /// when measuring how many archive bytes a member's data took.
  static let chunkBytes = 1 << 16

  /// `bytes` as people say it: `1 GiB`, `64 MiB`, `4096 bytes`.
  static func describe(_ bytes: Int64) -> String {
    for (shift, unit) in [(30, "GiB"), (20, "MiB"), (10, "KiB")] where bytes >= 1 << shift && bytes % (1 << shift) == 0
    {
      return "\(bytes >> shift) \(unit)"
    }
    return "\(bytes) bytes"
  }
}
