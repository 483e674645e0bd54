import Foundation
import RunbookRuntime

/// The event stream of `run`, `plan`, `apply`, `snapshot` and `show` with
/// `--format json`: one JSON object per line, each with `event` and `time`,
/// the first a `start` naming the schema, the last a `summary`
/// (docs/events.md). Values are JSON values, never display strings.
public enum RunEvents {
  public static let schema = "runbook-events/v1"

  /// The fields of a plan event (without `time`).
  public static func fields(_ event: PlanEvent) -> [(String, JSON)] {
    switch event {
    case .stepStarted(let step):
      return [("event", .string("step_started")), ("step", step.name.map(JSON.string) ?? .null),
              ("parent", step.parent.map(JSON.string) ?? .null), ("depth", .int(step.depth))]
    case .call(let step, let call):
      return [
        ("event", .string("call")), ("step", step.map(JSON.string) ?? .null), ("builtin", .string(call.builtin)),
        ("arguments", call.argumentValues), ("arguments_text", .string(call.arguments)),
        ("status", .string(call.status.rawValue)), ("changes", .array(call.changes.map(change))),
        ("notes", .array(call.notes.map(JSON.string))),
        ("error", call.errorMessage.map { error(call.errorCode, $0, at: call.errorAt) } ?? .null),
      ]
    case .progress(let p):
      return [("event", .string("progress")), ("step", p.step.map(JSON.string) ?? .null), ("builtin", .string(p.builtin)),
              ("message", .string(p.message)), ("counters", .object(p.counters.map { ($0.0, .int($0.1)) }))]
    case .stepFinished(let step):
      return [
        ("event", .string("step_finished")), ("step", step.name.map(JSON.string) ?? .null),
        ("parent", step.parent.map(JSON.string) ?? .null), ("depth", .int(step.depth)),
        ("status", .string(step.status.rawValue)), ("changes", .int(step.changeCount)),
        ("error", step.errorMessage.map { error(step.errorCode, $0, at: step.errorAt) } ?? .null),
      ]
    }
  }

  /// The counts of a summary (and of a `phase_finished`).
  public static func counts(_ s: PlanSummary) -> [(String, JSON)] {
    [
      ("add", .int(s.toAdd)), ("change", .int(s.toChange)), ("destroy", .int(s.toDestroy)),
      ("steps", .object([("ok", .int(s.stepsOK)), ("changed", .int(s.stepsChanged)), ("failed", .int(s.stepsFailed))])),
      ("calls", .object([("ok", .int(s.callsOK)), ("changed", .int(s.callsChanged)), ("failed", .int(s.callsFailed))])),
    ]
  }

  /// A run's error with where it happened.
  public static func error(_ e: RuntimeError) -> JSON {
    .object([("code", .string(e.code)), ("message", .string(e.message)), ("step", e.stepName.map(JSON.string) ?? .null)]
      + place(SourcePoint(e.range)))
  }

  /// `file`, `line`, `column` of an error (null when it has no place in the source).
  private static func place(_ at: SourcePoint?) -> [(String, JSON)] {
    [("file", at.map { .string($0.file) } ?? .null), ("line", at.map { .int($0.line) } ?? .null),
     ("column", at.map { .int($0.column) } ?? .null)]
  }

  /// One event as a line: its fields and `time` (ISO 8601, milliseconds, UTC).
  public static func line(_ fields: [(String, JSON)], time milliseconds: Int) -> String {
    JSON.object(fields + [("time", .string(timestamp(milliseconds)))]).text
  }

  /// `2026-12-01T21:30:05.123Z`.
  public static func timestamp(_ milliseconds: Int) -> String {
    let base = iso8601(milliseconds)
    let ms = ((milliseconds % 1000) + 1000) % 1000
    let frac = ms < 10 ? "00\(ms)" : ms < 100 ? "0\(ms)" : "\(ms)"
    return String(base.dropLast()) + "." + frac + "Z"
  }

  private static func error(_ code: String?, _ message: String, at: SourcePoint?) -> JSON {
    .object([("code", code.map(JSON.string) ?? .null), ("message", .string(message))] + place(at))
  }

  private static func change(_ c: PlannedChange) -> JSON {
    .object([
      ("action", .string(c.action.rawValue)), ("kind", .string(c.kind)), ("name", .string(c.name)),
      ("address", .string(c.address)),
      ("attributes", .array(c.attributes.map { a in
        .object([("name", .string(a.name)), ("old", attributeValue(a.old)), ("new", attributeValue(a.new)),
                 ("comment", a.comment.map(JSON.string) ?? .null)])
      })),
    ])
  }

  /// An attribute's value as JSON: plans spell values as runbook literals
  /// (`"text"`, `42`, `true`, `null`); anything else (`3 (Running)`) stays text.
  static func attributeValue(_ text: String?) -> JSON {
    guard let text else { return .null }
    if let s = Value.unquote(text) { return .string(s) }
    if let i = Int(text) { return .int(i) }
    switch text {
    case "true": return .bool(true)
    case "false": return .bool(false)
    case "null", "nil": return .null
    default: return .string(text)
    }
  }
}

extension JSON {
  /// A runbook value as JSON: durations as their text, functions and ranges
  /// by how they print, secrets as `(sensitive)`.
  public init(_ v: Value) {
    switch v {
    case .null: self = .null
    case .bool(let b): self = .bool(b)
    case .int(let i): self = .int(i)
    case .float(let d): self = .float(d)
    case .string(let s): self = .string(s)
    case .duration(let ms): self = .string(Value.formatDuration(ms))
    case .list(let l): self = .array(l.items.map(JSON.init))
    case .map(let m):
      self = .object(m.keys.enumerated().map { i, k in
        switch k.storage {
        case .string(let s): return (s, JSON(m.values[i]))
        case .int(let n): return (String(n), JSON(m.values[i]))
        case .bool(let b): return (b ? "true" : "false", JSON(m.values[i]))
        }
      })
    case .range, .function: self = .string(v.repr)
    case .secret: self = .string(Secret.shown)
    }
  }

  /// The same JSON with `transform` applied to every string (keys kept).
  public func mappingStrings(_ transform: (String) -> String) -> JSON {
    switch self {
    case .string(let s): return .string(transform(s))
    case .array(let a): return .array(a.map { $0.mappingStrings(transform) })
    case .object(let o): return .object(o.map { ($0.0, $0.1.mappingStrings(transform)) })
    default: return self
    }
  }
}
