using Dapper;
using Qianbao.Server.Hosting;
using Qianbao.Server.Modules.Identity.Tiers;
using Qianbao.Server.Storage;

namespace Qianbao.Server.Modules.Identity.DataRights;

/// <summary>
/// Identity's part of the export: the profile (the person's own phone and name, unmasked: it is their copy), the verified
/// identity (masked, as every answer shows it), devices, sessions, security events and bank cards (masked). Its erasure is
/// done by <see cref="CloseAccount"/> itself, in the transaction that closes the account.
/// </summary>
internal sealed class IdentityPersonalData(Db db, UserDirectory users) : IPersonalDataSource
{
    public async Task<IReadOnlyDictionary<string, object?>> ExportAsync(DataSubject subject, CancellationToken ct)
    {
        var userId = subject.UserId;
        var user = await users.RevealAsync(userId, ct);
        await using var connection = await db.OpenAsync(ct);
        var devices = await connection.QueryAsync<(string DeviceId, long FirstSeenAtUs)>(new CommandDefinition(
            "SELECT device_id, first_seen_at_us FROM devices WHERE user_id = @userId ORDER BY first_seen_at_us", new { userId }, cancellationToken: ct));
        var sessions = await connection.QueryAsync<SessionRow>(new CommandDefinition("""
            SELECT id, device_id, created_at_us, last_seen_at_us, revoked_at_us, revoked_reason FROM sessions WHERE user_id = @userId ORDER BY created_at_us
            """, new { userId }, cancellationToken: ct));
        var events = await connection.QueryAsync<EventRow>(new CommandDefinition("""
            SELECT kind, device_id, client_address, detail, created_at_us FROM security_events WHERE user_id = @userId ORDER BY created_at_us, id
            """, new { userId }, cancellationToken: ct));
        var cards = await connection.QueryAsync<(Guid Id, string Last4, long CreatedAtUs)>(new CommandDefinition(
            "SELECT id, last4, created_at_us FROM bank_cards WHERE user_id = @userId ORDER BY created_at_us, id", new { userId }, cancellationToken: ct));
        return new Dictionary<string, object?>
        {
            ["profile"] = user is null ? null : new
            {
                id = userId, phone = user.Phone, name = user.Name, locale = user.Locale, tier = UserTiers.Name(user.Tier),
                created_at = TimeProviderExtensions.FromUnixMicroseconds(user.CreatedAtUs),
            },
            ["identity"] = user?.IdNumberMasked is null ? null : new
            {
                name_masked = user.IdentityName is { } n ? UserTiers.MaskName(n) : null, id_number_masked = user.IdNumberMasked,
            },
            ["devices"] = devices.Select(d => new { device_id = d.DeviceId, first_seen_at = TimeProviderExtensions.FromUnixMicroseconds(d.FirstSeenAtUs) }).ToList(),
            ["sessions"] = sessions.Select(s => new
            {
                id = s.id, device_id = s.device_id, created_at = TimeProviderExtensions.FromUnixMicroseconds(s.created_at_us),
                last_seen_at = TimeProviderExtensions.FromUnixMicroseconds(s.last_seen_at_us),
                revoked_at = s.revoked_at_us is { } r ? TimeProviderExtensions.FromUnixMicroseconds(r) : (DateTimeOffset?)null, revoked_reason = s.revoked_reason,
            }).ToList(),
            ["security_events"] = events.Select(e => new
            {
                kind = e.kind, device_id = e.device_id, client_address = e.client_address, detail = e.detail,
                created_at = TimeProviderExtensions.FromUnixMicroseconds(e.created_at_us),
            }).ToList(),
            ["bank_cards"] = cards.Select(c => new
            {
                id = c.Id, card_number_masked = "**** **** **** " + c.Last4, created_at = TimeProviderExtensions.FromUnixMicroseconds(c.CreatedAtUs),
            }).ToList(),
        };
    }

    /// <summary>Nothing here: <see cref="CloseAccount"/> erases Identity's tables in its own transaction.</summary>
    public Task EraseAsync(DataSubject subject, CancellationToken ct) => Task.CompletedTask;

    private sealed class SessionRow
    {
        public Guid id { get; init; }
        public string device_id { get; init; } = "";
        public long created_at_us { get; init; }
        public long last_seen_at_us { get; init; }
        public long? revoked_at_us { get; init; }
        public string? revoked_reason { get; init; }
    }

    private sealed class EventRow
    {
        public string kind { get; init; } = "";
        public string? device_id { get; init; }
        public string? client_address { get; init; }
        public string? detail { get; init; }
        public long created_at_us { get; init; }
    }
}
