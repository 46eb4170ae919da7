namespace Qianbao.Server.Consoles.Shared;

/// <summary>
/// The language a console page speaks: <c>zh-CN</c> (the default) or <c>en</c>. Chosen by <c>?lang=</c> (remembered in
/// the <c>qb_lang</c> cookie for a year), else that cookie, else the browser's <c>Accept-Language</c>.
/// </summary>
internal readonly record struct ConsoleLanguage(string Tag)
{
    public const string CookieName = "qb_lang";
    public const string QueryName = "lang";

    public static readonly ConsoleLanguage Chinese = new("zh-CN");
    public static readonly ConsoleLanguage English = new("en");

    public bool IsEnglish => Tag == English.Tag;

    /// <summary>The other language, for the switch in every page.</summary>
    public ConsoleLanguage Other => IsEnglish ? Chinese : English;

    public static ConsoleLanguage Of(HttpContext http)
    {
        if (Parse(http.Request.Query[QueryName].ToString()) is { } asked) return asked;
        if (Parse(http.Request.Cookies[CookieName]) is { } remembered) return remembered;
        var accept = http.Request.GetTypedHeaders().AcceptLanguage
            .OrderByDescending(l => l.Quality ?? 1).Select(l => l.Value.Value).FirstOrDefault();
        return accept is not null && accept.StartsWith("en", StringComparison.OrdinalIgnoreCase) ? English : Chinese;
    }

    /// <summary>Remembers a <c>?lang=</c> choice, so the next pages keep it without the query.</summary>
    public static void RememberChoice(HttpContext http)
    {
        if (Parse(http.Request.Query[QueryName].ToString()) is not { } asked) return;
        http.Response.Cookies.Append(CookieName, asked.Tag, new CookieOptions
        {
            Path = "/", MaxAge = TimeSpan.FromDays(365), HttpOnly = true, SameSite = SameSiteMode.Lax, Secure = http.Request.IsHttps,
        });
    }

    private static ConsoleLanguage? Parse(string? value) => value?.ToLowerInvariant() switch
    {
        "en" or "en-us" or "en-gb" => English,
        "zh" or "zh-cn" or "zh-hans" => Chinese,
        _ => null,
    };
}
