/// An rwx permission triple.
public struct Permissions: Hashable, Sendable {
  public var bits: UInt8  // r = 4, w = 2, x = 1

  public init(bits: UInt8) { self.bits = bits & 7 }
  public static let empty = Permissions(bits: 0)
  public static let all = Permissions(bits: 7)
  public static let traverse = Permissions(bits: 1)

  /// Parses exactly three characters `r|-`, `w|-`, `x|-` (upper case accepted).
  public init?(_ text: Substring) {
    let u = Array(text.lowercased().utf8)
    guard u.count == 3 else { return nil }
    var bits: UInt8 = 0
    switch u[0] { case UInt8(ascii: "r"): bits |= 4; case UInt8(ascii: "-"): break; default: return nil }
    switch u[1] { case UInt8(ascii: "w"): bits |= 2; case UInt8(ascii: "-"): break; default: return nil }
    switch u[2] { case UInt8(ascii: "x"): bits |= 1; case UInt8(ascii: "-"): break; default: return nil }
    self.bits = bits
  }
  public init?(_ text: String) { self.init(Substring(text)) }

  public var text: String {
    (bits & 4 != 0 ? "r" : "-") + (bits & 2 != 0 ? "w" : "-") + (bits & 1 != 0 ? "x" : "-")
  }
  public func union(_ o: Permissions) -> Permissions { Permissions(bits: bits | o.bits) }
  public func intersection(_ o: Permissions) -> Permissions { Permissions(bits: bits & o.bits) }
  public func contains(_ o: Permissions) -> Bool { bits & o.bits == o.bits }
}

/// One access control entry: `[default:]type:[id]:perms`.
public struct AccessControlEntry: Hashable, Sendable {
  public enum Kind: String, Sendable, CaseIterable { case user, group, mask, other }
  public var isDefault: Bool
  public var kind: Kind
  /// Empty for the owner, owning group, mask and other.
  public var id: String
  /// nil only in remove-mode entries.
  public var permissions: Permissions?

  public init(isDefault: Bool = false, kind: Kind, id: String = "", permissions: Permissions?) {
    self.isDefault = isDefault; self.kind = kind; self.id = id; self.permissions = permissions
  }
  public static func group(_ id: String, _ p: String, isDefault: Bool = false) -> AccessControlEntry {
    AccessControlEntry(isDefault: isDefault, kind: .group, id: id, permissions: Permissions(p))
  }

  /// Merge key: scope, type and id.
  public struct Key: Hashable, Sendable {
    public var isDefault: Bool, kind: Kind, id: String
    public init(isDefault: Bool, kind: Kind, id: String) { self.isDefault = isDefault; self.kind = kind; self.id = id }
  }
  public var key: Key { Key(isDefault: isDefault, kind: kind, id: id) }
  public var isNamed: Bool { (kind == .user || kind == .group) && !id.isEmpty }

  public var text: String {
    var s = isDefault ? "default:" : ""
    s += kind.rawValue + ":" + id
    if let permissions { s += ":" + permissions.text }
    return s
  }

  /// Canonical order rank: user::, user:x, group::, group:x, mask::, other::.
  var rank: Int {
    switch kind {
    case .user: return id.isEmpty ? 0 : 1
    case .group: return id.isEmpty ? 2 : 3
    case .mask: return 4
    case .other: return 5
    }
  }
}

/// Why an ACL string did not parse: the service's code, and the entry at fault.
public struct ACLParseError: Error, Sendable, Equatable, CustomStringConvertible {
  public var entry: String
  public var reason: String
  public var description: String { "invalid ACL entry \"\(entry)\": \(reason)" }
  public var serviceError: ServiceError { .invalidACL }
}

/// A POSIX access control list (access and default entries), as `x-ms-acl`.
public struct AccessControlList: Hashable, Sendable {
  public private(set) var entries: [AccessControlEntry]

  public init(_ entries: [AccessControlEntry] = []) {
    self.entries = []
    for e in entries { self.set(e) }
  }

