using System.Net;

namespace Qianbao.Server.Modules.Messaging.Email;

/// <summary>The e-mail this module sends itself (the code that proves an address), in zh-CN and en, both parts.</summary>
internal static class EmailTemplates
{
    public static (string Subject, string Text, string Html) VerificationCode(string locale, string code, int minutes, string? publicBaseUrl)
    {
        var en = locale == "en";
        var subject = en ? "[Qianbao] Your e-mail verification code" : "【钱包】邮箱验证码";
        var line = en
            ? $"Your code is {code}. It is valid for {minutes} minutes, to confirm this e-mail address for your Qianbao account. Never share it."
            : $"您的验证码是 {code}，{minutes} 分钟内有效，用于绑定钱包账户的邮箱。请勿告诉他人。";
        var ignore = en ? "If you did not ask for this, ignore this e-mail." : "如非本人操作，请忽略本邮件。";
        var link = publicBaseUrl?.TrimEnd('/');
        var text = $"{line}\n\n{ignore}" + (link is null ? "" : $"\n\n{link}/");
        var html = $"""
            <!DOCTYPE html><html lang="{WebUtility.HtmlEncode(locale)}"><body>
            <p>{WebUtility.HtmlEncode(line)}</p>
            <p style="font-size:24px;letter-spacing:4px"><strong>{WebUtility.HtmlEncode(code)}</strong></p>
            <p>{WebUtility.HtmlEncode(ignore)}</p>
            {(link is null ? "" : $"<p><a href=\"{WebUtility.HtmlEncode(link)}/\">{WebUtility.HtmlEncode(link)}</a></p>")}
            </body></html>
            """;
        return (subject, text, html);
    }
}
