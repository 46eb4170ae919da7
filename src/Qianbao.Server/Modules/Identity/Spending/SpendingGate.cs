using Qianbao.Server.Http;
using Qianbao.Server.Modules.Identity.Tiers;

namespace Qianbao.Server.Modules.Identity.Spending;

/// <summary>What a money-moving request of a user does, for the checks that differ by kind.</summary>
internal enum SpendKind
{
    /// <summary>Money in from the user's bank: identity required, no PIN, no limits.</summary>
    TopUp,

    /// <summary>To another person: PIN, step-up, identity, limits.</summary>
    Transfer,

    /// <summary>Out to the user's own card: PIN, step-up, identity; not counted against limits.</summary>
    Withdrawal,

    /// <summary>To a merchant (QR, in-app, confirming a trade): PIN, identity, limits.</summary>
    Payment,

    /// <summary>Issuing a payment code a merchant scans: PIN and identity (the payment it makes counts against limits).</summary>
    PaymentCode,
}

/// <summary>
/// The checks every money-moving request of a user passes before anything moves, in the order the issue fixes:
/// (token, by the endpoint filter) PIN, step-up, identity. Recipients, limits and funds follow: recipients by the
/// endpoint, limits and funds inside the ledger transaction. With <c>Qianbao:Security:Relaxed</c> none of it runs.
/// A refusal changes nothing but the PIN's wrong-try counter.
/// </summary>
internal sealed class SpendingGate(SecurityOptions security, Pins.PaymentPins pins, StepUp stepUp, TierGate tiers)
{
    /// <returns>null to go on, or the problem to answer.</returns>
    public async ValueTask<IResult?> CheckAsync(HttpContext http, SpendKind kind, long amountMinor, CancellationToken ct)
    {
        if (security.Relaxed) return null;
        if (await pins.GateAsync(http, kind, ct) is { } pinRefused) return pinRefused;
        if (await stepUp.GateAsync(http, kind, amountMinor, ct) is { } stepUpRefused) return stepUpRefused;
        // Identity: every kind needs a verified real-name identity (403 identity_required).
        if (await tiers.CheckSpenderAsync(http.UserId(), ct) is { } noIdentity) return noIdentity;
        return null;
    }
}