  /// Parses `x-ms-acl`. With `requirePermissions: false` entries may omit the
  /// permissions (remove mode: `mask`, `default:user`, `group:<oid>`).
  public init(parsing text: String, requirePermissions: Bool = true) throws(ACLParseError) {
    var list: [AccessControlEntry] = []
    for raw in text.split(separator: ",", omittingEmptySubsequences: false) {
      let item = raw.trimmingSpaces
      var parts = item.split(separator: ":", omittingEmptySubsequences: false)
      var isDefault = false
      if let first = parts.first, first.lowercased() == "default" {
        isDefault = true
        parts.removeFirst()
      }
      guard let first = parts.first, let kind = AccessControlEntry.Kind(rawValue: first.lowercased()) else {
        throw ACLParseError(entry: String(item), reason: "the type must be user, group, mask or other")
      }
      let id = parts.count > 1 ? String(parts[1]) : ""
      var permissions: Permissions? = nil
      switch parts.count {
      case 1, 2:
        if requirePermissions { throw ACLParseError(entry: String(item), reason: "the permissions are missing") }
      case 3:
        guard let p = Permissions(parts[2]) else {
          throw ACLParseError(
            entry: String(item), reason: "permissions must be exactly three characters r|-, w|-, x|- (e.g. r-x)")
        }
        permissions = p
      default:
        throw ACLParseError(entry: String(item), reason: "expected [default:]type:[id]:permissions")
      }
      if (kind == .mask || kind == .other) && !id.isEmpty {
        throw ACLParseError(entry: String(item), reason: "\(kind.rawValue) entries take no id")
      }
      list.append(AccessControlEntry(isDefault: isDefault, kind: kind, id: id, permissions: permissions))
    }
    self.init(list)
  }

  /// The service's read-back order: access entries then default entries, each
  /// as user::, named users, group::, named groups, mask::, other::.
  public var text: String { canonicalEntries.map(\.text).joined(separator: ",") }
  public var canonicalEntries: [AccessControlEntry] { entries }

  public func entry(_ key: AccessControlEntry.Key) -> AccessControlEntry? { entries.first { $0.key == key } }
  public func permissions(isDefault: Bool = false, _ kind: AccessControlEntry.Kind, id: String = "") -> Permissions? {
    entry(.init(isDefault: isDefault, kind: kind, id: id))?.permissions
  }

  /// Adds or replaces the entry with the same scope, type and id.
  /// Entries are kept in canonical order, so equal ACLs compare equal.
  public mutating func set(_ e: AccessControlEntry) {
    if let i = entries.firstIndex(where: { $0.key == e.key }) {
      entries[i] = e
      return
    }
    let order = { (x: AccessControlEntry) in (x.isDefault ? 1 : 0) * 10 + x.rank }
    let o = order(e)
    let at = entries.lastIndex(where: { order($0) <= o }).map { $0 + 1 } ?? 0
    entries.insert(e, at: at)
  }
  public mutating func remove(_ key: AccessControlEntry.Key) { entries.removeAll { $0.key == key } }

  public var hasDefault: Bool { entries.contains { $0.isDefault } }
  public var accessEntries: AccessControlList { AccessControlList(entries.filter { !$0.isDefault }) }
  public var defaultEntries: [AccessControlEntry] { entries.filter { $0.isDefault } }

  /// `mode=modify`: merges entries keyed on (scope, type, id); existing
  /// entries not named are kept. When named entries change in a scope and the
  /// request carries no mask for it, the mask is recomputed as the union of
  /// the group class (HDFS semantics), so it never hides a granted permission.
  public func merging(_ other: AccessControlList) -> AccessControlList {
    var out = self
    for e in other.entries { out.set(e) }
    // The base default entries come first: a recomputed default mask covers
    // the owning group's `default:group::` as the service stores it.
    out.addDefaultBaseEntries()
    for scope in [false, true] where other.entries.contains(where: { $0.isDefault == scope && $0.isNamed }) {
      let maskKey = AccessControlEntry.Key(isDefault: scope, kind: .mask, id: "")
      if other.entry(maskKey) == nil { out.recomputeMask(isDefault: scope) }
    }
    return out
  }

  /// Whether the mask of its scope limits this entry: named users, named
  /// groups and the owning group (not the owner, `other` or the mask).
  public static func isMasked(_ e: AccessControlEntry) -> Bool {
    e.isNamed || (e.kind == .group && e.id.isEmpty)
  }

  /// `merging` as the ACL built-ins apply it. When the merge widens a
  /// scope's mask (the request names entries and carries no mask for that
  /// scope), every masked entry the request does not name keeps its
  /// effective permissions: its stored permissions are lowered to what the
  /// old mask let through, and the mask is recomputed over the lowered
  /// entries. With `widenOthers` (or an explicit mask in the request) the
  /// plain merge is returned: other entries gain what they store.
  public func merging(_ other: AccessControlList, widenOthers: Bool) -> AccessControlList {
    var out = merging(other)
    if widenOthers { return out }
    for scope in [false, true] where other.entries.contains(where: { $0.isDefault == scope && $0.isNamed }) {
      let maskKey = AccessControlEntry.Key(isDefault: scope, kind: .mask, id: "")
      guard other.entry(maskKey) == nil, let oldMask = entry(maskKey)?.permissions else { continue }
      var lowered = false
      for e in entries where e.isDefault == scope && Self.isMasked(e) && other.entry(e.key) == nil {
        guard let stored = e.permissions else { continue }
        let kept = stored.intersection(oldMask)
        if kept != stored {
          var l = e
          l.permissions = kept
          out.set(l)
          lowered = true
        }
      }
      if lowered { out.recomputeMask(isDefault: scope) }
    }
    return out
  }

