using System.Text.Json;
using Microsoft.AspNetCore.Mvc;
using Qianbao.Server.Consoles.Shared;

namespace Qianbao.Server.Consoles.Operator;

/// <summary>
/// <c>/operator/merchants?status=pending|rejected|verified</c>: the review queue of self-service signups
/// (<c>GET /admin/v1/merchants/signups</c>); approve (<c>POST /admin/v1/merchants/{id}/verify</c>) or reject with a reason
/// (<c>POST .../reject</c>); a verified merchant can be frozen or unfrozen with a reason (<c>POST .../freeze|unfreeze</c>).
/// </summary>
public sealed class OperatorMerchantsModel : OperatorPage
{
    [BindProperty(SupportsGet = true)]
    public string? Status { get; set; }

    public IReadOnlyList<JsonElement> Merchants { get; private set; } = [];

    public static readonly string[] Statuses = ["pending", "verified", "rejected"];

    private string Path => "/operator/merchants?status=" + Uri.EscapeDataString(Status ?? "pending");

    public async Task<IActionResult> OnGetAsync(CancellationToken ct)
    {
        if (SignedOut() is { } login) return login;
        ShowDone();
        return await ShowAsync(ct);
    }

    public Task<IActionResult> OnPostApproveAsync(string? merchantId, CancellationToken ct) =>
        ActAsync(() => Api.PostAsync(MerchantPath(merchantId) + "/verify", null, Token, ct), ct);

    public Task<IActionResult> OnPostRejectAsync(string? merchantId, string? reason, CancellationToken ct) =>
        ActAsync(() => Api.PostAsync(MerchantPath(merchantId) + "/reject", new { reason }, Token, ct), ct);

    public Task<IActionResult> OnPostFreezeAsync(string? merchantId, string? reason, CancellationToken ct) =>
        ActAsync(() => Api.PostAsync(MerchantPath(merchantId) + "/freeze", new { reason }, Token, ct), ct);

    public Task<IActionResult> OnPostUnfreezeAsync(string? merchantId, string? reason, CancellationToken ct) =>
        ActAsync(() => Api.PostAsync(MerchantPath(merchantId) + "/unfreeze", new { reason }, Token, ct), ct);

    private static string MerchantPath(string? id) => "/admin/v1/merchants/" + Uri.EscapeDataString(id ?? "");

    private async Task<IActionResult> ActAsync(Func<Task<ApiAnswer>> act, CancellationToken ct)
    {
        if (SignedOut() is { } login) return login;
        var answer = await act();
        if (answer.Ok) return Done(Path);
        if (Refused(answer) is { } gone) return gone;
        var (code, message) = (ErrorCode, ErrorMessage);
        var shown = await ShowAsync(ct);
        (ErrorCode, ErrorMessage) = (code, message);
        return shown;
    }

    private async Task<IActionResult> ShowAsync(CancellationToken ct)
    {
        var answer = await ReadAsync("/admin/v1/merchants/signups?status=" + Uri.EscapeDataString(Status ?? "pending"), ct);
        if (answer is null) return SessionEnded ? ToLogin() : Page();
        Merchants = answer.Value.Items().ToList();
        return Page();
    }
}
