using System.Globalization;

namespace Qianbao.Server.Modules.Analytics;

/// <summary>
/// The rollups' clock: China time (UTC+8, no daylight saving), so a China hour is a UTC hour and only days shift. Hours are
/// whole hours since the Unix epoch; days are China days since 1970-01-01 (a Thursday).
/// </summary>
internal static class ChinaCalendar
{
    public const long HourUs = 3_600_000_000L;
    private const long OffsetHours = 8;

    public static long HourOf(long atUs) => FloorDiv(atUs, HourUs);

    private static long FloorDiv(long a, long b) => a >= 0 ? a / b : (a - b + 1) / b;

    public static int DayOfHour(long hourNo) => (int)FloorDiv(hourNo + OffsetHours, 24);

    public static int DayOf(long atUs) => DayOfHour(HourOf(atUs));

    /// <summary>The China hour of the day, 0..23.</summary>
    public static int HourOfDay(long hourNo) => (int)(((hourNo + OffsetHours) % 24 + 24) % 24);

    /// <summary>ISO weekday of a China day: 1 Monday … 7 Sunday (day 0 was a Thursday).</summary>
    public static int Weekday(int day) => ((day + 3) % 7 + 7) % 7 + 1;

    public static int DayNumber(DateOnly date) => date.DayNumber - DateOnly.FromDateTime(DateTime.UnixEpoch).DayNumber;

    public static DateOnly DateOf(int day) => DateOnly.FromDayNumber(DateOnly.FromDateTime(DateTime.UnixEpoch).DayNumber + day);

    /// <summary>The first hour of a China day.</summary>
    public static long FirstHour(int day) => day * 24L - OffsetHours;

    public static string DayText(int day) => DateOf(day).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);

    public static string HourText(long hourNo) =>
        DateTimeOffset.UnixEpoch.AddHours(hourNo).ToOffset(TimeSpan.FromHours(OffsetHours)).ToString("yyyy-MM-dd'T'HH:mm:sszzz", CultureInfo.InvariantCulture);

    public static bool TryParseDate(string? text, out DateOnly date) =>
        DateOnly.TryParseExact(text, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out date) && date.Year >= 2000 && date.Year <= 9998;
}

/// <summary>A range of whole China days, both inclusive.</summary>
internal readonly record struct DayRange(int FromDay, int ToDay)
{
    /// <summary>Longest range asked for, days: a leap year.</summary>
    public const int DaysMax = 366;

    /// <summary>Longest range with an hourly series, days (a month of hours is 744 points).</summary>
    public const int HourlyDaysMax = 31;

    public int Days => ToDay - FromDay + 1;

    public long FirstHour => ChinaCalendar.FirstHour(FromDay);

    /// <summary>The first hour after the range.</summary>
    public long EndHour => ChinaCalendar.FirstHour(ToDay + 1);

    /// <summary>Reads <c>from</c> and <c>to</c>; a refusal is a 400 problem with a stable code, and the range is default then.</summary>
    public static IResult? TryRead(HttpRequest request, out DayRange range)
    {
        range = default;
        if (!ChinaCalendar.TryParseDate(request.Query["from"], out var from) || !ChinaCalendar.TryParseDate(request.Query["to"], out var to))
            return Http.ApiProblem.BadRequest(Http.ErrorCodes.InvalidDate, "from and to must be calendar dates YYYY-MM-DD (China time).");
        if (to < from)
            return Http.ApiProblem.BadRequest(Http.ErrorCodes.InvalidDateRange, "to must not be before from.");
        range = new DayRange(ChinaCalendar.DayNumber(from), ChinaCalendar.DayNumber(to));
        if (range.Days > DaysMax)
        {
            range = default;
            return Http.ApiProblem.BadRequest(Http.ErrorCodes.InvalidDateRange, $"A range covers at most {DaysMax} days.");
        }
        return null;
    }
}
