import XCTest
import Tokenization

/// Unit tests of the Jinja subset: whitespace control, loops, errors and the
/// safety bounds. Exact agreement with transformers on whole templates is
/// checked by ChatTemplateFixtureTests.
final class JinjaInterpreterTests: XCTestCase {
    private func render(_ source: String, _ variables: [String: JinjaValue] = [:]) throws -> String {
        try JinjaTemplate(source).render(variables, now: { JinjaDateTime(year: 2024, month: 7, day: 26) })
    }

    private func assertThrows(_ body: @autoclosure () throws -> String, kind: JinjaError.Kind, containing: String,
                              line: UInt = #line) {
        do {
            let output = try body()
            XCTFail("expected a \(kind) error, rendered \(output.debugDescription)", line: line)
        } catch let error as JinjaError {
            XCTAssertEqual(error.kind, kind, "\(error)", line: line)
            XCTAssertTrue(error.description.contains(containing), "\(error) lacks \(containing)", line: line)
        } catch {
            XCTFail("expected a JinjaError, got \(error)", line: line)
        }
    }

    func testWhitespaceControlAndTrimBlocks() throws {
        // `-` strips every whitespace character on its side, newlines included.
        XCTAssertEqual(try render("a  \n {{- 'b' -}} \n  c"), "abc")
        // trim_blocks drops the one newline after a block tag; lstrip_blocks the indentation before it.
        XCTAssertEqual(try render("x\n    {% if true %}\n    y\n    {% endif %}\nz"), "x\n    y\nz")
        // `{{ }}` is not a block: neither trimmed nor lstripped.
        XCTAssertEqual(try render("  {{ 1 }}\nn"), "  1\nn")
        // `+` keeps what lstrip_blocks and trim_blocks would remove.
        XCTAssertEqual(try render("  {%+ if true +%}\nk{% endif %}"), "  \nk")
        // Comments vanish and trim like blocks.
        XCTAssertEqual(try render("a{# note #}\nb {#- x -#} c"), "abc")
        // One trailing newline of the template is dropped, as Jinja does.
        XCTAssertEqual(try render("line\n"), "line")
    }

    func testLoopVariablesFilterElseBreakAndContinue() throws {
        let out = try render("""
            {%- for x in items -%}
            {{ loop.index0 }}{{ loop.index }}{{ loop.length }}{{ 'F' if loop.first }}{{ 'L' if loop.last }};
            {%- endfor %}
            """, ["items": .array([.string("a"), .string("b"), .string("c")])])
        XCTAssertEqual(out, "013F;123;233L;")
        XCTAssertEqual(try render("{% for i in range(10) if i is odd %}{{ i }}{% endfor %}"), "13579")
        XCTAssertEqual(try render("{% for i in [] %}x{% else %}empty{% endfor %}"), "empty")
        XCTAssertEqual(try render("{% for i in range(9) %}{% if i == 2 %}{% continue %}{% endif %}"
            + "{% if i == 5 %}{% break %}{% endif %}{{ i }}{% endfor %}"), "0134")
        XCTAssertEqual(try render("{% for k, v in {'a': 1, 'b': 2}.items() %}{{ k }}{{ v }}{% endfor %}"), "a1b2")
    }

    func testScopingAndNamespace() throws {
        // A plain `set` inside a loop does not leak out; a namespace attribute does.
        let out = try render("""
            {%- set n = 0 %}{% set ns = namespace(n=0) %}
            {%- for i in range(3) %}{% set n = n + 1 %}{% set ns.n = ns.n + 1 %}{% endfor -%}
            {{ n }} {{ ns.n }}
            """)
        XCTAssertEqual(out, "0 3")
    }

