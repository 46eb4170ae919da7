using System.Globalization;
using Microsoft.AspNetCore.Mvc;
using Qianbao.Server.Consoles.Shared;

namespace Qianbao.Server.Consoles.Merchant;

/// <summary>
/// <c>/merchant/vouchers</c>: the campaigns the shop funds (<c>GET /merchant/v1/vouchers</c>: stock, claimed, used, budget left,
/// window, status), the create form (<c>POST /merchant/v1/vouchers</c>, its Idempotency-Key rendered with it, so a double
/// submit funds one voucher) and a stop button per voucher (<c>POST /merchant/v1/vouchers/{id}/stop</c>). Whether the amounts,
/// window and balance allow it is the API's to say; the page only turns yuan and a China-time date into what the API takes.
/// </summary>
public sealed class VouchersModel : MerchantPage
{
    private static readonly TimeSpan China = TimeSpan.FromHours(8);

    [BindProperty] public string? Name { get; set; }
    [BindProperty] public string? Amount { get; set; }
    [BindProperty] public string? Floor { get; set; }
    [BindProperty] public string? Quantity { get; set; }
    [BindProperty] public string? PublishEnd { get; set; }
    [BindProperty] public string? ValidDays { get; set; } = "30";
    [BindProperty] public string IdempotencyKey { get; set; } = NewIdempotencyKey();
    [BindProperty] public string? Id { get; set; }

    public sealed record VoucherLine(string Id, string Name, string Source, string Status, long? Amount, int? PercentBps, long? Floor, long Stock,
        long Claimed, long Used, long BudgetLeft, long Returned, string StartsAt, string EndsAt);

    public IReadOnlyList<VoucherLine> Vouchers { get; private set; } = [];

    public async Task<IActionResult> OnGetAsync(string? done, CancellationToken ct)
    {
        if (SignedOut() is { } login) return login;
        if (done is "created" or "stopped") DoneMessage = T("merchant.vouchers." + done);
        return await LoadAsync(ct) ?? Page();
    }

    public async Task<IActionResult> OnPostAsync(CancellationToken ct)
    {
        if (SignedOut() is { } login) return login;
        var amount = MerchantFormat.ParseYuan(Amount);
        long? floor = string.IsNullOrWhiteSpace(Floor) ? 0 : MerchantFormat.ParseYuan(Floor);
        if (amount is null) Refused("invalid_discount_amount", "The amount must be in yuan with at most 2 decimals, such as 5.00.");
        else if (floor is null) Refused("invalid_min_spend", "The minimum spend must be in yuan with at most 2 decimals, or empty.");
        else if (!int.TryParse(Quantity, NumberStyles.None, CultureInfo.InvariantCulture, out var quantity))
            Refused("invalid_stock", "The quantity must be a whole number.");
        else if (!DateOnly.TryParseExact(PublishEnd, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var endDay))
            Refused("invalid_campaign_window", "Choose the last day vouchers can be claimed.");
        else if (!int.TryParse(ValidDays, NumberStyles.None, CultureInfo.InvariantCulture, out var days))
            Refused("invalid_campaign_window", "The days a voucher stays usable must be a whole number.");
        else
        {
            // The last claim day runs to its end in China time.
            var publishEnd = new DateTimeOffset(endDay.ToDateTime(new TimeOnly(23, 59, 59)), China);
            var answer = await Api.PostAsync("/merchant/v1/vouchers", new
            {
                name = Name ?? "", amount, floor_amount = floor == 0 ? null : floor, quantity, publish_end = publishEnd, valid_days = days,
            }, Token, ct, new Dictionary<string, string> { ["Idempotency-Key"] = IdempotencyKey });
            if (answer.Ok) return Redirect("/merchant/vouchers?done=created");
            if (Failed(answer)) return ToLogin();
        }
        return await KeepErrorAsync(ct);
    }

    public async Task<IActionResult> OnPostStopAsync(CancellationToken ct)
    {
        if (SignedOut() is { } login) return login;
        var answer = await Api.PostAsync($"/merchant/v1/vouchers/{Uri.EscapeDataString(Id ?? "")}/stop", null, Token, ct);
        if (answer.Ok) return Redirect("/merchant/vouchers?done=stopped");
        if (Failed(answer)) return ToLogin();
        return await KeepErrorAsync(ct);
    }

    /// <summary>The refusal stays on the page (the list reloaded around it), the form keeping what was typed and its key.</summary>
    private async Task<IActionResult> KeepErrorAsync(CancellationToken ct)
    {
        return await ShowAgainAsync(LoadAsync, ct);
    }

    private async Task<IActionResult?> LoadAsync(CancellationToken ct)
    {
        var (answer, relogin) = await GetOrLoginAsync("/merchant/v1/vouchers", ct);
        if (relogin is not null) return relogin;
        if (!answer.Ok) return null;
        static long? Long(System.Text.Json.JsonElement e, string name) =>
            e.TryGetProperty(name, out var v) && v.ValueKind == System.Text.Json.JsonValueKind.Number ? v.GetInt64() : null;
        Vouchers = answer.Items().Select(v => new VoucherLine(v.GetProperty("id").ToString(), v.GetProperty("name").GetString() ?? "",
            v.GetProperty("source").GetString() ?? "", v.GetProperty("status").GetString() ?? "", Long(v, "amount"), (int?)Long(v, "percent_bps"),
            Long(v, "floor_amount"), Long(v, "stock") ?? 0, Long(v, "claimed") ?? 0, Long(v, "used") ?? 0, Long(v.GetProperty("budget"), "left") ?? 0,
            Long(v.GetProperty("budget"), "returned") ?? 0, v.GetProperty("starts_at").ToString(),
            (v.TryGetProperty("publish_end_at", out var p) && p.ValueKind == System.Text.Json.JsonValueKind.String ? p : v.GetProperty("ends_at")).ToString()))
            .ToList();
        return null;
    }
}
