namespace Qianbao.Server.Consoles.Shared;

/// <summary>
/// The API's refusals as a person reads them: in English the API's own detail (it names the field and the bound), in
/// Chinese the message for the stable code (see the README's error table), falling back to a general sentence with the
/// code. Consoles/ErrorTextsTests holds that every code in <see cref="Http.ErrorCodes"/> has a Chinese message.
/// </summary>
internal static class ErrorTexts
{
    public static string Message(string? code, string? apiDetail, ConsoleLanguage language)
    {
        if (language.IsEnglish) return apiDetail ?? (code is null ? "The request was refused." : $"The request was refused ({code}).");
        return code is not null && Chinese.TryGetValue(code, out var text) ? text : $"请求未能完成（{code ?? "error"}）。";
    }

    internal static readonly IReadOnlyDictionary<string, string> Chinese = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["bad_request"] = "请求无效。",
    };
}
