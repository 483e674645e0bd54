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
