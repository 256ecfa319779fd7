import Foundation

// `OpenAPIEmbedTool IN OUT`: writes the Swift source of `enum OpenAPIDocument { static let json }` holding the
// JSON file IN as a raw string literal, for the OpenAPIEmbed build plugin.
let arguments = CommandLine.arguments
guard arguments.count == 3 else {
    FileHandle.standardError.write(Data("usage: OpenAPIEmbedTool openapi.json OpenAPIDocument.swift\n".utf8))
    exit(2)
}
let json = try String(contentsOfFile: arguments[1], encoding: .utf8)
// As many #s as it takes that nothing in the document closes the literal or starts an interpolation.
var hashes = "#"
while json.contains("\"\"\"" + hashes) || json.contains("\\" + hashes) { hashes += "#" }
let body = json.hasSuffix("\n") ? String(json.dropLast()) : json
let source = """
    // Generated at build time from openapi.json by the OpenAPIEmbed plugin; not committed.

    /// The OpenAPI 3.1 document of ingest (`openapi.json` at the repository root), served at `/openapi.json`.
    enum OpenAPIDocument {
        static let json = \(hashes)\"\"\"

    """ + body + """

        \"\"\"\(hashes)
        }

        """
try source.write(toFile: arguments[2], atomically: true, encoding: .utf8)
