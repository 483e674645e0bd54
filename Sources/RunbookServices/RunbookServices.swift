// Module RunbookServices.
