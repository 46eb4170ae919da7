using Qianbao.Server.Hosting;
using Qianbao.Server.Money.Events;

namespace Qianbao.Server.Modules.Identity.Tiers;

/// <summary>The <see cref="IdentityVerified"/> event both ways of verifying write (at once, or after a watchlist review).</summary>
internal static class IdentityVerifiedEvent
{
    /// <summary>The event for <paramref name="userId"/>, its id derived from the user: a user is verified once, so one event per user.</summary>
    public static IdentityVerified For(Guid userId, TimeProvider clock) =>
        new(userId) { EventId = DomainEvent.IdFor<IdentityVerified>(userId.ToString("N")), OccurredAtUs = clock.GetUnixMicroseconds() };
}
