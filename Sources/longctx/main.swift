import LongctxCommands

await Longctx.entry()
