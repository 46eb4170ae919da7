using Qianbao.Server.Http;
using Qianbao.Server.Modules.Identity.Totp;

namespace Qianbao.Server.Modules.Identity.Spending;

/// <summary>
/// The second factor a transfer or withdrawal needs besides the PIN when it is large (above
/// <c>Qianbao:Security:StepUpAboveMinor</c>) or comes from a device within <c>Qianbao:Security:NewDeviceStepUpHours</c> of
/// its first login to the account: header <c>X-Step-Up: totp=&lt;code&gt;</c> (TOTP on) or
/// <c>X-Step-Up: sms=&lt;verification_id&gt;:&lt;code&gt;</c> (purpose <c>step_up</c>, the account's phone). Missing → 403
/// <c>step_up_required</c> with <c>methods</c> (the factors this account can use); wrong, used or malformed → 403
/// <c>invalid_step_up</c>. Payments to merchants and payment codes need only the PIN (the issue names transfers and
/// withdrawals; a merchant is a known, verified counterparty).
/// </summary>
internal sealed class StepUp(SecurityOptions security, TotpAuthenticator totp, Verifications verifications, UserDirectory users, TimeProvider clock)
{
    public const string Header = "X-Step-Up";

    /// <summary>Whether a spend needs step-up: by kind, amount and how new the session's device is.</summary>
    public bool Needed(SpendKind kind, long amountMinor, UserSession session)
    {
        if (kind is not (SpendKind.Transfer or SpendKind.Withdrawal)) return false;
        if (amountMinor > security.StepUpAboveMinor) return true;
        return security.NewDeviceStepUpHours > 0
               && clock.GetUtcNow().ToUnixTimeSeconds() - session.DeviceFirstSeenAtUnixSeconds < security.NewDeviceStepUpHours * 3600L;
    }

    /// <summary>The gate's step-up step: null to go on, or the 403 to answer.</summary>
    public async ValueTask<IResult?> GateAsync(HttpContext http, SpendKind kind, long amountMinor, CancellationToken ct)
    {
        var session = http.Session();
        if (!Needed(kind, amountMinor, session)) return null;
        var header = http.Request.Headers[Header].ToString();
        if (header.Length == 0)
        {
            string[] methods = await totp.EnabledAsync(session.UserId, ct) ? ["totp", "sms"] : ["sms"];
            return ApiProblem.WithExtensions(StatusCodes.Status403Forbidden, ErrorCodes.StepUpRequired, "Not allowed.",
                $"This payment needs a second factor: send {Header}: totp=<code> or {Header}: sms=<verification_id>:<code> (POST /v1/verifications, purpose step_up).",
                new Dictionary<string, object?> { ["methods"] = methods });
        }
        return await AcceptsAsync(session.UserId, header, ct) ? null
            : ApiProblem.Forbidden(ErrorCodes.InvalidStepUp, "The second factor is wrong, used or malformed; nothing was done.");
    }

    private async Task<bool> AcceptsAsync(Guid userId, string header, CancellationToken ct)
    {
        if (header.StartsWith("totp=", StringComparison.Ordinal)) return await totp.VerifyAsync(userId, header[5..], ct);
        if (!header.StartsWith("sms=", StringComparison.Ordinal)) return false;
        var parts = header[4..].Split(':');
        if (parts.Length != 2 || !Verifications.TryParseId(parts[0], out var verificationId)) return false;
        if (await users.ContactAsync(userId, ct) is not { } contact) return false;
        return await verifications.ConsumeAsync(verificationId, parts[1], contact.Phone, VerificationPurpose.StepUp, ct);
    }
}
