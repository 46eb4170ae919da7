using System.Text.Json;
using Microsoft.AspNetCore.Mvc;

namespace Qianbao.Server.Consoles.Wallet;

/// <summary>
/// <c>/wallet/redpackets</c>: send a red packet (<c>POST /v1/red-packets</c>, PIN and step-up as a transfer), then share
/// its code; open one by its code (<c>GET /v1/red-packets/{code}</c>) and claim a share (<c>POST .../claim</c>).
/// </summary>
public sealed class RedPacketsModel : WalletPage
{
    [BindProperty] public string? Amount { get; set; }
    [BindProperty] public string? Count { get; set; }
    [BindProperty] public string? Split { get; set; }
    [BindProperty] public string? Message { get; set; }
    [BindProperty] public string? Pin { get; set; }
    [BindProperty] public string? IdempotencyKey { get; set; }
    [BindProperty(SupportsGet = true)] public string? Code { get; set; }

    /// <summary>The packet just sent (its code to share), or the one opened by code.</summary>
    public JsonElement? Sent { get; private set; }
    public JsonElement? Opened { get; private set; }

    public async Task<IActionResult> OnGetAsync(CancellationToken ct)
    {
        if (SignedOut() is { } login) return login;
        if (!string.IsNullOrWhiteSpace(Code)) return await OpenAsync(ct) ?? Page();
        return Page();
    }

    public async Task<IActionResult> OnPostSendAsync(CancellationToken ct)
    {
        if (SignedOut() is { } login) return login;
        object count = int.TryParse(Count, out var n) ? n : Count ?? "";
        var answer = await Api.PostAsync("/v1/red-packets", new
        {
            amount = AmountField(Amount), count, split = Split, message = string.IsNullOrWhiteSpace(Message) ? null : Message.Trim(),
        }, Token, ct, MoneyHeaders(Pin, IdempotencyKey));
        Pin = null;
        if (answer.Ok)
        {
            Sent = answer.Body;
            StepUpVerificationId = null;
            DoneMessage = T("wallet.redpackets.sent");
            return Page();
        }
        return await RefusedAsync(answer, ct) ?? Page();
    }

    public async Task<IActionResult> OnPostClaimAsync(CancellationToken ct)
    {
        if (SignedOut() is { } login) return login;
        var answer = await Api.PostAsync($"/v1/red-packets/{Uri.EscapeDataString(Code?.Trim() ?? "")}/claim", null, Token, ct, MoneyHeaders(null, IdempotencyKey));
        if (answer.Ok) DoneMessage = T("wallet.redpackets.claimed") + " " + Money(answer.Number("amount"));
        else if (Failed(answer)) return Redirect("/wallet/login");
        return await OpenAsync(ct, keepError: !answer.Ok) ?? Page();
    }

    private async Task<IActionResult?> OpenAsync(CancellationToken ct, bool keepError = false)
    {
        var answer = await Api.GetAsync("/v1/red-packets/" + Uri.EscapeDataString(Code?.Trim() ?? ""), Token, ct);
        if (answer.Ok)
        {
            Opened = answer.Body;
            return null;
        }
        if (keepError) return null;
        return Failed(answer) ? Redirect("/wallet/login") : null;
    }
}
