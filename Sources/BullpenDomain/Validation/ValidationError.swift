/// A request body field that is missing or wrong.
public struct ValidationError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The JSON field at fault ("" for the body as a whole).
    public let field: String
    public let message: String

    public init(field: String, message: String) {
        self.field = field
        self.message = message
    }

    public var description: String { field.isEmpty ? message : "\(field) \(message)" }
}
