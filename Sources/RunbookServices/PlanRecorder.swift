import Foundation
import RunbookLanguage
import RunbookRuntime

/// One resource change, rendered Terraform-style: `+` create, `~` update, `-` delete.
public struct PlannedChange: Sendable, Equatable {
  public enum Action: String, Sendable {
    case create, update, delete
    public var symbol: String {
      switch self {
      case .create: return "+"
      case .update: return "~"
      case .delete: return "-"
      }
    }
  }
  /// An attribute: created (`new` only), deleted (`old` only) or updated (both).
  public struct Attribute: Sendable, Equatable {
    public var name: String
    public var old: String?
    public var new: String?
    /// Shown after the value (`# contoso-Dataverse-readers`).
    public var comment: String?
    public init(_ name: String, old: String? = nil, new: String? = nil, comment: String? = nil) {
      self.name = name; self.old = old; self.new = new; self.comment = comment
    }
  }

  public var action: Action
  /// The resource kind, e.g. `group`, `role_assignment`, `acl`.
  public var kind: String
  /// The natural key, e.g. the group's display name or an ACL's path.
  public var name: String
  public var attributes: [Attribute]

  public init(_ action: Action, _ kind: String, _ name: String, _ attributes: [Attribute] = []) {
    self.action = action; self.kind = kind; self.name = name; self.attributes = attributes
  }

  /// `group["contoso-Dataverse-readers"]`.
  public var address: String { "\(kind)[\(Value.quote(name))]" }
}

/// Where in a runbook an error happened.
public struct SourcePoint: Sendable, Equatable {
  public var file: String
  public var line: Int
  public var column: Int
  public init(file: String, line: Int, column: Int) { self.file = file; self.line = line; self.column = column }
  public init?(_ range: SourceRange?) {
    guard let range else { return nil }
    let at = range.startLocation
    self.init(file: range.file.path, line: at.line, column: at.column)
  }
}

/// What one domain built-in call did.
public struct CallRecord: Sendable, Equatable {
  public enum Status: String, Sendable { case ok, changed, failed }
  public var builtin: String
  /// The call's arguments, summarised (`prefix: "contoso", owner: <service_principal "…">`).
  public var arguments: String
  /// The same arguments as JSON values, by label (secrets as `(sensitive)`).
  public var argumentValues: JSON
  public var status: Status
  public var changes: [PlannedChange]
  public var errorCode: String?
  public var errorMessage: String?
  /// The failed call's place in the runbook.
  public var errorAt: SourcePoint? = nil
  /// A remark such as "already exists under another name".
  public var notes: [String]

  public init(builtin: String, arguments: String, argumentValues: JSON = .object([]), status: Status,
              changes: [PlannedChange], errorCode: String? = nil, errorMessage: String? = nil, notes: [String] = []) {
    self.builtin = builtin; self.arguments = arguments; self.argumentValues = argumentValues; self.status = status
    self.changes = changes; self.errorCode = errorCode; self.errorMessage = errorMessage; self.notes = notes
  }
}

/// The built-in calls of one step (or of the top level, `name == nil`).
public struct StepRecord: Sendable, Equatable {
  public enum Status: String, Sendable { case running, ok, changed, failed }
  public var name: String?
  public var calls: [CallRecord]
  public var status: Status
  public var errorCode: String?
  public var errorMessage: String?
  /// Where the step's error happened.
  public var errorAt: SourcePoint? = nil
  /// The step this one runs inside (a nested step, or a step of a called runbook), and how deep.
  public var parent: String? = nil
  public var depth = 0

  public init(name: String?, calls: [CallRecord], status: Status, errorCode: String? = nil, errorMessage: String? = nil,
              parent: String? = nil, depth: Int = 0) {
    self.name = name; self.calls = calls; self.status = status; self.errorCode = errorCode; self.errorMessage = errorMessage
    self.parent = parent; self.depth = depth
  }

  public var changeCount: Int { calls.reduce(0) { $0 + $1.changes.count } }
}

/// How far a long built-in call has got (a wait's polls, a recursive
/// update's items), told while it runs; not part of the plan.
public struct ProgressReport: Sendable, Equatable {
  public var builtin: String
  public var step: String?
  public var depth: Int
  /// One line for people: `waiting for …: 25s elapsed, 3 polls, deadline 10m`.
  public var message: String
  /// The same numbers for programs, by name (`elapsed_ms`, `polls`, …).
  public var counters: [(String, Int)]

