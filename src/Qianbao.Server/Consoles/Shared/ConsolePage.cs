using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.AspNetCore.Mvc.Filters;
using Microsoft.AspNetCore.Mvc.RazorPages;

namespace Qianbao.Server.Consoles.Shared;

/// <summary>
/// What every console page has: the language (<see cref="T"/> for its texts), the API client, the console's sign-in,
/// and the error of the last action in the page's language. A page that needs a signed-in person starts its handlers
/// with <c>if (SignedOut() is { } login) return login;</c>.
/// </summary>
public abstract class ConsolePage : PageModel
{
    private protected abstract ConsoleKind Console { get; }

    /// <summary>The page's language.</summary>
    internal ConsoleLanguage Language { get; private set; } = ConsoleLanguage.Chinese;

    /// <summary>The failure of the last action, in the page's language (null when it succeeded or none was taken).</summary>
    public string? ErrorMessage { get; protected set; }

    /// <summary>The stable code of that failure (the API's), shown beside the message and used by tests.</summary>
    public string? ErrorCode { get; protected set; }

    /// <summary>A short confirmation of the last action (null when there is none).</summary>
    public string? DoneMessage { get; protected set; }

    internal ConsoleApi Api => HttpContext.RequestServices.GetRequiredService<ConsoleApi>();

    /// <summary>The API access token of the signed-in person, or null.</summary>
    protected string? Token => ConsoleSession.Token(HttpContext, Console);

    public string T(string key) => ConsoleText.Get(key, Language);

    public string LanguageTag => Language.Tag;

    /// <summary>The link that shows this page in the other language.</summary>
    public string OtherLanguageLink => QueryHelpers.AddQueryString(Request.Path, ConsoleLanguage.QueryName, Language.Other.Tag);

    public override void OnPageHandlerExecuting(PageHandlerExecutingContext context)
    {
        Language = ConsoleLanguage.Of(HttpContext);
        ConsoleLanguage.RememberChoice(HttpContext);
        // Console pages show personal data: never cached by the browser or a proxy.
        Response.Headers.CacheControl = "no-store";
    }

    /// <summary>Redirects to the console's login page when nobody is signed in; null when someone is.</summary>
    protected IActionResult? SignedOut() =>
        Token is null ? Redirect(ConsoleSession.PathOf(Console) + "/login?returnUrl=" + Uri.EscapeDataString(Request.Path + Request.QueryString)) : null;

    /// <summary>
    /// After a refused action: the page filled again by <paramref name="reload"/>, showing the action's refusal (not whatever
    /// the reload set; the reload's own refusal shows only when the action had none).
    /// </summary>
    protected async Task<IActionResult> ShowAgainAsync(Func<CancellationToken, Task<IActionResult?>> reload, CancellationToken ct)
    {
        var (error, code) = (ErrorMessage, ErrorCode);
        var result = await reload(ct);
        if (error is not null) (ErrorMessage, ErrorCode) = (error, code);
        return result ?? Page();
    }

    /// <summary>
    /// Records an API refusal for the page to show. Returns true when the refusal means the sign-in is gone (401), after
    /// clearing it, so the caller can send the person to the login page.
    /// </summary>
    internal bool Failed(ApiAnswer answer)
    {
        ErrorCode = answer.ErrorCode ?? (answer.Status >= 500 ? "unavailable" : "error");
        ErrorMessage = answer.Status >= 500 ? T("error.unavailable") : ErrorTexts.Message(answer.ErrorCode, answer.ErrorDetail, Language);
        if (answer.Status != StatusCodes.Status401Unauthorized) return false;
        ConsoleSession.SignOut(HttpContext, Console);
        return true;
    }

    /// <summary>A local path to return to after login; anything else (another host, a scheme) becomes the console's home.</summary>
    protected string SafeReturnUrl(string? returnUrl) =>
        returnUrl is { Length: > 0 } url && url.StartsWith(ConsoleSession.PathOf(Console), StringComparison.Ordinal) && !url.StartsWith("//", StringComparison.Ordinal)
            && !url.Contains('\\') ? url : ConsoleSession.PathOf(Console);

    /// <summary>A fresh Idempotency-Key for a form: rendered into it, so a double submit of the same form acts once.</summary>
    public static string NewIdempotencyKey() => Guid.NewGuid().ToString("N");
}

/// <summary>Base of every page that belongs to no console in particular (the home page).</summary>
public abstract class PublicConsolePage : ConsolePage
{
    private protected override ConsoleKind Console => ConsoleKind.Wallet;
}
