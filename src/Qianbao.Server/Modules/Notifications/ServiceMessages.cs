using Qianbao.Server.Hosting;
using Qianbao.Server.Storage;

namespace Qianbao.Server.Modules.Notifications;

/// <summary>What became of a merchant's service message.</summary>
internal enum ServiceMessageOutcome
{
    /// <summary>Handed to the notifier (shown, held by quiet hours, or recorded and not shown: the sender is not told which).</summary>
    Sent,

    /// <summary>The key already named this same message: nothing sent again.</summary>
    Repeat,

    /// <summary>The key already named another message (another person or text).</summary>
    KeyConflict,

    /// <summary>The person does not follow the merchant.</summary>
    NotFollowing,
}

/// <summary>
/// The one path of a merchant's service message (服务窗) to one follower, for the gateway's
/// <c>alipay.open.public.message.single.send</c> and the native <c>POST /merchant/v1/followers/{user_id}/messages</c>: in one
/// transaction, the key is claimed (<see cref="ServiceMessageKeys.ClaimAsync"/>: of concurrent sends with one key exactly one
/// sends), a repeat of the key is answered first (even if the person unfollowed since), then the person must follow the
/// merchant, then it is a <c>service</c> notification from the merchant through the <see cref="Notifier"/> (preferences,
/// quiet hours, a spam block of the merchant apply).
/// </summary>
internal sealed class ServiceMessages(Db db, Notifier notifier, TimeProvider clock)
{
    public async Task<ServiceMessageOutcome> SendAsync(Guid merchantId, Guid userId, string dedupeKey, string title, string body, string variant,
        NotificationAction? action, CancellationToken ct)
    {
        await using var connection = await db.OpenAsync(ct);
        await using var tx = await db.BeginWriteAsync(connection, ct);
        // The key first: a concurrent send of the same key waits here until this transaction ends (a read alone would let
        // both see no earlier message and both send, to different people).
        if (!await ServiceMessageKeys.ClaimAsync(connection, tx, merchantId, dedupeKey, clock.GetUnixMicroseconds(), ct))
        {
            var earlier = await ServiceMessageKeys.FindAsync(connection, tx, merchantId, dedupeKey, ct);
            return earlier is not null && earlier.Same(userId, title, body, variant, action) ? ServiceMessageOutcome.Repeat : ServiceMessageOutcome.KeyConflict;
        }
        // Not following: the rollback gives the key back (a later send with it, once followed, is not a conflict).
        if (!await MerchantFollows.FollowsAsync(connection, tx, userId, merchantId, ct)) return ServiceMessageOutcome.NotFollowing;
        var request = new NotificationRequest(userId, NotificationCategory.Service, "merchant_message", dedupeKey, Variant: variant,
            SenderMerchantId: merchantId, Action: action, Title: title, Body: body);
        await notifier.NotifyAsync(connection, tx, request, ct);
        await tx.CommitAsync(ct);
        return ServiceMessageOutcome.Sent;
    }
}
