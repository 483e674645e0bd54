/// A saved plan (`runbook plan --out PLAN.json`), versioned JSON: what was
/// planned against which runbook and params, every change in order with the
/// service writes that make it, the fingerprint of everything the plan read,
/// and how the plan ended. `runbook apply PLAN.json` makes exactly these
/// changes or stops. Format documented in docs/plan-format.md.
public struct PlanFile: Sendable, Equatable {
  public static let currentFormat = "runbook-plan/v1"

  public struct Outcome: Sendable, Equatable {
    public var succeeded: Bool
    /// The step the plan failed in, if any.
    public var step: String?
    public var errorCode: String?
    public var errorMessage: String?
    public var file: String?
    public var line: Int?
    public var column: Int?
    public init(succeeded: Bool, step: String? = nil, errorCode: String? = nil, errorMessage: String? = nil,
                file: String? = nil, line: Int? = nil, column: Int? = nil) {
      self.succeeded = succeeded; self.step = step; self.errorCode = errorCode; self.errorMessage = errorMessage
      self.file = file; self.line = line; self.column = column
    }
  }

  public var createdAt: String
  /// `live` (reads real, writes simulated) or `state` (a state file).
  public var mode: String
  /// The state file of a `state` plan; the tenant id of a `live` one.
  public var source: String
  public var runbookPath: String
  /// A hash of the runbook's text: an apply refuses a runbook that changed.
  public var runbookFingerprint: String
  /// Param values as given (`--param` text); secret ones are `(sensitive)`.
  public var params: [String: String]
  public var redactedParams: [String]
  public var paramsFile: String?
  public var steps: [StepRecord]
  public var writes: [PlannedWrites.Entry]
  public var reads: [ReadFingerprint]
  public var outputs: [(name: String, text: String)]
  public var outcome: Outcome

  public init(createdAt: String, mode: String, source: String, runbookPath: String, runbookFingerprint: String,
              params: [String: String], redactedParams: [String], paramsFile: String?, steps: [StepRecord],
              writes: [PlannedWrites.Entry], reads: [ReadFingerprint], outputs: [(name: String, text: String)],
              outcome: Outcome) {
    self.createdAt = createdAt; self.mode = mode; self.source = source; self.runbookPath = runbookPath
    self.runbookFingerprint = runbookFingerprint; self.params = params; self.redactedParams = redactedParams
    self.paramsFile = paramsFile; self.steps = steps; self.writes = writes; self.reads = reads; self.outputs = outputs
    self.outcome = outcome
  }

  public static func == (a: PlanFile, b: PlanFile) -> Bool { a.json.text == b.json.text }

  /// The fingerprint of a runbook's source text.
  public static func fingerprint(ofSource text: String) -> String { StableID.guid(["runbook-source", text]) }

  public var summary: PlanSummary { PlanRecorder(steps: steps).summary }

  // MARK: JSON

  public var json: WireJSON {
    var outcomeJSON: [String: WireJSON] = ["status": .string(outcome.succeeded ? "succeeded" : "failed")]
    if !outcome.succeeded {
      outcomeJSON["step"] = WireJSON(outcome.step)
      var e: [String: WireJSON] = [:]
      e["code"] = WireJSON(outcome.errorCode)
      e["message"] = WireJSON(outcome.errorMessage)
      e["file"] = WireJSON(outcome.file)
      e["line"] = outcome.line.map { WireJSON($0) } ?? .null
      e["column"] = outcome.column.map { WireJSON($0) } ?? .null
      outcomeJSON["error"] = .object(e)
    }
    let s = summary
    var o: [String: WireJSON] = [:]
    o["format"] = .string(Self.currentFormat)
    o["created_at"] = .string(createdAt)
    o["mode"] = .string(mode)
    o["source"] = .string(source)
    o["runbook"] = .object(["path": .string(runbookPath), "fingerprint": .string(runbookFingerprint)])
    o["params"] = .object(params.mapValues { WireJSON.string($0) })
    o["redacted_params"] = .array(redactedParams.sorted().map { WireJSON.string($0) })
    o["params_file"] = WireJSON(paramsFile)
    o["summary"] = .object(["add": WireJSON(s.toAdd), "change": WireJSON(s.toChange), "destroy": WireJSON(s.toDestroy)])
    o["steps"] = .array(steps.map(\.wireJSON))
    var writeList: [WireJSON] = []
    for (i, e) in writes.enumerated() {
      var w: [String: WireJSON] = ["op": .string(e.write.op), "target": .string(e.write.target), "args": .object(e.write.args)]
      w["index"] = WireJSON(i)
      w["created_id"] = WireJSON(e.createdID)
      writeList.append(.object(w))
    }
    o["writes"] = .array(writeList)
    o["reads"] = .array(reads.map { r -> WireJSON in
      var f: [String: WireJSON] = ["read": r.read.json, "fingerprint": .string(r.fingerprint)]
      if let items = r.items { f["items"] = .array(items.map { .string($0) }) }
      return .object(f)
    })
    o["outputs"] = .array(outputs.map { x -> WireJSON in .object(["name": .string(x.name), "value": .string(x.text)]) })
    o["outcome"] = .object(outcomeJSON)
    return .object(o)
  }

