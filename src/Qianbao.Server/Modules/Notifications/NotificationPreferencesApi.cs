using System.Globalization;
using Dapper;
using Qianbao.Server.Hosting;
using Qianbao.Server.Http;
using Qianbao.Server.Modules.Identity;
using Qianbao.Server.Storage;

namespace Qianbao.Server.Modules.Notifications;

/// <summary>
/// <c>GET/PUT /v1/me/notification-preferences</c>: <c>{categories:{security:{in_app, sms, email, locked:true}, transaction:{...},
/// marketing:{...}, service:{...}}, quiet_hours:{enabled, start:"22:00", end:"08:00"}, time_zone, locale}</c>; PUT takes the
/// whole document (<c>locked</c> is ignored) and answers the stored one. Security cannot be turned off (422
/// <c>category_locked</c>). Marketing is off until turned on; each marketing channel turned on is a consent granted, each
/// turned off a consent withdrawn, recorded in the same transaction (<c>GET /v1/me/consents</c>).
/// </summary>
internal static class NotificationPreferencesApi
{
    /// <summary>The version of the marketing consent text the app shows beside the switches.</summary>
    public const string ConsentTextVersion = "marketing-2026-11";

    public sealed record ChannelSwitches(bool? InApp, bool? Sms, bool? Email, bool? Locked = null);

    public sealed record QuietHoursDocument(bool? Enabled, string? Start, string? End);

    public sealed record Document(Dictionary<string, ChannelSwitches?>? Categories, QuietHoursDocument? QuietHours, string? TimeZone, string? Locale);

    public static void Map(IEndpointRouteBuilder app)
    {
        app.MapGet("/v1/me/notification-preferences", GetAsync).RequireUser().WithTags("Notifications");
        app.MapPut("/v1/me/notification-preferences", PutAsync).RequireUser().WithTags("Notifications");
        app.MapGet("/v1/me/consents", ConsentsAsync).RequireUser().WithTags("Notifications");
    }

    private static async Task<IResult> GetAsync(HttpContext http, Db db, UserDirectory users, CancellationToken ct)
    {
        var userId = http.UserId();
        await using var connection = await db.OpenAsync(ct);
        var settings = await NotificationSettings.ReadAsync(connection, null, userId, ct);
        var locale = settings.Locale ?? NotificationTemplates.Supported((await users.ContactAsync(connection, null, userId, ct))?.Locale);
        return Results.Json(Render(settings.Preferences, locale), JsonDefaults.Options);
    }

    private static async Task<IResult> PutAsync(HttpContext http, Db db, TimeProvider clock, CancellationToken ct)
    {
        var (request, _, problem) = await RequestBody.ReadJsonAsync<Document>(http.Request, ct);
        if (problem is not null) return problem;
        if (Parse(request!, out var preferences, out var locale) is { } invalid) return ApiProblem.BadRequest(ErrorCodes.InvalidPreferences, invalid);
        var security = request!.Categories!["security"]!;
        if (security.InApp != true || security.Sms != true || security.Email != true)
            return ApiProblem.Unprocessable(ErrorCodes.CategoryLocked, "Security alerts cannot be turned off on any channel.");

        var userId = http.UserId();
        var nowUs = clock.GetUnixMicroseconds();
        await using var connection = await db.OpenAsync(ct);
        await using var tx = await db.BeginWriteAsync(connection, ct);
        var before = await NotificationSettings.ReadAsync(connection, tx, userId, ct);
        await NotificationSettings.WriteAsync(connection, tx, userId, preferences, locale, nowUs, ct);
        foreach (var channel in Enum.GetValues<NotificationChannel>())
        {
            var was = NotificationPreferences.Has(before.Preferences.MarketingChannels, channel);
            var now = NotificationPreferences.Has(preferences.MarketingChannels, channel);
            if (was == now) continue;
            await connection.ExecuteAsync(new CommandDefinition("""
                INSERT INTO notification_consents (id, user_id, channel, status, at_us, source, text_version)
                VALUES (@id, @userId, @channel, @status, @nowUs, 'preferences', @version)
                """, new
            {
                id = Guid.CreateVersion7(clock.GetUtcNow()), userId, channel = (short)channel, status = (short)(now ? ConsentStatus.Granted : ConsentStatus.Withdrawn),
                nowUs, version = ConsentTextVersion,
            }, tx, cancellationToken: ct));
        }
        await tx.CommitAsync(ct);
        return Results.Json(Render(preferences, locale), JsonDefaults.Options);
    }