    func testMacrosAndTupleSet() throws {
        XCTAssertEqual(try render("""
            {%- macro tag(name, body='', close=true) -%}
            <{{ name }}>{{ body }}{% if close %}</{{ name }}>{% endif %}{{ varargs | length }}
            {%- endmacro -%}
            {{ tag('a') }}|{{ tag('b', 'x', false) }}|{{ tag(body='y', name='c') }}|{{ tag('d', 'z', true, 7, 8) }}
            """), "<a></a>0|<b>x0|<c>y</c>0|<d>z</d>2")
        // A macro sees top-level variables but not the caller's loop variables; its sets stay local.
        XCTAssertEqual(try render("""
            {%- set top = 'T' %}{% macro m() %}{{ top }}{{ i is defined }}{% set top = 'inner' %}{% endmacro -%}
            {%- for i in [1] %}{{ m() }}{% endfor %}{{ top }}
            """), "TFalseT")
        XCTAssertEqual(try render("{% set a, b = 1, 'two' %}{{ a }}{{ b }}{% set c, d = [3, 4] %}{{ c + d }}"), "1two7")
        // Unbounded recursion stops at the nesting limit instead of overflowing the stack.
        assertThrows(try render("{% macro r(n) %}{{ r(n + 1) }}{% endmacro %}{{ r(0) }}"), kind: .limit,
                     containing: "nested")
    }

    func testExpressionsFollowPythonSemantics() throws {
        let messages: JinjaValue = .array([
            .object(JinjaObject([("role", .string("system")), ("content", .string(" sys "))])),
            .object(JinjaObject([("role", .string("user")), ("content", .string("hi"))])),
        ])
        XCTAssertEqual(try render("{{ messages[1:] | length }}|{{ messages[0]['content'] | trim }}|"
            + "{{ messages[-1].role }}|{{ messages | selectattr('role', 'equalto', 'user') | list | length }}",
            ["messages": messages]), "1|sys|user|1")
        XCTAssertEqual(try render("{{ 'a' ~ 1 ~ none }} {{ 'a' + 'b' }} {{ -7 // 2 }} {{ -7 % 3 }} {{ 1 + 2 * 3 }}"),
                       "a1None ab -4 2 7")
        XCTAssertEqual(try render("{{ x is defined }} {{ none is none }} {{ 'x' is string }} {{ 'b' in 'abc' }} "
            + "{{ not (1 == 1.0) }} {{ [1, 'a'] }}"), "False True True True False [1, 'a']")
        XCTAssertEqual(try render("{{ {'b': [1, none], 'a': 'é\"'} | tojson }}"), "{\"b\": [1, null], \"a\": \"é\\\"\"}")
        XCTAssertEqual(try render("{{ strftime_now('%d %b %Y') }}"), "26 Jul 2024")
        XCTAssertEqual(try render("{{ 'a,b'.split(',') }} {{ '<think>x</think>y'.split('</think>')[-1] }}"),
                       "['a', 'b'] y")
        XCTAssertEqual(try render("{{ 'a,,b'.split(',') }} {{ ' a  b '.split() }} {{ 'a b c'.split(' ', 1) }}"),
                       "['a', '', 'b'] ['a', 'b'] ['a', 'b c']")
        XCTAssertEqual(try render("{{ 'a-b-c'.replace('-', '+', 1) }} {{ 'ab' | replace('', '-') }} "
            + "{{ 'héé' | replace('é', 'e') }} {{ 'aaa'.replace('aa', 'b') }}"), "a+b-c -a-b- hee ba")
    }

    func testRaiseExceptionBecomesAThrownError() {
        assertThrows(try render("ok\n{{ raise_exception('roles must alternate') }}"), kind: .raised,
                     containing: "roles must alternate")
        do {
            _ = try render("{% if true %}\n{{ raise_exception('stop here') }}{% endif %}")
        } catch let error as JinjaError {
            XCTAssertEqual(error.message, "stop here")
            XCTAssertEqual(error.line, 2)
        } catch {
            XCTFail("expected a JinjaError, got \(error)")
        }
    }

