import Foundation

/// How hard the model thinks on a run: the gateway's `thinking` levels.
public enum ThinkingLevel: String, Choice {
    case off, minimal, low, medium, high, xhigh
}

/// A document of a Scale client's knowledge base, given to every run of the configured agent inside the run's
/// client material (so it is read as data, never as instructions). Text only: the gateway's attachments carry
/// images reliably and documents only on some versions, so text is sent in the message, where every version
/// reads it.
public struct KnowledgeDocument: Codable, Sendable, Equatable {
    public var name: String
    public var contentType: String
    public var text: String

    public init(name: String, contentType: String, text: String) {
        self.name = name
        self.contentType = contentType
        self.text = text
    }

    /// The types a run can carry as text.
    public static let contentTypes: Set<String> = [
        "text/plain", "text/markdown", "text/csv", "application/json", "text/html",
    ]
    /// At most this many documents, each of at most `maxCharacters`, together at most `maxTotalCharacters`:
    /// what one run's message can hold next to the task (the gateway's frames reach 25 MiB, a model's context
    /// far less).
    public static let maxDocuments = 10
    public static let maxCharacters = 100_000
    public static let maxTotalCharacters = 300_000

    public static func check(_ documents: [KnowledgeDocument]?) throws(ValidationError) {
        guard let documents else { return }
        guard documents.count <= maxDocuments else {
            throw ValidationError(field: "knowledge", message: "must hold at most \(maxDocuments) documents")
        }
        var names = Set<String>()
        var total = 0
        for (index, document) in documents.enumerated() {
            let field = "knowledge[\(index)]"
            try Check.text(document.name, field + ".name", length: 1...200)
            guard names.insert(document.name).inserted else {
                throw ValidationError(field: field + ".name", message: "names another document already")
            }
            guard contentTypes.contains(document.contentType) else {
                throw ValidationError(
                    field: field + ".contentType",
                    message: "must be one of \(contentTypes.sorted().joined(separator: ", ")): a run carries text only")
            }
            try Check.text(document.text, field + ".text", length: 1...maxCharacters)
            total += document.text.unicodeScalars.count
        }
        guard total <= maxTotalCharacters else {
            throw ValidationError(
                field: "knowledge", message: "must hold at most \(maxTotalCharacters) characters in all (has \(total))")
        }
    }
}

/// A model a run may be given (`Config/models.json`): the gateway's `provider/model` name and its price in US
/// dollars per million tokens, which is what turns a run's reported usage into its cost.
public struct ModelPrice: Codable, Sendable, Equatable {
    public var input: Double
    public var output: Double
    public var cacheRead: Double
    public var cacheWrite: Double

    public init(input: Double, output: Double, cacheRead: Double = 0, cacheWrite: Double = 0) {
        self.input = input
        self.output = output
        self.cacheRead = cacheRead
        self.cacheWrite = cacheWrite
    }

    /// The cache prices may be left out (a provider without a cache): 0.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        input = try container.decode(Double.self, forKey: .input)
        output = try container.decode(Double.self, forKey: .output)
        cacheRead = try container.decodeIfPresent(Double.self, forKey: .cacheRead) ?? 0
        cacheWrite = try container.decodeIfPresent(Double.self, forKey: .cacheWrite) ?? 0
    }
}

/// The models Bullpen knows (`Config/models.json`, written to the database by `bullpen migrate`): a Scale
/// configuration may name only these, and a run's cost is priced from them.
public struct ModelCatalog: Sendable, Equatable {
    public var models: [String: ModelPrice]

    public init(models: [String: ModelPrice] = [:]) { self.models = models }

    /// `{"models": {"anthropic/claude-sonnet-4-5": {"input": 3, "output": 15, "cacheRead": 0.3,
    /// "cacheWrite": 3.75}}}`; names are `provider/model`, prices not negative.
    public static func parse(_ data: Data) throws(ValidationError) -> ModelCatalog {
        struct File: Decodable { let models: [String: ModelPrice] }
        let file: File
        do { file = try JSONDecoder().decode(File.self, from: data) } catch {
            throw ValidationError(
                field: "models",
                message: "must be an object of provider/model: {input, output, cacheRead?, cacheWrite?}")
        }
        for (name, price) in file.models {
            guard ModelName(name) != nil else {
                throw ValidationError(field: "models.\(name)", message: "must be named provider/model")
            }
            guard [price.input, price.output, price.cacheRead, price.cacheWrite].allSatisfy({ $0 >= 0 && $0.isFinite })
            else { throw ValidationError(field: "models.\(name)", message: "prices must not be negative") }
        }
        return ModelCatalog(models: file.models)
    }

    /// Reads the file; a missing one knows no models (configurations then name none, and runs cost their
    /// agent's rate).
    public static func load(from path: String) throws -> ModelCatalog {
        try ConfigFile.load(path, missing: ModelCatalog()) { data in try parse(data) }
    }
}

/// `provider/model`, as the gateway's `agent` method takes them (two fields).
public struct ModelName: Sendable, Equatable {
    public let provider: String
    public let model: String

    public init?(_ name: String) {
        let parts = name.split(separator: "/", maxSplits: 1).map(String.init)
        let allowed = CharacterSet.alphanumerics.union(CharacterSet(charactersIn: "._:-/"))
        guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty, name.count <= 100,
            name.unicodeScalars.allSatisfy(allowed.contains), !parts[0].contains("/")
        else { return nil }
        provider = parts[0]
        model = parts[1]
    }

    public var name: String { provider + "/" + model }
}

/// What the gateway reported a run used (its final reply's `result.meta.agentMeta`).
public struct RunUsage: Sendable, Equatable, Codable {
    public var provider: String?
    public var model: String?
    public var input: Int
    public var output: Int
    public var cacheRead: Int
    public var cacheWrite: Int

    public init(
        provider: String? = nil, model: String? = nil, input: Int = 0, output: Int = 0, cacheRead: Int = 0,
        cacheWrite: Int = 0
    ) {
        self.provider = provider
        self.model = model
        self.input = input
        self.output = output
        self.cacheRead = cacheRead
        self.cacheWrite = cacheWrite
    }

    /// The run's cost in cents at `price` (dollars per million tokens).
    public func costCents(at price: ModelPrice) -> Double {
        let dollars =
            (Double(input) * price.input + Double(output) * price.output + Double(cacheRead) * price.cacheRead
                + Double(cacheWrite) * price.cacheWrite) / 1_000_000
        return dollars * 100
    }
}

/// What a run was asked to use, beyond the agent: recorded on its attempt when the gateway accepts it, next
/// to what the gateway reports the run used (``RunUsage``).
public struct RunOptions: Sendable, Equatable, Codable {
    public var model: String?
    public var thinking: ThinkingLevel?
    /// The knowledge base's documents given with the run, by name.
    public var documents: [String]

    public init(model: String? = nil, thinking: ThinkingLevel? = nil, documents: [String] = []) {
        self.model = model
        self.thinking = thinking
        self.documents = documents
    }
}