  public init(json j: WireJSON) throws(PlanFileError) {
    func fail(_ what: String) -> PlanFileError { PlanFileError(message: what) }
    guard case .object = j else { throw fail("a plan file holds one JSON object") }
    guard let format = j["format"]?.string else { throw fail("`format` is missing: this is not a runbook plan file") }
    guard format == Self.currentFormat else {
      throw fail("unsupported plan format \"\(format)\"; this runbook reads \"\(Self.currentFormat)\"")
    }
    guard let path = j["runbook"]?["path"]?.string, let fp = j["runbook"]?["fingerprint"]?.string else {
      throw fail("`runbook.path` and `runbook.fingerprint` are required")
    }
    var params: [String: String] = [:]
    if case .object(let o)? = j["params"] {
      for (k, v) in o {
        guard let s = v.string else { throw fail("`params.\(k)` must be a string") }
        params[k] = s
      }
    }
    var steps: [StepRecord] = []
    for (i, s) in (j["steps"]?.array ?? []).enumerated() {
      guard let step = StepRecord(wireJSON: s) else { throw fail("`steps[\(i)]` is not a step record") }
      steps.append(step)
    }
    var writes: [PlannedWrites.Entry] = []
    for (i, w) in (j["writes"]?.array ?? []).enumerated() {
      guard let write = ServiceWrite(json: w) else { throw fail("`writes[\(i)]` is not a change") }
      writes.append(PlannedWrites.Entry(write: write, createdID: w["created_id"]?.string))
    }
    var reads: [ReadFingerprint] = []
    for (i, r) in (j["reads"]?.array ?? []).enumerated() {
      guard let rj = r["read"], let read = ServiceRead(json: rj), let f = r["fingerprint"]?.string else {
        throw fail("`reads[\(i)]` is not a read fingerprint")
      }
      reads.append(ReadFingerprint(read: read, fingerprint: f, items: r["items"]?.array?.compactMap(\.string)))
    }
    let outputs = (j["outputs"]?.array ?? []).compactMap { o -> (name: String, text: String)? in
      guard let n = o["name"]?.string, let v = o["value"]?.string else { return nil }
      return (n, v)
    }
    guard let status = j["outcome"]?["status"]?.string, status == "succeeded" || status == "failed" else {
      throw fail("`outcome.status` must be \"succeeded\" or \"failed\"")
    }
    let e = j["outcome"]?["error"]
    self.init(
      createdAt: j["created_at"]?.string ?? "", mode: j["mode"]?.string ?? "live", source: j["source"]?.string ?? "",
      runbookPath: path, runbookFingerprint: fp, params: params,
      redactedParams: (j["redacted_params"]?.array ?? []).compactMap(\.string), paramsFile: j["params_file"]?.string,
      steps: steps, writes: writes, reads: reads, outputs: outputs,
      outcome: Outcome(succeeded: status == "succeeded", step: j["outcome"]?["step"]?.string, errorCode: e?["code"]?.string,
                       errorMessage: e?["message"]?.string, file: e?["file"]?.string, line: e?["line"]?.int,
                       column: e?["column"]?.int))
  }
}

public struct PlanFileError: Error, Sendable, CustomStringConvertible {
  public var message: String
  public var description: String { message }
}

extension StepRecord {
  public var wireJSON: WireJSON {
    var o: [String: WireJSON] = [:]
    o["name"] = WireJSON(name)
    o["status"] = .string(status.rawValue)
    o["error_code"] = WireJSON(errorCode)
    o["error_message"] = WireJSON(errorMessage)
    o["error_at"] = errorAt.map(\.wireJSON) ?? .null
    o["calls"] = .array(calls.map(\.wireJSON))
    o["parent"] = WireJSON(parent)
    o["depth"] = WireJSON(depth)
    return .object(o)
  }