    func testRuntimeAndSyntaxErrorsSayWhatAndWhere() {
        assertThrows(try render("{{ missing.attr }}"), kind: .runtime, containing: "'missing' to be defined")
        assertThrows(try render("{{ 'a' | frobnicate }}"), kind: .runtime, containing: "frobnicate")
        assertThrows(try render("{{ 1 + 'a' }}"), kind: .runtime, containing: "int and str")
        assertThrows(try render("a\n{% if true %}b"), kind: .syntax, containing: "endif")
        assertThrows(try render("{{ 'unclosed }}"), kind: .syntax, containing: "closing")
        assertThrows(try render("{% include 'other.jinja' %}"), kind: .syntax, containing: "'include'")
        assertThrows(try render("x\n\n{{ 1 + }}"), kind: .syntax, containing: "line 3")
    }

    func testLoopsAreBounded() {
        // Nested loops whose product exceeds the iteration budget stop with a limit error instead of hanging.
        let side = Int(Double(JinjaLimits.maxLoopIterations).squareRoot()) + 10
        assertThrows(try render("{% for i in range(\(side)) %}{% for j in range(\(side)) %}{% endfor %}{% endfor %}"),
                     kind: .limit, containing: "loop iterations")
        assertThrows(try render("{% for i in range(\(JinjaLimits.maxLoopIterations + 1)) %}{% endfor %}"),
                     kind: .limit, containing: "range")
    }

    func testOutputAndStringsAreBounded() {
        // Doubling a string 40 times would need a terabyte; the string-size bound stops it.
        assertThrows(try render("{% set ns = namespace(s='ab') %}{% for i in range(40) %}"
            + "{% set ns.s = ns.s + ns.s %}{% endfor %}{{ ns.s | length }}"), kind: .limit, containing: "bytes")
        assertThrows(try render("{{ 'x' * 100000000000 }}"), kind: .limit, containing: "bytes")
        let chunk = String(repeating: "y", count: 1 << 16)
        let loops = JinjaLimits.maxOutputLength / chunk.count + 1
        assertThrows(try render("{% for i in range(\(loops)) %}{{ c }}{% endfor %}", ["c": .string(chunk)]),
                     kind: .limit, containing: "output")
    }

    func testStringBuildingIsBounded() {
        // No loop and no output, yet each statement copies 16 MB: the built-bytes budget stops it.
        let big = String(repeating: "x", count: 8 << 20)
        let count = JinjaLimits.maxBuiltBytes / (16 << 20) + 1
        assertThrows(try render(String(repeating: "{% set s = big ~ big %}", count: count), ["big": .string(big)]),
                     kind: .limit, containing: "bytes of strings")
        XCTAssertEqual(try render(String(repeating: "{% set s = big ~ big %}", count: count - 1) + "{{ s | length }}",
                                  ["big": .string(big)]), "\(16 << 20)")
    }

    func testPrintingJoiningAndReplacingAreBounded() {
        // One 1 MB string referenced 100 times: each way of flattening it to text stops at the size bound.
        let setup = "{% set one = 'x' * 1000000 %}{% set ns = namespace(many=[]) %}{% for i in range(100) %}"
            + "{% set ns.many = ns.many + [one] %}{% endfor %}{% set many = ns.many %}"
        for expression in ["many", "many | join", "many | tojson", "','.join(many)",
                           "one | replace('x', 'yy') | replace('y', 'zzzzzzzzzz')",
                           "'abcdefghijklmnopq' | replace('', one)"] {
            assertThrows(try render(setup + "{{ \(expression) }}"), kind: .limit, containing: "bytes")
        }
        XCTAssertEqual(try render(setup + "{{ many | length }} {{ many[:10] | join | length }}"), "100 10000000")
    }

