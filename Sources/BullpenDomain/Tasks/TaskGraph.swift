/// The dependencies among the tasks of a plan, by their local names: an order to create them in (each after
/// the tasks it depends on), or the cycle that makes one impossible.
public enum TaskGraph {
    public enum Problem: Error, Equatable, Sendable {
        /// A task depends on a name the plan does not have.
        case unknown(task: Int, name: String)
        /// These names depend on each other in a circle (the first repeated at the end).
        case cycle([String])
    }

    /// Indices of `dependencies` in an order where every task comes after those it depends on (Kahn's
    /// algorithm, stable: among ready tasks, the plan's order).
    public static func order(names: [String], dependencies: [[String]]) -> Result<[Int], Problem> {
        var index: [String: Int] = [:]
        for (i, name) in names.enumerated() { index[name] = i }
        var waitingOn = [Int](repeating: 0, count: names.count)
        var dependents = [[Int]](repeating: [], count: names.count)
        for (task, names) in dependencies.enumerated() {
            for name in names {
                guard let dependency = index[name] else { return .failure(.unknown(task: task, name: name)) }
                waitingOn[task] += 1
                dependents[dependency].append(task)
            }
        }
        var ready = (0..<names.count).filter { waitingOn[$0] == 0 }
        var order: [Int] = []
        while !ready.isEmpty {
            let next = ready.removeFirst()
            order.append(next)
            for dependent in dependents[next] {
                waitingOn[dependent] -= 1
                if waitingOn[dependent] == 0 { ready.append(dependent) }
            }
            ready.sort()
        }
        guard order.count == names.count else {
            return .failure(.cycle(cycle(names: names, dependencies: dependencies, index: index, left: waitingOn)))
        }
        return .success(order)
    }

    /// A cycle among the tasks Kahn's algorithm could not order: walk dependencies from one of them until a
    /// name repeats.
    private static func cycle(names: [String], dependencies: [[String]], index: [String: Int], left: [Int]) -> [String]
    {
        var current = left.firstIndex { $0 > 0 }!
        var path: [Int] = []
        while !path.contains(current) {
            path.append(current)
            current = dependencies[current].compactMap { index[$0] }.first { left[$0] > 0 }!
        }
        let start = path.firstIndex(of: current)!
        return (path[start...] + [current]).map { names[$0] }
    }
}
