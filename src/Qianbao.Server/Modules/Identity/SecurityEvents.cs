using System.Data.Common;
using System.Text.Json;
using Dapper;
using Qianbao.Server.Hosting;
using Qianbao.Server.Http;
using Qianbao.Server.Modules.Operators.Audit;

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
/// the message in the same transaction). Each event is also an entry of the operators' hash-chained audit log
/// (<see cref="AuditLog"/>, action <c>security_event:&lt;kind&gt;</c>, actor and target the user), in the same transaction.
/// That append holds the audit log's lock until the caller commits, so callers append security events after their own
/// row updates (a lock taken after it by one transaction and before it by another would deadlock them).
/// </summary>
internal sealed class SecurityEvents(TimeProvider clock, AuditLog audit, ISecurityAlerts alerts)
{
    public const int DetailLengthMax = 200;

    /// <param name="alert">
    /// Also tells the person (in the app and by SMS, never held or capped; Notifications decides), in the same transaction,
    /// keyed by this event's id so it is told once. Needs <paramref name="tx"/>.
    /// </param>
    public async Task AppendAsync(DbConnection connection, DbTransaction? tx, Guid userId, SecurityEventKind kind, string? deviceId,
        string? clientAddress, string? detail, CancellationToken ct, SecurityAlert? alert = null)
    {
        var now = clock.GetUtcNow();
        var eventId = Guid.CreateVersion7(now);
        await connection.ExecuteAsync(new CommandDefinition("""
            INSERT INTO security_events (id, user_id, kind, device_id, client_address, detail, created_at_us)
            VALUES (@id, @userId, @kind, @deviceId, @clientAddress, @detail, @nowUs)
            """, new
        {
            id = eventId, userId, kind = Name(kind), deviceId, clientAddress,
            detail = detail is { Length: > DetailLengthMax } ? detail[..DetailLengthMax] : detail, nowUs = now.ToUnixMicroseconds(),
        }, tx, cancellationToken: ct));
        var user = userId.ToString();
        var auditDetail = JsonSerializer.Serialize(new { device_id = deviceId, detail = detail is { Length: > DetailLengthMax } ? detail[..DetailLengthMax] : detail },
            JsonDefaults.Options);
        var entry = new AuditEntry(user, "user", "security_event:" + Name(kind), user, null, auditDetail, null, null, clientAddress);
        if (tx is not null)
        {
            await audit.AppendAsync(connection, tx, entry, ct);
            if (alert is not null) await alerts.AlertAsync(connection, tx, userId, eventId, alert, ct);
            return;
        }
        if (alert is not null) throw new ArgumentException("a security alert is sent in the caller's transaction", nameof(alert));
        // No caller transaction: the entry gets one of its own (the event above has committed by itself).
        await using var own = await connection.BeginTransactionAsync(ct);
        await audit.AppendAsync(connection, own, entry, ct);
        await own.CommitAsync(ct);
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

/// <summary>A security alert: the notification type (its template) and the template's variables.</summary>
internal sealed record SecurityAlert(string Type, IReadOnlyDictionary<string, string>? Variables = null)
{
    public static readonly SecurityAlert PasswordChanged = new("password_changed");
    public static readonly SecurityAlert PinChanged = new("pin_changed");
    public static readonly SecurityAlert SessionRevoked = new("session_revoked");

    public static SecurityAlert NewDeviceLogin(string deviceId) => new("new_device_login", new Dictionary<string, string> { ["device"] = deviceId });

    public static SecurityAlert PinLocked(string untilChina) => new("pin_locked", new Dictionary<string, string> { ["until"] = untilChina });
}

/// <summary>Where security alerts go (Notifications implements it); in the transaction of the security event.</summary>
internal interface ISecurityAlerts
{
    Task AlertAsync(DbConnection connection, DbTransaction tx, Guid userId, Guid securityEventId, SecurityAlert alert, CancellationToken ct);
}
