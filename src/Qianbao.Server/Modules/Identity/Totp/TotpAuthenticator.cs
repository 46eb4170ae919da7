using Dapper;
using OtpNet;
using Qianbao.Server.Storage;

namespace Qianbao.Server.Modules.Identity.Totp;

/// <summary>How enrolling or confirming an authenticator ended. Exhaustive.</summary>
internal enum TotpOutcome : byte
{
    Done,

    /// <summary>TOTP is on already: a second secret is not handed out to whoever holds a token.</summary>
    AlreadyEnabled,

    /// <summary>The code is wrong, used, or tried too often; or there is no enrolment to confirm.</summary>
    Refused,
    NoSuchUser,
}

/// <summary>A new secret for the person's authenticator app, as text and as the enrolment URI (the QR code's content).</summary>
internal readonly record struct TotpEnrolment(string Secret, string OtpauthUri);

/// <summary>
/// Time-based one-time passwords (RFC 6238 as authenticator apps use it: HMAC-SHA1, 6 digits, 30-second steps from the Unix
/// epoch), the second factor of step-up. A code is accepted for the step before, the current one or the step after
/// (clock drift), and each step at most once: <c>users.totp_last_step</c> only grows, in one conditional UPDATE, so two
/// concurrent uses of one code cannot both pass. Guesses are limited to <see cref="TriesPerWindowMax"/> per
/// <see cref="TriesWindow"/> per user (3 valid codes in 10^6 make unlimited guessing feasible).
/// The secret is kept in <c>users.totp_secret</c> as Base32; the server needs it in the clear to compute codes.
/// </summary>
internal sealed class TotpAuthenticator(Db db, RateCounters rates, SecurityEvents events, UserData data, TimeProvider clock)
{
    public const string Issuer = "Qianbao";
    public const int Digits = 6;
    public const int StepSeconds = 30;
    public const int SecretBytes = 20;
    public const int TriesPerWindowMax = 10;
    public static readonly TimeSpan TriesWindow = TimeSpan.FromMinutes(15);

    /// <summary>
    /// A new secret for <paramref name="userId"/>, replacing one not yet confirmed. The URI's account is the masked phone
    /// (138****8000), enough for the person to tell accounts apart without putting the number in their authenticator.
    /// </summary>
    public async Task<(TotpOutcome Outcome, TotpEnrolment? Enrolment)> EnrolAsync(Guid userId, CancellationToken ct)
    {
        var secret = Base32Encoding.ToString(KeyGeneration.GenerateRandomKey(SecretBytes)).TrimEnd('=');
        await using var connection = await db.OpenAsync(ct);
        var phoneEnc = await connection.QuerySingleOrDefaultAsync<string?>(new CommandDefinition("""
            UPDATE users SET totp_secret = @secret, totp_last_step = NULL WHERE id = @userId AND totp_enabled = 0 RETURNING phone_enc
            """, new { userId, secret }, cancellationToken: ct));
        var phone = data.Open(userId, "phone_enc", phoneEnc);
        if (phone is null)
            return (await connection.QuerySingleOrDefaultAsync<Guid?>(new CommandDefinition("SELECT id FROM users WHERE id = @userId",
                new { userId }, cancellationToken: ct)) is null ? TotpOutcome.NoSuchUser : TotpOutcome.AlreadyEnabled, null);
        var masked = PhoneNumber.Mask(phone);
        var account = masked.StartsWith("+86", StringComparison.Ordinal) ? masked[3..] : masked;
        var uri = $"otpauth://totp/{Issuer}:{Uri.EscapeDataString(account)}?secret={secret}&issuer={Issuer}&algorithm=SHA1&digits={Digits}&period={StepSeconds}";
        return (TotpOutcome.Done, new TotpEnrolment(secret, uri));
    }

