namespace Qianbao.Server.Hosting;

public static class TimeProviderExtensions
{
    /// <summary>Now as Unix microseconds (UTC), the unit of every stored timestamp.</summary>
    public static long GetUnixMicroseconds(this TimeProvider clock) => ToUnixMicroseconds(clock.GetUtcNow());

    public static long ToUnixMicroseconds(this DateTimeOffset t) => (t.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks) / 10;

    public static DateTimeOffset FromUnixMicroseconds(long us) => DateTimeOffset.UnixEpoch.AddTicks(checked(us * 10));
}
