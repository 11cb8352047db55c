import Ingest
import LongctxCommands

// Process-wide state belongs to the executable: the SIGBUS guard that lets
// ingest map large logs safely (`MappedFile`).
MappedFileGuard.install()
await Longctx.entry()
