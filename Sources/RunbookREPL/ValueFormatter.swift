import RunbookRuntime

/// Lays out a REPL result for reading: short values inline, records
/// (non-empty maps) as aligned `field: value` lines, and lists that do not
/// fit on one line as one `- item` per line. Nested values stay inline when
/// they fit in the remaining width, and are indented by two spaces when not.
///
///     name:   "vm-1"
///     region: "westeurope"
///     tags:   {env: "dev"}
public struct ValueFormatter: Sendable {
  /// The line width to fit into (the terminal's columns).
  public var width: Int

  public init(width: Int = 80) { self.width = max(20, width) }

  /// The formatted value, without a trailing newline.
  public func format(_ value: Value) -> String {
    lines(value, width: width).joined(separator: "\n")
  }

  private func lines(_ value: Value, width: Int) -> [String] {
    switch value {
    case .map(let map) where map.count > 0:
      return recordLines(map, width: width)
    case .list, .range:
      let inline = value.repr
      guard inline.count > width, let items = value.asList, !items.isEmpty else { return [inline] }
      return items.flatMap { item in indented(lines(item, width: width - 2), first: "- ") }
    default:
      return [value.repr]
    }
  }

  private func recordLines(_ map: MapBox, width: Int) -> [String] {
    let keys = map.keys.map(Value.keyRepr)
    let keyWidth = keys.map(\.count).max() ?? 0
    var out: [String] = []
    for (i, key) in keys.enumerated() {
      let value = map.values[i]
      let label = key + ":"
      let padded = label + String(repeating: " ", count: keyWidth - key.count + 1)
      let inline = value.repr
      if !value.isContainer || inline.count <= width - padded.count {
        out.append(padded + inline)
      } else {
        out.append(label)
        out += lines(value, width: width - 2).map { "  " + $0 }
      }
    }
    return out
  }

  private func indented(_ lines: [String], first: String) -> [String] {
    lines.enumerated().map { i, line in (i == 0 ? first : String(repeating: " ", count: first.count)) + line }
  }
}

extension Value {
  fileprivate var isContainer: Bool {
    switch self {
    case .list, .map, .range: return true
    default: return false
    }
  }
}
