import Testing
@testable import HJLoad
@testable import HJReportKit

@Suite("HTML report page")
struct HTMLPageTests {
    @Test("escapes markup and control bytes, stays self-contained")
    func escaping() {
        var page = HTMLPage(title: "<report> & \"co\"", lang: "zh")
        page.paragraph("##0101QN=1\u{01}<script>")
        page.table(header: ["id", "verdict"], rows: [["P-ACK-ST", "fail"]], tones: [.fail])
        let html = page.render()
        #expect(html.contains("&lt;report&gt; &amp; &quot;co&quot;"))
        #expect(html.contains("\\x1&lt;script&gt;"))
        #expect(!html.contains("<script>"))
        #expect(html.contains("<tr class=\"fail\">"))
        #expect(html.contains("lang=\"zh\""))
        #expect(!html.contains("src=") && !html.contains("href="))
    }

    @Test("line chart places points inside the frame, handles empty and flat data")
    func chart() {
        let svg = HTMLPage.svgLineChart(title: "acked/s", series: [("acked", [(0, 0), (10, 100)])])
        #expect(svg.contains("<polyline"))
        // The highest point sits on the top edge of the plot (y = 28), the lowest on the bottom (y = 210).
        #expect(svg.contains("points=\"64,210 708,28\""))
        let empty = HTMLPage.svgLineChart(title: "x", series: [("a", [])])
        #expect(empty.contains("no data"))
        let flat = HTMLPage.svgLineChart(title: "x", series: [("a", [(1, 5), (1, 5)])])
        #expect(flat.contains("<polyline"))
        let log = HTMLPage.svgLineChart(title: "p99", series: [("p99", [(0, 1), (1, 1000)])], logY: true)
        #expect(log.contains("1000"))
    }
}
