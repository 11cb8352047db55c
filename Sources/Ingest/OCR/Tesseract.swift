internal import CTesseract
import Foundation
import Storage
import Synchronization

// This folder's Tesseract.swift and Leptonica.swift are the only files that import `CTesseract`.

/// An image in leptonica's memory (a `Pix`), freed with it: what Tesseract reads.
final class OCRImage {
  /// Owned: freed in `deinit`.
  private(set) var pix: UnsafeMutablePointer<Pix>?
  /// The resolution the image was rendered or scanned at (0 when unknown).
  let dpi: Int

  /// Takes ownership of `pix`.
  init(adopting pix: UnsafeMutablePointer<Pix>, dpi: Int) {
    self.pix = pix
    self.dpi = dpi
  }

  deinit { pixDestroy(&pix) }

  var width: Int { Int(pixGetWidth(pix)) }
  var height: Int { Int(pixGetHeight(pix)) }

  /// A white 8-bit grayscale image of `width` × `height`, for `setRow` to fill.
  ///
  /// - Returns: nil when leptonica cannot allocate it or is not installed.
  static func gray(width: Int, height: Int, dpi: Int) -> OCRImage? {
    guard width > 0, height > 0, width < Int(Int32.max), height < Int(Int32.max), NativeLibrary.ocr.isAvailable,
      let pix = pixCreate(Int32(width), Int32(height), 8)
    else { return nil }
    pixSetResolution(pix, Int32(dpi), Int32(dpi))
    return OCRImage(adopting: pix, dpi: dpi)
  }

  /// Sets row `y` of an 8-bit image to `gray` (left to right, 0 black, 255 white).
  func setRow(_ y: Int, _ gray: UnsafeMutableBufferPointer<UInt8>) {
    guard let pix, pixGetDepth(pix) == 8, y >= 0, y < height, let data = pixGetData(pix) else { return }
    let count = min(width, gray.count)
    let line = UnsafeMutableRawPointer(data + y * Int(pixGetWpl(pix))).assumingMemoryBound(to: UInt8.self)
    // Leptonica keeps 8-bit pixels in 32-bit words, the first pixel in the
    // word's most significant byte: on a little-endian machine pixel x is
    // byte x ^ 3 of the row.
    #if _endian(little)
      for x in 0..<count { line[x ^ 3] = gray[x] }
    #else
      for x in 0..<count { line[x] = gray[x] }
    #endif
  }

  /// Whether every pixel is (nearly) white: a blank page, which needs no OCR.
  var isBlank: Bool {
    guard pixGetDepth(pix) == 8, let data = pixGetData(pix) else { return false }
    let words = Int(pixGetWpl(pix))
    let bytes = UnsafeRawPointer(data).assumingMemoryBound(to: UInt8.self)
    let rowBytes = width
    for y in 0..<height {
      let line = bytes + y * words * 4
      for x in 0..<rowBytes where line[x] < 200 { return false }
    }
    return true
  }

  /// SHA-256 of the image's size, depth and pixel words, or nil without pixels.
  var contentHash: String? {
    guard let pix, let data = pixGetData(pix) else { return nil }
    var bytes = Data("\(width)x\(height)x\(pixGetDepth(pix)) \(dpi)\n".utf8)
    bytes.append(
      Data(bytesNoCopy: data, count: Int(pixGetWpl(pix)) * 4 * height, deallocator: .none))
    return Hashing.sha256(bytes)
  }

  /// The image as a PNG file (tests compare with the `tesseract` CLI on the same pixels).
  func pngData() -> Data? {
    var out: UnsafeMutablePointer<UInt8>?
    var size = 0
    guard pixWriteMemPng(&out, &size, pix, 0) == 0, let out else { return nil }
    defer { free(out) }
    return Data(bytes: out, count: size)
  }
}

/// What Tesseract read on one page.
struct OCRText: Sendable, Hashable {
  var text: String
  /// Mean word confidence, 0-100 (0 when no word was found).
  var confidence: Double
  var words: Int
  /// Recognition stopped at its time limit: the text may be incomplete.
  var stoppedAtLimit = false
}

/// One Tesseract instance (`TessBaseAPI`), reused page after page. Used by
/// one thread at a time: `TesseractPool` hands it out.
final class TesseractEngine: @unchecked Sendable {
  private let api: OpaquePointer
  let languages: String

  /// Loads `languages` (`eng`, `eng+deu`) from the system's tessdata.
  ///
  /// - Throws: `OCRError.unavailable` when a language's data is not installed.
  init(languages: String) throws {
    if let failure = NativeLibrary.ocr.failure {
      throw OCRError.unavailable(reason: "Tesseract is not installed (\(failure))")
    }
    guard let api = TessBaseAPICreate() else {
      throw OCRError.unavailable(reason: "Tesseract could not be started")
    }
    // Tesseract prints what it cannot load to stderr; the languages found say more.
    if TessBaseAPIInit3(api, nil, languages) != 0 {
      TessBaseAPIDelete(api)
      let missing = languages.split(separator: "+").filter { !Self.installedLanguages.contains(String($0)) }
      let names = missing.isEmpty ? languages : missing.joined(separator: ", ")
      throw OCRError.unavailable(
        reason:
          "Tesseract has no data for \(names); install \(missing.map { "tesseract-ocr-\($0)" }.joined(separator: " ")) (installed: \(Self.installedLanguages.sorted().joined(separator: ", ")))"
      )
    }
    // The `tesseract` command's default: automatic page segmentation (the API's own is one block).
    TessBaseAPISetPageSegMode(api, PSM_AUTO)
    self.api = api
    self.languages = languages
  }