    /// <summary>Turns TOTP on with a code from the enrolled secret; the security event <c>totp_enabled</c> commits with it.</summary>
    public async Task<TotpOutcome> ConfirmAsync(Guid userId, string? code, string? clientAddress, CancellationToken ct)
    {
        await using var connection = await db.OpenAsync(ct);
        var row = await ReadAsync(connection, userId, ct);
        if (row is null) return TotpOutcome.NoSuchUser;
        if (row.totp_enabled != 0) return TotpOutcome.AlreadyEnabled;
        if (row.totp_secret is null || await MatchAsync(userId, row, code, ct) is not { } step) return TotpOutcome.Refused;
        await using var tx = await connection.BeginTransactionAsync(ct);
        var enabled = await connection.ExecuteAsync(new CommandDefinition("""
            UPDATE users SET totp_enabled = 1, totp_last_step = @step
            WHERE id = @userId AND totp_enabled = 0 AND totp_secret = @secret AND (totp_last_step IS NULL OR totp_last_step < @step)
            """, new { userId, step, secret = row.totp_secret }, tx, cancellationToken: ct));
        if (enabled == 0) return TotpOutcome.Refused;
        await events.AppendAsync(connection, tx, userId, SecurityEventKind.TotpEnabled, null, clientAddress, null, ct);
        await tx.CommitAsync(ct);
        return TotpOutcome.Done;
    }

    /// <summary>Whether <paramref name="userId"/> has TOTP on.</summary>
    public async Task<bool> EnabledAsync(Guid userId, CancellationToken ct)
    {
        await using var connection = await db.OpenAsync(ct);
        return (await ReadAsync(connection, userId, ct))?.totp_enabled is 1;
    }

    /// <summary>Accepts <paramref name="code"/> once for a user with TOTP on; false for anything else.</summary>
    public async Task<bool> VerifyAsync(Guid userId, string? code, CancellationToken ct)
    {
        await using var connection = await db.OpenAsync(ct);
        var row = await ReadAsync(connection, userId, ct);
        if (row is not { totp_enabled: 1, totp_secret: not null } || await MatchAsync(userId, row, code, ct) is not { } step) return false;
        return await connection.ExecuteAsync(new CommandDefinition("""
            UPDATE users SET totp_last_step = @step
            WHERE id = @userId AND totp_enabled = 1 AND totp_secret = @secret AND (totp_last_step IS NULL OR totp_last_step < @step)
            """, new { userId, step, secret = row.totp_secret }, cancellationToken: ct)) == 1;
    }

    /// <summary>The step (±1 around now) whose code <paramref name="code"/> is, later than the last one used; each call counts a try.</summary>
    private async Task<long?> MatchAsync(Guid userId, TotpRow row, string? code, CancellationToken ct)
    {
        if (!(await rates.HitAsync("totp-tries:" + userId.ToString("N"), TriesWindow, TriesPerWindowMax, ct)).Allowed) return null;
        if (code is not { Length: Digits } || !code.All(char.IsAsciiDigit)) return null;
        byte[] key;
        try
        {
            key = Base32Encoding.ToBytes(row.totp_secret!);
        }
        catch (ArgumentException)
        {
            return null;
        }
        var totp = new OtpNet.Totp(key, StepSeconds, OtpHashMode.Sha1, Digits);
        if (!totp.VerifyTotp(clock.GetUtcNow().UtcDateTime, code, out var step, new VerificationWindow(previous: 1, future: 1))) return null;
        return row.totp_last_step is { } last && step <= last ? null : step;
    }

    private static Task<TotpRow?> ReadAsync(System.Data.Common.DbConnection connection, Guid userId, CancellationToken ct) =>
        connection.QuerySingleOrDefaultAsync<TotpRow?>(new CommandDefinition(
            "SELECT totp_secret, CAST(totp_enabled AS bigint) AS totp_enabled, totp_last_step FROM users WHERE id = @userId",
            new { userId }, cancellationToken: ct));

    private sealed class TotpRow
    {
        public string? totp_secret { get; init; }
        public long totp_enabled { get; init; }
        public long? totp_last_step { get; init; }
    }
}
