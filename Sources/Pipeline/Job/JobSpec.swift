import Foundation
import Inference
import Ingest
import Segmenter
import Storage

/// A job file: what to read, which model, and the map/reduce prompts.
///
/// See README.md, "Job files", for the YAML form of every key.
public struct JobSpec: Sendable, Hashable, Codable {
  public var name: String
  /// Files or directories, relative to the job file's directory.
  public var inputs: [String]
  public var model: ModelSpec
  public var generation: GenerationSpec
  /// The question used for relevance, and the value of `{{question}}`.
  public var question: String?
  public var map: PromptSpec
  public var reduce: PromptSpec
  /// The Markdown report's path, relative to the job file's directory, as
  /// the job file gives it (`reportFile` applies the default).
  public var reportPath: String?
  /// The Markdown report's path relative to the job file's directory:
  /// `reportPath`, else `reports/NAME.md`.
  public var reportFile: String { reportPath ?? "reports/\(name).md" }

  /// SHA-256 of the spec as JSON with sorted keys: the same settings give the
  /// same hash in every build (unlike a hash of Swift's description).
  public var canonicalHash: String {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    // Encoding plain values cannot fail; an empty hash would only mark the row.
    return (try? encoder.encode(self)).map { Hashing.sha256($0) } ?? ""
  }
  /// Token prices for the report's cost estimate.
  public var prices: Prices?
  /// Collapse repeated log lines into counts (default true).
  public var collapseRepeats: Bool = true
  /// Keep only the highest-priority chunks that fill this many windows.
  public var maxWindows: Int?
  /// Seconds per time window when grouping log events into chunks (nil: off).
  public var logWindow: Double? = 3600
  /// Leave out exact and near duplicate chunks, listing them on their representative.
  public var collapseDuplicates: Bool = true
  /// `plan.semantic`: blend semantic similarity into the priority (nil: the default, on).
  public var semantic: Bool? = nil
  /// The directory relative paths resolve against (the job file's directory).
  public var baseDirectory: String
  /// Cron mode: each run plans only the lines and files that are new since the
  /// last completed run, reports on that period, and folds the period's summary
  /// into a rolling summary (see `JobRunner.runIncremental`).
  public var incremental = false
  /// The rolling summary's path in incremental mode, relative to the job file's
  /// directory; default: the report's path with `-rolling` before `.md`.
  public var rollingReportPath: String? = nil
  /// What one map task reads: a window, or one document (split into several
  /// windows, reduced per document first, when it does not fit one).
  public var mapPer: MapUnit = .window
  /// `ingest.redact`: replace secrets in the extracted text (default true);
  /// false keeps the text faithful to the files, as productions need.
  public var redact = true
  /// `ingest.denist`: a known-file list whose files are skipped at ingest (as `production.denist`).
  public var denist: String? = nil
  /// Custodian by input (as `inputs` names it), from `inputs: [{path, custodian}]`.
  public var custodians: [String: String]? = nil
  /// `production:` settings for `longctx produce`.
  public var production: ProductionSpec? = nil
  /// `coding:`: how structured map answers fold into per-document coding (nil: no coding).
  public var coding: CodingSpec? = nil
  /// `limits:`: requests and tokens per minute per endpoint (see `SharedPacer`).
  public var limits: RateLimits? = nil
  /// `budget:`: what the job may spend over all its runs (see `BudgetLedger`).
  public var budget: Budget? = nil
  /// `questions:`: several questions over one plan (nil: the one `question`); see `JobSpec+Questions`.
  public var questions: [QuestionSpec]? = nil

  /// How page-level answers of a structured job become per-document coding, computed
  /// by longctx (never by the model); see `CodingTable`.
  public struct CodingSpec: Sendable, Hashable, Codable {
    /// The answer member that names the page it judges (a locator).
    public var documentField: String
    /// The coded boolean members, each with its rule, in the table's order.
    public var fields: [Field]
    /// The answer member holding the reason, kept with its page citation.
    public var reason: String?

