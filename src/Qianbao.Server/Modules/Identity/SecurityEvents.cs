using System.Data.Common;
using Dapper;
using Qianbao.Server.Hosting;

namespace Qianbao.Server.Modules.Identity;

/// <summary>What happened to an account's security; stored snake_case (<see cref="SecurityEvents.Name"/>), never rename one.</summary>
internal enum SecurityEventKind
{
    Login,
    NewDevice,
    LoginFailed,
    LoginLocked,
    PasswordChanged,
    PasswordReset,
    SessionRevoked,
    PinSet,
    PinLocked,
    TotpEnabled,
    IdentityVerified,
    BankCardAdded,
    TierChanged,
    AccountClosed,
}

/// <summary>
/// The account's security history (<c>GET /v1/me/security-events</c>), appended in the transaction of what it records.
/// Security events an attacker would want hidden also reach the person by SMS; that is the caller's choice (it queues
/// the message in the same transaction).
/// </summary>
internal sealed class SecurityEvents(TimeProvider clock)
{
    public const int DetailLengthMax = 200;

    public async Task AppendAsync(DbConnection connection, DbTransaction? tx, Guid userId, SecurityEventKind kind, string? deviceId,
        string? clientAddress, string? detail, CancellationToken ct)
    {
        var now = clock.GetUtcNow();
        await connection.ExecuteAsync(new CommandDefinition("""
            INSERT INTO security_events (id, user_id, kind, device_id, client_address, detail, created_at_us)
            VALUES (@id, @userId, @kind, @deviceId, @clientAddress, @detail, @nowUs)
            """, new
        {
            id = Guid.CreateVersion7(now), userId, kind = Name(kind), deviceId, clientAddress,
            detail = detail is { Length: > DetailLengthMax } ? detail[..DetailLengthMax] : detail, nowUs = now.ToUnixMicroseconds(),
        }, tx, cancellationToken: ct));
    }

    public static string Name(SecurityEventKind kind) => kind switch
    {
        SecurityEventKind.Login => "login",
        SecurityEventKind.NewDevice => "new_device",
        SecurityEventKind.LoginFailed => "login_failed",
        SecurityEventKind.LoginLocked => "login_locked",
        SecurityEventKind.PasswordChanged => "password_changed",
        SecurityEventKind.PasswordReset => "password_reset",
        SecurityEventKind.SessionRevoked => "session_revoked",
        SecurityEventKind.PinSet => "pin_set",
        SecurityEventKind.PinLocked => "pin_locked",
        SecurityEventKind.TotpEnabled => "totp_enabled",
        SecurityEventKind.IdentityVerified => "identity_verified",
        SecurityEventKind.BankCardAdded => "bank_card_added",
        SecurityEventKind.TierChanged => "tier_changed",
        SecurityEventKind.AccountClosed => "account_closed",
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, null),
    };
}
