using System.Security.Cryptography;
using Dapper;
using Qianbao.Server.Hosting;
using Qianbao.Server.Modules.Identity;
using Qianbao.Server.Storage;
using Qianbao.Server.Storage.PersonalData;

namespace Qianbao.Server.Modules.Messaging.Email;

/// <summary>The answer to asking for an e-mail code: issued, or refused by a send limit until <c>RetryAfter</c>.</summary>
internal readonly record struct EmailCodeIssue(bool Issued, TimeSpan RetryAfter);

/// <summary>A user's verified address (opened) and when it was proven.</summary>
internal readonly record struct VerifiedEmail(string Address, DateTimeOffset VerifiedAt);

/// <summary>
/// Users' e-mail addresses (<c>user_emails</c>): an address is proven with a 6-digit code mailed to it, the way a phone
/// is proven by SMS (Identity's <see cref="Verifications"/>: the code kept only as a keyed hash under the same key,
/// valid for <see cref="Lifetime"/>, killed by <see cref="WrongTriesMax"/> wrong tries, accepted once, sends limited per
/// user and per address). Until the new address is proven, mail keeps going to the previously verified one. Addresses
/// are sealed at rest with their blind index beside them. Other modules ask <see cref="VerifiedAsync"/>; only a
/// verified address receives mail.
/// </summary>
internal sealed class EmailAddresses(Db db, RateCounters rates, EmailOutbox outbox, IdentityKeys keys, PersonalDataProtector protector,
    MessageRecipients recipients, QianbaoOptions qianbao, TimeProvider clock)
{
    public const string Table = "user_emails";
    public static readonly TimeSpan Lifetime = TimeSpan.FromMinutes(15);
    public static readonly TimeSpan ResendInterval = TimeSpan.FromSeconds(60);
    public const int PerDayMax = 10;
    public const int WrongTriesMax = 5;

    public static SealedTable Sealed => new(Table, "user_id", ["email_enc", "pending_email_enc"]);

    /// <summary>
    /// Makes <paramref name="email"/> (normalised) the user's pending address with a new code and queues the code's mail
    /// in the same transaction, unless a send limit refuses (per user and per address, so no one mails a stranger's
    /// inbox full).
    /// </summary>
    public async Task<EmailCodeIssue> IssueAsync(Guid userId, string email, string? locale, CancellationToken ct)
    {
        var index = recipients.EmailIndex(email);
        foreach (var (key, window, max) in new[]
                 {
                     ($"email-code:{userId:N}", ResendInterval, 1), ($"email-code-day:{userId:N}", TimeSpan.FromDays(1), PerDayMax),
                     ($"email-code-addr:{index}", TimeSpan.FromDays(1), PerDayMax),
                 })
        {
            var decision = await rates.HitAsync(key, window, max, ct);
            if (!decision.Allowed) return new EmailCodeIssue(false, decision.RetryAfter);
        }

        var now = clock.GetUtcNow();
        var code = RandomNumberGenerator.GetInt32(0, 1_000_000).ToString("D6", System.Globalization.CultureInfo.InvariantCulture);
        var supported = MessageTemplates.Supported(locale);
        await using var connection = await db.OpenAsync(ct);
        await using var tx = await connection.BeginTransactionAsync(ct);
        var parameters = new
        {
            userId, pending = index, pendingEnc = protector.Seal(email, new SealedField(Table, "pending_email_enc", userId)),
            hash = CodeHash(userId, index, code), expires = now.Add(Lifetime).ToUnixMicroseconds(), now = now.ToUnixMicroseconds(),
        };
        var updated = await connection.ExecuteAsync(new CommandDefinition("""
            UPDATE user_emails SET pending_email = @pending, pending_email_enc = @pendingEnc, code_hash = @hash, code_attempts = 0,
                                   code_expires_at_us = @expires, updated_at_us = @now
            WHERE user_id = @userId
            """, parameters, tx, cancellationToken: ct));
        if (updated == 0)
            await connection.ExecuteAsync(new CommandDefinition("""
                INSERT INTO user_emails (user_id, pending_email, pending_email_enc, code_hash, code_attempts, code_expires_at_us, updated_at_us)
                VALUES (@userId, @pending, @pendingEnc, @hash, 0, @expires, @now)
                """, parameters, tx, cancellationToken: ct));
        var (subject, text, html) = EmailTemplates.VerificationCode(supported, code, (int)Lifetime.TotalMinutes, qianbao.PublicBaseUrl);
        await outbox.QueueAsync(connection, tx, new EmailMessage(email, subject, text, html, supported, "email_verification_code", userId), ct);
        await tx.CommitAsync(ct);
        return new EmailCodeIssue(true, TimeSpan.Zero);
    }

    /// <summary>
    /// Accepts <paramref name="code"/> once for the user's pending address, which becomes their verified address; a wrong
    /// code counts a try. Null for anything else: wrong, used, expired, killed, or nothing pending.
    /// </summary>
    public async Task<VerifiedEmail?> VerifyAsync(Guid userId, string? code, CancellationToken ct)
    {
        if (code is not { Length: 6 } || !code.All(char.IsAsciiDigit)) code = null;
        var now = clock.GetUtcNow();
        await using var connection = await db.OpenAsync(ct);
        var pending = await connection.QuerySingleOrDefaultAsync<(string? Index, string? Enc)>(new CommandDefinition(
            "SELECT pending_email, pending_email_enc FROM user_emails WHERE user_id = @userId", new { userId }, cancellationToken: ct));
        if (code is not null && pending is { Index: { } index, Enc: { } enc })
        {
            var email = protector.Open(enc, new SealedField(Table, "pending_email_enc", userId));
            // One statement: of two concurrent requests with the right code, only one sees it unconsumed.
            var accepted = await connection.ExecuteAsync(new CommandDefinition("""
                UPDATE user_emails SET email = pending_email, email_enc = @emailEnc, verified_at_us = @now,
                                       pending_email = NULL, pending_email_enc = NULL, code_hash = NULL, code_expires_at_us = NULL, updated_at_us = @now
                WHERE user_id = @userId AND pending_email = @index AND code_hash = @hash AND code_attempts < @tries AND code_expires_at_us > @now
                """, new
            {
                userId, index, hash = CodeHash(userId, index, code), tries = WrongTriesMax, now = now.ToUnixMicroseconds(),
                emailEnc = protector.Seal(email, new SealedField(Table, "email_enc", userId)),
            }, cancellationToken: ct));
            if (accepted == 1) return new VerifiedEmail(email, now);
        }
        await connection.ExecuteAsync(new CommandDefinition(
            "UPDATE user_emails SET code_attempts = code_attempts + 1 WHERE user_id = @userId AND code_hash IS NOT NULL",
            new { userId }, cancellationToken: ct));
        return null;
    }

    /// <summary>The user's verified address, or null: the only address mail may go to.</summary>
    public async Task<VerifiedEmail?> VerifiedAsync(Guid userId, CancellationToken ct)
    {
        await using var connection = await db.OpenAsync(ct);
        var row = await connection.QuerySingleOrDefaultAsync<(string? Enc, long? VerifiedAtUs)>(new CommandDefinition(
            "SELECT email_enc, verified_at_us FROM user_emails WHERE user_id = @userId", new { userId }, cancellationToken: ct));
        return row is { Enc: { } enc, VerifiedAtUs: { } at }
            ? new VerifiedEmail(protector.Open(enc, new SealedField(Table, "email_enc", userId)), TimeProviderExtensions.FromUnixMicroseconds(at))
            : null;
    }

    /// <summary>The same as <see cref="VerifiedAsync(Guid, CancellationToken)"/>, read in the caller's transaction (the notifier's).</summary>
    public async Task<VerifiedEmail?> VerifiedAsync(System.Data.Common.DbConnection connection, System.Data.Common.DbTransaction? tx, Guid userId,
        CancellationToken ct)
    {
        var row = await connection.QuerySingleOrDefaultAsync<(string? Enc, long? VerifiedAtUs)>(new CommandDefinition(
            "SELECT email_enc, verified_at_us FROM user_emails WHERE user_id = @userId", new { userId }, tx, cancellationToken: ct));
        return row is { Enc: { } enc, VerifiedAtUs: { } at }
            ? new VerifiedEmail(protector.Open(enc, new SealedField(Table, "email_enc", userId)), TimeProviderExtensions.FromUnixMicroseconds(at))
            : null;
    }

    /// <summary>The pending address (opened), for the person's own view and export.</summary>
    public async Task<string?> PendingAsync(Guid userId, CancellationToken ct)
    {
        await using var connection = await db.OpenAsync(ct);
        var enc = await connection.QuerySingleOrDefaultAsync<string?>(new CommandDefinition(
            "SELECT pending_email_enc FROM user_emails WHERE user_id = @userId", new { userId }, cancellationToken: ct));
        return enc is null ? null : protector.Open(enc, new SealedField(Table, "pending_email_enc", userId));
    }

    public async Task EraseAsync(Guid userId, CancellationToken ct)
    {
        await using var connection = await db.OpenAsync(ct);
        await connection.ExecuteAsync(new CommandDefinition("DELETE FROM user_emails WHERE user_id = @userId", new { userId }, cancellationToken: ct));
    }

    // Bound to the user and the address, so a code mailed for one address never proves another.
    private string CodeHash(Guid userId, string addressIndex, string code) =>
        IdentityKeys.Hash(keys.VerificationCodes, "email", userId.ToString("N"), addressIndex, code);
}
