import PostgreSQL
import Testing

@Suite("PostgreSQL text escaping")
struct PGTextTests {
    @Test("an array element's quotes and backslashes are escaped even where a mark or an emoji modifier follows them")
    func arrayElements() {
        // "\u{1F3FB}" and "\u{301}" join the quote before them into one Character that is not a quote.
        let array = PGArray(["\"\u{1F3FB}", "a\\\u{301}b", "plain", nil])
        #expect(array.pgText == "{\"\\\"\u{1F3FB}\",\"a\\\\\u{301}b\",\"plain\",NULL}")
    }

    @Test("an identifier's quote is doubled whatever follows it")
    func identifiers() {
        #expect(PGConnection.quoteIdentifier("a\"\u{301}b") == "\"a\"\"\u{301}b\"")
    }
}
