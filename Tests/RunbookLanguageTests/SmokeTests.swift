import Testing
@testable import RunbookLanguage

@Test func smoke() {
  print(parse("let x = 1 + 2 * 3\nvar y = -a.b[c](d, e: f)\nif a < b { x } else if c { } else { y }").sexpr)
  print(errors("let = 5\nlet y = (1 +\nlet z = [1, 2\nfoo(1 2)\n"))
}
