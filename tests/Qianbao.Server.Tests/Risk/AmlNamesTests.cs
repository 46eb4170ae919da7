using System.Globalization;
using Qianbao.Server.Modules.Risk;

namespace Qianbao.Server.Tests.Risk;

/// <summary>The China date of a moment, computed by day number with cached texts, against the plain calendar conversion.</summary>
public sealed class AmlNamesTests
{
    private static string Calendar(long atUs) =>
        DateTimeOffset.UnixEpoch.AddTicks(atUs * 10).ToOffset(TimeSpan.FromHours(8)).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);

    [Fact]
    public void ChinaDateMatchesTheCalendarAroundMidnightAcrossManyDaysAndBeforeTheEpoch()
    {
        const long day = 86_400_000_000L;
        // Midnight China time is 16:00 UTC.
        var midnight = new DateTimeOffset(2026, 11, 30, 16, 0, 0, TimeSpan.Zero).ToUnixTimeMilliseconds() * 1_000;
        long[] around = [midnight - 1, midnight, midnight + 1, midnight - day, midnight + day - 1, 0, -1, -day, -day - 1, 1];
        foreach (var at in around) AmlNames.ChinaDate(at).ShouldBe(Calendar(at), $"at {at}");
        // Many days in turn and back again: cached texts never answer for another day.
        for (var i = -40; i < 40; i++)
        {
            var at = midnight + i * day + (i * 7_919_000_000L % day);
            AmlNames.ChinaDate(at).ShouldBe(Calendar(at), $"at {at}");
            AmlNames.ChinaDate(at - day).ShouldBe(Calendar(at - day), $"at {at - day}");
        }
    }
}
