/// Values of structured log fields that JSON lines and header layouts share.
enum LogFieldValues {
  /// Epoch seconds, milliseconds or microseconds to seconds.
  static func epochSeconds(_ v: Double) -> Double {
    v > 1e14 ? v / 1e6 : v > 1e11 ? v / 1000 : v
  }

  /// A numeric level (pino/bunyan: 10 trace … 60 fatal) as a level name.
  static func numericLevel(_ v: Int) -> String {
    switch v {
    case ..<20: "TRACE"
    case 20..<30: "DEBUG"
    case 30..<40: "INFO"
    case 40..<50: "WARN"
    case 50..<60: "ERROR"
    default: "FATAL"
    }
  }
}
