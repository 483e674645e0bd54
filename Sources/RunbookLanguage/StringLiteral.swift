/// `text` as a runbook string literal: quoted, with escapes for quotes,
/// backslashes, control characters and `${` (so it is not read as interpolation).
public func quotedStringLiteral(_ text: String) -> String {
  var out = "\""
  let scalars = Array(text.unicodeScalars)
  for (i, ch) in scalars.enumerated() {
    switch ch {
    case "\"": out += "\\\""
    case "\\": out += "\\\\"
    case "\n": out += "\\n"
    case "\t": out += "\\t"
    case "\r": out += "\\r"
    case "\0": out += "\\0"
    case "$" where i + 1 < scalars.count && scalars[i + 1] == "{": out += "\\$"
    default:
      if ch.value < 0x20 { out += "\\u{\(String(ch.value, radix: 16))}" } else { out.unicodeScalars.append(ch) }
    }
  }
  return out + "\""
}

/// The text a `quotedStringLiteral` spells, or nil when `literal` is not one.
public func unquotedStringLiteral(_ literal: String) -> String? {
  let scalars = Array(literal.unicodeScalars)
  guard scalars.count >= 2, scalars.first == "\"", scalars.last == "\"" else { return nil }
  var out = String.UnicodeScalarView()
  var i = 1
  while i < scalars.count - 1 {
    let ch = scalars[i]
    if ch == "\"" { return nil }
    guard ch == "\\" else {
      out.append(ch)
      i += 1
      continue
    }
    guard i + 1 < scalars.count - 1 else { return nil }
    let next = scalars[i + 1]
    i += 2
    switch next {
    case "\"": out.append("\"")
    case "\\": out.append("\\")
    case "n": out.append("\n")
    case "t": out.append("\t")
    case "r": out.append("\r")
    case "0": out.append("\0")
    case "$": out.append("$")
    case "u":
      guard i < scalars.count - 1, scalars[i] == "{", let close = scalars[i...].firstIndex(of: "}"),
        let value = UInt32(String(String.UnicodeScalarView(scalars[(i + 1)..<close])), radix: 16),
        let scalar = Unicode.Scalar(value)
      else { return nil }
      out.append(scalar)
      i = close + 1
    default: return nil
    }
  }
  return String(out)
}
