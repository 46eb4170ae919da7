using Microsoft.AspNetCore.Mvc;

namespace Qianbao.Server.Consoles.Merchant;

/// <summary>
/// <c>/merchant/followers/{userId}</c>: a service message to one follower (<c>POST /merchant/v1/followers/{user_id}/messages</c>,
/// the admin's), with an Idempotency-Key rendered into the form so submitting it twice sends once. The follower's masked
/// name comes from the followers list (<c>?name=</c>) and is only shown; whether the person follows the shop is the API's
/// to say (404 otherwise), shown with the typed text and the same key kept.
/// </summary>
public sealed class FollowerMessageModel : MerchantPage
{
    [BindProperty(SupportsGet = true)] public string UserId { get; set; } = "";
    [BindProperty(SupportsGet = true, Name = "name")] public string? UserName { get; set; }
    [BindProperty] public string? Title { get; set; }
    [BindProperty] public string? Body { get; set; }
    [BindProperty] public string IdempotencyKey { get; set; } = NewIdempotencyKey();

    public IActionResult OnGet() => SignedOut() ?? Page();

    public async Task<IActionResult> OnPostAsync(CancellationToken ct)
    {
        if (SignedOut() is { } login) return login;
        var answer = await Api.PostAsync($"/merchant/v1/followers/{Uri.EscapeDataString(UserId)}/messages", new { title = Title ?? "", body = Body ?? "" }, Token, ct,
            new Dictionary<string, string> { ["Idempotency-Key"] = IdempotencyKey });
        if (answer.Ok) return Redirect("/merchant/followers?sent=1");
        if (Failed(answer)) return ToLogin();
        if (answer.Status == StatusCodes.Status404NotFound) Response.StatusCode = StatusCodes.Status404NotFound;
        return Page();
    }
}
