import ArgumentParser
import Foundation
import Ingest
import Pipeline
import Segmenter
import SharedWorkspace
import Storage

extension Longctx {
  /// `longctx plan JOB.yaml`
  struct Plan: JobCommand {
    static let configuration = CommandConfiguration(
      abstract: "Ingest a job's inputs and show how they pack into context windows.")

    @OptionGroup(title: "Global Options") var global: GlobalOptions

    @Argument(help: JobReference.help()) var job: String

    @Option(help: "Plan for this many context tokens instead of the job's model.context.")
    var context: Int?

    @Flag(help: "Print the plan as JSON.") var json = false

    @Flag(
      help:
        "Also estimate the run's calls, tokens and cost (with the job's pricing:) and check them against its budget:."
    ) var cost = false

    func validate() throws {
      if let context, context <= 0 { throw ValidationError("'--context' must be greater than 0") }
    }

    var jobArgument: String? { job }

    func prepare(_ spec: inout JobSpec) throws {
      if let context { spec.model.context = context }
    }

    func run(_ opened: JobContext) async throws {
      let spec = opened.spec
      let workspace = opened.workspace
      let runner = opened.runner()
      let plan = try await runner.preview()
      var estimate = cost ? try runner.estimateCost(of: plan) : nil
      if estimate?.budget != nil, let location = try global.sharedLocation {
        // On a shared workspace the job's calls are paid in PostgreSQL, by every worker.
        let queue = try await PostgresTaskQueue.open(
          location, logger: global.logger("longctx.plan"), reconnectTimeout: 5)
        estimate?.spent = try await PostgresLimitLedger(sharing: queue).spending(for: spec.name)
      }
      let ocr = try Corpus(workspace: workspace).ocrSummary(
        documents: plan.windows.flatMap { $0.chunks.map(\.documentHash) })
      if json {
        struct Out: Encodable {
          var id: String
          var budget: Int
          var vocabulary: String
          var exactTokens: Bool
          var totalTokens: Int
          var meanFill: Double
          var collapsedLines: Int
          var duplicateChunks: Int
          /// What ranked chunks for max_windows (BM25, BM25 + semantic, or why not semantic).
          var relevance: String?
          var windows: [W]
          var leftOut: [Segmenter.Plan.LeftOut]
          /// Pages of the plan's documents read by OCR, and their mean word confidence.
          var ocr: Corpus.OCRSummary
          /// With --cost: the run's calls, tokens and cost.
          var cost: CostEstimate?
          struct W: Encodable {
            var ordinal: Int
            var tokens: Int
            var fill: Double
            var locators: [String]
            var firstEvent: String?
            var lastEvent: String?
          }
        }
        print(
          try jsonString(
            Out(
              id: plan.id, budget: plan.budget, vocabulary: plan.vocabulary, exactTokens: plan.exactTokens,
              totalTokens: plan.totalTokens, meanFill: plan.meanFill, collapsedLines: plan.collapsedLines,
              duplicateChunks: plan.duplicateChunks ?? 0, relevance: plan.relevance,
              windows: plan.windows.map {
                .init(
                  ordinal: $0.ordinal + 1, tokens: $0.tokens, fill: Double($0.tokens) / Double(plan.budget),
                  locators: $0.locators.compacted().map(\.description),
                  firstEvent: $0.timeRange.map { Scorer.isoTime($0.lowerBound) },
                  lastEvent: $0.timeRange.map { Scorer.isoTime($0.upperBound) })
              },
              leftOut: plan.leftOut, ocr: ocr, cost: estimate)))
        return
      }
      print(
        "plan \(plan.id.prefix(12)): \(plan.windows.count) windows, \(plan.totalTokens) tokens (\(plan.exactTokens ? "exact" : "estimated")), budget \(plan.budget) per window, mean fill \(String(format: "%.1f%%", plan.meanFill * 100)), \(plan.collapsedLines) repeated log lines collapsed, \(plan.duplicateChunks ?? 0) duplicate chunks left out"
      )
      if let relevance = plan.relevance { print("priority: \(relevance)") }
      if ocr.pages > 0 {
        print("OCR: \(ocr.sentence)")
      }
      for w in plan.windows {
        let locs = w.locators.compacted()
        let shown =
          locs.prefix(4).map(\.description).joined(separator: ", ")
          + (locs.count > 4 ? ", … (\(locs.count) in all)" : "")
        let time = w.timeRange.map { " [\(Scorer.isoTime($0.lowerBound)) … \(Scorer.isoTime($0.upperBound))]" } ?? ""
        print(
          String(
            format: "  window %3d  %7d tokens  %5.1f%%  ", w.ordinal + 1, w.tokens,
            Double(w.tokens) / Double(plan.budget) * 100) + shown + time)
      }
      for l in plan.leftOut { print("  left out: \(l.locator): \(l.reason)") }
      if let estimate { for line in Self.costLines(estimate, spec: spec) { print(line) } }
    }

    /// `--cost`'s lines: calls and tokens, the cost with the job's prices, and the budget.
    static func costLines(_ e: CostEstimate, spec: JobSpec) -> [String] {
      let kind = e.exactTokens ? "exact" : "estimated"
      var lines = [
        "cost: \(e.calls) calls (\(e.mapCalls) map, \(e.reduceCalls) reduce, the reduce tree at its largest): \(e.inputTokens) input tokens (\(kind)), at most \(e.maxOutputTokens) output tokens"
      ]
      if let prices = spec.prices, let maxCost = e.maxCost {
        lines.append(
          "cost: at \(prices.format(prices.promptPerMillion)) per million input and \(prices.format(prices.outputPerMillion)) per million output tokens: at most \(prices.format(maxCost)) (map \(prices.format(e.mapCost ?? 0)))"
        )
      } else {
        lines.append(
          "cost: no prices; add pricing: {input_per_million: …, output_per_million: …} to the job for a cost")
      }
      if let budget = e.budget, let fits = e.fitsBudget {
        let spent = e.spent ?? LimitStore.Spending()
        let prices = spec.prices ?? JobSpec.Prices(promptPerMillion: 0, outputPerMillion: 0)
        let limit = [budget.usd.map { prices.format($0) }, budget.tokens.map { "\($0) tokens" }].compactMap { $0 }
        let used = [
          budget.usd.map { _ in prices.format(spent.cost) }, budget.tokens.map { _ in "\(spent.tokens) tokens" },
        ]
        .compactMap { $0 }
        lines.append(
          "budget: \(limit.joined(separator: " / ")), spent so far \(used.joined(separator: " / ")): "
            + (fits ? "the whole run fits" : "the run may stop at the budget (exit code 6); raise it to finish"))
      }
      return lines
    }
  }
}