    func testWorkAndListsAreBounded() {
        // Many cheap evaluations in few loop iterations.
        let wide = "{% set n = [" + Array(repeating: "1", count: 2000).joined(separator: ", ") + "] %}"
        let loops = JinjaLimits.maxWorkUnits / 2000 + 1
        assertThrows(try render("{% for i in range(\(loops)) %}\(wide){% endfor %}"), kind: .limit,
                     containing: "units of work")
        // Scanning a large value in a loop: `in` over a 1 MB string, `in` and `==` over a long list.
        let big: JinjaValue = .string(String(repeating: "x", count: 1 << 20))
        assertThrows(try render("{% for i in range(100000) %}{% if 'zz' in big %}{% endif %}{% endfor %}",
                                ["big": big]), kind: .limit, containing: "units of work")
        assertThrows(try render("{% set l = range(50000) | list %}{% for i in range(100000) %}"
            + "{% if -1 in l or l == l %}{% endif %}{% endfor %}"), kind: .limit, containing: "units of work")
        // Lists cannot double their way to exhausting memory, nor split into millions of parts.
        assertThrows(try render("{% set ns = namespace(l=[1]) %}{% for i in range(40) %}{% set ns.l = ns.l + ns.l %}"
            + "{% endfor %}"), kind: .limit, containing: "lists of at most")
        assertThrows(try render("{{ big.split('x') | length }}", ["big": big]), kind: .limit,
                     containing: "lists of at most")
        XCTAssertEqual(try render("{{ big.split('x', 3) | length }} {{ (big | list)[:2] | length }}",
                                  ["big": .string("axbxcxdxe")]), "4 2")
    }

    func testNestingIsBounded() throws {
        let deep = String(repeating: "(", count: 5000) + "1" + String(repeating: ")", count: 5000)
        assertThrows(try render("{{ \(deep) }}"), kind: .limit, containing: "nesting")
        // Long left-nested chains deepen the tree as much as parentheses do: bounded, not a stack overflow.
        for (op, operand) in [(" + ", "1"), (" ~ ", "'a'"), (" and ", "true"), (" == ", "1")] {
            let chain = Array(repeating: operand, count: 5000).joined(separator: op)
            assertThrows(try render("{{ \(chain) }}"), kind: .limit, containing: "nesting")
        }
        assertThrows(try render("{{ 'a'" + String(repeating: " | trim", count: 5000) + " }}"), kind: .limit,
                     containing: "nesting")
        assertThrows(try render("{{ x" + String(repeating: ".a", count: 5000) + " }}"), kind: .limit,
                     containing: "nesting")
        assertThrows(try render(String(repeating: "{% if true %}", count: 5000)), kind: .limit, containing: "nesting")
        // Values built by wrapping a list in a list each iteration stop at the same depth.
        assertThrows(try render("{% set ns = namespace(v=[]) %}{% for i in range(5000) %}{% set ns.v = [ns.v] %}"
            + "{% endfor %}{{ ns.v }}"), kind: .limit, containing: "nested")
        // Ordinary chains well inside the bound still work.
        XCTAssertEqual(try render("{{ " + Array(repeating: "1", count: 50).joined(separator: " + ") + " }}"), "50")
    }

    func testModelChatTemplateFallsBackToChatML() throws {
        let messages = [ChatMessage(role: "system", content: "Be brief."), ChatMessage(role: "user", content: "2+2?")]
        for template in [ModelChatTemplate.chatML, try ModelChatTemplate(source: nil), try ModelChatTemplate(source: "")] {
            XCTAssertNil(template.source)
            XCTAssertEqual(try template.render(messages, addGenerationPrompt: true),
                           ChatTemplate.chatML.render(messages, addGenerationPrompt: true))
        }
    }

    func testModelChatTemplatePassesTransformersVariables() throws {
        let template = try ModelChatTemplate(
            source: "{{ bos_token }}|{{ eos_token }}|{{ tools is none }}|{{ add_generation_prompt }}|"
                + "{{ messages | map(attribute='role') | join(',') }}|{{ enable_thinking }}",
            bosToken: "<s>", eosToken: "</s>")
        let out = try template.render([ChatMessage(role: "user", content: "u"), ChatMessage(role: "assistant", content: "a")],
                                      addGenerationPrompt: false, extraVariables: ["enable_thinking": .bool(false)])
        XCTAssertEqual(out, "<s>|</s>|True|False|user,assistant|False")
        // A model without a BOS token leaves `bos_token` undefined, as transformers does.
        let noBOS = try ModelChatTemplate(source: "{{ bos_token is defined }}")
        XCTAssertEqual(try noBOS.render([], addGenerationPrompt: true), "False")
    }
}
