using Qianbao.Server.Hosting;
using Qianbao.Server.Modules.Identity;
using Qianbao.Server.Storage;

namespace Qianbao.Server.Modules.Notifications.Campaigns;

/// <summary>Who follows a merchant (a segment's <c>follows_merchant_id</c>).</summary>
internal interface IMerchantFollowers
{
    Task<IReadOnlySet<Guid>> FollowersAsync(Guid merchantId, CancellationToken ct);
}

/// <summary>The followers <see cref="MerchantFollows"/> keeps, read a page at a time.</summary>
internal sealed class FollowsOfMerchant(MerchantFollows follows) : IMerchantFollowers
{
    public async Task<IReadOnlySet<Guid>> FollowersAsync(Guid merchantId, CancellationToken ct)
    {
        var all = new HashSet<Guid>();
        Guid? after = null;
        while (true)
        {
            var page = await follows.FollowersAsync(merchantId, after, MerchantFollows.PageMax, ct);
            all.UnionWith(page);
            if (page.Count < MerchantFollows.PageMax) return all;
            after = page[^1];
        }
    }
}

/// <summary>
/// Selects a segment's people: account facts from Identity's <see cref="UserSegments"/>, payment facts from this module's
/// <c>messaging_payments</c>, follows from <see cref="IMerchantFollowers"/>; the intersection, in a stable order.
/// </summary>
internal sealed class CampaignAudience(Db db, UserSegments users, IMerchantFollowers followers, TimeProvider clock)
{
    private const long MicrosPerDay = 86_400_000_000L;

    public async Task<List<Guid>> SelectAsync(Segment segment, CancellationToken ct)
    {
        var nowUs = clock.GetUnixMicroseconds();
        var tiers = segment.Tiers?.Select(t => (short)Segment.TierNames.ToList().IndexOf(t)).ToList();
        var people = await users.SelectAsync(segment.RegisteredFrom?.ToUnixMicroseconds(), segment.RegisteredTo?.ToUnixMicroseconds(), tiers, segment.Locales, ct);
        IEnumerable<Guid> selected = people;
        var merchants = segment.MerchantIds is { Count: > 0 } m ? m : null;
        if (segment.PaidWithinDays is { } paid)
        {
            var payers = await MessagingPayments.PayersAsync(db, nowUs - paid * MicrosPerDay, merchants, ct);
            selected = selected.Where(payers.Contains);
        }
        else if (merchants is not null)
        {
            var payers = await MessagingPayments.PayersAsync(db, long.MinValue, merchants, ct);
            selected = selected.Where(payers.Contains);
        }
        if (segment.NotPaidWithinDays is { } notPaid)
        {
            var payers = await MessagingPayments.PayersAsync(db, nowUs - notPaid * MicrosPerDay, merchants, ct);
            selected = selected.Where(u => !payers.Contains(u));
        }
        if (segment.Spend30dMin is { } min && min > 0)
        {
            var spenders = await MessagingPayments.SpendersAsync(db, nowUs - 30 * MicrosPerDay, min, merchants, ct);
            selected = selected.Where(spenders.Contains);
        }
        if (segment.FollowsMerchantId is { } merchant)
        {
            var follows = await followers.FollowersAsync(merchant, ct);
            selected = selected.Where(follows.Contains);
        }
        var list = selected.ToList();
        list.Sort();
        return list;
    }
}
