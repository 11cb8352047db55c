import ArgumentParser
import Foundation
import GRDB
import HTTPBackend
import Inference
import Ingest
import LlamaBackend
import Pipeline
import Segmenter
import Storage

/// Maps errors to the exit codes README documents ("Exit codes"), in this one place.
///
/// Every error type a command can end with has its code here; only an error of a
/// type nobody declared falls through to argument-parser's own mapping (1).
enum ExitCodes {
  /// The job finished with failed tasks (also: `checkpoints verify` removed corrupt ones).
  static let failedTasks: Int32 = 1
  /// A bad flag, job file, input or setting.
  static let usage: Int32 = 2
  /// Another run holds the job's lock.
  static let locked: Int32 = 3
  /// The engine or model cannot start or be reached.
  static let engineUnavailable: Int32 = 4
  /// A file or the workspace could not be read or written: disk full, permissions, a
  /// damaged database, blob or checkpoint, memory exhausted.
  static let storage: Int32 = 5
  /// The job reached its `budget:`; what is done is saved, and raising the budget resumes it.
  static let budgetReached: Int32 = 6
  /// SIGINT or SIGTERM; state is saved.
  static let interrupted: Int32 = 130

  static func code(for error: any Error) -> Int32 {
    switch error {
    case let e as CommandFailure: return e.code
    case is BudgetReached: return budgetReached
    case is PipelineError, is IngestError, is SegmenterError, is SourceLookup.Missing: return usage
    // Schemas and JSON given in a job file.
    case is JSONSchema.SchemaError, is JSONValue.ParseError: return usage
    // OCR that cannot start (a missing language's data) is a setting; an image it cannot read, an input.
    case is OCRError: return usage
    case let e as WorkspaceError: return code(for: e)
    case let e as EngineError:
      if case .interrupted = e { return interrupted }
      return engineUnavailable
    case is LlamaBackendError, is TransportError: return engineUnavailable
    case let e as CheckpointError:
      if case .stateTooLarge = e { return usage }  // raise the store's bound or shorten the prefix
      return storage
    case is CheckpointCorruption, is DatabaseError, is POSIXError: return storage
    case let e as CocoaError: return code(for: e)
    case _ where PipelineError.isStorageFailure(error): return storage
    default:
      let parserCode = Longctx.exitCode(for: error).rawValue
      return parserCode == 64 ? usage : parserCode  // EX_USAGE becomes 2, in this one place
    }
  }

  private static func code(for error: WorkspaceError) -> Int32 {
    switch error {
    case .locked: locked
    case .cannotCreate, .decompressionLimit: usage  // choose another --workspace; an input past the bound
    case .damaged, .blobMissing, .blobCorrupt, .compression: storage
    }
  }

  /// A missing file is a wrong path (2); anything else about a file is storage (5).
  private static func code(for error: CocoaError) -> Int32 {
    switch error.code {
    case .fileNoSuchFile, .fileReadNoSuchFile, .fileReadInvalidFileName, .fileReadUnsupportedScheme: usage
    default: storage
    }
  }

  /// Our one-sentence message, or nil for argument-parser's own errors.
  static func message(for error: any Error) -> String? {
    switch error {
    case let e as CommandFailure: return e.message
    case is ExitCode, is CleanExit, is ValidationError: return nil
    case let e as DatabaseError: return "longctx: the workspace database failed: \(e.description)."
    case let e as LocalizedError: return "longctx: " + (e.errorDescription ?? "\(e)")
    case let e as CocoaError: return "longctx: \(e.localizedDescription)"
    case let e as POSIXError: return "longctx: \(e.localizedDescription)"
    case let e as CheckpointCorruption: return "longctx: a KV checkpoint is damaged: \(e)."
    case let e as SourceLookup.Missing: return "longctx: \(e)."
    case let e as JSONSchema.SchemaError: return "longctx: \(e)."
    case let e as JSONValue.ParseError: return "longctx: \(e)."
    default: return nil
    }
  }
}

/// A failure the command already described, with its exit code.
struct CommandFailure: Error {
  var code: Int32
  var message: String?
}