  public init(builtin: String, step: String?, depth: Int, message: String, counters: [(String, Int)]) {
    self.builtin = builtin; self.step = step; self.depth = depth; self.message = message; self.counters = counters
  }

  public static func == (a: ProgressReport, b: ProgressReport) -> Bool {
    a.builtin == b.builtin && a.step == b.step && a.message == b.message && a.counters.map(\.0) == b.counters.map(\.0)
      && a.counters.map(\.1) == b.counters.map(\.1)
  }
}

/// An event of the plan stream, as it happens.
public enum PlanEvent: Sendable, Equatable {
  case stepStarted(StepRecord)
  case call(step: String?, CallRecord)
  case progress(ProgressReport)
  case stepFinished(StepRecord)
}

public struct PlanSummary: Sendable, Equatable {
  public var toAdd = 0, toChange = 0, toDestroy = 0
  public var stepsOK = 0, stepsChanged = 0, stepsFailed = 0
  public var callsOK = 0, callsChanged = 0, callsFailed = 0

  /// `Plan: 4 to add, 3 to change, 0 to destroy.`
  public var planLine: String { "Plan: \(toAdd) to add, \(toChange) to change, \(toDestroy) to destroy." }
  /// `Applied: 4 added, 3 changed, 0 destroyed.`
  public var appliedLine: String { "Applied: \(toAdd) added, \(toChange) changed, \(toDestroy) destroyed." }
  /// `Steps: 2 ok, 5 changed, 0 failed.`
  public var stepsLine: String { "Steps: \(stepsOK) ok, \(stepsChanged) changed, \(stepsFailed) failed." }
}

/// Groups the results of domain built-ins by step. The CLI forwards the
/// interpreter's step events (`beginStep`/`endStep`); built-ins call `record`.
public final class PlanRecorder: @unchecked Sendable {
  public private(set) var steps: [StepRecord] = []
  /// Indexes into `steps` of the open steps, innermost last.
  private var open: [Int] = []
  /// Called for every event as it happens (for streaming output).
  public var onEvent: (@Sendable (PlanEvent) -> Void)?

  public init() {}
  /// Steps already recorded (a saved plan), for rendering.
  public init(steps: [StepRecord]) { self.steps = steps }

  public func beginStep(_ name: String) {
    steps.append(StepRecord(name: name, calls: [], status: .running, parent: open.last.flatMap { steps[$0].name },
                            depth: open.count))
    open.append(steps.count - 1)
    onEvent?(.stepStarted(steps[steps.count - 1]))
  }

  public func endStep(_ name: String, error: RuntimeError?) {
    guard let i = open.popLast() else { return }
    var s = steps[i]
    if let error {
      s.status = .failed
      s.errorCode = error.code
      s.errorMessage = error.message
      s.errorAt = SourcePoint(error.range)
    } else {
      // A step that changed nothing itself changed what its nested steps changed.
      let nestedChanged = steps[(i + 1)...].contains { $0.depth > s.depth && $0.status == .changed }
      s.status = nestedChanged || s.calls.contains { $0.status == .changed } ? .changed : .ok
    }
    steps[i] = s
    onEvent?(.stepFinished(s))
  }

  public func record(_ call: CallRecord) {
    let i: Int
    if let last = open.last {
      i = last
    } else if let l = steps.indices.last, steps[l].name == nil {
      i = l
    } else {
      steps.append(StepRecord(name: nil, calls: [], status: .ok))
      i = steps.count - 1
    }
    steps[i].calls.append(call)
    if steps[i].name == nil {
      steps[i].status = steps[i].calls.contains { $0.status == .failed } ? .failed
        : steps[i].calls.contains { $0.status == .changed } ? .changed : .ok
    }
    onEvent?(.call(step: steps[i].name, call))
  }

  /// Tells how far the running built-in has got (streamed, not recorded).
  /// Safe from any thread: it reads only the innermost open step.
  public func progress(builtin: String, message: String, counters: [(String, Int)]) {
    guard let onEvent else { return }
    let step = open.last.map { steps[$0] }
    onEvent(.progress(ProgressReport(builtin: builtin, step: step?.name, depth: step.map { $0.depth + 1 } ?? 0,
                                     message: message, counters: counters)))
  }

