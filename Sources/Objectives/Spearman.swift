/// Spearman rank correlation, for ISPO's mechanism measurement (METHODS §1:
/// within all-wrong groups, does the intrinsic reward rank rollouts by how many
/// steps they got right?).
public enum Spearman {
    /// Ranks 1…n with ties given their average rank.
    public static func ranks(_ x: [Double]) -> [Double] {
        let order = x.indices.sorted { x[$0] < x[$1] }
        var r = [Double](repeating: 0, count: x.count)
        var i = 0
        while i < order.count {
            var j = i
            while j + 1 < order.count && x[order[j + 1]] == x[order[i]] { j += 1 }
            let average = Double(i + j) / 2 + 1
            for k in i...j { r[order[k]] = average }
            i = j + 1
        }
        return r
    }

    /// The Pearson correlation of the average ranks; nil when either side is
    /// constant (or fewer than two pairs), where it is undefined.
    public static func correlation(_ x: [Double], _ y: [Double]) -> Double? {
        precondition(x.count == y.count, "Spearman: \(x.count) vs \(y.count) values")
        guard x.count >= 2 else { return nil }
        let rx = ranks(x), ry = ranks(y)
        let mx = rx.reduce(0, +) / Double(rx.count), my = ry.reduce(0, +) / Double(ry.count)
        var sxy = 0.0, sxx = 0.0, syy = 0.0
        for k in rx.indices {
            let a = rx[k] - mx, b = ry[k] - my
            sxy += a * b; sxx += a * a; syy += b * b
        }
        guard sxx > 0 && syy > 0 else { return nil }
        return sxy / (sxx * syy).squareRoot()
    }

    /// The mean of the within-group correlations over the groups where it is
    /// defined, and how many such groups there were (0 → mean nil).
    public static func meanWithinGroups(_ x: [Double], _ y: [Double], groupIds: [Int]) -> (mean: Double?, groups: Int) {
        precondition(x.count == y.count && x.count == groupIds.count, "Spearman: mismatched lengths")
        var order: [Int] = [], members: [Int: [Int]] = [:]
        for (i, g) in groupIds.enumerated() {
            if members[g] == nil { order.append(g) }
            members[g, default: []].append(i)
        }
        let rhos = order.compactMap { g in correlation(members[g]!.map { x[$0] }, members[g]!.map { y[$0] }) }
        return (rhos.isEmpty ? nil : rhos.reduce(0, +) / Double(rhos.count), rhos.count)
    }
}
