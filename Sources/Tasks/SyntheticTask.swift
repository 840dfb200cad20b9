import Tensors

/// One problem of a synthetic family: a prompt, a worked solution (thinking
/// then final answer), and the answer a verifier compares against.
public struct SyntheticProblem: Equatable, Sendable {
    /// Text the model is given.
    public let prompt: String
    /// Thinking section (may be empty).
    public let thinking: String
    /// Final answer text.
    public let answer: String

    /// A problem from its parts (e.g. a prompt read back, to recompute its reference steps).
    public init(prompt: String, thinking: String, answer: String) {
        self.prompt = prompt; self.thinking = thinking; self.answer = answer
    }

    /// The full target completion: thinking, then `A:` answer, then a newline.
    public var completion: String { thinking + "A:" + answer + "\n" }
}

/// Characters every synthetic family writes with (the char tokenizer's alphabet).
/// New characters go at the end so existing token ids stay stable (`<` marks
/// the sort family's prompt).
public let syntheticAlphabet: [Character] = Array("0123456789+-*=:;,.()ACQTcn \n<")

/// Multi-digit addition with the column sums and carries written out:
///
///     Q:47+85
///     T:7+5=12,c1;4+8+1=13,c1
///     A:132
///
/// Difficulty grows with `digits`; the carry chain is the reasoning to learn.
///
/// `style` picks how the thinking is written (the answer line never changes, so
/// every style verifies; used to train teachers with distinct trace styles for
/// Merge-of-Thought):
/// - 0 (default): `7+5=12,c1;4+8+1=13,c1`, column sum and carry;
/// - 1: `5+7=12;8+4+1=13`, second operand first, carry implied by the sum;
/// - 2: `7+5=12,2;4+8+1=13,32`, column sum then the result digits written so far;
/// - 3: `(7+5) = 12, c 1; (4+8+1) = 13, c 1`, style 0's steps re-phrased: the
///   same characters other than spaces and parentheses, in the same order (every
///   digit, `+`, `=`, `,` and carry label kept); only the layout around them
///   changes. A shift 0 → 3 changes the phrasing, not the procedure (the T3S
///   testbed; 0 → 1 changes the procedure).
public struct AdditionTask: Sendable {
    /// Digits per operand.
    public let digits: Int
    /// Trace style, 0..<`AdditionTask.styleCount` (0 = the original).
    public let style: Int
    /// Number of trace styles.
    public static let styleCount = 4

    /// A family of `digits`-digit additions written in `style`.
    public init(digits: Int, style: Int = 0) {
        precondition(digits >= 1 && digits <= 9, "AdditionTask: digits must be 1...9")
        precondition(style >= 0 && style < Self.styleCount, "AdditionTask: style must be 0..<\(Self.styleCount)")
        self.digits = digits
        self.style = style
    }

    /// The problem for operands `a` and `b`.
    public func problem(_ a: Int, _ b: Int) -> SyntheticProblem {
        var steps: [String] = []
        var carry = 0, x = a, y = b
        var written = ""
        for _ in 0..<digits {
            let da = x % 10, db = y % 10
            let s = da + db + carry
            let plusCarry = carry > 0 ? "+\(carry)" : ""
            switch style {
            case 1: steps.append("\(db)+\(da)\(plusCarry)=\(s)")
            case 2:
                written = "\(s % 10)" + written
                steps.append("\(da)+\(db)\(plusCarry)=\(s),\(written)")
            case 3: steps.append("(\(da)+\(db)\(plusCarry)) = \(s), c \(s / 10)")
            default: steps.append("\(da)+\(db)\(plusCarry)=\(s),c\(s / 10)")
            }
            carry = s / 10; x /= 10; y /= 10
        }
        let separator = style == 3 ? "; " : ";"
        return SyntheticProblem(prompt: "Q:\(a)+\(b)\n", thinking: "T:" + steps.joined(separator: separator) + "\n", answer: "\(a + b)")
    }

    /// A seeded random problem with exactly `digits`-digit operands (leading digit non-zero).
    public func sample(_ rng: inout Rng) -> SyntheticProblem {
        let lo = digits == 1 ? 0 : Int(pow10(digits - 1)), hi = Int(pow10(digits))
        return problem(lo + rng.below(hi - lo), lo + rng.below(hi - lo))
    }

    private func pow10(_ n: Int) -> Int { (0..<n).reduce(1) { a, _ in a * 10 } }
}

/// Reads the final answer out of a completion: the text after the last `A:`
/// up to the end of its line; nil when there is none.
public func extractFinalAnswer(_ completion: String) -> String? {
    guard let r = completion.range(of: "A:", options: .backwards) else { return nil }
    let tail = completion[r.upperBound...]
    let line = tail.split(separator: "\n", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
    let trimmed = line.trimmingCharacters(in: .whitespaces)
    return trimmed.isEmpty ? nil : trimmed
}

import Foundation
