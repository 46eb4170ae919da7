using System.Data.Common;
using Dapper;
using Qianbao.Server.Hosting;

namespace Qianbao.Server.Modules.Identity;

/// <summary>
/// The devices a user has logged in from (<c>devices</c>): a device id is the client's own stable name for its
/// installation. A device new to the account needs the SMS code at login; its first login time starts the
/// new-device step-up window.
/// </summary>
internal static class Devices
{
    public const int IdLengthMax = 128;

    /// <summary>The device id logins with <c>Qianbao:Security:Relaxed</c> use when the client sends none.</summary>
    public const string RelaxedDefault = "default";

    /// <summary>1..<see cref="IdLengthMax"/> printable characters (no control characters, not all blank).</summary>
    public static bool IsValidId(string? deviceId) =>
        deviceId is { Length: > 0 and <= IdLengthMax } && !deviceId.Any(char.IsControl) && !string.IsNullOrWhiteSpace(deviceId);

    /// <summary>When the user first logged in from the device (Unix microseconds), or null if never.</summary>
    public static Task<long?> FirstSeenAsync(DbConnection connection, DbTransaction? tx, Guid userId, string deviceId, CancellationToken ct) =>
        connection.ExecuteScalarAsync<long?>(new CommandDefinition(
            "SELECT first_seen_at_us FROM devices WHERE user_id = @userId AND device_id = @deviceId", new { userId, deviceId }, tx, cancellationToken: ct));

    /// <summary>Records the device as the user's (first seen now unless already known); when it was first seen.</summary>
    public static async Task<long> RecordAsync(DbConnection connection, DbTransaction tx, Guid userId, string deviceId, TimeProvider clock, CancellationToken ct)
    {
        await connection.ExecuteAsync(new CommandDefinition("""
            INSERT INTO devices (user_id, device_id, first_seen_at_us) VALUES (@userId, @deviceId, @nowUs)
            ON CONFLICT (user_id, device_id) DO NOTHING
            """, new { userId, deviceId, nowUs = clock.GetUnixMicroseconds() }, tx, cancellationToken: ct));
        return await FirstSeenAsync(connection, tx, userId, deviceId, ct) ?? throw new InvalidOperationException("device row vanished");
    }
}
