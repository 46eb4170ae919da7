using Qianbao.Server.Http;

namespace Qianbao.Server.Modules.Identity.Tiers;

/// <summary>
/// The identity part of the spending checks: an unverified account may not top up, send, pay, withdraw or issue a
/// payment code (403 <c>identity_required</c>), and cannot be sent to (422 <c>recipient_not_verified</c>). Off with
/// <c>Qianbao:Security:Relaxed</c>.
/// </summary>
internal sealed class TierGate(TierStore tiers, SecurityOptions security)
{
    /// <returns>null to go on, or the problem to answer.</returns>
    public async Task<IResult?> CheckSpenderAsync(Guid userId, CancellationToken ct)
    {
        if (security.Relaxed) return null;
        var tier = await tiers.GetAsync(userId, ct) ?? UserTier.Unverified;
        return tier == UserTier.Unverified
            ? ApiProblem.Forbidden(ErrorCodes.IdentityRequired, "Verify your real-name identity (POST /v1/me/identity) before moving money.")
            : null;
    }

    /// <returns>null when <paramref name="recipientId"/> may be sent to, else the problem to answer.</returns>
    public async Task<IResult?> CheckRecipientAsync(Guid recipientId, CancellationToken ct)
    {
        if (security.Relaxed) return null;
        var tier = await tiers.GetAsync(recipientId, ct) ?? UserTier.Unverified;
        return tier == UserTier.Unverified
            ? ApiProblem.Unprocessable(ErrorCodes.RecipientNotVerified, "The recipient has not verified a real-name identity and cannot receive transfers yet.")
            : null;
    }
}
