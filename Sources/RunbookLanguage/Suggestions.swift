/// "Did you mean" for every place a name can be wrong: built-ins, fields,
/// params, keywords, labels, meta commands.

/// The candidate closest to a misspelt name, if one is close enough to suggest.
public func closestName(to name: String, in candidates: [String]) -> String? {
  var best: (String, Int)? = nil
  let limit = max(1, (name.count + 2) / 3)
  for c in Set(candidates) where c != name {
    let d = editDistance(name, c)
    if d <= limit, best == nil || d < best!.1 || (d == best!.1 && c < best!.0) { best = (c, d) }
  }
  return best?.0
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