  /// The effective permissions of every entry but the masks, by key (nil
  /// for a mask entry or one without permissions).
  public var effectiveByKey: [AccessControlEntry.Key: Permissions] {
    var out: [AccessControlEntry.Key: Permissions] = [:]
    for e in entries where e.kind != .mask {
      if let p = effectivePermissions(e.kind, id: e.id, isDefault: e.isDefault) { out[e.key] = p }
    }
    return out
  }

  /// Every entry whose effective permissions differ between `self` and
  /// `new` (nil: no entry), in `new`'s canonical order then removed ones.
  public func effectiveChanges(to new: AccessControlList) -> [EffectiveChange] {
    let before = effectiveByKey, after = new.effectiveByKey
    var out: [EffectiveChange] = []
    for e in new.entries where e.kind != .mask && before[e.key] != after[e.key] {
      out.append(EffectiveChange(key: e.key, old: before[e.key], new: after[e.key]))
    }
    for e in entries where e.kind != .mask && after[e.key] == nil && before[e.key] != nil {
      out.append(EffectiveChange(key: e.key, old: before[e.key], new: nil))
    }
    return out
  }

  /// `mode=remove`: drops entries matching scope, type and id.
  public func removing(_ other: AccessControlList) -> AccessControlList {
    var out = self
    for e in other.entries { out.remove(e.key) }
    return out
  }

  /// The ACL as the service stores it after a write: a default ACL gets the
  /// base entries it lacks (`addDefaultBaseEntries`), and a scope with named
  /// entries but no mask gets the union of its group class as mask. (Real
  /// ADLS Gen2, like HDFS and `setfacl`: docs/emulator.md, "Default ACLs".)
  public var storedByService: AccessControlList {
    var out = self
    out.addDefaultBaseEntries()
    for scope in [false, true] where out.entry(.init(isDefault: scope, kind: .mask, id: "")) == nil {
      out.recomputeMask(isDefault: scope)
    }
    return out
  }

  /// The base entries of the default ACL that only the service adds: when
  /// the ACL has any default entry, each missing `default:user::`,
  /// `default:group::` and `default:other::` is copied from the access
  /// ACL's `user::`, `group::` (the owning group's entry, not the mask) and
  /// `other::`. Without default entries nothing is added.
  public mutating func addDefaultBaseEntries() {
    guard hasDefault else { return }
    for kind in [AccessControlEntry.Kind.user, .group, .other]
    where entry(.init(isDefault: true, kind: kind, id: "")) == nil {
      guard let p = permissions(kind) else { continue }
      set(AccessControlEntry(isDefault: true, kind: kind, permissions: p))
    }
  }

  /// `addDefaultBaseEntries` on a copy.
  public var withDefaultBaseEntries: AccessControlList {
    var out = self
    out.addDefaultBaseEntries()
    return out
  }

  /// Sets the mask of one scope to the union of named entries and the owning group.
  public mutating func recomputeMask(isDefault: Bool) {
    let groupClass = entries.filter { $0.isDefault == isDefault && ($0.isNamed || ($0.kind == .group && $0.id.isEmpty)) }
    guard groupClass.contains(where: { $0.isNamed }) else { return }
    let union = groupClass.reduce(Permissions.empty) { $0.union($1.permissions ?? .empty) }
    set(AccessControlEntry(isDefault: isDefault, kind: .mask, permissions: union))
  }

  /// What a named user or group (or the owning group) can actually do: its
  /// entry limited by the mask. The owner and `other` are not masked.
  public func effectivePermissions(_ kind: AccessControlEntry.Kind, id: String, isDefault: Bool = false) -> Permissions? {
    guard let p = permissions(isDefault: isDefault, kind, id: id) else { return nil }
    if kind == .other || (kind == .user && id.isEmpty) { return p }
    guard let mask = permissions(isDefault: isDefault, .mask) else { return p }
    return p.intersection(mask)
  }

