using System.Text.Json;
using Microsoft.AspNetCore.Mvc;

namespace Qianbao.Server.Consoles.Wallet;

/// <summary><c>/wallet/points</c>: <c>GET /v1/points</c>: the balance, what expires when, and the latest movements.</summary>
public sealed class PointsModel : WalletPage
{
    public long Balance { get; private set; }
    public IReadOnlyList<JsonElement> Expiring { get; private set; } = [];
    public IReadOnlyList<JsonElement> Items { get; private set; } = [];

    public async Task<IActionResult> OnGetAsync(CancellationToken ct)
    {
        if (SignedOut() is { } login) return login;
        var (points, gone) = await LoadAsync("/v1/points", ct);
        if (gone is not null) return gone;
        Balance = points.Number("balance");
        Expiring = [.. points.Items("expiring")];
        Items = [.. points.Items()];
        return Page();
    }
}
