import RunbookRuntime
import Testing

@testable import RunbookREPL

@Suite struct ValueFormatterTests {
  let formatter = ValueFormatter(width: 40)

  @Test func shortValuesAreInline() {
    #expect(formatter.format(.int(42)) == "42")
    #expect(formatter.format(.string("vm-1")) == "\"vm-1\"")
    #expect(formatter.format(.null) == "nil")
    #expect(formatter.format(.duration(90_000)) == "1m30s")
    #expect(formatter.format(.list([.int(1), .int(2)])) == "[1, 2]")
    #expect(formatter.format(.record([:])) == "{}")
  }

  @Test func recordsAreAlignedFieldLines() {
    let value = Value.record(["name": .string("vm-1"), "region": .string("eu"), "tags": .record(["env": .string("dev")])])
    #expect(
      formatter.format(value) == """
        name:   "vm-1"
        region: "eu"
        tags:   {env: "dev"}
        """)
  }

  @Test func longListsAreOneItemPerLine() {
    let items = (1...8).map { Value.string("resource-\($0)") }
    let lines = formatter.format(.list(items)).split(separator: "\n")
    #expect(lines.count == 8)
    #expect(lines.first == "- \"resource-1\"")
  }

  @Test func listOfRecordsIndentsEachRecord() {
    let vms = (1...3).map { Value.record(["name": .string("vm-\($0)"), "size": .string("Standard_B2s")]) }
    #expect(
      formatter.format(.list(vms)) == """
        - name: "vm-1"
          size: "Standard_B2s"
        - name: "vm-2"
          size: "Standard_B2s"
        - name: "vm-3"
          size: "Standard_B2s"
        """)
  }

  @Test func nestedValueTooWideGoesBelowItsField() {
    let long = Value.list((1...12).map { Value.int($0 * 1000) })
    let value = Value.record(["id": .int(1), "samples": long])
    let lines = formatter.format(value).split(separator: "\n").map(String.init)
    #expect(lines[0] == "id:      1")
    #expect(lines[1] == "samples:")
    #expect(lines[2] == "  - 1000")
    #expect(lines.count == 14)
  }

  @Test func oddKeysAreQuoted() {
    let value = Value.record(["two words": .int(2), "a": .bool(true)])
    #expect(formatter.format(value) == "\"two words\": 2\na:           true")
  }
}
