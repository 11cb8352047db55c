import CToneCurves
import Foundation
import Testing

@testable import Ingest

/// lcms2's sRGB curves from a table (issue 32): the evaluator CToneCurves registers gives lcms2's own values, and
/// poppler's colour transforms use it.
@Suite struct ToneCurvesTests {
  /// lcms2's functions, from the copy poppler loaded.
  struct LCMS {
    typealias Build =
      @convention(c) (UnsafeMutableRawPointer?, Int32, UnsafePointer<Double>) ->
      UnsafeMutableRawPointer?
    let createContext: @convention(c) (UnsafeMutableRawPointer?, UnsafeMutableRawPointer?) -> UnsafeMutableRawPointer?
    let deleteContext: @convention(c) (UnsafeMutableRawPointer?) -> Void
    let build: Build
    let eval: @convention(c) (UnsafeMutableRawPointer?, Float) -> Float
    let free: @convention(c) (UnsafeMutableRawPointer?) -> Void

    init?() {
      guard NativeLibrary.poppler.isAvailable, let lcms = dlopen("liblcms2.so.2", RTLD_LAZY | RTLD_NOLOAD) else {
        return nil
      }
      func symbol<T>(_ name: String, _: T.Type) -> T? { dlsym(lcms, name).map { unsafeBitCast($0, to: T.self) } }
      guard let createContext = symbol("cmsCreateContext", type(of: createContext)),
        let deleteContext = symbol("cmsDeleteContext", type(of: deleteContext)),
        let build = symbol("cmsBuildParametricToneCurve", Build.self),
        let eval = symbol("cmsEvalToneCurveFloat", type(of: eval)),
        let free = symbol("cmsFreeToneCurve", type(of: free))
      else { return nil }
      (self.createContext, self.deleteContext, self.build, self.eval, self.free) =
        (createContext, deleteContext, build, eval, free)
    }
  }

  /// sRGB's curve (IEC 61966-2.1), and curves whose `c`, `a` or `g` is 0 (lcms2 answers 0 in some branches).
  static let curves: [[Double]] = [
    [2.4, 1 / 1.055, 0.055 / 1.055, 1 / 12.92, 0.04045],
    [2.2, 1, 0, 0, 0],
    [2.2, 1, 0.1, 0, 0.5],
    [0, 1, 0.1, 0.5, 0.2],
    [1.8, 0, 0.2, 0.3, 0.1],
  ]

  @Test func theTableGivesLcmsOwnValues() throws {
    guard let lcms = LCMS() else {
      print("skipped: poppler or lcms2 not loaded")
      return
    }
    #expect(NativeLibrary.poppler.isAvailable && longctx_tone_curves_install() == 1)
    // A context of its own has lcms2's built-in evaluator only (plug-ins go to the global one).
    let plain = lcms.createContext(nil, nil)
    defer { lcms.deleteContext(plain) }
    for params in Self.curves {
      let padded = params + [Double](repeating: 0, count: 10 - params.count)
      for type: Int32 in [4, -4] {
        let before = longctx_tone_curves_hits()
        let curve = try #require(padded.withUnsafeBufferPointer { lcms.build(plain, type, $0.baseAddress!) })
        defer { lcms.free(curve) }
        #expect(longctx_tone_curves_hits() == before, "the plain context used the plug-in")
        var differences = 0
        for i in 0...4095 {
          // Through Float, as cmsEvalToneCurveFloat takes and gives it; the sample points, then between them.
          for r in [Double(i) / 4095, (Double(i) + 0.37) / 4095] {
            let x = Float(r)
            let ours = Float(
              padded.withUnsafeBufferPointer { longctx_tone_curves_eval(type, $0.baseAddress, Double(x)) })
            let theirs = lcms.eval(curve, x)
            if ours.bitPattern != theirs.bitPattern && !(ours.isNaN && theirs.isNaN) { differences += 1 }
          }
        }
        #expect(differences == 0, "type \(type), params \(params)")
      }
    }
  }

  @Test func lcmsSamplesTheCurvesFromTheTable() throws {
    guard let lcms = LCMS() else {
      print("skipped: poppler or lcms2 not loaded")
      return
    }
    #expect(longctx_tone_curves_install() == 1)
    let srgb = Self.curves[0] + [Double](repeating: 0, count: 5)
    for _ in 0..<2 {
      let curve = srgb.withUnsafeBufferPointer { lcms.build(nil, -4, $0.baseAddress!) }
      lcms.free(curve)
    }
    let before = longctx_tone_curves_hits()
    let curve = srgb.withUnsafeBufferPointer { lcms.build(nil, -4, $0.baseAddress!) }
    defer { lcms.free(curve) }
    // Every one of the 4096 samples from the table.
    #expect(longctx_tone_curves_hits() - before == 4096)
    // The inverse of sRGB's decoding: 1.055 × 0.5^(1/2.4) − 0.055.
    #expect(abs(lcms.eval(curve, 0.5) - 0.735_357) < 1e-4)
  }
}
