using Microsoft.AspNetCore.Mvc;
using Qianbao.Server.Consoles.Shared;

namespace Qianbao.Server.Consoles.Merchant;

/// <summary>
/// <c>/merchant/trades/{tradeNo}</c>: one trade and its refunds (<c>GET /merchant/v1/trades/{trade_no}</c>), and the refund form
/// (<c>POST /merchant/v1/trades/{trade_no}/refunds</c>) carrying an Idempotency-Key rendered with it, so submitting it twice
/// refunds once. Whether the amount may be refunded (left of the trade, a cashier's limit, the shop's balance) is the API's to
/// say; its refusal is shown and the form keeps its key, so retrying the same refund stays exactly-once.
/// </summary>
public sealed class TradeModel : MerchantPage
{
    [BindProperty(SupportsGet = true)] public string TradeNo { get; set; } = "";
    [BindProperty] public string? Amount { get; set; }
    [BindProperty] public string? Reason { get; set; }
    [BindProperty] public string IdempotencyKey { get; set; } = NewIdempotencyKey();

    public sealed record TradeView(string TradeNo, string OutTradeNo, string Kind, string Status, string Subject, long Total, long Discount, long BuyerPay,
        long Fee, long Refunded, string CreatedAt, string PaidAt);

    public sealed record RefundLine(string OutRequestNo, long Amount, string CreatedAt);

    public TradeView? Trade { get; private set; }

    public IReadOnlyList<RefundLine> Refunds { get; private set; } = [];

    public async Task<IActionResult> OnGetAsync(string? refunded, CancellationToken ct)
    {
        if (SignedOut() is { } login) return login;
        if (!string.IsNullOrEmpty(refunded)) DoneMessage = T("merchant.trade.refund.done");
        return await LoadAsync(ct) ?? Page();
    }

    public async Task<IActionResult> OnPostAsync(CancellationToken ct)
    {
        if (SignedOut() is { } login) return login;
        if (MerchantFormat.ParseYuan(Amount) is not { } fen)
            Refused("invalid_amount", "The amount must be in yuan with at most 2 decimals, such as 12.50.");
        else
        {
            var answer = await Api.PostAsync($"/merchant/v1/trades/{Uri.EscapeDataString(TradeNo)}/refunds",
                new { amount = fen, reason = string.IsNullOrWhiteSpace(Reason) ? null : Reason }, Token, ct,
                new Dictionary<string, string> { ["Idempotency-Key"] = IdempotencyKey });
            if (answer.Ok) return Redirect($"/merchant/trades/{Uri.EscapeDataString(TradeNo)}?refunded={Uri.EscapeDataString(answer.Text("out_request_no"))}");
            if (Failed(answer)) return ToLogin();
        }
        // The refusal stays on the page (the trade reloaded around it), with the same key in the form.
        return await ShowAgainAsync(LoadAsync, ct);
    }

    private async Task<IActionResult?> LoadAsync(CancellationToken ct)
    {
        var (answer, relogin) = await GetOrLoginAsync($"/merchant/v1/trades/{Uri.EscapeDataString(TradeNo)}", ct);
        if (relogin is not null) return relogin;
        if (!answer.Ok)
        {
            // No such trade of this shop (or a refusal): the page shows the API's message, with its status.
            if (answer.Status == StatusCodes.Status404NotFound) Response.StatusCode = StatusCodes.Status404NotFound;
            return null;
        }
        var t = answer.Body.GetProperty("trade");
        var trade = new ApiAnswer(200, t);
        Trade = new TradeView(trade.Text("trade_no"), trade.Text("out_trade_no"), trade.Text("kind"), trade.Text("status"), trade.Text("subject"),
            trade.Number("total_amount"), trade.Number("discount_amount"), trade.Number("buyer_pay_amount"), trade.Number("fee_amount"),
            trade.Number("refunded_amount"), trade.Text("created_at"), trade.Text("paid_at"));
        Refunds = answer.Items("refunds").Select(r => new RefundLine(r.GetProperty("out_request_no").GetString() ?? "", r.GetProperty("amount").GetInt64(),
            r.GetProperty("created_at").ToString())).ToList();
        return null;
    }
}
