using System.Globalization;
using Qianbao.Server.Hosting;
using Qianbao.Server.Modules.Marketing;
using Qianbao.Server.Modules.Points;
using Qianbao.Server.Storage;

namespace Qianbao.Server.Modules.Notifications;

/// <summary>
/// Reminds people of what is about to lapse: each available coupon expiring within <see cref="CouponWindow"/> (dedupe key
/// per coupon) and the points of each earning month expiring within <see cref="PointsWindow"/> (dedupe key per person and
/// expiry month: a lot-month is one reminder). Transaction category (never held or capped). Marketing and Points are asked
/// through their query classes. Every sweep looks at the whole window again and the notifier's dedupe key turns the ones
/// already reminded into a single read each, so a sweep missed (a restart, a second process) loses nothing and nobody is
/// reminded twice.
/// </summary>
internal sealed class ExpiryReminders(Db db, Notifier notifier, ExpiringCoupons coupons, ExpiringPoints points, TimeProvider clock)
{
    public static readonly TimeSpan CouponWindow = TimeSpan.FromHours(24);
    public static readonly TimeSpan PointsWindow = TimeSpan.FromDays(7);
    public const int PageSize = 500;
    private static readonly TimeSpan China = TimeSpan.FromHours(8);

    /// <summary>One pass over both windows; returns how many reminders were new.</summary>
    public async Task<int> SweepOnceAsync(CancellationToken ct)
    {
        var nowUs = clock.GetUnixMicroseconds();
        var created = 0;
        (long, Guid)? couponCursor = null;
        while (true)
        {
            var page = await coupons.ListAsync(nowUs, nowUs + (long)CouponWindow.TotalMicroseconds, couponCursor, PageSize, ct);
            if (page.Count == 0) break;
            created += await NotifyAsync(page.Select(c => new NotificationRequest(c.UserId, NotificationCategory.Transaction, "coupon_expiring",
                "coupon_expiring:" + c.CouponId.ToString("N"),
                new Dictionary<string, string> { ["coupon"] = c.CampaignName, ["expires"] = ChinaTime(c.ExpiresAtUs) })), ct);
            couponCursor = (page[^1].ExpiresAtUs, page[^1].CouponId);
            if (page.Count < PageSize) break;
        }
        (long, Guid)? pointsCursor = null;
        while (true)
        {
            var page = await points.ListAsync(nowUs, nowUs + (long)PointsWindow.TotalMicroseconds, pointsCursor, PageSize, ct);
            if (page.Count == 0) break;
            created += await NotifyAsync(page.Select(p => new NotificationRequest(p.UserId, NotificationCategory.Transaction, "points_expiring",
                "points_expiring:" + TimeProviderExtensions.FromUnixMicroseconds(p.ExpiresAtUs).ToOffset(China).ToString("yyyy-MM", CultureInfo.InvariantCulture),
                new Dictionary<string, string> { ["points"] = p.Points.ToString(CultureInfo.InvariantCulture), ["expires"] = ChinaTime(p.ExpiresAtUs) })), ct);
            pointsCursor = (page[^1].ExpiresAtUs, page[^1].UserId);
            if (page.Count < PageSize) break;
        }
        return created;
    }

    private async Task<int> NotifyAsync(IEnumerable<NotificationRequest> requests, CancellationToken ct)
    {
        var created = 0;
        // One transaction per person's reminder: a page's people are unrelated, and a short transaction holds each
        // person's settings lock only briefly.
        foreach (var request in requests)
        {
            await using var connection = await db.OpenAsync(ct);
            await using var tx = await db.BeginWriteAsync(connection, ct);
            if ((await notifier.NotifyAsync(connection, tx, request, ct)).Created) created++;
            await tx.CommitAsync(ct);
        }
        return created;
    }

    public static string ChinaTime(long atUs) =>
        TimeProviderExtensions.FromUnixMicroseconds(atUs).ToOffset(China).ToString("yyyy-MM-dd HH:mm", CultureInfo.InvariantCulture);
}

/// <summary>Runs <see cref="ExpiryReminders"/> every <see cref="Interval"/>; the windows are a day and a week, so an hour's delay is harmless.</summary>
internal sealed class ExpiryReminderSweeper(ExpiryReminders reminders, TimeProvider clock, ILogger<ExpiryReminderSweeper> logger) : BackgroundService
{
    public static readonly TimeSpan Interval = TimeSpan.FromHours(1);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await reminders.SweepOnceAsync(stoppingToken);
            }
            catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
            {
                logger.LogError(ex, "Expiry reminders failed; trying again next interval");
            }
            try
            {
                await Task.Delay(Interval, clock, stoppingToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }
}
