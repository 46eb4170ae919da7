using System.Text.Json;
using Microsoft.AspNetCore.Mvc;

namespace Qianbao.Server.Consoles.Operator;

/// <summary>
/// <c>/operator/operators</c> (owner): the team (<c>GET /admin/v1/operators</c>), an invitation (<c>POST
/// /admin/v1/operators</c>: its one-time token is shown once, on the answer, to hand over) and disabling one.
/// </summary>
public sealed class OperatorOperatorsModel : OperatorPage
{
    public IReadOnlyList<JsonElement> Team { get; private set; } = [];

    public JsonElement Invited { get; private set; }

    public static readonly string[] Roles = ["risk", "support", "finance", "owner"];

    public async Task<IActionResult> OnGetAsync(CancellationToken ct)
    {
        if (SignedOut() is { } login) return login;
        ShowDone();
        return await ShowAsync(ct);
    }

    public async Task<IActionResult> OnPostInviteAsync(string? email, string? name, string? role, CancellationToken ct)
    {
        if (SignedOut() is { } login) return login;
        var answer = await Api.PostAsync("/admin/v1/operators", new { email, name, role }, Token, ct);
        if (answer.Ok) Invited = answer.Body;
        else if (Refused(answer) is { } gone) return gone;
        return await KeepingErrorAsync(ct);
    }

    public async Task<IActionResult> OnPostDisableAsync(string? operatorId, CancellationToken ct)
    {
        if (SignedOut() is { } login) return login;
        var answer = await Api.PostAsync("/admin/v1/operators/" + Uri.EscapeDataString(operatorId ?? "") + "/disable", null, Token, ct);
        if (answer.Ok) return Done("/operator/operators");
        if (Refused(answer) is { } gone) return gone;
        return await KeepingErrorAsync(ct);
    }

    private async Task<IActionResult> KeepingErrorAsync(CancellationToken ct)
    {
        var (code, message) = (ErrorCode, ErrorMessage);
        var shown = await ShowAsync(ct);
        if (code is not null) (ErrorCode, ErrorMessage) = (code, message);
        return shown;
    }

    private async Task<IActionResult> ShowAsync(CancellationToken ct)
    {
        var answer = await ReadAsync("/admin/v1/operators", ct);
        if (answer is null) return SessionEnded ? ToLogin() : Page();
        Team = answer.Value.Items().ToList();
        return Page();
    }
}
