using System.Text.Json;
using Microsoft.AspNetCore.Mvc;

namespace Qianbao.Server.Consoles.Operator;

/// <summary><c>/operator/users?phone=</c>: find the account holding a phone (<c>GET /admin/v1/users?phone=</c>, masked).</summary>
public sealed class OperatorUsersModel : OperatorPage
{
    [BindProperty(SupportsGet = true)]
    public string? Phone { get; set; }

    public IReadOnlyList<JsonElement>? Found { get; private set; }

    public async Task<IActionResult> OnGetAsync(CancellationToken ct)
    {
        if (SignedOut() is { } login) return login;
        if (string.IsNullOrWhiteSpace(Phone)) return Page();
        var answer = await ReadAsync("/admin/v1/users?phone=" + Uri.EscapeDataString(Phone.Trim()), ct);
        if (answer is null) return SessionEnded ? ToLogin() : Page();
        Found = answer.Value.Items().ToList();
        return Page();
    }
}