    /// One coded field.
    public struct Field: Sendable, Hashable, Codable {
      public var name: String
      public var rule: Rule
      public init(name: String, rule: Rule = .any) {
        self.name = name
        self.rule = rule
      }
    }

    /// How a document's answers combine.
    public enum Rule: String, Sendable, Hashable, Codable, CaseIterable {
      /// True when any answer about the document says true.
      case any
      /// True when every answer that gives the field says true.
      case all
    }

    public init(documentField: String, fields: [Field], reason: String? = nil) {
      self.documentField = documentField
      self.fields = fields
      self.reason = reason
    }
  }

  /// A discovery production's numbering and selection.
  public struct ProductionSpec: Sendable, Hashable, Codable {
    /// Bates prefix (`ACME`), never ending in a digit.
    public var prefix: String
    /// The first number of a new production.
    public var start: Int = 1
    /// Digits of the number (zero-padded).
    public var digits: Int = 8
    /// Which top-level duplicates are left out.
    public var dedup: Dedup = .global
    /// A known-file hash list (NSRL RDS or one hash per line), relative to the job file.
    public var denist: String?
    /// The coding field that selects the documents produced (nil: every document).
    public var select: String? = nil
    /// The coding field whose documents are withheld: a slip sheet in the DAT and a
    /// row in `PRIVLOG.csv` (nil: none withheld).
    public var withhold: String? = nil
    /// The privilege claimed in the log for withheld documents.
    public var privilege: String? = nil
    /// Whether `IMAGES/` (one stamped 300-dpi Group 4 TIFF per page) and the Opticon
    /// `DATA/<job>.opt` are written (nil, absent: no; optional so that a job without it hashes as before).
    public var images: Bool? = nil

    public enum Dedup: String, Sendable, Hashable, Codable, CaseIterable {
      /// One copy across custodians.
      case global
      /// One copy per custodian.
      case custodial
      case none
    }

    public init(prefix: String, start: Int = 1, digits: Int = 8, dedup: Dedup = .global, denist: String? = nil) {
      self.prefix = prefix
      self.start = start
      self.digits = digits
      self.dedup = dedup
      self.denist = denist
    }
  }
  /// `report.formats`: the formats `run` writes (default Markdown only); each
  /// beside `reportFile`, with its format's extension.
  public var reportFormats: [ReportFormat] = [.md]
  /// `ocr:` (`mode`, `languages`, `dpi`): how scanned pages and images are
  /// read; nil (the default settings) when the job file does not say.
  public var ocr: OCRSettings? = nil

  /// The unit of a map task.
  public enum MapUnit: String, Sendable, Hashable, Codable, CaseIterable {
    case window, document
  }

  /// The `model` section (Inference owns its type: each backend reads its part).
  public typealias ModelSpec = ModelSettings

  public struct GenerationSpec: Sendable, Hashable, Codable {
    public var maxTokens: Int
    public var temperature: Double
    public var seed: UInt32
    public var stop: [String]
  }

  public struct Prices: Sendable, Hashable, Codable {
    public var promptPerMillion: Double
    public var outputPerMillion: Double
    public var currency: String

    public init(promptPerMillion: Double, outputPerMillion: Double, currency: String = "USD") {
      self.promptPerMillion = promptPerMillion
      self.outputPerMillion = outputPerMillion
      self.currency = currency
    }
  }

  public struct PromptSpec: Sendable, Hashable, Codable {
    /// The template; see `PromptTemplate` for its variables.
    public var prompt: String
    /// A JSON Schema (JSON text) outputs must match, sent where the engine supports it.
    public var jsonSchema: String? = nil
  }

  /// Tokens a prompt format adds around every prompt (a chat template's turn markers).
  public var promptOverheadTokens: Int { model.promptOverheadTokens }

  /// The planning options this job asks for.
  public var planOptions: PlanOptions {
    var options = PlanOptions(
      collapseRepeats: collapseRepeats, question: question, maxWindows: maxWindows, logWindow: logWindow,
      collapseDuplicates: collapseDuplicates, windowPerDocument: mapPer == .document)
    options.semantic = semantic ?? true
    return options
  }
}
