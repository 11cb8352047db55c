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
    #expect(TemplateRefinement.prompt(lines: sample).hasSuffix("a\nb\nc\nd\ne\nTemplate:"))
  }
}
