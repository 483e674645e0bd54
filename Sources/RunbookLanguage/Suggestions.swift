/// "Did you mean" for every place a name can be wrong: built-ins, fields,
/// params, keywords, labels, meta commands.

/// The candidate closest to a misspelt name, if one is close enough to suggest.
public func closestName(to name: String, in candidates: [String]) -> String? {
  var best: (String, Int)? = nil
  let limit = max(1, (name.count + 2) / 3)
  for c in Set(candidates) where c != name {
    let d = editDistance(name, c)
    // Replacing every character is no resemblance (`c` is not a typo of `a`).
    guard d <= limit, d < max(name.utf8.count, c.utf8.count) else { continue }
    if let b = best, d > b.1 || (d == b.1 && c >= b.0) { continue }
    best = (c, d)
  }
  if let best { return best.0 }
  // No near spelling: an abbreviation (`attached_ci` for `attached_customer_insights`).
  return Set(candidates).filter { $0 != name && abbreviates(name, $0) }.sorted().first
}

/// Whether `short` abbreviates `long` word by word (words split at `_`):
/// each word of `short` is a prefix of the next word of `long`, or the
/// initials of the next few words (`ci` for `customer_insights`).
func abbreviates(_ short: String, _ long: String) -> Bool {
  let s = short.split(separator: "_").map(String.init), l = long.split(separator: "_").map(String.init)
  guard s.count >= 2 || l.count > s.count else { return false }
  func match(_ i: Int, _ j: Int) -> Bool {
    if i == s.count { return j == l.count }
    guard j < l.count else { return false }
    let word = s[i]
    if l[j].hasPrefix(word), match(i + 1, j + 1) { return true }
    if word.count >= 2, j + word.count <= l.count,
      zip(word, l[j..<(j + word.count)]).allSatisfy({ $0 == $1.first }), match(i + 1, j + word.count)
    {
      return true
    }
    return false
  }
  return match(0, 0)
}

/// `; did you mean `x`?` for the closest candidate, or "".
public func didYouMean(_ name: String, in candidates: [String]) -> String {
  closestName(to: name, in: candidates).map { "; did you mean `\($0)`?" } ?? ""
}

/// Levenshtein distance over UTF-8 bytes.
public func editDistance(_ a: String, _ b: String) -> Int {
  let x = Array(a.utf8), y = Array(b.utf8)
  if x.isEmpty { return y.count }
  if y.isEmpty { return x.count }
  var prev = Array(0...y.count)
  var cur = prev
  for i in 1...x.count {
    cur[0] = i
    for j in 1...y.count {
      cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (x[i - 1] == y[j - 1] ? 0 : 1))
    }
    swap(&prev, &cur)
  }
  return prev[y.count]
}
