import Foundation
import HTTPTypes
import Hummingbird
import Ink
import Mustache

/// The web's pages: Mustache templates from `<folder>/templates` (each page a file, `header` and `footer`
/// partials around it), read and parsed at start, so a missing or broken template stops ingest then, not a
/// request later; and the assets in `<folder>/static`, served as they are. Every value is HTML-escaped by
/// Mustache; Markdown (a deliverable's content) is rendered by Ink with raw HTML turned into text, and the
/// pages' Content-Security-Policy allows scripts and styles from this origin only.
public struct WebPages: Sendable {
    private let library: MustacheLibrary
    private let assets: [String: (type: String, bytes: [UInt8])]
    public static let pages = [
        "signin", "signin-sent", "signin-confirm", "message", "home-client", "home-operator", "project",
        "deliverable", "review", "command", "sessions", "task", "task-session", "invoices", "agents", "dead-letters",
        "analytics",
        "clients", "brief", "client", "billing",
    ]

    public struct BrokenTemplate: Error, CustomStringConvertible {
        public let description: String
    }

    public init(folder: String) throws {
        var templates: [String: MustacheTemplate] = [:]
        for name in Self.pages + ["header", "footer"] {
            let path = "\(folder)/templates/\(name).mustache"
            guard let source = FileManager.default.contents(atPath: path) else {
                throw BrokenTemplate(description: "no template \(path)")
            }
            do {
                templates[name] = try MustacheTemplate(string: String(decoding: source, as: UTF8.self))
            } catch {
                throw BrokenTemplate(description: "template \(path) does not parse: \(error)")
            }
        }
        library = MustacheLibrary(templates: templates)
        var assets: [String: (String, [UInt8])] = [:]
        for (name, type) in [
            ("app.css", "text/css; charset=utf-8"), ("app.js", "text/javascript; charset=utf-8"),
            ("icon.svg", "image/svg+xml"),
        ] {
            guard let bytes = FileManager.default.contents(atPath: "\(folder)/static/\(name)") else {
                throw BrokenTemplate(description: "no asset \(folder)/static/\(name)")
            }
            assets[name] = (type, Array(bytes))
        }
        self.assets = assets
    }

    /// A page's HTML with `values` (the `title` among them).
    public func html(_ page: String, _ values: [String: Any]) -> String {
        library.render(values, withTemplate: page) ?? "<!doctype html><title>Error</title><p>No page \(page).</p>"
    }

    /// A page as a response, with the headers every page carries.
    func response(
        _ page: String, _ values: [String: Any], status: HTTPResponse.Status = .ok, headers: HTTPFields = [:]
    ) -> Response {
        var fields = securityHeaders
        fields[.contentType] = "text/html; charset=utf-8"
        for field in headers { fields.append(field) }
        return Response(
            status: status, headers: fields, body: .init(byteBuffer: ByteBuffer(string: html(page, values))))
    }

    /// A static asset, or nil for none.
    func asset(_ name: String) -> Response? {
        guard let asset = assets[name] else { return nil }
        return Response(
            status: .ok,
            headers: [
                .contentType: asset.type, .cacheControl: "public, max-age=300",
                .init("X-Content-Type-Options")!: "nosniff",
            ],
            body: .init(byteBuffer: ByteBuffer(bytes: asset.bytes)))
    }

    /// Origins a form may lead to besides this one (a form's redirect counts, for the browser's
    /// `form-action`): Stripe's hosted pages, where a plan change goes.
    public var formTargets: [String] = []

    var securityHeaders: HTTPFields {
        let targets = (["'self'"] + formTargets).joined(separator: " ")
        return [
            .cacheControl: "no-store",
            .init("Content-Security-Policy")!:
                "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; form-action \(targets); frame-ancestors 'none'",
            .init("X-Content-Type-Options")!: "nosniff",
            .init("Referrer-Policy")!: "same-origin",
        ]
    }

    /// Markdown as HTML that carries no markup of the author's own: every `<` outside code is text (Ink passes
    /// raw HTML through, blocks and inline), and a link to a `javascript:`, `vbscript:` or `data:` URL goes
    /// nowhere. Code, fenced or inline, is escaped by Ink itself.
    public static func markdown(_ text: String) -> String {
        var fenced = false
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map { line -> String in
            let trimmed = line.drop(while: { $0 == " " || $0 == "\t" })
            if trimmed.hasPrefix("```") || trimmed.hasPrefix("~~~") {
                fenced.toggle()
                return String(line)
            }
            guard !fenced, line.contains("<") else { return String(line) }
            // Outside inline code spans (the even pieces between backticks), `<` becomes an entity.
            return line.split(separator: "`", omittingEmptySubsequences: false).enumerated().map { index, piece in
                index % 2 == 0 ? piece.replacingOccurrences(of: "<", with: "&lt;") : String(piece)
            }.joined(separator: "`")
        }
        var html = MarkdownParser().html(from: lines.joined(separator: "\n"))
        for scheme in ["javascript:", "vbscript:", "data:"] {
            for attribute in ["href=\"", "src=\""] {
                html = html.replacingOccurrences(
                    of: attribute + scheme, with: attribute + "#blocked:", options: .caseInsensitive)
            }
        }
        return html
    }
}
