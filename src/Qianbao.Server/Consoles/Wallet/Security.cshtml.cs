using System.Text.Json;
using Microsoft.AspNetCore.Mvc;
using QRCoder;

namespace Qianbao.Server.Consoles.Wallet;

/// <summary>
/// <c>/wallet/security</c>: the signed-in sessions (<c>GET /v1/sessions</c>, revoke one with <c>DELETE /v1/sessions/{id}</c>),
/// the authenticator (<c>POST /v1/me/totp</c>, its secret shown as a QR code to scan, then <c>POST /v1/me/totp/confirm</c>)
/// and the password (<c>POST /v1/me/password</c>).
/// </summary>
public sealed class SecurityModel : WalletPage
{
    [BindProperty] public string? SessionId { get; set; }
    [BindProperty] public string? TotpCode { get; set; }
    [BindProperty] public string? CurrentPassword { get; set; }
    [BindProperty] public string? NewPassword { get; set; }

    public IReadOnlyList<JsonElement> Sessions { get; private set; } = [];
    public bool TotpEnabled { get; private set; }

    /// <summary>A new authenticator's secret, as text and as a QR image (data URI), while it waits for its first code.</summary>
    public string? TotpSecret { get; private set; }
    public string? TotpQrDataUri { get; private set; }

    public async Task<IActionResult> OnGetAsync(CancellationToken ct) => SignedOut() ?? await LoadPageAsync(ct) ?? Page();

    public async Task<IActionResult> OnPostRevokeAsync(CancellationToken ct)
    {
        if (SignedOut() is { } login) return login;
        var answer = await Api.DeleteAsync("/v1/sessions/" + Uri.EscapeDataString(SessionId ?? ""), Token, ct);
        if (answer.Ok) DoneMessage = T("wallet.security.revoked");
        else if (Failed(answer)) return Redirect("/wallet/login");
        return await LoadPageAsync(ct) ?? Page();
    }

    public async Task<IActionResult> OnPostTotpAsync(CancellationToken ct)
    {
        if (SignedOut() is { } login) return login;
        var answer = await Api.PostAsync("/v1/me/totp", null, Token, ct);
        if (!answer.Ok)
        {
            if (Failed(answer)) return Redirect("/wallet/login");
            return await LoadPageAsync(ct) ?? Page();
        }
        TotpSecret = answer.Text("secret");
        using var generator = new QRCodeGenerator();
        using var data = generator.CreateQrCode(answer.Text("otpauth_uri"), QRCodeGenerator.ECCLevel.M);
        TotpQrDataUri = "data:image/png;base64," + Convert.ToBase64String(new PngByteQRCode(data).GetGraphic(6));
        return await LoadPageAsync(ct) ?? Page();
    }

    public async Task<IActionResult> OnPostTotpConfirmAsync(CancellationToken ct)
    {
        if (SignedOut() is { } login) return login;
        var answer = await Api.PostAsync("/v1/me/totp/confirm", new { code = TotpCode?.Trim() }, Token, ct);
        if (answer.Ok) DoneMessage = T("wallet.security.totp.done");
        else if (Failed(answer)) return Redirect("/wallet/login");
        return await LoadPageAsync(ct) ?? Page();
    }

    public async Task<IActionResult> OnPostPasswordAsync(CancellationToken ct)
    {
        if (SignedOut() is { } login) return login;
        var answer = await Api.PostAsync("/v1/me/password", new { current_password = CurrentPassword, new_password = NewPassword }, Token, ct);
        CurrentPassword = NewPassword = null;
        if (answer.Ok) DoneMessage = T("wallet.security.password.done");
        else if (Failed(answer)) return Redirect("/wallet/login");
        return await LoadPageAsync(ct) ?? Page();
    }

    private async Task<IActionResult?> LoadPageAsync(CancellationToken ct)
    {
        var sessions = await Api.GetAsync("/v1/sessions", Token, ct);
        if (!sessions.Ok)
        {
            var (code, message) = (ErrorCode, ErrorMessage);
            if (Failed(sessions)) return Redirect("/wallet/login");
            if (code is not null) (ErrorCode, ErrorMessage) = (code, message);
        }
        Sessions = [.. sessions.Items()];
        var me = await Api.GetAsync("/v1/me", Token, ct);
        TotpEnabled = me.Ok && Flag(me.Body, "totp_enabled");
        return null;
    }
}
