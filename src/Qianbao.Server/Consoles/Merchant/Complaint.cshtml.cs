using Microsoft.AspNetCore.Mvc;

namespace Qianbao.Server.Consoles.Merchant;

/// <summary>
/// <c>/merchant/complaints/{id}</c>: one complaint about the shop's trade with the replies so far
/// (<c>GET /merchant/v1/complaints/{id}</c>) and, while it is open, the reply form (<c>POST
/// /merchant/v1/complaints/{id}/replies</c>; the user reads it as the shop's). A refusal (an analyst, a complaint resolved
/// meanwhile, an empty text) is the API's, shown with the typed text kept.
/// </summary>
public sealed class ComplaintModel : MerchantPage
{
    [BindProperty(SupportsGet = true)] public string Id { get; set; } = "";
    [BindProperty] public string? Text { get; set; }

    public sealed record ComplaintView(string Id, string UserName, string Category, string Text, string TradeNo, string Status, string CreatedAt,
        long? RefundAmount, string ResolutionNote);

    public sealed record ReplyLine(string From, string Text, string CreatedAt);

    public ComplaintView? Complaint { get; private set; }

    public IReadOnlyList<ReplyLine> Replies { get; private set; } = [];

    public async Task<IActionResult> OnGetAsync(string? replied, CancellationToken ct)
    {
        if (SignedOut() is { } login) return login;
        if (!string.IsNullOrEmpty(replied)) DoneMessage = T("merchant.complaint.reply.done");
        return await LoadAsync(ct) ?? Page();
    }

    public async Task<IActionResult> OnPostAsync(CancellationToken ct)
    {
        if (SignedOut() is { } login) return login;
        var answer = await Api.PostAsync($"/merchant/v1/complaints/{Uri.EscapeDataString(Id)}/replies", new { text = Text ?? "" }, Token, ct);
        if (answer.Ok) return Redirect($"/merchant/complaints/{Uri.EscapeDataString(Id)}?replied=1");
        if (Failed(answer)) return ToLogin();
        return await ShowAgainAsync(LoadAsync, ct);
    }

    private async Task<IActionResult?> LoadAsync(CancellationToken ct)
    {
        var (answer, relogin) = await GetOrLoginAsync($"/merchant/v1/complaints/{Uri.EscapeDataString(Id)}", ct);
        if (relogin is not null) return relogin;
        if (!answer.Ok)
        {
            if (answer.Status == StatusCodes.Status404NotFound) Response.StatusCode = StatusCodes.Status404NotFound;
            return null;
        }
        Complaint = new ComplaintView(answer.Text("id"), answer.Text("user_name"), answer.Text("category"), answer.Text("text"), answer.Text("trade_no"),
            answer.Text("status"), answer.Text("created_at"),
            answer.Body.TryGetProperty("refund_amount", out var r) && r.ValueKind == System.Text.Json.JsonValueKind.Number ? r.GetInt64() : null,
            answer.Text("resolution_note"));
        Replies = answer.Items("replies").Select(x => new ReplyLine(x.GetProperty("from").ToString(), x.GetProperty("text").ToString(),
            x.GetProperty("created_at").ToString())).ToList();
        return null;
    }
}
