namespace Qianbao.Server.Modules.Acquiring;

/// <summary>
/// When an unpaid trade closes. A merchant may ask for 1 minute .. 15 days after creation (Alipay's range), or for the
/// end of the current day in China time; anything else is refused before a trade exists.
/// </summary>
internal static class TradeDeadlines
{
    public static readonly TimeSpan TimeoutMin = TimeSpan.FromMinutes(1);
    public static readonly TimeSpan TimeoutMax = TimeSpan.FromDays(15);

    /// <summary>China Standard Time has no daylight saving: a fixed offset is exact.</summary>
    private static readonly TimeSpan ChinaOffset = TimeSpan.FromHours(8);

    /// <summary>True when a relative timeout of <paramref name="minutes"/> is inside 1 minute .. 15 days (inclusive).</summary>
    public static bool IsAllowedTimeoutMinutes(long minutes) => minutes >= (long)TimeoutMin.TotalMinutes && minutes <= (long)TimeoutMax.TotalMinutes;

    /// <summary>The deadline <paramref name="minutes"/> after <paramref name="now"/>, or null when the timeout is out of range.</summary>
    public static DateTimeOffset? After(DateTimeOffset now, long minutes) =>
        IsAllowedTimeoutMinutes(minutes) ? now + TimeSpan.FromMinutes(minutes) : null;

    /// <summary>The next midnight in China time after <paramref name="now"/> (Alipay's <c>1c</c>: closes at 0:00 whenever it was created).</summary>
    public static DateTimeOffset EndOfChinaDay(DateTimeOffset now)
    {
        var china = now.ToOffset(ChinaOffset);
        return new DateTimeOffset(china.Date.AddDays(1), ChinaOffset);
    }
}
