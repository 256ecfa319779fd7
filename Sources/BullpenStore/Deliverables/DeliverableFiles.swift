import BullpenDomain
import Foundation
import PostgreSQL

/// The files of deliverable versions: the rows that name them (their bytes are in the file store).
extension DeliverableStore {
    /// `deliverable.attach_file`: the file joins the version (once: the same file again changes nothing).
    public static func attach(_ file: DeliverableFile, messageID: String, in tx: PGConnection) throws {
        guard
            let row = try tx.query(
                """
                WITH added AS (
                    INSERT INTO deliverable_files (deliverable_id, file_id, name, content_type, size_bytes)
                    VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING RETURNING deliverable_id
                ), listed AS (
                    UPDATE deliverables SET file_ids = array_append(file_ids, $2)
                     WHERE id IN (SELECT deliverable_id FROM added)
                )
                SELECT d.project_id, d.task_id, EXISTS (SELECT 1 FROM added) AS added
                  FROM deliverables d WHERE d.id = $1
                """, [file.id, file.fileId, file.name, file.contentType, file.sizeBytes]
            ).first
        else { throw CommandRejection("deliverable \(file.id) does not exist") }
        guard try row.decode("added", as: Bool.self) else { return }
        try EventLog.record(
            "deliverable.file_attached", "\(file.name) (\(file.sizeBytes) bytes) attached to deliverable \(file.id)",
            data: "{\"fileId\": \"\(file.fileId)\"}",
            about: .init(projectID: try row.decode("project_id"), taskID: try row.decode("task_id", as: Int64?.self)),
            messageID: messageID, in: tx)
    }

    /// A file of a version, as a list shows it.
    public struct File: Sendable, Equatable {
        public var fileID: String
        public var name: String
        public var contentType: String
        public var sizeBytes: Int64
    }

    /// A version's files, oldest first, if the viewer may see the version (a client: one delivered to it);
    /// nil if not.
    public static func files(of id: Int64, viewer: Viewer, on db: PGConnection) throws -> [File]? {
        let visible = try db.query(
            """
            SELECT 1 FROM deliverables d WHERE d.id = $2 AND (\(ReadModel.deliverableVisible))
            """, [viewer.clientID, id])
        guard visible.first != nil else { return nil }
        return try db.query(
            """
            SELECT file_id, name, content_type, size_bytes FROM deliverable_files WHERE deliverable_id = $1
             ORDER BY created_at, file_id
            """, [id]
        ).rows.map {
            File(
                fileID: try $0.decode("file_id"), name: try $0.decode("name"),
                contentType: try $0.decode("content_type"),
                sizeBytes: try $0.decode("size_bytes"))
        }
    }

    /// How a stored file is served as attached to deliverable `deliverableID`: that attachment's type and name
    /// (the same bytes attached elsewhere under another name say nothing here); nil if it is not attached there.
    public static func served(
        _ fileID: String, of deliverableID: Int64, on db: PGConnection
    ) throws -> (contentType: String, name: String)? {
        guard
            let row = try db.query(
                "SELECT content_type, name FROM deliverable_files WHERE file_id = $1 AND deliverable_id = $2",
                [fileID, deliverableID]
            ).first
        else { return nil }
        return (try row.decode("content_type"), try row.decode("name"))
    }
}
