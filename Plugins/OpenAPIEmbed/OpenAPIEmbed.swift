import Foundation
import PackagePlugin

/// Embeds `openapi.json` (the API's contract, at the package's root) in ingest at build time, as the Swift
/// source of `OpenAPIDocument.json`: the document is edited in one place, nothing generated is committed, and
/// the server serves the document it was built with.
@main
struct OpenAPIEmbed: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: any Target) throws -> [Command] {
        let input = context.package.directoryURL.appending(path: "openapi.json")
        let output = context.pluginWorkDirectoryURL.appending(path: "OpenAPIDocument.swift")
        return [
            .buildCommand(
                displayName: "Embedding openapi.json in \(target.name)",
                executable: try context.tool(named: "OpenAPIEmbedTool").url,
                arguments: [input.path, output.path], inputFiles: [input], outputFiles: [output])
        ]
    }
}
