internal import CTesseract
import Foundation

/// Image files decoded with leptonica (Tesseract's image library), page by
/// page, each page's dimensions checked from its header before it is decoded.
enum ImageDecoder {
  /// One page of an image file, as its header describes it.
  struct Page: Sendable, Hashable {
    var width: Int
    var height: Int
    var pixels: Int { width * height }
  }

  /// Pages of a TIFF read at most (a fax batch rarely has a thousand).
  static let maxPages = 2000

  /// The pages of `data`: one for PNG, JPEG and the like, one per directory of a TIFF.
  ///
  /// - Throws: `OCRError.imageUnreadable` when no header can be read.
  static func pages(_ data: Data, path: String) throws -> (pages: [Page], isTIFF: Bool) {
    let (pages, isTIFF, _) = try scan(data, path: path)
    return (pages, isTIFF)
  }

  /// `pages`, and for a TIFF whether its chain of page directories runs past
  /// the end of the file (a truncated fax: the pages after the cut are lost).
  static func scan(_ data: Data, path: String) throws -> (pages: [Page], isTIFF: Bool, truncated: Bool) {
    try withBytes(data, path: path) { bytes, count in
      var format: Int32 = 0
      var width: Int32 = 0
      var height: Int32 = 0
      var bps: Int32 = 0
      var spp: Int32 = 0
      var colormap: Int32 = 0
      let messages = LeptonicaLog.capturing {
        _ = pixReadHeaderMem(bytes, count, &format, &width, &height, &bps, &spp, &colormap)
      }
      guard width > 0, height > 0 else {
        throw OCRError.imageUnreadable(
          path: path, reason: LeptonicaLog.reason(messages, or: "not an image leptonica reads"))
      }
      guard isTIFF(format) else { return ([Page(width: Int(width), height: Int(height))], false, false) }
      var pages: [Page] = []
      _ = LeptonicaLog.capturing {
        while pages.count < maxPages {
          var w: Int32 = 0
          var h: Int32 = 0
          var res: Int32 = 0
          var f: Int32 = 0
          guard
            readHeaderMemTiff(bytes, count, Int32(pages.count), &w, &h, &bps, &spp, &res, &colormap, &f) == 0,
            w > 0, h > 0
          else { break }
          pages.append(Page(width: Int(w), height: Int(h)))
        }
      }
      if pages.isEmpty { pages = [Page(width: Int(width), height: Int(height))] }
      let chain = TIFFDirectories.walk(data)
      return (pages, true, chain.truncated && chain.count <= pages.count)
    }
  }

  /// Decodes page `index` (0-based) of `data`.
  ///
  /// - Throws: `OCRError.imageUnreadable` with leptonica's reason.
  static func decode(_ data: Data, page index: Int, isTIFF: Bool, path: String) throws -> OCRImage {
    try withBytes(data, path: path) { bytes, count in
      var pix: UnsafeMutablePointer<Pix>?
      let messages = LeptonicaLog.capturing {
        pix = isTIFF ? pixReadMemTiff(bytes, count, Int32(index)) : pixReadMem(bytes, count)
      }
      guard let pix else {
        throw OCRError.imageUnreadable(
          path: path, reason: LeptonicaLog.reason(messages, or: "leptonica could not decode it"))
      }
      let dpi = Int(pixGetXRes(pix))
      return OCRImage(adopting: pix, dpi: dpi > 1 ? dpi : 0)
    }
  }

  private static func isTIFF(_ format: Int32) -> Bool {
    let tiffs = [
      IFF_TIFF, IFF_TIFF_PACKBITS, IFF_TIFF_RLE, IFF_TIFF_G3, IFF_TIFF_G4, IFF_TIFF_LZW, IFF_TIFF_ZIP, IFF_TIFF_JPEG,
    ]
    return tiffs.contains(Int(format))
  }

  private static func withBytes<R>(_ data: Data, path: String, _ body: (UnsafePointer<UInt8>, Int) throws -> R)
    throws -> R
  {
    guard !data.isEmpty else { throw OCRError.imageUnreadable(path: path, reason: "the file is empty") }
    try NativeLibrary.ocr.load(for: path)
    return try data.withUnsafeBytes { raw in
      try body(raw.bindMemory(to: UInt8.self).baseAddress!, raw.count)
    }
  }
}

