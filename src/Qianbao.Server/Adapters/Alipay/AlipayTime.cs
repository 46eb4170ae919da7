using System.Globalization;

namespace Qianbao.Server.Adapters.Alipay;

/// <summary>
/// Alipay's wall-clock format: <c>yyyy-MM-dd HH:mm:ss</c> in China Standard Time (UTC+8), used for the request
/// <c>timestamp</c> and for every time field in responses and notifications (<c>notify_time</c>, <c>gmt_payment</c>,
/// <c>send_pay_date</c>, ...).
/// </summary>
internal static class AlipayTime
{
    /// <summary>The exact format string; 19 characters, no fractional seconds, no zone designator.</summary>
    public const string Format = "yyyy-MM-dd HH:mm:ss";

    /// <summary>
    /// China has not observed daylight saving time since 1991, so a fixed offset is exact and avoids depending on
    /// the host's time zone database.
    /// </summary>
    public static readonly TimeSpan ChinaOffset = TimeSpan.FromHours(8);

    /// <summary>Formats an instant as China wall-clock time, e.g. <c>2024-05-13 17:49:20</c>.</summary>
    public static string ToChinaString(DateTimeOffset instant) =>
        instant.ToOffset(ChinaOffset).ToString(Format, CultureInfo.InvariantCulture);

    /// <summary>
    /// Parses exactly <c>yyyy-MM-dd HH:mm:ss</c> (no surrounding whitespace, no other shapes) as China time.
    /// Returns false for anything else; never throws.
    /// </summary>
    public static bool TryParseChina(string? text, out DateTimeOffset instant)
    {
        instant = default;
        if (text is null || text.Length != Format.Length)
        {
            return false;
        }

        if (!DateTime.TryParseExact(text, Format, CultureInfo.InvariantCulture, DateTimeStyles.None, out var local))
        {
            return false;
        }

        // The DateTimeOffset constructor rejects instants whose UTC value falls outside DateTime's range
        // (0001-01-01 00:00 to 07:59 China time); treat those as unparseable rather than throwing.
        if (local < DateTime.MinValue.Add(ChinaOffset))
        {
            return false;
        }

        instant = new DateTimeOffset(DateTime.SpecifyKind(local, DateTimeKind.Unspecified), ChinaOffset);
        return true;
    }
}
