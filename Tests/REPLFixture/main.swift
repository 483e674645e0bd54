// repl-fixture: the REPL driven by `CalcSession`, a small but real
// language, so the pty tests exercise the REPL without the full interpreter.
//
//   repl-fixture [--no-line-editing] [--stop-on-error]
//
// History goes to $XDG_STATE_HOME/runbook/history, as in `runbook repl`.
import Foundation
import RunbookREPL

var interactive: Bool? = nil
var stopOnError = false
for argument in CommandLine.arguments.dropFirst() {
  switch argument {
  case "--no-line-editing": interactive = false
  case "--stop-on-error": stopOnError = true
  default:
    FileHandle.standardError.write(Data("repl-fixture: unknown option \(argument)\n".utf8))
    exit(64)
  }
}

let options = REPLOptions(
  interactive: interactive, banner: "calc fixture: :help for help, Ctrl-D to quit", stopOnError: stopOnError)
exit(REPL(session: CalcSession(), options: options).run())
