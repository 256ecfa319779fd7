import BullpenCLI

await BullpenCommand.runMain()
