using System.Globalization;
using Microsoft.AspNetCore.Mvc;

namespace Qianbao.Server.Consoles.Merchant;

/// <summary><c>/merchant</c>: where the shop's signup stands (pending, verified, or rejected with the operator's reason) and who is signed in (<c>GET /merchant/v1/me</c>).</summary>
public sealed class IndexModel : MerchantPage
{
    public sealed record Self(string MerchantId, string Name, string Status, string RejectedReason, long FeeBps, string Role);

    public Self? Me { get; private set; }

    public string FeePercent => Me is null ? "" : (Me.FeeBps / 100m).ToString("0.00", CultureInfo.InvariantCulture) + "%";

    public async Task<IActionResult> OnGetAsync(CancellationToken ct)
    {
        if (SignedOut() is { } login) return login;
        var (answer, relogin) = await GetOrLoginAsync("/merchant/v1/me", ct);
        if (relogin is not null) return relogin;
        if (answer.Ok)
            Me = new Self(answer.Text("merchant_id"), answer.Text("name"), answer.Text("status"), answer.Text("rejected_reason"), answer.Number("fee_bps"),
                answer.Text("role"));
        return Page();
    }
}
