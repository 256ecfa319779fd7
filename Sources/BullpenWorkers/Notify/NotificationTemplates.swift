import BullpenDomain
import Foundation
import Mustache

/// The notification templates, Mustache files in one folder (`Config/templates` by default): for each kind a
/// subject, a plain-text body and an HTML body, `<kind>.subject.mustache`, `<kind>.text.mustache` and
/// `<kind>.html.mustache`. Subjects and text bodies declare `{{% CONTENT_TYPE: TEXT}}` (nothing escaped);
/// HTML bodies escape every value. All are read and parsed at start: a missing or broken template stops
/// the worker then, not a notification later.
public struct NotificationTemplates: Sendable {
    /// What a notification says.
    public struct Rendered: Sendable, Equatable {
        public var subject: String
        public var text: String
        public var html: String
    }

    private let templates: [NotificationKind: [String: MustacheTemplate]]

    public struct MissingTemplate: Error, CustomStringConvertible {
        public let description: String
    }

    public init(folder: String) throws {
        var templates: [NotificationKind: [String: MustacheTemplate]] = [:]
        for kind in NotificationKind.allCases {
            for part in ["subject", "text", "html"] {
                let path = "\(folder)/\(kind.rawValue).\(part).mustache"
                guard let source = FileManager.default.contents(atPath: path) else {
                    throw MissingTemplate(description: "no template \(path)")
                }
                do {
                    templates[kind, default: [:]][part] = try MustacheTemplate(
                        string: String(decoding: source, as: UTF8.self))
                } catch {
                    throw MissingTemplate(description: "template \(path) does not parse: \(error)")
                }
            }
        }
        self.templates = templates
    }

    public func render(_ kind: NotificationKind, _ data: [String: String]) -> Rendered {
        let parts = templates[kind] ?? [:]
        func render(_ part: String) -> String { parts[part]?.render(data) ?? "" }
        return Rendered(
            subject: render("subject").trimmingCharacters(in: .whitespacesAndNewlines)
                .split(whereSeparator: \.isNewline).joined(separator: " "),
            text: render("text"), html: render("html"))
    }
}