/// The chain of page directories (IFDs) of a classic TIFF, walked without
/// decoding: leptonica stops quietly at a directory the file lacks, so a cut
/// file would look like a shorter one.
enum TIFFDirectories {
  /// How many directories the chain reaches, and whether it points past the end of the data.
  static func walk(_ data: Data, limit: Int = ImageDecoder.maxPages) -> (count: Int, truncated: Bool) {
    let bytes = [UInt8](data.prefix(8))
    guard bytes.count == 8 else { return (0, true) }
    let little: Bool
    switch (bytes[0], bytes[1]) {
    case (0x49, 0x49): little = true
    case (0x4D, 0x4D): little = false
    default: return (0, false)
    }
    func read(_ offset: Int, _ size: Int) -> Int? {
      guard offset >= 0, offset + size <= data.count else { return nil }
      var value = 0
      for i in 0..<size {
        let b = Int(data[data.startIndex + offset + (little ? size - 1 - i : i)])
        value = value << 8 | b
      }
      return value
    }
    // Version 42 only; BigTIFF (43) is left to leptonica.
    guard read(2, 2) == 42, var next = read(4, 4) else { return (0, false) }
    var count = 0
    var seen = Set<Int>()
    while next != 0 && count < limit {
      guard seen.insert(next).inserted else { break }  // a loop in the chain
      guard let entries = read(next, 2), let following = read(next + 2 + entries * 12, 4) else {
        return (count, true)
      }
      count += 1
      next = following
    }
    return (count, false)
  }
}

extension OCRImage {
  /// A copy of the image scaled by `factor` (< 1 shrinks), or nil when leptonica cannot make it.
  func scaled(by factor: Double) -> OCRImage? {
    guard let source = pix, let small = pixScale(source, Float(factor), Float(factor)) else { return nil }
    let dpi = self.dpi > 0 ? Int((Double(self.dpi) * factor).rounded()) : 0
    if dpi > 0 { pixSetResolution(small, Int32(dpi), Int32(dpi)) }
    return OCRImage(adopting: small, dpi: dpi)
  }
}

/// Leptonica's error messages, which it prints to stderr, caught for the
/// thread that asked for them so that a failure can say why.
enum LeptonicaLog {
  private static let key = "longctx.leptonicaLog"

  private static let installed: Bool = {
    leptSetStderrHandler { message in
      guard let message, let sink = Thread.current.threadDictionary[LeptonicaLog.key] as? LeptonicaMessages
      else { return }
      let line = String(cString: message).trimmingCharacters(in: .whitespacesAndNewlines)
      if !line.isEmpty && sink.lines.count < 20 { sink.lines.append(line) }
    }
    return true
  }()

  /// Runs `body` and returns what leptonica said on this thread meanwhile.
  static func capturing(_ body: () throws -> Void) rethrows -> [String] {
    _ = installed
    let sink = LeptonicaMessages()
    let previous = Thread.current.threadDictionary[key]
    Thread.current.threadDictionary[key] = sink
    defer { Thread.current.threadDictionary[key] = previous }
    try body()
    return sink.lines
  }

  /// The most telling of leptonica's `messages` ("Error in pixReadMemTiff: tif open failed"), or `fallback`.
  static func reason(_ messages: [String], or fallback: String) -> String {
    guard let first = messages.first(where: { $0.hasPrefix("Error") }) ?? messages.first else { return fallback }
    return first.count > 200 ? String(first.prefix(199)) + "…" : first
  }
}

private final class LeptonicaMessages {
  var lines: [String] = []
}

extension OCRImage {
  /// `images` as one multi-page TIFF (G4 for 1-bit pages, deflate otherwise),
  /// or nil when leptonica cannot write it. Tests make fax-like files with it.
  static func multipageTIFF(_ images: [OCRImage]) -> Data? {
    guard let pixa = pixaCreate(Int32(images.count)) else { return nil }
    defer {
      var p: UnsafeMutablePointer<Pixa>? = pixa
      pixaDestroy(&p)
    }
    for image in images {
      guard let pix = image.pix else { return nil }
      pixaAddPix(pixa, pix, Int32(L_COPY))
    }
    var out: UnsafeMutablePointer<UInt8>?
    var size = 0
    guard pixaWriteMemMultipageTiff(&out, &size, pixa) == 0, let out else { return nil }
    defer { free(out) }
    return Data(bytes: out, count: size)
  }
}

extension OCRImage {
  /// The image binarised (gray levels below `threshold` black) and written as a one-page
  /// CCITT Group 4 TIFF at its resolution, or nil when leptonica cannot.
  func groupFourTIFF(threshold: Int = 160) -> Data? {
    guard let source = pix else { return nil }
    var owned: UnsafeMutablePointer<Pix>? = pixConvertTo1(source, Int32(threshold))
    defer { pixDestroy(&owned) }
    guard let binary = owned else { return nil }
    if dpi > 0 { pixSetResolution(binary, Int32(dpi), Int32(dpi)) }
    var out: UnsafeMutablePointer<UInt8>?
    var size = 0
    guard pixWriteMemTiff(&out, &size, binary, Int32(IFF_TIFF_G4)) == 0, let out else { return nil }
    defer { free(out) }
    return Data(bytes: out, count: size)
  }
}
