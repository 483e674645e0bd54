// Module RunbookREPL.
