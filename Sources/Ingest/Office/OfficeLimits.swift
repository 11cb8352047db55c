/// How much of a package is read.
enum OfficeLimits {
  /// The most bytes of one XML part read (a larger part is cut, with a warning).
  static let maxXMLPartBytes = 256 << 20
  /// A part declared larger than this is refused as a bomb.
  static let maxPartBytes = 1 << 30
  /// The largest compression ratio accepted for a part larger than `ratioFloor`.
  static let maxRatio = 500
  /// Parts smaller than this are never refused for their ratio.
  static let ratioFloor = 8 << 20
  /// The most bytes of one embedded object passed on as a child.
  static let maxObjectBytes = 512 << 20
  /// The most cells read from one workbook.
  static let maxCells = 1_000_000
  /// The most bytes of text kept from one document.
  static let maxTextBytes = 64 << 20
}