  /// All changes recorded so far, in order.
  public var changes: [PlannedChange] { steps.flatMap { $0.calls.flatMap(\.changes) } }

  public var summary: PlanSummary {
    var s = PlanSummary()
    for c in changes {
      switch c.action {
      case .create: s.toAdd += 1
      case .update: s.toChange += 1
      case .delete: s.toDestroy += 1
      }
    }
    for step in steps where step.name != nil {
      switch step.status {
      case .ok: s.stepsOK += 1
      case .changed: s.stepsChanged += 1
      case .failed: s.stepsFailed += 1
      case .running: break
      }
    }
    for call in steps.flatMap(\.calls) {
      switch call.status {
      case .ok: s.callsOK += 1
      case .changed: s.callsChanged += 1
      case .failed: s.callsFailed += 1
      }
    }
    return s
  }

  /// The recorded steps as the events that made them, in order (a saved
  /// plan replayed for `show`): a step's own calls, then its nested steps.
  public var events: [PlanEvent] {
    var out: [PlanEvent] = []
    var open: [StepRecord] = []
    for step in steps {
      while let last = open.last, last.depth >= step.depth {
        out.append(.stepFinished(open.removeLast()))
      }
      guard step.name != nil else {
        out += step.calls.map { .call(step: nil, $0) }
        continue
      }
      var started = step
      started.calls = []
      started.status = .running
      started.errorCode = nil
      started.errorMessage = nil
      started.errorAt = nil
      out.append(.stepStarted(started))
      out += step.calls.map { .call(step: step.name, $0) }
      open.append(step)
    }
    while let last = open.popLast() { out.append(.stepFinished(last)) }
    return out
  }

  /// The plan as text, as it streamed: per step its start line, its built-in
  /// calls with their status and changes, its end line; then the summary.
  public func renderText(color: Bool = false) -> String {
    var renderer = PlanTextRenderer(color: color)
    var out = events.map { renderer.render($0) }.joined()
    let s = summary
    out += "\n" + s.planLine + "\n" + s.stepsLine + "\n"
    return out
  }
}

/// Renders plan events as text lines, like `terraform plan`/`apply`: a
/// step's line when it starts and when it ends, each call as it completes.
public struct PlanTextRenderer: Sendable {
  public var color: Bool
  /// The last call of each open step, to print a step's error once.
  private var lastCall: [CallRecord?] = []

  public init(color: Bool) { self.color = color }

  public mutating func render(_ event: PlanEvent) -> String {
    switch event {
    case .stepStarted(let step):
      lastCall.append(nil)
      // A blank line sets each top-level step apart.
      return (step.depth == 0 ? "\n" : "") + indent(paint("Step \(Value.quote(step.name ?? ""))", "1") + " ...\n", step.depth)
    case .call(let step, let call):
      if step != nil, !lastCall.isEmpty { lastCall[lastCall.count - 1] = call }
      return indent(PlanTextRenderer.renderCall(call, color: color), lastCall.isEmpty ? 0 : depthOfOpen)
    case .progress(let p):
      return indent("  ... \(p.message)\n", max(0, p.depth - 1))
    case .stepFinished(let step):
      let last = lastCall.popLast() ?? nil
      return indent(renderEnd(step, lastCall: last), step.depth)
    }
  }

  /// Open steps nest one level per step; calls sit at the innermost one's depth.
  private var depthOfOpen: Int { max(0, lastCall.count - 1) }

  private func paint(_ s: String, _ code: String) -> String { PlanTextRenderer.paint(s, code, color) }

  static func paint(_ s: String, _ code: String, _ on: Bool) -> String {
    on ? "\u{1B}[\(code)m\(s)\u{1B}[0m" : s
  }

  private func indent(_ text: String, _ depth: Int) -> String {
    guard depth > 0 else { return text }
    let pad = String(repeating: "  ", count: depth)
    return text.split(separator: "\n", omittingEmptySubsequences: false).map { $0.isEmpty ? "" : pad + $0 }
      .joined(separator: "\n")
  }

