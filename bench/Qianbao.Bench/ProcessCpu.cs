using System.Globalization;

namespace Qianbao.Bench;

/// <summary>
/// CPU time of given processes from /proc (Linux): a server process by its pid, and one PostgreSQL cluster by its postmaster's
/// pid (the postmaster, its live children — backends, WAL writer, checkpointer, autovacuum — and, through its cutime and
/// cstime, the children it has reaped since). Unlike <see cref="CpuSampler"/>, which adds up every process named postgres on
/// the machine, it counts one cluster only, so other clusters on a shared machine do not blur a per-request figure.
/// </summary>
public static class ProcessCpu
{
    private const double TicksPerSecond = 100;

    /// <summary>utime + stime of <paramref name="pid"/>; zero when it cannot be read.</summary>
    public static TimeSpan Of(int pid) => Ticks(pid, withChildren: false) is { } t ? Seconds(t) : TimeSpan.Zero;

    /// <summary>The cluster of the postmaster <paramref name="postmasterPid"/>: itself (with its reaped children) and its live children.</summary>
    public static TimeSpan OfCluster(int postmasterPid)
    {
        if (!OperatingSystem.IsLinux()) return TimeSpan.Zero;
        var ticks = Ticks(postmasterPid, withChildren: true) ?? 0;
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            var name = Path.GetFileName(dir);
            if (name.Length == 0 || !char.IsAsciiDigit(name[0]) || !int.TryParse(name, out var pid) || pid == postmasterPid) continue;
            if (Fields(pid) is { } f && int.Parse(f[1], CultureInfo.InvariantCulture) == postmasterPid) ticks += Sum(f, 11, 12);
        }
        return Seconds(ticks);
    }

    private static long? Ticks(int pid, bool withChildren) => Fields(pid) is { } f ? Sum(f, 11, withChildren ? 14 : 12) : null;

    private static long Sum(string[] fields, int first, int last)
    {
        long ticks = 0;
        for (var i = first; i <= last; i++) ticks += long.Parse(fields[i], CultureInfo.InvariantCulture);
        return ticks;
    }

    /// <summary>The fields of /proc/PID/stat after the command: [0] state, [1] ppid, [11..14] utime, stime, cutime, cstime.</summary>
    private static string[]? Fields(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            return stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return null; // ended while read, or not ours to read
        }
    }

    private static TimeSpan Seconds(long ticks) => TimeSpan.FromSeconds(ticks / TicksPerSecond);
}
