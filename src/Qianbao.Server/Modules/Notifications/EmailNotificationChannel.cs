using System.Data.Common;
using System.Net;
using Qianbao.Server.Hosting;
using Qianbao.Server.Modules.Messaging.Email;

namespace Qianbao.Server.Modules.Notifications;

/// <summary>
/// The e-mail channel: Messaging's <see cref="EmailOutbox"/>, only to the person's verified address (none → the channel is
/// recorded <c>unavailable</c> and nothing is queued), due when the notification is. The mail is the notification's
/// rendered title (subject) and body as multipart text and HTML in the person's locale, with a link into the wallet on
/// <c>Qianbao:PublicBaseUrl</c>. Marketing mail carries <c>List-Unsubscribe</c> (the signed one-click URL) and
/// <c>List-Unsubscribe-Post: List-Unsubscribe=One-Click</c> (RFC 8058), and the same link in its footer. The outbox's
/// dedupe key is the notification, so a notification is mailed at most once. A campaign's mail has its variant's
/// <c>email_subject</c> (else the title) and is tracked: an open pixel (<c>/t/o/{token}</c>) and, for an https
/// <c>open_url</c> action, the link through <c>/t/c/{token}</c>, which redirects only to that URL.
/// </summary>
internal sealed class EmailNotificationChannel(EmailOutbox outbox, EmailAddresses addresses, UnsubscribeLinks unsubscribe, QianbaoOptions options,
    Campaigns.TrackingLinks tracking)
    : INotificationChannel
{
    public NotificationChannel Channel => NotificationChannel.Email;

    public async ValueTask<bool> ReachesAsync(DbConnection connection, DbTransaction tx, Guid userId, bool hasPhone, CancellationToken ct) =>
        await addresses.VerifiedAsync(connection, tx, userId, ct) is not null;

    public async ValueTask QueueAsync(DbConnection connection, DbTransaction tx, NotificationDelivery delivery, CancellationToken ct)
    {
        if (await addresses.VerifiedAsync(connection, tx, delivery.UserId, ct) is not { } to) return;
        var marketing = delivery.Category == NotificationCategory.Marketing;
        var optOut = marketing ? unsubscribe.Url(delivery.UserId, NotificationChannel.Email) : null;
        var baseUrl = options.PublicBaseUrl?.TrimEnd('/');
        var tracked = delivery.CampaignId is not null && baseUrl is not null;
        var (text, html) = Render(delivery, baseUrl, optOut,
            tracked && HttpsActionUrl(delivery) is not null ? tracking.ClickUrl(baseUrl!, delivery.NotificationId) : null,
            tracked ? tracking.OpenUrl(baseUrl!, delivery.NotificationId) : null);
        var headers = optOut is null ? null : new Dictionary<string, string>
        {
            ["List-Unsubscribe"] = $"<{optOut}>",
            ["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click",
        };
        var subject = (NotificationTemplates.Supported(delivery.Locale) == "en" ? "[Qianbao] " : "【钱包】") + OneLine(delivery.EmailSubject ?? delivery.Title);
        await outbox.QueueAsync(connection, tx,
            new EmailMessage(to.Address, subject, text, html, delivery.Locale, "notification_" + delivery.Type, delivery.UserId, headers), ct,
            TimeProviderExtensions.FromUnixMicroseconds(delivery.DueAtUs), "notification:" + delivery.NotificationId.ToString("N"), marketing);
    }

    private static string? HttpsActionUrl(NotificationDelivery d) =>
        d.Action is { Type: "open_url", Url: { } url } && Uri.TryCreate(url, UriKind.Absolute, out var u) && u.Scheme == "https" ? url : null;

    private static string OneLine(string s)
    {
        var line = s.ReplaceLineEndings(" ");
        return line.Length > 200 ? line[..200] : line;
    }

    /// <summary>Both parts: the body, the action (an own https URL of the action, else the notification in the wallet), and the opt-out footer.</summary>
    /// <param name="clickUrl">The tracked link replacing the action's URL (a campaign's mail), or null.</param>
    /// <param name="pixelUrl">The open pixel's URL (a campaign's mail), or null.</param>
    public static (string Text, string Html) Render(NotificationDelivery d, string? baseUrl, string? optOut, string? clickUrl = null, string? pixelUrl = null)
    {
        var en = NotificationTemplates.Supported(d.Locale) == "en";
        var link = HttpsActionUrl(d) is { } url ? clickUrl ?? url
            : baseUrl is null ? null : $"{baseUrl}/notifications/{d.NotificationId:N}";
        var open = en ? "Open in Qianbao" : "在钱包中查看";
        var stop = en ? "You receive offers because you agreed to them. Unsubscribe:" : "您收到此邮件是因为您同意接收优惠信息。退订：";
        var text = d.Title + "\n\n" + d.Body
                   + (link is null ? "" : $"\n\n{open}: {link}")
                   + (optOut is null ? "" : $"\n\n--\n{stop} {optOut}");
        static string e(string s) => WebUtility.HtmlEncode(s);
        var html = $"""
            <!DOCTYPE html><html lang="{e(d.Locale)}"><head><meta charset="utf-8"></head><body>
            <h1 style="font-size:20px">{e(d.Title)}</h1>
            <p>{e(d.Body)}</p>
            {(link is null ? "" : $"<p><a href=\"{e(link)}\">{e(open)}</a></p>")}
            {(optOut is null ? "" : $"<hr><p style=\"font-size:12px;color:#666\">{e(stop)} <a href=\"{e(optOut)}\">{e(optOut)}</a></p>")}
            {(pixelUrl is null ? "" : $"<img src=\"{e(pixelUrl)}\" width=\"1\" height=\"1\" alt=\"\">")}
            </body></html>
            """;
        return (text, html);
    }
}