  public init?(wireJSON j: WireJSON) {
    guard let statusText = j["status"]?.string, let status = Status(rawValue: statusText) else { return nil }
    var calls: [CallRecord] = []
    for c in j["calls"]?.array ?? [] {
      guard let call = CallRecord(wireJSON: c) else { return nil }
      calls.append(call)
    }
    self.init(name: j["name"]?.string, calls: calls, status: status, errorCode: j["error_code"]?.string,
              errorMessage: j["error_message"]?.string, parent: j["parent"]?.string, depth: j["depth"]?.int ?? 0)
    errorAt = j["error_at"].flatMap(SourcePoint.init(wireJSON:))
  }
}

extension CallRecord {
  public var wireJSON: WireJSON {
    var o: [String: WireJSON] = [:]
    o["builtin"] = .string(builtin)
    o["arguments"] = .string(arguments)
    o["argument_values"] = argumentValues.wire
    o["status"] = .string(status.rawValue)
    o["changes"] = .array(changes.map(\.wireJSON))
    o["error_code"] = WireJSON(errorCode)
    o["error_message"] = WireJSON(errorMessage)
    o["error_at"] = errorAt.map(\.wireJSON) ?? .null
    o["notes"] = .array(notes.map { WireJSON.string($0) })
    return .object(o)
  }

  public init?(wireJSON j: WireJSON) {
    guard let builtin = j["builtin"]?.string, let statusText = j["status"]?.string, let status = Status(rawValue: statusText)
    else { return nil }
    var changes: [PlannedChange] = []
    for c in j["changes"]?.array ?? [] {
      guard let change = PlannedChange(wireJSON: c) else { return nil }
      changes.append(change)
    }
    self.init(builtin: builtin, arguments: j["arguments"]?.string ?? "",
              argumentValues: j["argument_values"].map(JSON.init(wire:)) ?? .object([]), status: status, changes: changes,
              errorCode: j["error_code"]?.string, errorMessage: j["error_message"]?.string,
              notes: (j["notes"]?.array ?? []).compactMap(\.string))
    errorAt = j["error_at"].flatMap(SourcePoint.init(wireJSON:))
  }
}

extension PlannedChange {
  public var wireJSON: WireJSON {
    var o: [String: WireJSON] = [:]
    o["action"] = .string(action.rawValue)
    o["kind"] = .string(kind)
    o["name"] = .string(name)
    o["attributes"] = .array(attributes.map { a -> WireJSON in
      .object(["name": .string(a.name), "old": WireJSON(a.old), "new": WireJSON(a.new), "comment": WireJSON(a.comment)])
    })
    return .object(o)
  }

  public init?(wireJSON j: WireJSON) {
    guard let actionText = j["action"]?.string, let action = Action(rawValue: actionText), let kind = j["kind"]?.string,
      let name = j["name"]?.string
    else { return nil }
    let attributes = (j["attributes"]?.array ?? []).compactMap { a -> Attribute? in
      guard let n = a["name"]?.string else { return nil }
      return Attribute(n, old: a["old"]?.string, new: a["new"]?.string, comment: a["comment"]?.string)
    }
    self.init(action, kind, name, attributes)
  }
}

extension JSON {
  /// As the plan file's JSON.
  var wire: WireJSON {
    switch self {
    case .null: return .null
    case .bool(let b): return .bool(b)
    case .int(let i): return .number(Double(i))
    case .float(let d): return .number(d)
    case .string(let s): return .string(s)
    case .array(let a): return .array(a.map(\.wire))
    case .object(let o): return .object(Dictionary(o.map { ($0.0, $0.1.wire) }, uniquingKeysWith: { a, _ in a }))
    }
  }

  /// From the plan file's JSON (integral numbers as ints; object keys sorted).
  init(wire: WireJSON) {
    switch wire {
    case .null: self = .null
    case .bool(let b): self = .bool(b)
    case .number(let d):
      if d == d.rounded(), abs(d) < 9e15 { self = .int(Int(d)) } else { self = .float(d) }
    case .string(let s): self = .string(s)
    case .array(let a): self = .array(a.map(JSON.init(wire:)))
    case .object(let o): self = .object(o.sorted { $0.key < $1.key }.map { ($0.key, JSON(wire: $0.value)) })
    }
  }
}

extension SourcePoint {
  var wireJSON: WireJSON { .object(["file": .string(file), "line": WireJSON(line), "column": WireJSON(column)]) }
  init?(wireJSON j: WireJSON) {
    guard let file = j["file"]?.string, let line = j["line"]?.int, let column = j["column"]?.int else { return nil }
    self.init(file: file, line: line, column: column)
  }
}
