using Microsoft.AspNetCore.Mvc;

namespace Qianbao.Server.Consoles.Merchant;

/// <summary>
/// <c>/merchant/apps</c>: the shop's gateway apps and keys (<c>GET /merchant/v1/apps</c>): each app's notify URL and the
/// fingerprint of its public key, and the platform's public key to copy into the shop's SDK. An admin changes an app's notify
/// URL (<c>PUT /merchant/v1/apps/{app_id}/notify-url</c>) and public key (<c>PUT /merchant/v1/apps/{app_id}/public-key</c>);
/// whether a URL or key is acceptable, and whether this staff member may change it, is the API's to say (its 400 or 403 is
/// shown, with what was typed kept in the form).
/// </summary>
public sealed class AppsModel : MerchantPage
{
    [BindProperty] public string? AppId { get; set; }
    [BindProperty] public string? NotifyUrl { get; set; }
    [BindProperty] public string? PublicKey { get; set; }

    public sealed record AppView(string AppId, string Status, string SignType, string NotifyUrl, string Fingerprint, string CreatedAt);

    public IReadOnlyList<AppView> Items { get; private set; } = [];

    /// <summary>Whether the list could be read; the page shows nothing more otherwise.</summary>
    public bool Listed { get; private set; }

    /// <summary>The platform's public key as bare base64 (the SDK's <c>alipayPublicKey</c>) and as PEM.</summary>
    public string PlatformPublicKey { get; private set; } = "";

    public string PlatformPublicKeyPem { get; private set; } = "";

    public string PlatformKeyId { get; private set; } = "";

    /// <summary>The app whose form was refused: its field shows what was typed rather than the stored value.</summary>
    public string? RefusedAppId { get; private set; }

    public async Task<IActionResult> OnGetAsync(string? changed, CancellationToken ct)
    {
        if (SignedOut() is { } login) return login;
        if (!string.IsNullOrEmpty(changed)) DoneMessage = T("merchant.apps.saved");
        return await ListAsync(ct) ?? Page();
    }

    public Task<IActionResult> OnPostNotifyUrlAsync(CancellationToken ct) =>
        ChangeAsync("notify-url", new { notify_url = NotifyUrl ?? "" }, ct);

    public Task<IActionResult> OnPostPublicKeyAsync(CancellationToken ct) =>
        ChangeAsync("public-key", new { public_key = PublicKey ?? "" }, ct);

    private async Task<IActionResult> ChangeAsync(string what, object body, CancellationToken ct)
    {
        if (SignedOut() is { } login) return login;
        var answer = await Api.PutAsync($"/merchant/v1/apps/{Uri.EscapeDataString(AppId ?? "")}/{what}", body, Token, ct);
        // Back by GET after a change, so a reload does not send it again.
        if (answer.Ok) return Redirect("/merchant/apps?changed=" + Uri.EscapeDataString(what));
        if (Failed(answer)) return ToLogin();
        RefusedAppId = AppId;
        return await ShowAgainAsync(ListAsync, ct);
    }

    private async Task<IActionResult?> ListAsync(CancellationToken ct)
    {
        var (answer, relogin) = await GetOrLoginAsync("/merchant/v1/apps", ct);
        if (relogin is not null) return relogin;
        if (!answer.Ok) return null;
        Listed = true;
        PlatformPublicKey = answer.Text("platform_public_key");
        PlatformPublicKeyPem = answer.Text("platform_public_key_pem");
        PlatformKeyId = answer.Text("platform_key_id");
        Items = answer.Items().Select(a => new Shared.ApiAnswer(200, a)).Select(a => new AppView(a.Text("app_id"), a.Text("status"), a.Text("sign_type"),
            a.Text("notify_url"), a.Text("public_key_fingerprint"), a.Text("created_at"))).ToList();
        return null;
    }
}