  deinit {
    TessBaseAPIEnd(api)
    TessBaseAPIDelete(api)
  }

  /// The engine's name and version, stored with each OCR'd section.
  static var version: String {
    "tesseract " + (NativeLibrary.ocr.isAvailable ? String(cString: TessVersion()) : "(not installed)")
  }

  /// Makes Tesseract's OpenMP regions run on the calling thread alone, once
  /// per process: ingest already runs one worker per core, and OpenMP's
  /// threads fighting them for the cores made a page take 7 times longer.
  /// `omp_set_max_active_levels(0)` does it whatever thread count Tesseract
  /// asks for (libgomp, which Debian's Tesseract is built with, is looked up at
  /// run time: it is Tesseract's dependency, not ours). Worker processes also
  /// start with `OMP_THREAD_LIMIT=1`.
  static let singleThreaded: Bool = {
    guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "omp_set_max_active_levels") else { return false }
    unsafeBitCast(symbol, to: (@convention(c) (Int32) -> Void).self)(0)
    return true
  }()

  /// The language data Tesseract finds (`eng`, `osd`, …).
  static let installedLanguages: Set<String> = {
    let dir = ProcessInfo.processInfo.environment["TESSDATA_PREFIX"] ?? "/usr/share/tesseract-ocr/5/tessdata"
    let names = (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []
    return Set(names.filter { $0.hasSuffix(".traineddata") }.map { String($0.dropLast(".traineddata".count)) })
  }()

  /// Reads `image`, stopping after `timeLimit` seconds.
  ///
  /// - Throws: `OCRError.failed` when Tesseract refuses the image.
  func recognize(_ image: OCRImage, timeLimit: Double) throws -> OCRText {
    guard let pix = image.pix else { throw OCRError.failed(reason: "no image") }
    _ = Self.singleThreaded
    TessBaseAPISetImage2(api, pix)
    if image.dpi > 0 { TessBaseAPISetSourceResolution(api, Int32(image.dpi)) }
    defer { TessBaseAPIClear(api) }
    let monitor = TessMonitorCreate()
    defer { TessMonitorDelete(monitor) }
    TessMonitorSetDeadlineMSecs(monitor, Int32(min(timeLimit * 1000, Double(Int32.max))))
    let start = ContinuousClock.now
    let status = TessBaseAPIRecognize(api, monitor)
    let elapsed = ContinuousClock.now - start
    let stopped = elapsed >= .milliseconds(Int64(timeLimit * 1000))
    guard status == 0 || stopped else { throw OCRError.failed(reason: "Tesseract could not read the image") }
    var text = ""
    if let raw = TessBaseAPIGetUTF8Text(api) {
      text = String(cString: raw)
      TessDeleteText(raw)
    }
    var confidences: [Int32] = []
    if let all = TessBaseAPIAllWordConfidences(api) {
      var i = 0
      while all[i] >= 0 {
        confidences.append(all[i])
        i += 1
      }
      TessDeleteIntArray(all)
    }
    let mean = confidences.isEmpty ? 0 : Double(confidences.reduce(0, +)) / Double(confidences.count)
    return OCRText(
      text: Self.tidy(text), confidence: (mean * 10).rounded() / 10, words: confidences.count, stoppedAtLimit: stopped)
  }

  /// Tesseract's text without the form feed it ends a page with and with
  /// trailing blanks removed from each line.
  static func tidy(_ text: String) -> String {
    let lines = text.replacingOccurrences(of: "\u{0C}", with: "").split(
      separator: "\n", omittingEmptySubsequences: false
    )
    .map { line -> Substring in
      var line = line
      while line.last == " " { line = line.dropLast() }
      return line
    }
    var joined = lines.joined(separator: "\n")
    while joined.hasSuffix("\n") { joined.removeLast() }
    return joined
  }
}

/// The Tesseract instances of this process, per language set: each worker
/// process loads one and reuses it for every page; in-process ingest on
/// several threads gets one per thread that needs one at the same time.
enum TesseractPool {
  private static let idle = Mutex<[String: [TesseractEngine]]>([:])

  /// Frees the engines when the process exits, before Tesseract's own
  /// static caches go (which otherwise report the engines' data as leaked).
  private static let drainsAtExit: Bool = {
    atexit { TesseractPool.idle.withLock { $0.removeAll() } }
    return true
  }()

  /// Runs `body` with an engine for `languages`, then keeps the engine for the next call.
  ///
  /// - Throws: `OCRError.unavailable`, or what `body` throws.
  static func withEngine<R>(languages: String, _ body: (TesseractEngine) throws -> R) throws -> R {
    let engine = try idle.withLock { $0[languages]?.popLast() } ?? TesseractEngine(languages: languages)
    // Registered after the first engine: Tesseract's cache registers its own clean-up
    // when the first engine loads, and handlers run last registered first.
    _ = drainsAtExit
    defer { idle.withLock { $0[languages, default: []].append(engine) } }
    return try body(engine)
  }
}
