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
public struct AdditionTask: Sendable {
    /// Digits per operand.
    public let digits: Int

    /// A family of `digits`-digit additions.
    public init(digits: Int) {
        precondition(digits >= 1 && digits <= 9, "AdditionTask: digits must be 1...9")
        self.digits = digits
    }

    /// The problem for operands `a` and `b`.
    public func problem(_ a: Int, _ b: Int) -> SyntheticProblem {
        var steps: [String] = []
        var carry = 0, x = a, y = b
        for _ in 0..<digits {
            let da = x % 10, db = y % 10
            let s = da + db + carry
            steps.append(carry > 0 ? "\(da)+\(db)+\(carry)=\(s),c\(s / 10)" : "\(da)+\(db)=\(s),c\(s / 10)")
            carry = s / 10; x /= 10; y /= 10
        }
        return SyntheticProblem(prompt: "Q:\(a)+\(b)\n", thinking: "T:" + steps.joined(separator: ";") + "\n", answer: "\(a + b)")
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
