using System.Diagnostics;
using System.Globalization;

namespace Qianbao.Bench;

/// <summary>
/// CPU time consumed by this process and by every local PostgreSQL process (backends, WAL writer,
/// checkpointer: <c>/proc/*/comm</c> is "postgres"), for CPU cost per transfer. On a shared, oversubscribed
/// machine throughput swings with the neighbours' load, but CPU time per transfer hardly does, so it is
/// the figure to compare two variants by. Linux only; elsewhere the PostgreSQL part reads 0. A process that
/// exits between two samples (an autovacuum worker, a backend) still counts: the postmaster's cutime and
/// cstime hold the CPU time of the children it has reaped.
/// </summary>
public static class CpuSampler
{
    /// <summary>Clock ticks per second of /proc/*/stat times (USER_HZ, 100 on every Linux this runs on).</summary>
    private const double TicksPerSecond = 100;

    public readonly record struct Sample(TimeSpan Self, TimeSpan Postgres);

    public static Sample Take() => new(Process.GetCurrentProcess().TotalProcessorTime, PostgresTime());

    private static TimeSpan PostgresTime()
    {
        if (!OperatingSystem.IsLinux()) return TimeSpan.Zero;
        long ticks = 0;
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            var name = Path.GetFileName(dir);
            if (name.Length == 0 || !char.IsAsciiDigit(name[0])) continue;
            try
            {
                if (File.ReadAllText(Path.Combine(dir, "comm")).TrimEnd() != "postgres") continue;
                var stat = File.ReadAllText(Path.Combine(dir, "stat"));
                // Fields after the parenthesised command: state is field 3; utime, stime, cutime, cstime are 14 to 17.
                var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
                for (var i = 11; i <= 14; i++) ticks += long.Parse(fields[i], CultureInfo.InvariantCulture);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException)
            {
                // The process ended while we read it, or is not ours to read.
            }
        }
        return TimeSpan.FromSeconds(ticks / TicksPerSecond);
    }
}
