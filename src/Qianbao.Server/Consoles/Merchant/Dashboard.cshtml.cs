using System.Globalization;
using System.Text.Json;
using Microsoft.AspNetCore.Mvc;
using Qianbao.Server.Consoles.Shared;

namespace Qianbao.Server.Consoles.Merchant;

/// <summary>
/// <c>/merchant/dashboard?from=&amp;to=&amp;granularity=</c>: the shop's analytics (<c>GET /merchant/v1/analytics</c>) — KPIs, the
/// series as bars, the weekday × hour heat map, k-anonymous demographics and campaigns. The filters go to the API as typed
/// (its refusal is shown); by default the last 7 China-time days, by day.
/// </summary>
public sealed class DashboardModel(TimeProvider clock) : MerchantPage
{
    public const int DefaultDays = 7;

    [BindProperty(SupportsGet = true)] public string? From { get; set; }
    [BindProperty(SupportsGet = true)] public string? To { get; set; }
    [BindProperty(SupportsGet = true)] public string? Granularity { get; set; }

    public AnalyticsFigures? Figures { get; private set; }

    public IReadOnlyList<string> WeekdayNames => Enumerable.Range(1, 7).Select(d => T("merchant.weekday." + d)).ToList();

    public sealed record Bucket(string Key, long Payers, string Share);

    public sealed record Campaign(string CampaignId, long Orders, long Discount, long Gmv);

    public sealed record AnalyticsFigures(long Gmv, long Orders, long Aov, long Net, long Refunds, long RefundAmount, long UniquePayers, long NewPayers,
        long ReturningPayers, string RepeatRate, IReadOnlyList<ChartPoint> Series, IReadOnlyDictionary<(int Weekday, int Hour), long> Heatmap,
        IReadOnlyList<(string Dimension, IReadOnlyList<Bucket> Buckets)> Demographics, IReadOnlyList<Campaign> Campaigns);

    public async Task<IActionResult> OnGetAsync(CancellationToken ct)
    {
        if (SignedOut() is { } login) return login;
        var today = MerchantFormat.Today(clock);
        To ??= today.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
        From ??= today.AddDays(1 - DefaultDays).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
        Granularity ??= "day";
        var (answer, relogin) = await GetOrLoginAsync(
            $"/merchant/v1/analytics?from={Uri.EscapeDataString(From)}&to={Uri.EscapeDataString(To)}&granularity={Uri.EscapeDataString(Granularity)}", ct);
        if (relogin is not null) return relogin;
        if (answer.Ok) Figures = Read(answer, Granularity == "hour");
        return Page();
    }

    /// <summary>A demographic bucket's name in the page's language (provinces by their GB/T 2260 code).</summary>
    public string BucketName(string dimension, string key) => dimension switch
    {
        "gender" or "age_band" when ConsoleText.Has($"merchant.bucket.{key}") => T($"merchant.bucket.{key}"),
        "province" when ConsoleText.Has($"merchant.province.{key}") => T($"merchant.province.{key}"),
        _ when ConsoleText.Has($"merchant.bucket.{key}") => T($"merchant.bucket.{key}"),
        _ => key,
    };

    private static AnalyticsFigures Read(ApiAnswer a, bool hourly)
    {
        var body = a.Body;
        var series = a.Items("series").Select(p =>
        {
            var t = p.GetProperty("t").GetString() ?? "";
            // Days as MM-DD, hours as HH (the date range is in the filters above).
            var label = hourly && t.Length >= 13 ? t[11..13] : t.Length >= 10 ? t[5..10] : t;
            return new ChartPoint(label, p.GetProperty("gmv").GetInt64());
        }).ToList();
        var heat = new Dictionary<(int, int), long>();
        foreach (var c in a.Items("heatmap"))
            heat[(c.GetProperty("weekday").GetInt32(), c.GetProperty("hour").GetInt32())] = c.GetProperty("orders").GetInt64();
        var demographics = new List<(string, IReadOnlyList<Bucket>)>();
        if (body.TryGetProperty("demographics", out var d) && d.ValueKind == JsonValueKind.Object)
            foreach (var dimension in new[] { "gender", "age_band", "province" })
                demographics.Add((dimension, d.TryGetProperty(dimension, out var list) && list.ValueKind == JsonValueKind.Array
                    ? list.EnumerateArray().Select(b => new Bucket(b.GetProperty("key").GetString() ?? "", b.GetProperty("payers").GetInt64(),
                        Percent(b.GetProperty("share").GetDecimal()))).ToList()
                    : []));
        var campaigns = a.Items("campaigns").Select(c => new Campaign(c.GetProperty("campaign_id").ToString(), c.GetProperty("orders").GetInt64(),
            c.GetProperty("discount").GetInt64(), c.GetProperty("gmv").GetInt64())).ToList();
        var repeat = body.TryGetProperty("repeat_rate", out var r) && r.ValueKind == JsonValueKind.Number ? r.GetDecimal() : 0m;
        return new AnalyticsFigures(a.Number("gmv"), a.Number("orders"), a.Number("aov"), a.Number("net"), a.Number("refunds"), a.Number("refund_amount"),
            a.Number("unique_payers"), a.Number("new_payers"), a.Number("returning_payers"), Percent(repeat), series, heat, demographics, campaigns);
    }

    private static string Percent(decimal share) => (share * 100m).ToString("0.#", CultureInfo.InvariantCulture) + "%";
}
