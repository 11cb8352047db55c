// Needles a paraphrase must find (issue 34), and the embedding model's throughput.
//   longctx-bench needles NAME INPUT-DIR [budgets...]   (needs $LONGCTX_EMBED_MODEL or set-up's model)
//   longctx-bench embed INPUT-DIR [texts]
import Foundation
import Inference
import Ingest
import LlamaBackend
import Logging
import Pipeline
import Segmenter
import Storage
import _LongctxTestSupport

/// One planted line: the statement, a question in its own words, and a paraphrase sharing almost none.
struct Needle: Decodable {
  var needle: String
  var question: String
  var paraphrase: String
}

func embeddingModelPath() -> String {
  let env = ProcessInfo.processInfo.environment
  if let path = env["LONGCTX_EMBED_MODEL"], !path.isEmpty { return path }
  return (env["LONGCTX_CACHE"] ?? NSHomeDirectory() + "/.cache/longctx") + "/models/all-MiniLM-L6-v2.f16.gguf"
}

func benchCounter() throws -> any TokenCounter {
  guard let model = ProcessInfo.processInfo.environment["LONGCTX_MODEL"] else { return EstimatedTokenCounter() }
  return LlamaTokenCounter(model: try LlamaModel(path: model, vocabOnly: true), vocabularyID: "bench-gemma")
}

/// The ingested documents of `input` (its files, as the planner reads them).
func haystack(_ input: String, workspace: Workspace) async throws -> [PlanDocument] {
  let url = URL(fileURLWithPath: input)
  let ingest = try await Ingestor(workspace: workspace, logger: Logger(label: "bench")).ingest(
    inputs: [url.lastPathComponent], options: IngestOptions(base: url.deletingLastPathComponent()))
  return try CorpusPlanner(workspace: workspace, counter: EstimatedTokenCounter()).documents(ingest.files)
}

/// `documents` with `needle` planted as a line of one section: the document and section are
/// picked from the needle's number, spread over the corpus. A log line takes the leading
/// timestamp-like run of the line before it; code gets it as a comment.
func plant(_ needle: String, number: Int, in documents: [PlanDocument]) -> (docs: [PlanDocument], line: String) {
  var docs = documents
  let candidates = docs.indices.filter { docs[$0].sections.count >= 3 }
  let d = candidates[(number * 7) % candidates.count]
  let s = docs[d].sections.count * ((number * 37) % 80 + 10) / 100
  var section = docs[d].sections[s]
  var line = needle
  switch docs[d].kind {
  case .log?:
    let first = section.text.split(separator: "\n").first.map(String.init) ?? ""
    let prefix = first.prefix { $0.isNumber || " -:.,/|[]T".contains($0) }
    let cut = prefix.lastIndex { " |]".contains($0) }.map { prefix.index(after: $0) } ?? prefix.startIndex
    line = String(prefix[..<cut]) + needle
    // Templates of the changed document come from its text (stored ones are per line of the file).
    docs[d].templates = nil
  case .code?: line = "// " + needle
  default: break
  }
  section.text += "\n" + line
  docs[d].sections[s] = section
  return (docs, line)
}

