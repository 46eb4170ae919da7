using System.Diagnostics;
using System.Globalization;

namespace Qianbao.Bench;

/// <summary>
/// CPU time consumed by this process and by every local PostgreSQL process (backends, WAL writer,
/// checkpointer: <c>/proc/*/comm</c> is "postgres"), for CPU cost per transfer. On a shared, oversubscribed
/// machine throughput swings with the neighbours' load, but CPU time per transfer hardly does, so it is
/// the figure to compare two variants by. Linux only; elsewhere the PostgreSQL part reads 0. Processes
/// that exit between two samples are not counted (a pooled backend lives through a run).
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
                // Fields after the parenthesised command: state is field 3, utime 14 and stime 15.
                var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
                ticks += long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException)
            {
                // The process ended while we read it, or is not ours to read.
            }
        }
        return TimeSpan.FromSeconds(ticks / TicksPerSecond);
    }
}
