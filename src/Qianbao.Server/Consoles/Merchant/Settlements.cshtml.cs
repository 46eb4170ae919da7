using System.Globalization;
using System.Text.Json;
using Microsoft.AspNetCore.Mvc;

namespace Qianbao.Server.Consoles.Merchant;

/// <summary>
/// <c>/merchant/settlements?date=</c>: the statement of one China-time day (<c>GET /merchant/v1/settlements</c>): payments, refunds,
/// fees, net and payouts. Today by default.
/// </summary>
public sealed class SettlementsModel(TimeProvider clock) : MerchantPage
{
    [BindProperty(SupportsGet = true)] public string? Date { get; set; }

    public sealed record Payout(string Id, long Amount, string Status, string CreatedAt);

    public sealed record DayStatement(string Date, long PaymentsCount, long PaymentsAmount, long RefundsCount, long RefundsAmount, long Fees, long Net,
        long PayoutsAmount, IReadOnlyList<Payout> Payouts);

    public DayStatement? Statement { get; private set; }

    public async Task<IActionResult> OnGetAsync(CancellationToken ct)
    {
        if (SignedOut() is { } login) return login;
        Date ??= MerchantFormat.Today(clock).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
        var (answer, relogin) = await GetOrLoginAsync("/merchant/v1/settlements?date=" + Uri.EscapeDataString(Date), ct);
        if (relogin is not null) return relogin;
        if (!answer.Ok) return Page();
        var b = answer.Body;
        static (long Count, long Amount) Pair(JsonElement e) => (e.GetProperty("count").GetInt64(), e.GetProperty("amount").GetInt64());
        var payments = Pair(b.GetProperty("payments"));
        var refunds = Pair(b.GetProperty("refunds"));
        var payouts = b.GetProperty("payouts");
        Statement = new DayStatement(answer.Text("date"), payments.Count, payments.Amount, refunds.Count, refunds.Amount, answer.Number("fees"),
            answer.Number("net"), payouts.GetProperty("amount").GetInt64(),
            payouts.GetProperty("items").EnumerateArray().Select(p => new Payout(p.GetProperty("id").ToString(), p.GetProperty("amount").GetInt64(),
                p.GetProperty("status").GetString() ?? "", p.GetProperty("created_at").ToString())).ToList());
        return Page();
    }
}
