using System.Globalization;
using System.Net;
using System.Text;
using Microsoft.AspNetCore.Html;

namespace Qianbao.Server.Consoles.Shared;

/// <summary>One bar or point of a chart: its label on the axis and its value (any unit; the caller formats the title).</summary>
public readonly record struct ChartPoint(string Label, long Value);

/// <summary>
/// Charts drawn on the server as inline SVG (no script, no CDN): bars for a series and a weekday × hour heat map. Each
/// chart has a <c>role="img"</c> and a title for screen readers, and a <c>&lt;title&gt;</c> per bar with its exact value.
/// </summary>
public static class SvgCharts
{
    private const int Width = 640;
    private const int Height = 200;
    private const int Margin = 24;

    public static IHtmlContent Bars(string title, IReadOnlyList<ChartPoint> points, Func<long, string>? format = null)
    {
        format ??= v => v.ToString("N0", CultureInfo.InvariantCulture);
        var svg = Open(title, Width, Height);
        var max = Math.Max(1, points.Count == 0 ? 1 : points.Max(p => p.Value));
        var slot = points.Count == 0 ? 0 : (Width - 2.0 * Margin) / points.Count;
        for (var i = 0; i < points.Count; i++)
        {
            var p = points[i];
            var h = (Height - 2.0 * Margin) * Math.Max(0, p.Value) / max;
            var x = Margin + i * slot + slot * 0.1;
            var y = Height - Margin - h;
            svg.Append(Invariant($"<rect class=\"bar\" x=\"{x:0.#}\" y=\"{y:0.#}\" width=\"{slot * 0.8:0.#}\" height=\"{h:0.#}\">"))
                .Append("<title>").Append(Encode(p.Label)).Append(": ").Append(Encode(format(p.Value))).Append("</title></rect>");
            // Label every bar when they fit, else about eight of them.
            if (points.Count <= 12 || i % Math.Max(1, points.Count / 8) == 0)
                svg.Append(Invariant($"<text x=\"{x + slot * 0.4:0.#}\" y=\"{Height - 6}\" text-anchor=\"middle\">"))
                    .Append(Encode(p.Label)).Append("</text>");
        }
        svg.Append(Invariant($"<text x=\"{Margin}\" y=\"14\">")).Append(Encode(format(max))).Append("</text>");
        return Close(svg);
    }

    /// <summary>A 7 × 24 heat map: <paramref name="cells"/> maps (weekday 1 = Monday .. 7, hour 0..23) to a count.</summary>
    public static IHtmlContent Heatmap(string title, IReadOnlyDictionary<(int Weekday, int Hour), long> cells, IReadOnlyList<string> weekdayNames)
    {
        const int cell = 22;
        const int left = 40;
        var svg = Open(title, left + 24 * cell + 4, 7 * cell + 24);
        var max = Math.Max(1, cells.Count == 0 ? 1 : cells.Values.Max());
        for (var day = 1; day <= 7; day++)
        {
            svg.Append(Invariant($"<text x=\"0\" y=\"{(day - 1) * cell + 15}\">")).Append(Encode(weekdayNames[day - 1])).Append("</text>");
            for (var hour = 0; hour < 24; hour++)
            {
                var count = cells.TryGetValue((day, hour), out var c) ? c : 0;
                var opacity = count == 0 ? 0.05 : 0.15 + 0.85 * count / max;
                svg.Append(Invariant($"<rect class=\"heat\" x=\"{left + hour * cell}\" y=\"{(day - 1) * cell}\" width=\"{cell - 2}\" height=\"{cell - 2}\" fill-opacity=\"{opacity:0.##}\">"))
                    .Append(Invariant($"<title>{hour:00}:00 {count}</title></rect>"));
            }
        }
        for (var hour = 0; hour < 24; hour += 3)
            svg.Append(Invariant($"<text x=\"{left + hour * cell}\" y=\"{7 * cell + 16}\">{hour:00}</text>"));
        return Close(svg);
    }

    private static StringBuilder Open(string title, int width, int height) =>
        new StringBuilder().Append(Invariant($"<svg class=\"chart\" viewBox=\"0 0 {width} {height}\" role=\"img\" aria-label=\""))
            .Append(Encode(title)).Append("\" xmlns=\"http://www.w3.org/2000/svg\"><title>").Append(Encode(title)).Append("</title>");

    private static HtmlString Close(StringBuilder svg) => new(svg.Append("</svg>").ToString());

    private static string Encode(string text) => WebUtility.HtmlEncode(text);

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
