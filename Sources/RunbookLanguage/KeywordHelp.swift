/// One explanation per keyword, for `:help KEYWORD` in the REPL (and any
/// other tool that explains the language). Kept beside the keyword list so a
/// new keyword cannot go unexplained: the switch is exhaustive.
extension Keyword {
  /// The keyword's form and what it does, in a few lines.
  public var help: String {
    switch self {
    case .let:
      return "let NAME = EXPR\n  An immutable binding: NAME cannot be reassigned, and its list or map cannot be modified."
    case .var:
      return "var NAME = EXPR\n  A mutable binding: NAME = EXPR, NAME[i] = EXPR, NAME.field = EXPR, +=, -=, *=, /= are allowed."
    case .fn:
      return "fn NAME(a, b = default) { BODY }   or   fn (a) { BODY } as a value\n  A function; its value is what `return` gives, else its last expression, else nil."
    case .return:
      return "return [EXPR]\n  Leaves the enclosing function with EXPR (or nil)."
    case .if:
      return "if COND { } else if COND { } else { }\n  Runs the first branch whose condition is truthy (only nil and false are falsy)."
    case .else:
      return "else { }   or   else if COND { }\n  The branch of an `if` taken when no condition before it held."
    case .for:
      return "for X in LIST_OR_RANGE { }   for K, V in MAP { }   for I, X in LIST { }\n  Runs the body once per element."
    case .in:
      return "X in COLLECTION   (also `not in`; and the `in` of `for X in ...`)\n  Membership: an element of a list, a key of a map, a substring of a string."
    case .while:
      return "while COND { }\n  Runs the body as long as COND is truthy."
    case .break:
      return "break\n  Leaves the innermost `for` or `while` loop."
    case .continue:
      return "continue\n  Goes on with the next iteration of the innermost loop."
    case .step:
      return "step \"NAME\" { BODY }\n  A named unit of work: grouped in plans and journals, named in errors; its value is the body's last expression."
    case .param:
      return "param NAME: TYPE = DEFAULT \"doc\"   (top level)\n  A runbook input: given as --param NAME=VALUE (or :load FILE NAME=VALUE); TYPE is string, int, float, bool, duration, list, map or any."
    case .require:
      return "require COND, \"message\"\n  Fails the run with the message when COND is not truthy."
    case .fail:
      return "fail \"message\"   or   fail \"message\", \"code\"\n  Stops the run with an error (catchable with try/catch)."
    case .try:
      return "try { BODY } catch e { HANDLER }\n  Runs HANDLER when BODY fails; e.message, e.code, e.step, e.line and e.details describe the error."
    case .catch:
      return "catch [NAME] { HANDLER }\n  The handler of a `try`; NAME is bound to the error."
    case .output:
      return "output NAME = EXPR   (top level)\n  A result of the runbook, printed at the end of a run."
    case .import:
      return "import \"lib.runbook\"   (top level)\n  Runs another file first (once), relative to this one; its names become visible. In the REPL use :load FILE."
    case .true, .false:
      return "true, false\n  The two bool values."
    case .nil:
      return "nil\n  The absence of a value; falsy, like false."
    case .and:
      return "A and B\n  Short-circuit: B is evaluated only when A is truthy; yields the deciding operand."
    case .or:
      return "A or B\n  Short-circuit: B is evaluated only when A is falsy; yields the deciding operand."
    case .not:
      return "not X   (also `A not in B`)\n  true when X is falsy."
    }
  }
}
