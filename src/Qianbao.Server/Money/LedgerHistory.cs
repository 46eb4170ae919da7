using Dapper;
using Qianbao.Ledger;
using Qianbao.Server.Storage;

namespace Qianbao.Server.Money;

/// <summary>One ledger entry as history shows it: a plain transfer or a hold (its post or void is folded into <see cref="State"/>).</summary>
public sealed record LedgerEntry(long Seq, Guid Id, long Amount, Currency Currency, ushort Code, TransferFlags Flags, string? Reference, long TimestampUs,
    PendingState State, Guid? DebitOwnerId, Guid? CreditOwnerId);

/// <summary>Which entries a history page holds. <see cref="BeforeSeq"/> is the cursor (exclusive); a zero <see cref="TransferCode"/> means every code.</summary>
public readonly record struct HistoryQuery(Guid OwnerId, ushort AccountCode, long BeforeSeq, ushort TransferCode, long FromUs, long ToUs, int Take);

/// <summary>
/// Reads the ledger's entries for an owner's accounts of one kind, newest first by commit sequence, so pages stay
/// stable while new entries arrive. The ledger tables are Money's own: modules read them only through here.
/// </summary>
public sealed class LedgerHistory(Db db)
{
    /// <summary>Entries of at most 1000 per page, whatever the caller asks.</summary>
    public const int TakeMax = 1000;

    public async Task<IReadOnlyList<LedgerEntry>> PageAsync(HistoryQuery q, CancellationToken ct)
    {
        Invariant.That(q.Take is > 0 and <= TakeMax, "a history page holds 1..1000 entries");
        await using var connection = await db.OpenAsync(ct);
        // Post and void records are folded into the hold they settle, whose state tells what became of it.
        var rows = await connection.QueryAsync<Row>(new CommandDefinition($"""
            SELECT t.seq, t.id, t.amount, t.currency, t.code, t.flags, t.reference, t.timestamp_us, t.state,
                   da.owner_id AS debit_owner_id, ca.owner_id AS credit_owner_id
            FROM transfers t
            JOIN accounts da ON da.id = t.debit_account_id
            JOIN accounts ca ON ca.id = t.credit_account_id
            WHERE t.seq < @before AND (t.flags & {(int)(TransferFlags.PostPending | TransferFlags.VoidPending)}) = 0
              AND (t.debit_account_id IN (SELECT id FROM accounts WHERE owner_id = @owner AND code = @accountCode)
                   OR t.credit_account_id IN (SELECT id FROM accounts WHERE owner_id = @owner AND code = @accountCode))
              AND (@code = 0 OR t.code = @code) AND t.timestamp_us >= @fromUs AND t.timestamp_us < @toUs
            ORDER BY t.seq DESC
            LIMIT @take
            """, new { before = q.BeforeSeq, owner = q.OwnerId, accountCode = (int)q.AccountCode, code = (int)q.TransferCode, fromUs = q.FromUs, toUs = q.ToUs, take = q.Take },
            cancellationToken: ct));
        return [.. rows.Select(r => new LedgerEntry(r.seq, r.id, r.amount, Currency.Parse(r.currency), checked((ushort)r.code), (TransferFlags)r.flags, r.reference,
            r.timestamp_us, (PendingState)r.state, r.debit_owner_id, r.credit_owner_id))];
    }

    private sealed class Row
    {
        public long seq { get; init; }
        public Guid id { get; init; }
        public long amount { get; init; }
        public string currency { get; init; } = "";
        public int code { get; init; }
        public int flags { get; init; }
        public string? reference { get; init; }
        public long timestamp_us { get; init; }
        public int state { get; init; }
        public Guid? debit_owner_id { get; init; }
        public Guid? credit_owner_id { get; init; }
    }
}
