import Foundation

/// How Stripe charges for a plan: once (`payment`, Sprint) or every interval (`subscription`).
public enum BillingMode: String, Choice {
    case payment, subscription
}

/// One plan as the agency sells it: its Stripe price, what it costs and what it promises.
public struct PlanDefinition: Sendable, Equatable {
    public var id: Plan
    public var name: String
    public var stripePriceId: String
    public var mode: BillingMode
    public var amountCents: Int64
    /// `month` or `year` for a subscription; nil for a one-time payment.
    public var interval: String?
    public var terms: PlanTerms
    /// Whether the plan's clients may have agents configured for them (Scale).
    public var customAgents: Bool

    public init(
        id: Plan, name: String, stripePriceId: String, mode: BillingMode, amountCents: Int64, interval: String?,
        terms: PlanTerms, customAgents: Bool
    ) {
        self.id = id
        self.name = name
        self.stripePriceId = stripePriceId
        self.mode = mode
        self.amountCents = amountCents
        self.interval = interval
        self.terms = terms
        self.customAgents = customAgents
    }
}

/// The plans, read from `Config/plans.json` and checked before anything uses them: every plan of ``Plan``
/// exactly once, each field present and in range, every price id distinct. An error names the field
/// (`plans[1].deliverablesIncluded`). Everything that needs a plan's terms reads them from here (through the
/// `plans` table the processes write it to at start), never from literals.
public struct PlanCatalog: Sendable, Equatable {
    public var currency: String
    public var plans: [PlanDefinition]

    /// A catalog as given; ``parse(_:)`` is the checked way in.
    public init(currency: String, plans: [PlanDefinition]) {
        self.currency = currency
        self.plans = plans
    }

    public subscript(plan: Plan) -> PlanDefinition {
        // `parse` guarantees every plan is present.
        plans.first { $0.id == plan }!
    }

    /// The plan a Stripe price id sells, if any.
    public func plan(priceID: String) -> PlanDefinition? { plans.first { $0.stripePriceId == priceID } }

    public static func load(from path: String) throws -> PlanCatalog {
        let bytes: [UInt8]
        do { bytes = Array(try Data(contentsOf: URL(fileURLWithPath: path))) } catch {
            throw PlanCatalogError(description: "cannot read the plans file \(path): \(error.localizedDescription)")
        }
        do { return try parse(bytes) } catch {
            throw PlanCatalogError(description: "plans file \(path): \(error.description)")
        }
    }

    public static func parse(_ bytes: [UInt8]) throws(ValidationError) -> PlanCatalog {
        let root = try JSONBody.object(bytes)
        let currency = try JSONBody.requiredString(root, "currency")
        guard currency.utf8.count == 3, currency.allSatisfy({ $0.isASCII && $0.isLowercase }) else {
            throw ValidationError(field: "currency", message: "must be a lowercase ISO 4217 code such as usd")
        }
        guard let entries = root["plans"] as? [Any] else {
            throw ValidationError(field: "plans", message: "is required: a list of plans")
        }
        var plans: [PlanDefinition] = []
        for (index, entry) in entries.enumerated() {
            let plan = try definition(entry, field: "plans[\(index)]")
            if plans.contains(where: { $0.id == plan.id }) {
                throw ValidationError(field: "plans[\(index)].id", message: "\(plan.id.rawValue) is defined twice")
            }
            if plans.contains(where: { $0.stripePriceId == plan.stripePriceId }) {
                throw ValidationError(
                    field: "plans[\(index)].stripePriceId", message: "\(plan.stripePriceId) is used by two plans")
            }
            plans.append(plan)
        }
        for plan in Plan.allCases where !plans.contains(where: { $0.id == plan }) {
            throw ValidationError(field: "plans", message: "must define the \(plan.rawValue) plan")
        }
        return PlanCatalog(currency: currency, plans: plans)
    }

    private static func definition(_ entry: Any, field: String) throws(ValidationError) -> PlanDefinition {
        guard let object = entry as? [String: Any] else {
            throw ValidationError(field: field, message: "must be an object")
        }
        func name(_ key: String) -> String { "\(field).\(key)" }
        func int(_ key: String, _ range: ClosedRange<Int64>, optional: Bool = false) throws(ValidationError) -> Int64? {
            if optional, object[key] == nil || object[key] is NSNull { return nil }
            let value: Int64
            do { value = try JSONBody.requiredInt64(object, key) } catch {
                throw ValidationError(field: name(key), message: error.message + (optional ? " or null" : ""))
            }
            guard range.contains(value) else {
                throw ValidationError(
                    field: name(key),
                    message: "must be \(range.lowerBound) to \(range.upperBound)" + (optional ? " or null" : ""))
            }
            return value
        }
        func string(_ key: String) throws(ValidationError) -> String {
            do { return try JSONBody.requiredString(object, key) } catch {
                throw ValidationError(field: name(key), message: error.message)
            }
        }
        let idText = try string("id")
        guard let id = Plan(rawValue: idText) else {
            throw ValidationError(field: name("id"), message: "must be one of: \(Plan.choices)")
        }
        let title = try string("name")
        guard (1...100).contains(title.count) else {
            throw ValidationError(field: name("name"), message: "must be 1 to 100 characters")
        }
        let price = try string("stripePriceId")
        guard price.hasPrefix("price_"), (7...255).contains(price.utf8.count) else {
            throw ValidationError(field: name("stripePriceId"), message: "must be a Stripe price id (price_...)")
        }
        guard let mode = BillingMode(rawValue: try string("mode")) else {
            throw ValidationError(field: name("mode"), message: "must be one of: \(BillingMode.choices)")
        }
        let interval = object["interval"] as? String
        switch mode {
        case .payment where object["interval"] != nil && !(object["interval"] is NSNull):
            throw ValidationError(field: name("interval"), message: "must be null for a one-time payment")
        case .subscription where interval != "month" && interval != "year":
            throw ValidationError(field: name("interval"), message: "must be month or year for a subscription")
        default: break
        }
        guard let flag = object["customAgents"] as? NSNumber, JSONBody.isBool(flag) else {
            throw ValidationError(field: name("customAgents"), message: "must be true or false")
        }
        let terms = PlanTerms(
            responseHours: Int(try int("firstResponseHours", 1...8760)!),
            deliveryHours: Int(try int("deliveryHours", 1...8760)!),
            maxRevisions: try int("revisionRounds", 0...1000, optional: true).map(Int.init),
            deliverablesIncluded: try int("deliverablesIncluded", 0...10_000, optional: true).map(Int.init),
            priority: Int(try int("basePriority", 1...5)!))
        return PlanDefinition(
            id: id, name: title, stripePriceId: price, mode: mode,
            amountCents: try int("amountCents", 0...100_000_000)!,
            interval: mode == .payment ? nil : interval, terms: terms, customAgents: flag.boolValue)
    }
}

/// The plans file cannot be read or is wrong; the description names the file and the field.
public struct PlanCatalogError: Error, CustomStringConvertible, Sendable {
    public let description: String

    public init(description: String) { self.description = description }
}
