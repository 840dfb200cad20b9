import Foundation

/// Which teacher each rollout rank asks during a `distill` step (METHODS §2).
///
/// A rank holding both the rollout and the teacher role asks its own teacher
/// (`LocalTeacher`); the other rollout ranks are clients of the *serving*
/// teacher ranks (teacher ranks without the rollout role), assigned
/// round-robin in rank order. A serving rank runs `TeacherServer.serve()` for
/// its clients once per step (a session ends when each client has sent
/// `.shutdown`), so it cannot also generate: that is why ranks holding both
/// roles only serve themselves.
public struct TeacherAssignment: Equatable, Sendable {
    /// Where a rollout rank's teacher lives.
    public enum Source: Equatable, Sendable {
        /// On the rank itself.
        case local
        /// On the serving teacher rank.
        case remote(Int)
    }

    /// Rollout rank → its teacher.
    public let sources: [Int: Source]
    /// Serving teacher rank → its client ranks (every serving rank is a key, possibly with no clients).
    public let clients: [Int: [Int]]

    /// The assignment for `layout`; throws when a rollout rank has no teacher to ask.
    public init(layout: RankLayout) throws {
        let teachers = layout.ranks(.teacher)
        let servers = teachers.filter { !layout.rank($0, has: .rollout) }
        var sources: [Int: Source] = [:]
        var clients = Dictionary(uniqueKeysWithValues: servers.map { ($0, [Int]()) })
        var j = 0
        for r in layout.ranks(.rollout) {
            if layout.rank(r, has: .teacher) { sources[r] = .local; continue }
            guard !servers.isEmpty else {
                throw LayoutError("trainer.pipeline=distill: rollout rank \(r) has no teacher to ask (roles \(layout.describe())); "
                                  + "give a rank the teacher role (alone, or together with rollout on every rollout rank)")
            }
            let s = servers[j % servers.count]
            sources[r] = .remote(s)
            clients[s, default: []].append(r)
            j += 1
        }
        self.sources = sources
        self.clients = clients
    }
}