  /// `Step "…" ........ changed (3 changes)`, and the step's error unless its last call showed it.
  private func renderEnd(_ step: StepRecord, lastCall: CallRecord?) -> String {
    let title = "Step \(Value.quote(step.name ?? ""))"
    var status = step.status.rawValue
    let n = step.changeCount
    if n > 0 { status += " (\(n) change\(n == 1 ? "" : "s"))" }
    let statusColor = step.status == .failed ? "31" : step.status == .changed ? "33" : "32"
    let dots = String(repeating: ".", count: max(3, 78 - title.count - status.count - 2))
    var out = "\(paint(title, "1")) \(dots) \(paint(status, statusColor))\n"
    if step.status == .failed, let message = step.errorMessage {
      let shownByCall = lastCall?.status == .failed && lastCall?.errorMessage == message
      if !shownByCall {
        let code = step.errorCode.map { "[\($0)] " } ?? ""
        out += "  \(paint("Error:", "31")) \(code)\(message.replacingOccurrences(of: "\n", with: "\n         "))\n"
      }
      if n > 0 { out += "  (\(n) change\(n == 1 ? " was" : "s were") made or planned in this step before the failure)\n" }
    }
    return out
  }

  public static func renderCall(_ call: CallRecord, color: Bool = false) -> String {
    let label: String
    switch call.status {
    case .ok: label = paint("ok     ", "32", color)
    case .changed: label = paint("changed", "33", color)
    case .failed: label = paint("failed ", "31", color)
    }
    var out = "  \(label) \(call.builtin)(\(call.arguments))\n"
    for note in call.notes { out += "            # \(note)\n" }
    for change in call.changes { out += renderChange(change, indent: "            ", color: color) }
    if call.status == .failed, let message = call.errorMessage {
      let text = message.replacingOccurrences(of: "\n", with: "\n                   ")
      out += "            \(paint("error:", "31", color)) \(call.errorCode.map { "[\($0)] " } ?? "")\(text)\n"
    }
    return out
  }

  public static func renderChange(_ change: PlannedChange, indent: String, color: Bool = false) -> String {
    let symbolColor = change.action == .create ? "32" : change.action == .update ? "33" : "31"
    let sym = paint(change.action.symbol, symbolColor, color)
    var out = "\(indent)\(sym) \(change.address)"
    if change.attributes.isEmpty { return out + "\n" }
    out += " {\n"
    let width = change.attributes.map(\.name.count).max() ?? 0
    for a in change.attributes {
      let name = a.name.padding(toLength: width, withPad: " ", startingAt: 0)
      let line: String
      switch (a.old, a.new) {
      case let (old?, new?): line = "\(paint("~", "33", color)) \(name) = \(old) -> \(new)"
      case let (nil, new?): line = "\(paint("+", "32", color)) \(name) = \(new)"
      case let (old?, nil): line = "\(paint("-", "31", color)) \(name) = \(old)"
      case (nil, nil): line = "  \(name)"
      }
      out += "\(indent)    \(line)\(a.comment.map { "  # " + $0 } ?? "")\n"
    }
    return out + "\(indent)  }\n"
  }
}

/// A minimal deterministic JSON writer (object keys sorted).
public indirect enum JSON: Sendable, Equatable {
  case null, bool(Bool), int(Int), float(Double), string(String), array([JSON]), object([(String, JSON)])

  public static func == (a: JSON, b: JSON) -> Bool { a.text == b.text }

  public var text: String {
    switch self {
    case .null: return "null"
    case .bool(let b): return b ? "true" : "false"
    case .int(let i): return String(i)
    case .float(let d): return d.isFinite ? "\(d)" : "null"
    case .string(let s): return JSON.escape(s)
    case .array(let items): return "[" + items.map(\.text).joined(separator: ",") + "]"
    case .object(let fields):
      return "{" + fields.sorted { $0.0 < $1.0 }.map { JSON.escape($0.0) + ":" + $0.1.text }.joined(separator: ",") + "}"
    }
  }

  public static func escape(_ s: String) -> String {
    var out = "\""
    for u in s.unicodeScalars {
      switch u {
      case "\"": out += "\\\""
      case "\\": out += "\\\\"
      case "\n": out += "\\n"
      case "\r": out += "\\r"
      case "\t": out += "\\t"
      default:
        if u.value < 0x20 {
          let h = String(u.value, radix: 16)
          out += "\\u" + String(repeating: "0", count: 4 - h.count) + h
        } else {
          out.unicodeScalars.append(u)
        }
      }
    }
    return out + "\""
  }
}
