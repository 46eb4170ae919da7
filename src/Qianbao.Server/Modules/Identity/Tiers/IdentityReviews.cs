using Dapper;
using Qianbao.Server.Money.Events;
using Qianbao.Server.Storage;

namespace Qianbao.Server.Modules.Identity.Tiers;

/// <summary>What became of an identity held for review when its case was cleared.</summary>
internal enum ReviewCompletion { Completed, NothingPending, Taken, AlreadyVerified }

/// <summary>
/// Real-name identities a watchlist hit holds back (Identity's table <c>identity_reviews</c>): the account stays
/// <c>unverified</c> while Risk's case is open. Clearing the case completes the verification exactly as
/// <c>POST /v1/me/identity</c> would have (class I, a higher tier stays); reporting or freezing drops it. What is kept is
/// what a verified identity keeps: the blind index, the masked number, the birth date, and the name and number sealed as
/// the users row will hold them (<see cref="UserData"/>), so completing copies them without opening them.
/// </summary>
internal sealed class IdentityReviews(Db db, UserData data, SecurityEvents events, TimeProvider clock, ILogger<IdentityReviews> logger, EventSignal signal,
    UserStates states)
{
    public async Task<bool> PendingAsync(Guid userId, CancellationToken ct)
    {
        await using var connection = await db.OpenAsync(ct);
        return await connection.ExecuteScalarAsync<long>(new CommandDefinition("SELECT count(*) FROM identity_reviews WHERE user_id = @userId",
            new { userId }, cancellationToken: ct)) > 0;
    }

    /// <summary>Holds the identity for review; a second hold for the account keeps the first.</summary>
    public async Task HoldAsync(Guid userId, string name, string numberHash, ResidentIdNumber number, CancellationToken ct)
    {
        await using var connection = await db.OpenAsync(ct);
        await connection.ExecuteAsync(new CommandDefinition("""
            INSERT INTO identity_reviews (user_id, name, number_hash, number_enc, number_masked, birth_date, created_at_us)
            VALUES (@userId, @name, @numberHash, @numberEnc, @masked, @birth, @now) ON CONFLICT (user_id) DO NOTHING
            """, new
        {
            userId, name = data.Seal(userId, "identity_name", name), numberHash, numberEnc = data.Seal(userId, "identity_number_enc", number.Value),
            masked = number.Masked, birth = number.BirthDateText, now = Hosting.TimeProviderExtensions.GetUnixMicroseconds(clock),
        },
            cancellationToken: ct));
    }

    /// <summary>Applies the held identity to the account (class I unless higher) and forgets the hold. Idempotent.</summary>
    public async Task<ReviewCompletion> CompleteAsync(Guid userId, CancellationToken ct)
    {
        await using var connection = await db.OpenAsync(ct);
        await using var tx = await db.BeginWriteAsync(connection, ct);
        var held = await connection.QuerySingleOrDefaultAsync<Held>(new CommandDefinition(
            "SELECT name, number_hash, number_enc, number_masked, birth_date FROM identity_reviews WHERE user_id = @userId", new { userId }, tx, cancellationToken: ct));
        if (held is null) return ReviewCompletion.NothingPending;
        await connection.ExecuteAsync(new CommandDefinition("DELETE FROM identity_reviews WHERE user_id = @userId", new { userId }, tx, cancellationToken: ct));
        var other = await connection.QuerySingleOrDefaultAsync<Guid?>(new CommandDefinition(
            "SELECT id FROM users WHERE identity_number_hash = @hash AND id <> @userId", new { hash = held.number_hash, userId }, tx, cancellationToken: ct));
        if (other is not null)
        {
            await tx.CommitAsync(ct);
            return ReviewCompletion.Taken;
        }
        var current = await connection.QuerySingleAsync<long>(new CommandDefinition("SELECT tier FROM users WHERE id = @userId", new { userId }, tx,
            cancellationToken: ct));
        var tier = (UserTier)Math.Max((short)UserTiers.FromStored(current), (short)UserTier.ClassI);
        var updated = await connection.ExecuteAsync(new CommandDefinition("""
            UPDATE users SET identity_name = @name, identity_number_hash = @hash, identity_number_enc = @numberEnc, identity_number_masked = @masked,
                   birth_date = @birth, tier = @tier
            WHERE id = @userId AND identity_number_hash IS NULL
            """, new
        {
            userId, name = held.name, hash = held.number_hash, numberEnc = held.number_enc, masked = held.number_masked, birth = held.birth_date,
            tier = (short)tier,
        },
            tx, cancellationToken: ct));
        if (updated == 0)
        {
            await tx.CommitAsync(ct);
            return ReviewCompletion.AlreadyVerified;
        }
        await events.AppendAsync(connection, tx, userId, SecurityEventKind.IdentityVerified, null, null,
            $"{UserTiers.MaskName(data.Open(userId, "identity_name", held.name) ?? "")} {held.number_masked} (after review)", ct);
        await EventLog.AppendAsync(connection, tx, [IdentityVerifiedEvent.For(userId, clock)], ct);
        await tx.CommitAsync(ct);
        await states.ChangedAsync(userId);
        signal.Nudge();
        logger.LogInformation("User {UserId} verified identity {IdNumber} after a watchlist review", userId, held.number_masked);
        return ReviewCompletion.Completed;
    }

    /// <summary>Drops the held identity: the account stays unverified (it may try again, and is screened again).</summary>
    public async Task RejectAsync(Guid userId, CancellationToken ct)
    {
        await using var connection = await db.OpenAsync(ct);
        await connection.ExecuteAsync(new CommandDefinition("DELETE FROM identity_reviews WHERE user_id = @userId", new { userId }, cancellationToken: ct));
    }

    private sealed class Held
    {
        public string name { get; init; } = "";
        public string number_hash { get; init; } = "";
        public string? number_enc { get; init; }
        public string number_masked { get; init; } = "";
        public string birth_date { get; init; } = "";
    }
}
