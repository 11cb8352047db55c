import Foundation
import Testing

@testable import Ingest

/// Issue 31, item 4: the computed check that decides whether a model's template replaces the
/// miner's (no model needed).
@Suite struct TemplateRefinementTests {
  let lines = [
    "Connection from 10.0.0.5 port 22 closed",
    "Connection  from 192.168.1.9 port 51000 closed ",
  ]

  @Test func acceptsATemplateThatMatchesEveryLine() {
    #expect(TemplateRefinement.accepts("Connection from <*> port <*> closed", lines: lines))
    #expect(TemplateRefinement.accepts("Connection from <*> closed", lines: lines))
    #expect(TemplateRefinement.accepts("<*> from <*> port <*>", lines: lines))
  }

  @Test func refusesATemplateThatMissesALine() {
    // The model kept a value as a constant: the second line does not match.
    #expect(!TemplateRefinement.accepts("Connection from 10.0.0.5 port <*> closed", lines: lines))
    // A word the lines do not have, or in the wrong order.
    #expect(!TemplateRefinement.accepts("Connection from <*> port <*> opened", lines: lines))
    #expect(!TemplateRefinement.accepts("port <*> Connection from <*> closed", lines: lines))
    // Nothing constant left.
    #expect(!TemplateRefinement.accepts("<*>", lines: lines))
    #expect(!TemplateRefinement.accepts("<*> <*>", lines: lines))
  }

  @Test func matchesLikeAGlob() {
    #expect(TemplateRefinement.matches("a <*> b", "a x y b"))
    #expect(TemplateRefinement.matches("a <*>b", "a b"))
    #expect(TemplateRefinement.matches("<*>", ""))
    #expect(!TemplateRefinement.matches("ab <*> ab", "ab"))
    #expect(TemplateRefinement.matches("x=<*>, y=<*>", "x=1, y=2"))
    #expect(!TemplateRefinement.matches("x=<*>, y=<*>", "x=1; y=2"))
    #expect(TemplateRefinement.matches("no variables", "no  variables"))
  }

  @Test func readsTheAnswer() {
    #expect(TemplateRefinement.answer("Template: `Connection from <*>  closed`\nmore") == "Connection from <*> closed")
    #expect(TemplateRefinement.answer("\n  Connection from <*> closed\nsecond") == "Connection from <*> closed")
    #expect(TemplateRefinement.answer("``") == nil)
    #expect(TemplateRefinement.answer("") == nil)
  }

  @Test func samplesDistinctLines() {
    let sample = TemplateRefinement.sample(["a", "b", "a", "c", "d", "e", "f", "g"])
    #expect(sample == ["a", "b", "c", "d", "e"])
    #expect(TemplateRefinement.prompt(lines: sample, draft: "<*>").hasSuffix("a\nb\nc\nd\ne\nDraft: <*>\nTemplate:"))
  }

  @Test func theGrammarLetsTheModelOnlyMaskTheMinersConstantWords() {
    let grammar = TemplateRefinement.grammar(for: "Connection  from <*> port=<*> closed \"now\"")
    #expect(
      grammar == """
        root ::= " " w0 " " w1 " " "<*>" " " "port=<*>" " " w4 " " w5
        w0 ::= "Connection" | "<*>"
        w1 ::= "from" | "<*>"
        w4 ::= "closed" | "<*>"
        w5 ::= "\\"now\\"" | "<*>"
        """)
    // Nothing to decide: no call.
    #expect(TemplateRefinement.grammar(for: "<*> <*>:<*>") == nil)
    #expect(TemplateRefinement.literal("a\\b\tc\u{01}") == #""a\\b\tc\x01""#)
  }

  @Test func thePromptsExampleCannotBePassedOffAsALogTemplate() {
    let lines = ["Receiving block blk_1 src: /10.0.0.1:50010", "Receiving block blk_2 src: /10.0.0.2:50010"]
    let draft = "Receiving block blk_<*> src: <*>"
    let prompt = TemplateRefinement.prompt(lines: lines, draft: draft)
    // The worked example comes first and is a recipe: pasted back, it matches none of the lines.
    let example = "Bake <*> cups of <*> at <*> degrees"
    #expect(prompt.contains("Template: " + example))
    #expect(prompt.range(of: example)!.lowerBound < prompt.range(of: lines[0])!.lowerBound)
    #expect(!TemplateRefinement.accepts(example, lines: lines))
    #expect(prompt.hasSuffix(lines.joined(separator: "\n") + "\nDraft: " + draft + "\nTemplate:"))
  }

  /// What the grammar lets out is always the miner's template or more general, so it passes the
  /// check on lines the miner's template matched.
  @Test func whatTheGrammarAllowsPassesTheCheck() {
    let lines = ["session opened for user root by (uid=0)", "session opened for user cyrus by (uid=0)"]
    #expect(TemplateRefinement.accepts("session opened for user <*> by (uid=<*>)", lines: lines))
    #expect(TemplateRefinement.accepts("<*> opened for user <*> by (uid=<*>)", lines: lines))
    #expect(
      TemplateRefinement.answer(" session <*> for user <*> by (uid=<*>)") == "session <*> for user <*> by (uid=<*>)")
  }
}
