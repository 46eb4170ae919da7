using System.Diagnostics;
using System.Numerics;

namespace Qianbao.Bench;

/// <summary>
/// A log-linear latency histogram over <see cref="Stopwatch"/> ticks, in the manner of HdrHistogram:
/// values below 2^<see cref="SubBits"/> ticks have a bucket each; above, every power of two is split into
/// 2^(<see cref="SubBits"/>-1) equal buckets, so a reported percentile is at most 1/2^(SubBits-1) (0.8 %)
/// above the true value. Recording is one array increment: no allocation, no lock. One instance per
/// client; <see cref="Add"/> merges them after the run.
/// </summary>
public sealed class LatencyHistogram
{
    private const int SubBits = 8;
    private const int SubCount = 1 << SubBits;
    private const int HalfCount = SubCount / 2;
    private const int BucketCount = SubCount + (63 - SubBits) * HalfCount;

    private readonly long[] counts = new long[BucketCount];
    private long max;

    public long Count { get; private set; }

    /// <summary>Records one latency of <paramref name="ticks"/> Stopwatch ticks (negative counts as 0).</summary>
    public void Record(long ticks)
    {
        if (ticks < 0) ticks = 0;
        counts[Index(ticks)]++;
        Count++;
        if (ticks > max) max = ticks;
    }

    public void Add(LatencyHistogram other)
    {
        for (var i = 0; i < counts.Length; i++) counts[i] += other.counts[i];
        Count += other.Count;
        max = Math.Max(max, other.max);
    }

    /// <summary>The latency at <paramref name="percentile"/> (0..100) in milliseconds; the bucket's upper bound. 0 when empty.</summary>
    public double PercentileMs(double percentile)
    {
        if (Count == 0) return 0;
        var rank = (long)Math.Ceiling(Math.Clamp(percentile, 0, 100) / 100.0 * Count);
        if (rank < 1) rank = 1;
        long seen = 0;
        for (var i = 0; i < counts.Length; i++)
        {
            seen += counts[i];
            if (seen >= rank) return TicksToMs(Math.Min(UpperBound(i), max));
        }
        return TicksToMs(max);
    }

    public double MaxMs => TicksToMs(max);

    public static double TicksToMs(long ticks) => ticks * 1000.0 / Stopwatch.Frequency;

    internal static int Index(long value)
    {
        if (value < SubCount) return (int)value;
        var msb = 63 - BitOperations.LeadingZeroCount((ulong)value);
        var shift = msb - SubBits + 1;
        var mantissa = (int)(value >> shift); // HalfCount..SubCount-1
        return SubCount + (shift - 1) * HalfCount + (mantissa - HalfCount);
    }

    internal static long UpperBound(int index)
    {
        if (index < SubCount) return index;
        var shift = (index - SubCount) / HalfCount + 1;
        var mantissa = (long)((index - SubCount) % HalfCount + HalfCount);
        // The top power of two would overflow a long; its values are far beyond any latency anyway.
        return shift >= 63 - SubBits ? long.MaxValue : ((mantissa + 1) << shift) - 1;
    }
}
