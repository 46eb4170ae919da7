using System.Text.Json;
using Microsoft.AspNetCore.Mvc;

namespace Qianbao.Server.Consoles.Operator;

/// <summary><c>/operator/ledger</c>: the ledger check (<c>GET /admin/v1/ledger/check</c>: every currency balances, no violation).</summary>
public sealed class OperatorLedgerModel : OperatorPage
{
    public JsonElement Check { get; private set; }

    public async Task<IActionResult> OnGetAsync(CancellationToken ct)
    {
        if (SignedOut() is { } login) return login;
        var answer = await ReadAsync("/admin/v1/ledger/check", ct);
        if (answer is null) return SessionEnded ? ToLogin() : Page();
        Check = answer.Value.Body;
        return Page();
    }
}
