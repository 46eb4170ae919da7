using Dapper;
using Qianbao.Ledger;
using Qianbao.Server.Storage;

namespace Qianbao.Server.Money;

/// <summary>A live hold (a pending transfer neither posted, voided nor expired).</summary>
public sealed record LiveHold(Guid Id, AccountId DebitAccountId, AccountId CreditAccountId, long Amount, Currency Currency, ushort Code);

/// <summary>
/// Finds live holds for the modules that resolve them (channel reconciliation, expiry), oldest first. The ledger
/// tables are Money's own: modules read them only through here.
/// </summary>
public sealed class LedgerHolds(Db db)
{
    /// <summary>Most holds one call returns.</summary>
    public const int LimitMax = 10_000;

    /// <summary>Live holds with one of <paramref name="codes"/> created before <paramref name="createdBeforeUs"/>.</summary>
    public Task<IReadOnlyList<LiveHold>> CreatedBeforeAsync(IReadOnlyList<ushort> codes, long createdBeforeUs, int limit, CancellationToken ct) =>
        QueryAsync($"timestamp_us < @before AND code IN ({CodeList(codes)})", new { before = createdBeforeUs, limit }, limit, ct);

    /// <summary>Live holds past their timeout at <paramref name="nowUs"/>, except those with one of <paramref name="excludedCodes"/>.</summary>
    public Task<IReadOnlyList<LiveHold>> ExpiredAsync(IReadOnlyList<ushort> excludedCodes, long nowUs, int limit, CancellationToken ct) =>
        QueryAsync($"expires_at_us > 0 AND expires_at_us <= @now AND code NOT IN ({CodeList(excludedCodes)})", new { now = nowUs, limit }, limit, ct);

    // Codes are numbers the caller's chart of accounts defines, formatted here, never caller text.
    private static string CodeList(IReadOnlyList<ushort> codes)
    {
        Invariant.That(codes.Count > 0, "a hold query names at least one transfer code");
        return string.Join(", ", codes.Select(c => ((int)c).ToString(System.Globalization.CultureInfo.InvariantCulture)));
    }

    private async Task<IReadOnlyList<LiveHold>> QueryAsync(string where, object parameters, int limit, CancellationToken ct)
    {
        Invariant.That(limit is > 0 and <= LimitMax, "a hold query returns 1..10000 holds");
        await using var connection = await db.OpenAsync(ct);
        var rows = await connection.QueryAsync<Row>(new CommandDefinition(
            $"SELECT id, debit_account_id, credit_account_id, amount, currency, code FROM transfers WHERE state = {(int)PendingState.Pending} AND {where} ORDER BY timestamp_us LIMIT @limit",
            parameters, cancellationToken: ct));
        return [.. rows.Select(r => new LiveHold(r.id, new AccountId(r.debit_account_id), new AccountId(r.credit_account_id), r.amount,
            Currency.Parse(r.currency), checked((ushort)r.code)))];
    }

    private sealed class Row
    {
        public Guid id { get; init; }
        public Guid debit_account_id { get; init; }
        public Guid credit_account_id { get; init; }
        public long amount { get; init; }
        public string currency { get; init; } = "";
        public int code { get; init; }
    }
}