func needleBenchmark(name: String, input: String, budgets: [Int]) async throws {
  let tmp = try TemporaryDirectory()
  defer { tmp.remove() }
  let env = ProcessInfo.processInfo.environment
  // $NEEDLE_WS: a workspace kept between runs, so the haystack's pieces are embedded once.
  let root = env["NEEDLE_WS"].map { URL(fileURLWithPath: $0).appendingPathComponent(name) }
  let ws = try Workspace(root: root ?? tmp.url.appendingPathComponent("ws"), schemas: PipelineSchema.all)
  let docs = try await haystack(input, workspace: ws)
  let needleFile = env["NEEDLES"] ?? "bench/needles/needles.json"
  let needles = try JSONDecoder().decode([Needle].self, from: Data(contentsOf: URL(fileURLWithPath: needleFile)))
  let embedder = try LlamaEmbedder(path: embeddingModelPath())
  var planner = Planner(tokens: TokenCache(workspace: ws, counter: try benchCounter()))
  planner.embedder = { .ready(embedder) }
  if let bytes = env["PIECE_BYTES"].flatMap(Int.init) { planner.semanticPieceBytes = bytes }
  let modeList = env["MODES"] ?? "bm25,embeddings,rrf:0.5,rrf:0.85,weighted:0.5"
  let modes = try modeList.split(separator: ",").map(Mode.init)
  let whole = try planner.plan(docs, budget: budgets[0])
  print(
    "haystack \(name): \(docs.count) documents, \(whole.totalTokens) tokens planned, \(whole.windows.count) windows at \(budgets[0]); \(needles.count) needles of \(needleFile); pieces of at most \(planner.semanticPieceBytes) bytes"
  )
  let stop = Set(["the", "a", "an", "of", "to", "in", "is", "was", "and", "or", "for", "on", "at", "it", "be", "by"])
  func words(_ s: String) -> Set<String> {
    Set(s.lowercased().split { !($0.isLetter || $0.isNumber) }.map(String.init)).subtracting(stop)
  }
  let shared = needles.map { words($0.paraphrase).intersection(words($0.needle)).count }
  print("content words a paraphrase shares with its needle: \(shared) (total \(shared.reduce(0, +)))")

  // recall[budget][kind][mode] = needles kept; lostByBlend: kept by BM25, not by the blend.
  var kept: [String: Int] = [:]
  var lost: [String: [String]] = [:]
  var firstPlanSeconds = 0.0
  let verbose = env["VERBOSE"] != nil
  let started = Date()
  for (n, needle) in needles.enumerated() {
    let (planted, line) = plant(needle.needle, number: n, in: docs)
    for budget in budgets {
      for (kind, question) in [("own words", needle.question), ("paraphrase", needle.paraphrase)] {
        var bm25Kept = false
        for mode in modes {
          var options = PlanOptions(question: question, maxWindows: 1)
          options.semantic = mode.blend != nil
          options.semanticBlend = mode.blend ?? .rrf
          options.semanticWeight = mode.weight
          let t = Date()
          let plan = try planner.plan(planted, budget: budget, options: options)
          if n == 0 && budget == budgets[0] && kind == "own words" && mode.blend != nil {
            firstPlanSeconds = Date().timeIntervalSince(t)
          }
          let found = plan.windows.contains { $0.chunks.contains { $0.text.contains(line) } }
          if found {
            kept["\(budget)|\(kind)|\(mode.name)", default: 0] += 1
          } else if verbose {
            print("missed: #\(n + 1) \(budget) \(kind) \(mode.name)")
          }
          if mode.blend == nil { bm25Kept = found }
          if mode.blend != nil && mode.blend != .semanticOnly && bm25Kept && !found {
            lost["\(budget)|\(kind)|\(mode.name)", default: []].append("#\(n + 1)")
          }
        }
      }
    }
  }
  print(
    String(
      format: "first semantic plan (embeds the haystack): %.1f s; all %d plans: %.0f s", firstPlanSeconds,
      needles.count * budgets.count * 2 * modes.count, Date().timeIntervalSince(started)))
  print("")
  let blends = modes.filter { $0.blend != nil && $0.blend != .semanticOnly }
  let lostBy = blends.map(\.name).joined(separator: " / ")
  print("| haystack | budget | question | \(modes.map(\.name).joined(separator: " | ")) | lost by \(lostBy) |")
  print("|---|---|---|" + String(repeating: "---|", count: modes.count + 1))
  for budget in budgets {
    for kind in ["own words", "paraphrase"] {
      let cells = modes.map { mode in
        let k = kept["\(budget)|\(kind)|\(mode.name)", default: 0]
        return String(format: "%d/%d (%.0f%%)", k, needles.count, 100 * Double(k) / Double(needles.count))
      }
      let lostCell = blends.map { lost["\(budget)|\(kind)|\($0.name)"]?.joined(separator: " ") ?? "none" }
      print(
        "| \(name) | \(budget) | \(kind) | \(cells.joined(separator: " | ")) | \(lostCell.joined(separator: " / ")) |")
    }
  }
}

/// One ranking the needle benchmark compares: BM25 alone (`blend` nil), embeddings alone, or a
/// blend with the semantic side's weight; written `bm25`, `embeddings`, `rrf`, `weighted`,
/// `rrf:0.7`, `weighted:0.8` in `$MODES`.
struct Mode {
  var name: String
  var blend: SemanticBlend?
  var weight = SemanticBlend.defaultSemanticWeight

  init(_ text: Substring) throws {
    name = String(text)
    let parts = text.split(separator: ":")
    switch parts.first {
    case "bm25": blend = nil
    case "embeddings": blend = .semanticOnly
    case "rrf": blend = .rrf
    case "weighted": blend = .weighted
    default: throw CocoaError(.formatting, userInfo: [NSLocalizedDescriptionKey: "unknown mode \(text)"])
    }
    if parts.count > 1, let w = Double(parts[1]) { weight = w }
  }
}

/// Embedding throughput on the pieces the planner embeds (chunks of `input` at a 4K budget).
func embedBenchmark(input: String, limit: Int) async throws {
  let tmp = try TemporaryDirectory()
  defer { tmp.remove() }
  let ws = try Workspace(root: tmp.url.appendingPathComponent("ws"), schemas: PipelineSchema.all)
  let docs = try await haystack(input, workspace: ws)
  let plan = try Planner(counter: EstimatedTokenCounter()).plan(docs, budget: 4096)
  let bytes =
    ProcessInfo.processInfo.environment["PIECE_BYTES"].flatMap(Int.init) ?? SemanticRelevance.defaultPieceBytes
  let chunks = plan.windows.flatMap(\.chunks)
  let pieces = Array(
    chunks.flatMap { SemanticRelevance.pieces($0.text, maxBytes: bytes) }.prefix(limit))
  let embedder = try LlamaEmbedder(path: embeddingModelPath())
  let tokens = pieces.reduce(0) { $0 + min(embedder.maxTokens, embedder.tokenCount($1)) }
  let cut = pieces.filter { embedder.tokenCount($0) > embedder.maxTokens }.count
  _ = try embedder.embed(Array(pieces.prefix(8)))  // warm-up
  let t = Date()
  _ = try embedder.embed(pieces)
  let s = Date().timeIntervalSince(t)
  print(
    String(
      format:
        "embedding %d pieces (%d tokens read, %d pieces cut at %d tokens) on %d threads: %.1f s, %.1f pieces/s, %.0f tokens/s",
      pieces.count, tokens, cut, embedder.maxTokens, ProcessInfo.processInfo.activeProcessorCount, s,
      Double(pieces.count) / s, Double(tokens) / s))
}

extension Array {
  var nilIfEmpty: Self? { isEmpty ? nil : self }
}
