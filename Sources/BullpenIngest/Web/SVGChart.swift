import Foundation

/// Charts as server-rendered SVG: no script, no outside resource. Labels are escaped (``HTMLText``); values are drawn to the
/// chart's own scale (0 to the largest value).
enum SVGChart {
    /// A line over `points` (label, value), left to right, with the first and last labels and the largest value
    /// marked; an empty chart says there is nothing yet. `title` is the chart's accessible name.
    static func line(
        _ points: [(label: String, value: Double)], title: String, width: Int = 640, height: Int = 200
    )
        -> String
    {
        let (left, right, top, bottom) = (48.0, 12.0, 12.0, 28.0)
        let plotWidth = Double(width) - left - right
        let plotHeight = Double(height) - top - bottom
        var svg =
            "<svg viewBox=\"0 0 \(width) \(height)\" role=\"img\" aria-label=\"\(HTMLText.escape(title))\" class=\"chart\">"
        svg += "<title>\(HTMLText.escape(title))</title>"
        guard !points.isEmpty else {
            return svg
                + "<text x=\"\(width / 2)\" y=\"\(height / 2)\" text-anchor=\"middle\">No figures yet</text></svg>"
        }
        let most = max(points.map(\.value).max() ?? 0, 1)
        func x(_ index: Int) -> Double {
            points.count == 1 ? left + plotWidth / 2 : left + plotWidth * Double(index) / Double(points.count - 1)
        }
        func y(_ value: Double) -> Double { top + plotHeight * (1 - value / most) }
        svg +=
            "<line x1=\"\(left)\" y1=\"\(top + plotHeight)\" x2=\"\(left + plotWidth)\" y2=\"\(top + plotHeight)\" class=\"axis\"/>"
        svg += "<line x1=\"\(left)\" y1=\"\(top)\" x2=\"\(left)\" y2=\"\(top + plotHeight)\" class=\"axis\"/>"
        svg += "<text x=\"\(left - 6)\" y=\"\(top + 4)\" text-anchor=\"end\" class=\"tick\">\(format(most))</text>"
        svg += "<text x=\"\(left - 6)\" y=\"\(top + plotHeight)\" text-anchor=\"end\" class=\"tick\">0</text>"
        let path = points.enumerated().map { index, point in
            (index == 0 ? "M" : "L") + String(format: "%.1f %.1f", x(index), y(point.value))
        }.joined(separator: " ")
        svg += "<path d=\"\(path)\" class=\"series\" fill=\"none\"/>"
        for (index, point) in points.enumerated() {
            svg += String(format: "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\" class=\"dot\">", x(index), y(point.value))
            svg += "<title>\(HTMLText.escape(point.label)): \(format(point.value))</title></circle>"
        }
        svg += "<text x=\"\(left)\" y=\"\(height - 8)\" class=\"tick\">\(HTMLText.escape(points[0].label))</text>"
        if points.count > 1 {
            svg +=
                "<text x=\"\(left + plotWidth)\" y=\"\(height - 8)\" text-anchor=\"end\" class=\"tick\">\(HTMLText.escape(points[points.count - 1].label))</text>"
        }
        return svg + "</svg>"
    }

    static func format(_ value: Double) -> String {
        value == value.rounded() ? String(Int(value)) : String(format: "%.2f", value)
    }

}