  /// `x-ms-permissions`: owner, group class (mask if present), other, and `+`
  /// for an extended ACL: any entry beyond `user::`, `group::` and `other::`
  /// (a named entry, a mask or a default entry). That is HDFS's rule (an ACL
  /// is minimal only with exactly those three entries, `AclUtil.isMinimalAcl`),
  /// which ADLS derives from; a listing without `+` then shows the whole ACL.
  public var permissionsString: String {
    let owner = permissions(.user) ?? .empty
    let group = permissions(.mask) ?? permissions(.group) ?? .empty
    let other = permissions(.other) ?? .empty
    let extended = entries.contains { $0.isNamed || $0.isDefault || $0.kind == .mask }
    return owner.text + group.text + other.text + (extended ? "+" : "")
  }

  /// The ACL a new child gets from its parent's default ACL (umask 007; files
  /// get no default ACL and no execute bits from the mode). nil when the
  /// parent has no default ACL.
  public func inherited(isDirectory: Bool) -> AccessControlList? {
    guard hasDefault else { return nil }
    // The default ACL as the service stores it: its missing base entries
    // come from this ACL's access entries.
    let parentDefaults = withDefaultBaseEntries.defaultEntries
    var access: [AccessControlEntry] = []
    let mode: Permissions = isDirectory ? .all : Permissions(bits: 6)
    for e in parentDefaults {
      var a = e
      a.isDefault = false
      if !e.isNamed, let p = e.permissions {
        switch e.kind {
        case .other: a.permissions = .empty
        case .user, .mask, .group: a.permissions = p.intersection(mode)
        }
      }
      access.append(a)
    }
    // Only an ACL without the access entry to copy from (not one the service
    // stores) still lacks a base entry: the create mode gives it (750 / 640
    // with umask 007).
    let base = isDirectory ? AccessControlList.defaultDirectory : AccessControlList.defaultFile
    for b in base.entries where !access.contains(where: { !$0.isNamed && $0.kind == b.kind }) { access.append(b) }
    var out = AccessControlList(access)
    if isDirectory { for e in parentDefaults { out.set(e) } }
    return out
  }

  public static let defaultDirectory = try! AccessControlList(parsing: "user::rwx,group::r-x,other::---")
  public static let defaultFile = try! AccessControlList(parsing: "user::rw-,group::r--,other::---")
}

/// One entry's effective permissions before and after an ACL change.
public struct EffectiveChange: Hashable, Sendable {
  public var key: AccessControlEntry.Key
  public var old: Permissions?
  public var new: Permissions?
  public init(key: AccessControlEntry.Key, old: Permissions?, new: Permissions?) {
    self.key = key; self.old = old; self.new = new
  }
}

/// `x-ms-permissions` in symbolic (`rwxr-x---+`, `rwxrwxrwt`) or octal (`1777`) form.
public struct PathPermissions: Hashable, Sendable {
  public var owner: Permissions, group: Permissions, other: Permissions
  public var sticky: Bool
  public var extendedACL: Bool

  public init(owner: Permissions, group: Permissions, other: Permissions, sticky: Bool = false, extendedACL: Bool = false) {
    self.owner = owner; self.group = group; self.other = other; self.sticky = sticky; self.extendedACL = extendedACL
  }

  public init(parsing text: String) throws(ServiceError) {
    let chars = Array(text)
    if chars.count == 4, chars.allSatisfy({ ("0"..."7").contains($0) }) {
      let d = chars.map { UInt8($0.wholeNumberValue ?? 0) }
      guard d[0] == 0 || d[0] == 1 else { throw .invalidPermission }
      self.init(owner: Permissions(bits: d[1]), group: Permissions(bits: d[2]), other: Permissions(bits: d[3]),
                sticky: d[0] == 1)
      return
    }
    var body = chars
    var extended = false
    if body.count == 10, body.last == "+" { extended = true; body.removeLast() }
    guard body.count == 9 else { throw .invalidPermission }
    let last = body[8]
    var sticky = false
    var otherText = String(body[6..<9])
    if last == "t" || last == "T" {
      sticky = true
      otherText = String(body[6..<8]) + (last == "t" ? "x" : "-")
    }
    guard let o = Permissions(String(body[0..<3])), let g = Permissions(String(body[3..<6])),
      let t = Permissions(otherText)
    else { throw .invalidPermission }
    self.init(owner: o, group: g, other: t, sticky: sticky, extendedACL: extended)
  }

  public var symbolic: String {
    var other = other.text
    if sticky { other = String(other.prefix(2)) + (self.other.bits & 1 != 0 ? "t" : "T") }
    return owner.text + group.text + other + (extendedACL ? "+" : "")
  }
  public var octal: String { "\(sticky ? 1 : 0)\(owner.bits)\(group.bits)\(other.bits)" }
}

extension Substring {
  var trimmingSpaces: Substring {
    var s = self
    while s.first == " " { s.removeFirst() }
    while s.last == " " { s.removeLast() }
    return s
  }
}
