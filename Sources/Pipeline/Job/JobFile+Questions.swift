import Foundation
import Yams

extension JobFile {
  /// `questions:`: a list of `{name, question | prompt, json_schema, coding}`, checked so that
  /// every question's map prompt begins as `map.prompt` does up to `{{window}}` (the prefix a
  /// window's questions share) and asks nothing before the window.
  ///
  /// - Returns: nil when the job has no `questions:`.
  static func questions(_ top: Node.Mapping, map: JobSpec.PromptSpec, _ r: inout Reader) -> [JobSpec.QuestionSpec]? {
    guard let node = top["questions"] else { return nil }
    guard case .sequence(let items) = node, !items.isEmpty else {
      r.problem("questions", node, "must be a list of {name, question or prompt, json_schema, coding}")
      return nil
    }
    if top["question"] != nil {
      r.problem("question", top["question"], "cannot be given with questions: (give each question its own)")
    }
    if r.bool(top, "incremental") == true {
      r.problem("questions", node, "cannot be used with 'incremental: true' (an incremental job asks one question)")
    }
    if top["coding"] != nil {
      r.problem("coding", top["coding"], "cannot be given with questions: (give each question its own coding:)")
    }
    if case .mapping(let p)? = top["production"], p["select"] != nil || p["withhold"] != nil {
      r.problem("production", top["production"], "select and withhold cannot be used with questions: yet")
    }
    let shared = head(map.prompt)
    var names = Set<String>()
    var out: [JobSpec.QuestionSpec] = []
    for item in items {
      guard case .mapping(let m) = item else {
        r.problem("questions[]", item, "must be a mapping {name, question or prompt, json_schema, coding}")
        continue
      }
      r.allow(m, at: "questions[].", keys: ["name", "question", "prompt", "json_schema", "coding"])
      let name = r.string(m, "name", at: "questions[].", required: true) ?? ""
      let at = "questions[\(name)]."
      if !name.isEmpty, name.range(of: #"^[A-Za-z0-9._-]+$"#, options: .regularExpression) == nil {
        r.problem(at + "name", m["name"], "must use only letters, digits, '.', '_' and '-'")
      }
      if !names.insert(name).inserted { r.problem(at + "name", m["name"], "is given to two questions") }
      let question = r.string(m, "question", at: at)
      let promptText = r.string(m, "prompt", at: at)
      if question == nil && promptText == nil {
        r.problem(at + "question", item, "a question needs question: (the value of {{question}}) or prompt:")
      }
      let text = promptText ?? map.prompt
      let key = promptText != nil ? at + "prompt" : "map.prompt"
      let keyNode = promptText != nil ? m["prompt"] : top["map"]
      if !text.contains("{{window}}") {
        r.problem(key, keyNode, "must contain {{window}}")
      } else if head(text) != shared {
        r.problem(
          key, keyNode,
          "must begin as map.prompt does, up to and including {{window}}, so that every question shares the window's prefix"
        )
      } else if PromptTemplate.names(in: head(text)).contains("question") {
        r.problem(
          key, keyNode, "must place {{question}} after {{window}} (the window is the prefix the questions share)")
      }
      let unknown = PromptTemplate.unknownVariables(in: text, allowed: PromptTemplate.variables(for: "map"))
      if !unknown.isEmpty {
        r.problem(key, keyNode, "uses unknown variables \(unknown.map { "{{\($0)}}" }.joined(separator: ", "))")
      }
      let schema = m["json_schema"] != nil ? r.jsonSchema(m, "json_schema", at: at) : map.jsonSchema
      let questionMap: JobSpec.PromptSpec? =
        promptText != nil || m["json_schema"] != nil ? .init(prompt: text, jsonSchema: schema) : nil
      // Coding is read as the top level's is, its problems named under the question.
      var sub = Reader(path: r.path)
      let coding =
        m["coding"] == nil ? nil : coding(m, map: .init(prompt: text, jsonSchema: schema), production: nil, &sub)
      r.problems += sub.problems.map { at + $0 }
      out.append(.init(name: name, question: question, map: questionMap, coding: coding))
    }
    return out
  }

  /// A map prompt's text up to and including `{{window}}` (the whole text without it).
  static func head(_ prompt: String) -> String {
    guard let range = prompt.range(of: "{{window}}") else { return prompt }
    return String(prompt[..<range.upperBound])
  }
}
