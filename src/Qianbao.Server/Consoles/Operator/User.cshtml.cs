using System.Text.Json;
using Microsoft.AspNetCore.Mvc;
using Qianbao.Server.Consoles.Shared;

namespace Qianbao.Server.Consoles.Operator;

/// <summary>
/// <c>/operator/users/{id}</c>: a person as the operator sees them (<c>GET /admin/v1/users/{id}</c>, masked), the audited
/// reveal (a POST button that makes the API's <c>?reveal=true</c> call; the clear values are shown on that answer only,
/// never kept), freeze and unfreeze with a reason, and amount holds (list, place, release, deduct). Each role sees what
/// the API lets it: a section the API refuses shows its refusal.
/// </summary>
public sealed class OperatorUserModel : OperatorPage
{
    [BindProperty(SupportsGet = true)]
    public string Id { get; set; } = "";

    public JsonElement Person { get; private set; }

    public bool Revealed { get; private set; }

    public IReadOnlyList<JsonElement>? Holds { get; private set; }

    /// <summary>The API's refusal of the holds list (a role without it), shown in that section.</summary>
    public string? HoldsRefusal { get; private set; }

    private string Path => "/operator/users/" + Uri.EscapeDataString(Id);

    private string ApiPath => "/admin/v1/users/" + Uri.EscapeDataString(Id);

    public async Task<IActionResult> OnGetAsync(CancellationToken ct)
    {
        if (SignedOut() is { } login) return login;
        ShowDone();
        return await ShowAsync(false, ct);
    }

    public async Task<IActionResult> OnPostRevealAsync(CancellationToken ct)
    {
        if (SignedOut() is { } login) return login;
        return await ShowAsync(true, ct);
    }

    public Task<IActionResult> OnPostFreezeAsync(string? reason, CancellationToken ct) =>
        ActAsync(() => Api.PostAsync(ApiPath + "/freeze", new { reason }, Token, ct), ct);

    public Task<IActionResult> OnPostUnfreezeAsync(string? reason, CancellationToken ct) =>
        ActAsync(() => Api.PostAsync(ApiPath + "/unfreeze", new { reason }, Token, ct), ct);

    public Task<IActionResult> OnPostHoldAsync(string? amount, string? reason, string? reference, string? idempotencyKey, CancellationToken ct) =>
        ActAsync(() => Api.PostAsync(ApiPath + "/holds", new { amount = AmountMinor(amount), currency = "CNY", reason, reference }, Token, ct,
            new Dictionary<string, string> { ["Idempotency-Key"] = idempotencyKey ?? "" }), ct);

    public Task<IActionResult> OnPostReleaseAsync(string? holdId, CancellationToken ct) =>
        ActAsync(() => Api.DeleteAsync(ApiPath + "/holds/" + Uri.EscapeDataString(holdId ?? ""), Token, ct), ct);

    public Task<IActionResult> OnPostDeductAsync(string? holdId, string? idempotencyKey, CancellationToken ct) =>
        ActAsync(() => Api.PostAsync(ApiPath + "/holds/" + Uri.EscapeDataString(holdId ?? "") + "/deduct", new { }, Token, ct,
            new Dictionary<string, string> { ["Idempotency-Key"] = idempotencyKey ?? "" }), ct);

    private async Task<IActionResult> ActAsync(Func<Task<ApiAnswer>> act, CancellationToken ct)
    {
        if (SignedOut() is { } login) return login;
        var answer = await act();
        if (answer.Ok) return Done(Path);
        if (Refused(answer) is { } gone) return gone;
        var (code, message) = (ErrorCode, ErrorMessage);
        var shown = await ShowAsync(false, ct);
        (ErrorCode, ErrorMessage) = (code, message);
        return shown;
    }

    private async Task<IActionResult> ShowAsync(bool reveal, CancellationToken ct)
    {
        var answer = await ReadAsync(ApiPath + (reveal ? "?reveal=true" : ""), ct);
        if (answer is null) return SessionEnded ? ToLogin() : Page();
        Person = answer.Value.Body;
        Revealed = reveal;
        var holds = await Api.GetAsync(ApiPath + "/holds", Token, ct);
        if (holds.Ok) Holds = holds.Items().ToList();
        else HoldsRefusal = ErrorTexts.Message(holds.ErrorCode, holds.ErrorDetail, Language);
        return Page();
    }
}
