namespace Qianbao.Server.Consoles.Shared;

/// <summary>Which console a credential belongs to; each keeps its own cookie, scoped to its own path.</summary>
internal enum ConsoleKind
{
    Wallet,
    Merchant,
    Operator,
}

/// <summary>
/// A console's sign-in: the API access token the person obtained through the console's login form, kept in an HttpOnly,
/// SameSite=Strict cookie scoped to the console's path (<c>/wallet</c>, <c>/merchant</c>, <c>/operator</c>), so a page
/// of one console never sends another's credential. The token is the API's own: expiry, revocation and roles are
/// checked by the API on every call, never by the console.
/// </summary>
internal static class ConsoleSession
{
    public static string PathOf(ConsoleKind console) => console switch
    {
        ConsoleKind.Wallet => "/wallet",
        ConsoleKind.Merchant => "/merchant",
        ConsoleKind.Operator => "/operator",
        _ => throw new ArgumentOutOfRangeException(nameof(console), console, null),
    };

    private static string CookieOf(ConsoleKind console) => "qb_" + console.ToString().ToLowerInvariant();

    public static string? Token(HttpContext http, ConsoleKind console) =>
        http.Request.Cookies[CookieOf(console)] is { Length: > 0 } token ? token : null;

    public static void SignIn(HttpContext http, ConsoleKind console, string token, TimeSpan lifetime) =>
        http.Response.Cookies.Append(CookieOf(console), token, new CookieOptions
        {
            Path = PathOf(console), HttpOnly = true, SameSite = SameSiteMode.Strict, Secure = http.Request.IsHttps,
            MaxAge = lifetime,
        });

    public static void SignOut(HttpContext http, ConsoleKind console) =>
        http.Response.Cookies.Delete(CookieOf(console), new CookieOptions { Path = PathOf(console) });

    /// <summary>
    /// A stable random id for this browser (cookie <c>qb_device</c>, two years), sent as the login's <c>device_id</c>, so
    /// the API's new-device rules (step-up, alerts) see one browser as one device.
    /// </summary>
    public static string DeviceId(HttpContext http)
    {
        const string cookie = "qb_device";
        if (http.Request.Cookies[cookie] is { Length: >= 16 and <= 64 } known) return known;
        var fresh = "web-" + Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(12));
        http.Response.Cookies.Append(cookie, fresh, new CookieOptions
        {
            Path = "/", HttpOnly = true, SameSite = SameSiteMode.Lax, Secure = http.Request.IsHttps, MaxAge = TimeSpan.FromDays(730),
        });
        return fresh;
    }
}
