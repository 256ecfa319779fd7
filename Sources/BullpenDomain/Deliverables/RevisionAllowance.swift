/// Whether a project may open one more revision round: the plan's limit (copied onto the project), which an
/// operator may override with a reason. No I/O.
public enum RevisionAllowance {
    /// Why a revision round was allowed.
    public enum Grant: Sendable, Equatable {
        /// Within the plan's rounds (or the plan has no limit).
        case withinPlan
        /// Past the limit, on the operator's word.
        case overridden(reason: String)
    }

    public struct Refusal: Error, Sendable, Equatable, CustomStringConvertible {
        public let used: Int
        public let limit: Int
        public init(used: Int, limit: Int) {
            self.used = used
            self.limit = limit
        }

        public var description: String {
            "the project has used \(used) of its \(limit) revision round\(limit == 1 ? "" : "s");"
                + " an operator may allow another with an override reason"
        }
    }

    /// `used`: rounds already opened; `limit`: the plan's rounds (nil: unlimited); `overrideReason`: an
    /// operator's reason to go past the limit (a client cannot give one).
    public static func check(used: Int, limit: Int?, overrideReason: String?) -> Result<Grant, Refusal> {
        guard let limit, used >= limit else { return .success(.withinPlan) }
        if let overrideReason { return .success(.overridden(reason: overrideReason)) }
        return .failure(Refusal(used: used, limit: limit))
    }
}
