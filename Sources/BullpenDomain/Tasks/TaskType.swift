/// The kinds of task work.
public enum TaskType: String, Choice {
    case research, draft, code, design, review, revision
}
