using Microsoft.AspNetCore.Mvc;

namespace Qianbao.Server.Consoles.Wallet;

/// <summary>
/// <c>/wallet/transfer</c>: who a phone number belongs to (<c>GET /v1/recipients</c>, the masked name) before sending,
/// then <c>POST /v1/transfers</c> with the PIN and, when the API asks, a step-up code.
/// </summary>
public sealed class TransferModel : WalletPage
{
    [BindProperty] public string? Phone { get; set; }
    [BindProperty] public string? Amount { get; set; }
    [BindProperty] public string? Note { get; set; }
    [BindProperty] public string? Pin { get; set; }
    [BindProperty] public string? IdempotencyKey { get; set; }

    /// <summary>The recipient's masked name once previewed.</summary>
    public string? RecipientName { get; private set; }

    public IActionResult OnGet() => SignedOut() ?? Page();

    public async Task<IActionResult> OnPostPreviewAsync(CancellationToken ct)
    {
        if (SignedOut() is { } login) return login;
        var answer = await Api.GetAsync("/v1/recipients?phone=" + Uri.EscapeDataString(Phone?.Trim() ?? ""), Token, ct);
        if (answer.Ok) RecipientName = answer.Text("name_masked");
        else if (Failed(answer)) return Redirect("/wallet/login");
        return Page();
    }

    public async Task<IActionResult> OnPostAsync(CancellationToken ct)
    {
        if (SignedOut() is { } login) return login;
        var answer = await Api.PostAsync("/v1/transfers", new
        {
            to_phone = Phone?.Trim(), amount = AmountField(Amount), currency = "CNY", note = string.IsNullOrWhiteSpace(Note) ? null : Note.Trim(),
        }, Token, ct, MoneyHeaders(Pin, IdempotencyKey));
        Pin = null;
        if (answer.Ok)
        {
            DoneMessage = T("wallet.transfer.done") + " " + Money(answer.Number("amount"));
            StepUpVerificationId = null;
            return Page();
        }
        if (await RefusedAsync(answer, ct) is { } gone) return gone;
        var recipient = await Api.GetAsync("/v1/recipients?phone=" + Uri.EscapeDataString(Phone?.Trim() ?? ""), Token, ct);
        if (recipient.Ok) RecipientName = recipient.Text("name_masked");
        return Page();
    }
}