    private static async Task<IResult> ConsentsAsync(HttpContext http, Db db, CancellationToken ct)
    {
        await using var connection = await db.OpenAsync(ct);
        var rows = await connection.QueryAsync<(short Channel, short Status, long AtUs, string Source, string TextVersion)>(new CommandDefinition(
            "SELECT channel, status, at_us, source, text_version FROM notification_consents WHERE user_id = @userId ORDER BY at_us DESC, id DESC LIMIT 200",
            new { userId = http.UserId() }, cancellationToken: ct));
        return Results.Json(new
        {
            items = rows.Select(r => new
            {
                channel = ChannelName((NotificationChannel)r.Channel), status = ((ConsentStatus)r.Status).ToString().ToLowerInvariant(),
                at = TimeProviderExtensions.FromUnixMicroseconds(r.AtUs), source = r.Source, text_version = r.TextVersion,
            }),
        }, JsonDefaults.Options);
    }

    public static string ChannelName(NotificationChannel c) => c switch
    {
        NotificationChannel.InApp => "in_app",
        NotificationChannel.Sms => "sms",
        NotificationChannel.Email => "email",
        _ => throw new ArgumentOutOfRangeException(nameof(c), c, null),
    };

    private static string? Parse(Document d, out NotificationPreferences preferences, out string locale)
    {
        preferences = default;
        locale = NotificationTemplates.DefaultLocale;
        if (d.Categories is null) return "categories is required.";
        var masks = new Dictionary<string, int>();
        foreach (var name in new[] { "security", "transaction", "marketing", "service" })
        {
            if (!d.Categories.TryGetValue(name, out var c) || c is null) return $"categories.{name} is required.";
            if (c.InApp is null || c.Sms is null || c.Email is null) return $"categories.{name} needs in_app, sms and email (true or false).";
            masks[name] = (c.InApp.Value ? 1 : 0) | (c.Sms.Value ? 2 : 0) | (c.Email.Value ? 4 : 0);
        }
        if (d.Categories.Count != 4) return "categories has exactly security, transaction, marketing and service.";
        if (d.QuietHours is not { Enabled: { } enabled } q) return "quiet_hours needs enabled, start and end.";
        if (!TryMinutes(q.Start, out var start) || !TryMinutes(q.End, out var end)) return "quiet_hours.start and end are times HH:mm, such as 22:00.";
        if (d.TimeZone is null || d.TimeZone.Length > 64 || !TimeZoneInfo.TryFindSystemTimeZoneById(d.TimeZone, out _))
            return "time_zone must be an IANA time zone, such as Asia/Shanghai.";
        if (d.Locale is null || !NotificationTemplates.Locales.Contains(d.Locale)) return $"locale must be one of {string.Join(", ", NotificationTemplates.Locales)}.";
        locale = d.Locale;
        preferences = new NotificationPreferences(masks["transaction"], masks["marketing"], masks["service"], new QuietHours(enabled, start, end), d.TimeZone);
        return null;
    }

    private static bool TryMinutes(string? hhmm, out int minutes)
    {
        minutes = 0;
        if (hhmm is not { Length: 5 } || !TimeOnly.TryParseExact(hhmm, "HH:mm", CultureInfo.InvariantCulture, DateTimeStyles.None, out var t)) return false;
        minutes = t.Hour * 60 + t.Minute;
        return true;
    }

    private static string Time(int minutes) => $"{minutes / 60:D2}:{minutes % 60:D2}";

    private static object Switches(int mask, bool locked) => new
    {
        in_app = NotificationPreferences.Has(mask, NotificationChannel.InApp),
        sms = NotificationPreferences.Has(mask, NotificationChannel.Sms),
        email = NotificationPreferences.Has(mask, NotificationChannel.Email),
        locked,
    };

    private static object Render(NotificationPreferences p, string locale) => new
    {
        categories = new
        {
            security = Switches(NotificationPreferences.AllChannels, true),
            transaction = Switches(p.TransactionChannels, false),
            marketing = Switches(p.MarketingChannels, false),
            service = Switches(p.ServiceChannels, false),
        },
        quiet_hours = new { enabled = p.Quiet.Enabled, start = Time(p.Quiet.StartMin), end = Time(p.Quiet.EndMin) },
        time_zone = p.TimeZone,
        locale,
    };
}

/// <summary>A consent record's status; stored as its number.</summary>
internal enum ConsentStatus : short { Granted = 0, Withdrawn = 1 }
