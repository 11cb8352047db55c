import Foundation
import Inference
import Synchronization

/// A completion streamed as server-sent events (`data: {json}` lines), as llama.cpp's
/// server sends it with `"stream": true, "return_progress": true`: while the prompt is
/// prefilled, events carry `prompt_progress` (`total`, `cache`, `processed` — cached
/// tokens included — and `time_ms` since the prefill began), one per batch; then the
/// text comes in pieces, and the last event carries `timings` (and `usage`).
enum StreamedCompletion {
  /// The JSON objects of the complete `data:` lines in `text` (`[DONE]` and other lines skipped).
  static func events(_ text: Substring) -> [[String: Any]] {
    text.split(whereSeparator: \.isNewline).compactMap { line in
      guard line.hasPrefix("data:") else { return nil }
      let payload = line.dropFirst(5).trimmingCharacters(in: .whitespaces)
      guard payload.hasPrefix("{") else { return nil }
      return try? JSONSerialization.jsonObject(with: Data(payload.utf8)) as? [String: Any]
    }
  }

  /// The prefill progress an event reports, if it reports any.
  static func progress(_ event: [String: Any]) -> PrefillUpdate? {
    guard let p = event["prompt_progress"] as? [String: Any], let total = p["total"] as? Int,
      let processed = p["processed"] as? Int
    else { return nil }
    let milliseconds = (p["time_ms"] as? Double) ?? Double(p["time_ms"] as? Int ?? 0)
    return PrefillUpdate(done: processed, total: total, cached: p["cache"] as? Int ?? 0, seconds: milliseconds / 1000)
  }

  /// Whether `body` is a stream of events rather than one JSON object.
  static func isStream(_ body: Data) -> Bool {
    let head = String(decoding: body.prefix(64), as: UTF8.self).drop { $0.isWhitespace }
    return head.hasPrefix("data:") || head.hasPrefix("event:") || head.hasPrefix(":")
  }

  /// The generated text and token usage of a whole streamed body.
  ///
  /// - Throws: `EngineError.transient` when the stream reports an error or has no final event.
  static func parseResult(_ body: Data, api: OpenAIAPI, endpoint: String = "the server") throws -> GenerationResult {
    var text = ""
    var finished = false
    var usage: [String: Any]?
    var timings: [String: Any]?
    for event in events(String(decoding: body, as: UTF8.self)[...]) {
      if let error = event["error"] {
        let message = (error as? [String: Any])?["message"] as? String ?? "\(error)"
        throw EngineError.transient("\(OpenAIEngineOptions.redacted(endpoint)) stopped the stream: \(message)")
      }
      for choice in event["choices"] as? [[String: Any]] ?? [] {
        switch api {
        case .completions: text += choice["text"] as? String ?? ""
        case .chat: text += (choice["delta"] as? [String: Any])?["content"] as? String ?? ""
        }
        if let reason = choice["finish_reason"], !(reason is NSNull) { finished = true }
      }
      if let u = event["usage"] as? [String: Any] { usage = u }
      if let t = event["timings"] as? [String: Any] { timings = t }
    }
    guard finished || usage != nil || timings != nil else {
      throw EngineError.transient("\(OpenAIEngineOptions.redacted(endpoint)) ended the stream before the answer's end")
    }
    let details = usage?["prompt_tokens_details"] as? [String: Any]
    let cached = details?["cached_tokens"] as? Int ?? timings?["cache_n"] as? Int ?? 0
    let prompt = usage?["prompt_tokens"] as? Int ?? ((timings?["prompt_n"] as? Int).map { $0 + cached } ?? 0)
    return GenerationResult(
      text: text, promptTokens: prompt,
      outputTokens: usage?["completion_tokens"] as? Int ?? timings?["predicted_n"] as? Int ?? 0,
      cachedTokens: cached)
  }

  /// An observer that hands each progress event of a stream to `receiver` as its line arrives.
  static func observer(sending receiver: PrefillReceiver) -> HTTPBodyObserver {
    let pending = Mutex(Data())
    return HTTPBodyObserver { piece in
      // Complete lines only; the rest waits for the next piece.
      let lines: Data? = pending.withLock { buffer in
        buffer.append(piece)
        guard let last = buffer.lastIndex(of: UInt8(ascii: "\n")) else { return nil }
        let complete = buffer[..<last]
        buffer = Data(buffer[(last + 1)...])
        return Data(complete)
      }
      guard let lines else { return }
      for event in events(String(decoding: lines, as: UTF8.self)[...]) {
        if let update = progress(event) { receiver.send(update) }
      }
    }
  }
}
