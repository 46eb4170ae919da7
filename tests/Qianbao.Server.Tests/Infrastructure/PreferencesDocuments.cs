namespace Qianbao.Server.Tests.Infrastructure;

/// <summary>
/// The whole <c>PUT /v1/me/notification-preferences</c> document the quiet-hours tests send: in-app on for every category
/// (marketing and service only when <paramref name="marketingAndServiceInApp"/>), SMS and e-mail off but for security, quiet
/// hours 22:00–08:00 in <paramref name="zone"/>, English.
/// </summary>
public static class PreferencesDocuments
{
    public static object QuietNights(string zone = "Asia/Shanghai", bool marketingAndServiceInApp = true) => new
    {
        categories = new
        {
            security = new { in_app = true, sms = true, email = true, locked = true },
            transaction = new { in_app = true, sms = false, email = false },
            marketing = new { in_app = marketingAndServiceInApp, sms = false, email = false },
            service = new { in_app = marketingAndServiceInApp, sms = false, email = false },
        },
        quiet_hours = new { enabled = true, start = "22:00", end = "08:00" },
        time_zone = zone,
        locale = "en",
    };
}
