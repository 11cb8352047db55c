import Foundation

/// A prompt laid out in a chat template so that the cacheable prefix stays a
/// prefix: `head + prefix + suffix + tail` is exactly what the template makes
/// of one user turn holding `prefix + suffix`.
///
/// `head` and `tail` are the template's own text (special tokens such as
/// `<|im_start|>` are parsed in them); `prefix` and `suffix` are the user's
/// text, never parsed for special tokens, so a document cannot inject turns.
package struct ChatPrompt: Sendable, Hashable {
  package var head: String
  package var prefix: String
  package var suffix: String
  package var tail: String

  /// Lays out `prefix + suffix` with `render`, which applies the template to one user message.
  ///
  /// Templates that trim the message (Gemma's, for one) are handled by
  /// trimming the same way; any other change to the text makes the split
  /// impossible, and then the whole render comes back as `head` with empty
  /// prefix and suffix (correct, but nothing to checkpoint).
  ///
  /// - Returns: The layout and whether the prefix could be kept apart.
  /// - Throws: What `render` throws.
  package static func layout(
    prefix: String, suffix: String, render: (String) throws -> String
  ) rethrows -> (prompt: ChatPrompt, split: Bool) {
    // A marker the template passes through unchanged shows where the message goes.
    let marker = "\u{E000}longctx-message\u{E001}"
    let shape = try render(marker)
    let content = prefix + suffix
    let full = try render(content)
    guard let at = shape.range(of: marker) else {
      return (ChatPrompt(head: full, prefix: "", suffix: "", tail: ""), false)
    }
    let head = String(shape[..<at.lowerBound])
    let tail = String(shape[at.upperBound...])
    if full == head + content + tail {
      return (ChatPrompt(head: head, prefix: prefix, suffix: suffix, tail: tail), true)
    }
    // The template trimmed the message: trim the same characters off the two parts.
    let characters = Array(content)
    let lead = characters.prefix { $0.isWhitespace }.count
    let trail = lead == characters.count ? 0 : characters.reversed().prefix { $0.isWhitespace }.count
    let end = characters.count - trail
    let cut = min(max(prefix.count, lead), end)
    let newPrefix = String(characters[lead..<cut])
    let newSuffix = String(characters[cut..<end])
    if full == head + newPrefix + newSuffix + tail {
      return (ChatPrompt(head: head, prefix: newPrefix, suffix: newSuffix, tail: tail), true)
    }
    return (ChatPrompt(head: full, prefix: "", suffix: "", tail: ""), false)
  }
}
