import Foundation

/// What a rank does.
public enum Role: String, Codable, Sendable, CaseIterable {
    /// Computes advantages and updates the policy (data parallel, ZeRO-1 sharded).
    case learner
    /// Samples groups of completions with the current weights and verifies them.
    case rollout
    /// Serves teacher requests (MOTAB) and trains MoT branches.
    case teacher
}

/// A rank → roles map. One rank may hold several roles (a one-process run
/// holds all of them), and runs them on the same code path as a big cluster.
public struct RankLayout: Equatable, Sendable {
    /// Roles of each rank, indexed by world rank.
    public let roles: [[Role]]

    /// Number of ranks.
    public var worldSize: Int { roles.count }

    /// World ranks that hold `role`, ascending.
    public func ranks(_ role: Role) -> [Int] { roles.indices.filter { roles[$0].contains(role) } }

    /// Whether `rank` holds `role`.
    public func rank(_ rank: Int, has role: Role) -> Bool { roles[rank].contains(role) }

    /// Builds and validates a layout.
    public init(roles: [[Role]], requireTeacher: Bool = false) throws {
        self.roles = roles
        try validate(requireTeacher: requireTeacher)
    }

    /// The default layout for `worldSize` ranks. One rank holds every role.
    /// Otherwise, for RL: a quarter of the ranks (at least one) learn, the
    /// rest roll out; with teachers, a quarter teach (8 ranks → 2 learners,
    /// 4 rollout, 2 teachers, as ARCHITECTURE.md describes). A pipeline
    /// without teachers lends those ranks to rollout.
    public static func derived(worldSize n: Int, teachers wantTeachers: Bool) throws -> RankLayout {
        guard n >= 1 else { throw LayoutError("world size must be at least 1, found \(n)") }
        if n == 1 { return try RankLayout(roles: [wantTeachers ? [.learner, .rollout, .teacher] : [.learner, .rollout]]) }
        if n == 2 { return try RankLayout(roles: [[.learner] + (wantTeachers ? [.teacher] : []), [.rollout]]) }
        let learners = max(1, n / 4)
        let teachers = wantTeachers ? max(1, n / 4) : 0
        let rollout = n - learners - teachers
        var roles: [[Role]] = []
        roles += Array(repeating: [.learner], count: learners)
        roles += Array(repeating: [.rollout], count: rollout)
        roles += Array(repeating: [.teacher], count: teachers)
        return try RankLayout(roles: roles, requireTeacher: wantTeachers)
    }

    /// Parses a layout file: `ranks:` followed by one entry per rank, each a
    /// role or a list of roles, e.g.
    ///
    ///     ranks:
    ///       - learner
    ///       - [rollout, teacher]
    ///
    /// (a small fixed YAML subset, so Roles needs no YAML dependency).
    public static func parse(_ text: String, source: String) throws -> RankLayout {
        var roles: [[Role]] = []
        var seenHeader = false
        for (i, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? ""
            let t = line.trimmingCharacters(in: .whitespaces)
            if t.isEmpty { continue }
            if t == "ranks:" { seenHeader = true; continue }
            guard seenHeader, t.hasPrefix("-") else {
                throw LayoutError("\(source):\(i + 1): expected 'ranks:' then '- role' or '- [role, role]' lines, found '\(t)'")
            }
            let body = t.dropFirst().trimmingCharacters(in: .whitespaces)
                .trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
            var these: [Role] = []
            for name in body.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) }) {
                guard let r = Role(rawValue: name) else {
                    throw LayoutError("\(source):\(i + 1): unknown role '\(name)'; valid roles: \(Role.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                these.append(r)
            }
            roles.append(these)
        }
        guard seenHeader else { throw LayoutError("\(source): expected a 'ranks:' list, found none") }
        return try RankLayout(roles: roles)
    }

    /// Loads a named layout (`Cluster/<name>.yaml`) or a path; checks that it
    /// matches the world size the job was launched with.
    public static func load(nameOrPath: String, clusterDirectory: String, worldSize: Int) throws -> RankLayout {
        let path = nameOrPath.hasSuffix(".yaml") || nameOrPath.contains("/") ? nameOrPath : "\(clusterDirectory)/\(nameOrPath).yaml"
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw LayoutError("cannot read layout '\(path)'; name a file in \(clusterDirectory)/ or give a path")
        }
        let layout = try parse(text, source: path)
        guard layout.worldSize == worldSize else {
            throw LayoutError("\(path) describes \(layout.worldSize) ranks but the job has \(worldSize); launch with mpirun -n \(layout.worldSize) or choose another layout")
        }
        return layout
    }

    func validate(requireTeacher: Bool) throws {
        if roles.isEmpty { throw LayoutError("a layout needs at least one rank") }
        for (r, rs) in roles.enumerated() where rs.isEmpty { throw LayoutError("rank \(r) has no role") }
        if ranks(.learner).isEmpty { throw LayoutError("a layout needs at least one learner rank; found roles \(describe())") }
        if ranks(.rollout).isEmpty { throw LayoutError("a layout needs at least one rollout rank; found roles \(describe())") }
        if requireTeacher && ranks(.teacher).isEmpty { throw LayoutError("this pipeline needs a teacher rank; found roles \(describe())") }
    }

    /// One line per rank, for logs.
    public func describe() -> String {
        roles.enumerated().map { "\($0.offset):\($0.element.map(\.rawValue).joined(separator: "+"))" }.joined(separator: " ")
    }
}

/// An invalid rank layout.
public struct LayoutError: Error, CustomStringConvertible {
    /// What is wrong and what to do.
    public let description: String
    init(_ s: String) { description = s }
}
