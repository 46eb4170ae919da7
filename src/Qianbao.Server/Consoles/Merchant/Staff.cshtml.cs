using Microsoft.AspNetCore.Mvc;

namespace Qianbao.Server.Consoles.Merchant;

/// <summary>
/// <c>/merchant/staff</c>: the shop's staff (<c>GET /merchant/v1/staff</c>), adding one with a first password and a role
/// (<c>POST /merchant/v1/staff</c>; a new admin's TOTP enrolment is shown once, as at signup) and disabling one
/// (<c>POST /merchant/v1/staff/{id}/disable</c>). Admins only: another role sees the API's 403.
/// </summary>
public sealed class StaffModel : MerchantPage
{
    [BindProperty] public string? Email { get; set; }
    [BindProperty] public string? Password { get; set; }
    [BindProperty] public string? Role { get; set; }

    public sealed record Member(string Id, string Email, string Role, bool Disabled);

    public sealed record AddedMember(string Email, string Role, string? TotpSecret, string? OtpauthUri, string? OtpauthPngBase64);

    public IReadOnlyList<Member> Items { get; private set; } = [];

    /// <summary>Whether the list could be read (an admin's); the forms are shown only then.</summary>
    public bool Listed { get; private set; }

    public AddedMember? Added { get; private set; }

    /// <summary>The signed-in staff member (the API refuses to let an admin disable themselves, so no button for it).</summary>
    public string? SelfId { get; private set; }

    public async Task<IActionResult> OnGetAsync(CancellationToken ct)
    {
        if (SignedOut() is { } login) return login;
        return await ListAsync(ct) ?? Page();
    }

    public async Task<IActionResult> OnPostAsync(CancellationToken ct)
    {
        if (SignedOut() is { } login) return login;
        var answer = await Api.PostAsync("/merchant/v1/staff", new { email = Email, password = Password, role = Role }, Token, ct);
        if (answer.Ok)
        {
            var uri = answer.Text("otpauth_uri");
            Added = new AddedMember(answer.Text("email"), answer.Text("role"), uri.Length > 0 ? answer.Text("totp_secret") : null, uri.Length > 0 ? uri : null,
                uri.Length > 0 ? MerchantFormat.QrPngBase64(uri) : null);
            Email = null;
        }
        else if (Failed(answer)) return ToLogin();
        return await KeepingErrorAsync(ct);
    }

    public async Task<IActionResult> OnPostDisableAsync(string? id, CancellationToken ct)
    {
        if (SignedOut() is { } login) return login;
        var answer = await Api.PostAsync($"/merchant/v1/staff/{Uri.EscapeDataString(id ?? "")}/disable", null, Token, ct);
        if (answer.Ok) DoneMessage = T("form.done");
        else if (Failed(answer)) return ToLogin();
        return await KeepingErrorAsync(ct);
    }

    private async Task<IActionResult> KeepingErrorAsync(CancellationToken ct)
    {
        return await ShowAgainAsync(ListAsync, ct);
    }

    private async Task<IActionResult?> ListAsync(CancellationToken ct)
    {
        var (answer, relogin) = await GetOrLoginAsync("/merchant/v1/staff", ct);
        if (relogin is not null) return relogin;
        if (!answer.Ok) return null;
        Listed = true;
        var me = await Api.GetAsync("/merchant/v1/me", Token, ct);
        SelfId = me.Ok ? me.Text("staff_id") : null;
        Items = answer.Items().Select(s => new Member(s.GetProperty("id").ToString(), s.GetProperty("email").GetString() ?? "", s.GetProperty("role").GetString() ?? "",
            s.GetProperty("disabled").GetBoolean())).ToList();
        return null;
    }

}
