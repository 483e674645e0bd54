// Module RunbookSimulator.
