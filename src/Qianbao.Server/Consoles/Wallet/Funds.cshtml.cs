using Microsoft.AspNetCore.Mvc;

namespace Qianbao.Server.Consoles.Wallet;

/// <summary>
/// <c>/wallet/funds</c>: top up from the bank (<c>POST /v1/topups</c>) and withdraw to it (<c>POST /v1/withdrawals</c>,
/// with the PIN and, when the API asks, a step-up code). Both are confirmed by the bank later: the page says so.
/// </summary>
public sealed class FundsModel : WalletPage
{
    [BindProperty] public string? Amount { get; set; }
    [BindProperty] public string? Pin { get; set; }
    [BindProperty] public string? IdempotencyKey { get; set; }

    /// <summary>Which form a step-up code belongs to.</summary>
    public string? StepUpFor { get; private set; }

    public IActionResult OnGet() => SignedOut() ?? Page();

    public Task<IActionResult> OnPostTopUpAsync(CancellationToken ct) => MoveAsync("/v1/topups", "wallet.funds.topup.done", ct);

    public Task<IActionResult> OnPostWithdrawAsync(CancellationToken ct) => MoveAsync("/v1/withdrawals", "wallet.funds.withdraw.done", ct);

    private async Task<IActionResult> MoveAsync(string path, string doneKey, CancellationToken ct)
    {
        if (SignedOut() is { } login) return login;
        var answer = await Api.PostAsync(path, new { amount = AmountField(Amount), currency = "CNY" }, Token, ct, MoneyHeaders(Pin, IdempotencyKey));
        Pin = null;
        if (answer.Ok)
        {
            DoneMessage = T(doneKey);
            Amount = null;
            StepUpVerificationId = null;
            StepUpCode = null;
            return Page();
        }
        if (await RefusedAsync(answer, ct) is { } gone) return gone;
        StepUpFor = path;
        return Page();
    }
}
