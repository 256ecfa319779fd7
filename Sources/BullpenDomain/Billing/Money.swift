/// Amounts as people read them: `$4,500.00`.
public enum Money {
    public static func format(_ cents: Int64, _ currency: String) -> String {
        let whole = String(abs(cents) / 100)
        var grouped = ""
        for (index, digit) in whole.reversed().enumerated() {
            if index > 0, index % 3 == 0 { grouped.append(",") }
            grouped.append(digit)
        }
        let fraction = String(abs(cents) % 100)
        let symbol = currency.lowercased() == "usd" ? "$" : currency.uppercased() + " "
        return (cents < 0 ? "-" : "") + symbol + String(grouped.reversed()) + "." + (fraction.count == 1 ? "0" : "")
            + fraction
    }
}
