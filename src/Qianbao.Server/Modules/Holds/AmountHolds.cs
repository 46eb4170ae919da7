using System.Data.Common;
using Dapper;
using Qianbao.Server.Hosting;
using Qianbao.Server.Money.Pipeline;
using Qianbao.Server.Storage;

namespace Qianbao.Server.Modules.Holds;

/// <summary>What became of an amount hold. Stored as a number; never renumber.</summary>
internal enum AmountHoldStatus : short
{
    /// <summary>The money is held: the pending transfer to the judicial-hold account is live.</summary>
    Held = 0,

    /// <summary>An operator released it: the pending transfer was voided and the money is spendable again.</summary>
    Released = 1,

    /// <summary>Finance deducted it: the hold was posted and passed on to its payee.</summary>
    Deducted = 2,
}

/// <summary>Where a deducted hold goes (see <see cref="DeductAmountHold"/>).</summary>
internal enum HoldPayee : byte
{
    /// <summary>The court's remittance account of the order's reference: owed to that court until finance remits it by bank.</summary>
    CourtRemittance,

    /// <summary>The default funding channel's clearing account: finance paid the court through the channel, as a payout.</summary>
    ChannelClearing,
}

internal static class HoldNames
{
    public static string Of(AmountHoldStatus status) => status switch
    {
        AmountHoldStatus.Held => "held",
        AmountHoldStatus.Released => "released",
        _ => "deducted",
    };

    public static string Of(HoldPayee payee) => payee == HoldPayee.CourtRemittance ? "court_remittance" : "channel_clearing";

    public static bool TryParsePayee(string? text, out HoldPayee payee)
    {
        payee = HoldPayee.CourtRemittance;
        switch (text)
        {
            case null or "court_remittance": return true;
            case "channel_clearing": payee = HoldPayee.ChannelClearing; return true;
            default: return false;
        }
    }
}

/// <summary>One row of <c>amount_holds</c>: what an operator said about a hold (the money is in the ledger).</summary>
internal sealed class AmountHoldRow
{
    public Guid id { get; init; }
    public Guid user_id { get; init; }
    public long amount { get; init; }
    public string currency { get; init; } = "";
    public string reason { get; init; } = "";
    public string reference { get; init; } = "";
    public short status { get; init; }
    public string? payee { get; init; }
    public Guid? created_by { get; init; }
    public long created_at_us { get; init; }
    public Guid? resolved_by { get; init; }
    public long? resolved_at_us { get; init; }

    public AmountHoldStatus Status => (AmountHoldStatus)status;

    public object Body() => new
    {
        id, user_id, amount, currency, reason, reference, status = HoldNames.Of(Status), payee,
        created_at = TimeProviderExtensions.FromUnixMicroseconds(created_at_us),
        resolved_at = resolved_at_us is { } us ? TimeProviderExtensions.FromUnixMicroseconds(us) : (DateTimeOffset?)null,
    };
}

/// <summary>A change of an amount hold's row, committed with the ledger postings that cause it.</summary>
internal abstract record AmountHoldChange(Guid HoldId) : IEffect;

/// <summary>The hold was placed (its pending transfer created).</summary>
internal sealed record AmountHoldPlaced(Guid HoldId, Guid UserId, long Amount, string Currency, string Reason, string Reference, Guid? By, long AtUs)
    : AmountHoldChange(HoldId);

/// <summary>The hold was released (voided) or deducted (posted to <see cref="Payee"/>).</summary>
internal sealed record AmountHoldResolved(Guid HoldId, AmountHoldStatus Status, string? Payee, Guid? By, long AtUs) : AmountHoldChange(HoldId);

/// <summary>
/// Writes amount-hold changes in the ledger batch transaction. Idempotent, as every effect writer must be: a replayed
/// command whose transfers exist is "applied" again.
/// </summary>
internal sealed class AmountHoldWriter : IEffectWriter
{
    public Type EffectType => typeof(AmountHoldChange);

    public ValueTask WriteAsync(DbConnection connection, DbTransaction transaction, IReadOnlyList<IEffect> effects, CancellationToken ct)
    {
        var statements = new List<SqlStatement>(effects.Count);
        foreach (var effect in effects)
        {
            statements.Add(effect switch
            {
                AmountHoldPlaced p => new SqlStatement("""
                    INSERT INTO amount_holds (id, user_id, amount, currency, reason, reference, status, created_by, created_at_us)
                    VALUES (@id, @user, @amount, @currency, @reason, @reference, 0, @by, @now) ON CONFLICT (id) DO NOTHING
                    """, new Dictionary<string, object?> { ["id"] = p.HoldId, ["user"] = p.UserId, ["amount"] = p.Amount, ["currency"] = p.Currency,
                    ["reason"] = p.Reason, ["reference"] = p.Reference, ["by"] = p.By, ["now"] = p.AtUs }),
                AmountHoldResolved r => new SqlStatement("""
                    UPDATE amount_holds SET status = @status, payee = @payee, resolved_by = @by, resolved_at_us = @now WHERE id = @id AND status = 0
                    """, new Dictionary<string, object?> { ["id"] = r.HoldId, ["status"] = (int)r.Status, ["payee"] = r.Payee, ["by"] = r.By, ["now"] = r.AtUs }),
                _ => throw new ArgumentOutOfRangeException(nameof(effects), effect.GetType().Name, "not an amount-hold change"),
            });
        }
        return SqlBatch.ExecuteAsync(connection, transaction, statements, ct);
    }
}

/// <summary>Reads <c>amount_holds</c> for this module's endpoints.</summary>
internal sealed class AmountHolds(Db db)
{
    /// <summary>Most holds one list answers (a court order is rare; a person with more is a case for the database).</summary>
    public const int ListMax = 500;

    private const string Columns = "id, user_id, amount, currency, reason, reference, status, payee, created_by, created_at_us, resolved_by, resolved_at_us";

    public async Task<IReadOnlyList<AmountHoldRow>> ListAsync(Guid userId, CancellationToken ct)
    {
        await using var connection = await db.OpenAsync(ct);
        return (await connection.QueryAsync<AmountHoldRow>(new CommandDefinition(
            $"SELECT {Columns} FROM amount_holds WHERE user_id = @userId ORDER BY created_at_us DESC, id LIMIT {ListMax}",
            new { userId }, cancellationToken: ct))).AsList();
    }

    /// <summary>The hold <paramref name="holdId"/> of <paramref name="userId"/>, or null (another person's hold is not found).</summary>
    public async Task<AmountHoldRow?> FindAsync(Guid userId, Guid holdId, CancellationToken ct)
    {
        await using var connection = await db.OpenAsync(ct);
        return await connection.QuerySingleOrDefaultAsync<AmountHoldRow>(new CommandDefinition(
            $"SELECT {Columns} FROM amount_holds WHERE id = @holdId AND user_id = @userId", new { holdId, userId }, cancellationToken: ct));
    }
}
