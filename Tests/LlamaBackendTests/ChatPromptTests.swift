import Testing

@testable import LlamaBackend

/// The prefix/suffix layout in a chat template, with stand-in templates (no model).
@Suite struct ChatPromptTests {
  static func chatml(_ content: String) -> String {
    "<|im_start|>user\n\(content)<|im_end|>\n<|im_start|>assistant\n"
  }

  static func trimming(_ content: String) -> String {
    "<start_of_turn>user\n\(content.trimmingCharacters(in: .whitespacesAndNewlines))<end_of_turn>\n<start_of_turn>model\n"
  }

  @Test func aTemplateThatKeepsTheTextSplitsAfterThePrefix() {
    let (chat, split) = ChatPrompt.layout(prefix: "Doc A\n", suffix: "Question?\n", render: Self.chatml)
    #expect(split)
    #expect(chat.head == "<|im_start|>user\n")
    #expect(chat.prefix == "Doc A\n")
    #expect(chat.suffix == "Question?\n")
    #expect(chat.head + chat.prefix + chat.suffix + chat.tail == Self.chatml("Doc A\nQuestion?\n"))
  }

  @Test(arguments: [
    ("\n  Doc A\n", "Question?\n\n", "Doc A\n", "Question?"),
    ("Doc A", "  \n", "Doc A", ""),
    ("  ", " Question ", "", "Question"),
  ])
  func aTrimmingTemplateTrimsThePartsTheSameWay(prefix: String, suffix: String, newPrefix: String, newSuffix: String) {
    let (chat, split) = ChatPrompt.layout(prefix: prefix, suffix: suffix, render: Self.trimming)
    #expect(split)
    #expect(chat.prefix == newPrefix)
    #expect(chat.suffix == newSuffix)
    #expect(chat.head + chat.prefix + chat.suffix + chat.tail == Self.trimming(prefix + suffix))
  }

  @Test func aTemplateThatRewritesTheTextGivesNoPrefixButTheExactRender() {
    let upper = { (s: String) in "<u>" + s.uppercased() + "</u>" }
    let (chat, split) = ChatPrompt.layout(prefix: "doc ", suffix: "question", render: upper)
    #expect(!split)
    #expect(chat.prefix.isEmpty && chat.suffix.isEmpty && chat.tail.isEmpty)
    #expect(chat.head == "<u>DOC QUESTION</u>")
  }
}
