using System.Security.Cryptography;
using Qianbao.Ledger;

namespace Qianbao.Server.Modules.RedPackets;

/// <summary>
/// Cuts a red packet into its shares at creation, so every claim only picks a share and the sum is exact by construction.
/// </summary>
internal static class RedPacketSplit
{
    /// <summary>
    /// <paramref name="count"/> equal shares of <paramref name="amount"/> (minor units); the caller has checked that it divides.
    /// </summary>
    public static long[] Fixed(long amount, int count)
    {
        Invariant.That(count > 0 && amount % count == 0 && amount / count >= 1, "a fixed split divides into shares of at least one fen");
        var shares = new long[count];
        Array.Fill(shares, amount / count);
        return shares;
    }

    /// <summary>
    /// Random shares by the double-mean method: with <c>R</c> left for <c>n</c> shares, the next share is uniform in
    /// <c>[1, min(2R/n, R − (n − 1))]</c> fen, so it averages the mean of what is left, no share is ever below one fen (what
    /// stays always covers one fen for each share still to draw), and the last share takes exactly what is left.
    /// <paramref name="next"/> answers a uniform integer in <c>[min, max]</c>; <see cref="SecureRandom"/> in production, a seeded
    /// generator in tests.
    /// </summary>
    public static long[] Lucky(long amount, int count, Func<long, long, long> next)
    {
        Invariant.That(count > 0 && amount >= count, "a lucky split has at least one fen per share");
        var shares = new long[count];
        var left = amount;
        for (var i = 0; i < count - 1; i++)
        {
            var remaining = count - i;
            var max = Math.Min(Math.Max(1, 2 * left / remaining), left - (remaining - 1));
            var share = next(1, max);
            Invariant.That(share >= 1 && share <= max, "the random source answers within its bounds");
            shares[i] = share;
            left -= share;
        }
        shares[count - 1] = left;
        return shares;
    }

    /// <summary>A uniform integer in <c>[min, max]</c> from the operating system's CSPRNG: shares no one can predict.</summary>
    public static long SecureRandom(long min, long max) => RandomNumberGenerator.GetInt32(checked((int)min), checked((int)max + 1));
}
