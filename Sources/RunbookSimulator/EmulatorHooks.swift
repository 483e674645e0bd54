import RunbookServices

extension PathTree {
  /// Injects (or clears, with nil) a failure for setting the ACL of `node`;
  /// the emulator's `fail-path` faults use this around one request.
  public func setInjectedFault(_ node: Node, _ message: String?) { faults[node] = message }
  /// The injected failure of `node`, if any.
  public func injectedFault(_ node: Node) -> String? { faults[node] }
}
