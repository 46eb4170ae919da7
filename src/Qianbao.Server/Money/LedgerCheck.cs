using System.Data.Common;
using Qianbao.Ledger;
using Qianbao.Server.Storage;

namespace Qianbao.Server.Money;

/// <summary>
/// The ledger check behind <c>GET /admin/v1/ledger/check</c> → <c>{ok, currencies:[...], violations:[...]}</c>. Checks, from the stored
/// data alone: per currency Σ debits = Σ credits (posted and pending); no balance negative and no flagged
/// account over its limit; and every account's four balances equal what its transfers add up to.
/// </summary>
public static class LedgerCheck
{
    public const int ViolationsMax = 100;

    public sealed record CurrencyTotals(string Currency, Int128 DebitsPosted, Int128 CreditsPosted, Int128 DebitsPending, Int128 CreditsPending);

    public sealed record Report(bool Ok, IReadOnlyList<CurrencyTotals> Currencies, IReadOnlyList<string> Violations);

    /// <summary>Runs the check in one read transaction so that it sees one consistent snapshot.</summary>
    public static async Task<Report> RunAsync(Db db, CancellationToken ct)
    {
        await using var connection = await db.OpenAsync(ct);
        await using var tx = await connection.BeginTransactionAsync(
            db.Engine == DatabaseEngine.Postgres ? System.Data.IsolationLevel.RepeatableRead : System.Data.IsolationLevel.Serializable, ct);
        var violations = new List<string>();
        var accounts = new List<Account>();
        await using (var cmd = Command(connection, tx, "SELECT id, currency, code, flags, debits_posted, credits_posted, debits_pending, credits_pending FROM accounts"))
        await using (var r = await cmd.ExecuteReaderAsync(ct))
        {
            while (await r.ReadAsync(ct))
            {
                var account = new Account(new AccountId(r.ReadId(0)), Currency.Parse(r.GetString(1)), checked((ushort)r.GetInt32(2)),
                    (AccountFlags)r.GetInt32(3), r.GetInt64(4), r.GetInt64(5), r.GetInt64(6), r.GetInt64(7));
                accounts.Add(account);
                if (!account.BalancesAreValid) Add(violations, $"account {account.Id} breaks its balance limits: {account}");
            }
        }

        // Recompute every account's balances from its transfers: plain and post records move posted
        // amounts; live holds (state 1) count as pending.
        var expected = new Dictionary<Guid, long[]>();
        await using (var cmd = Command(connection, tx, $"""
            SELECT debit_account_id, credit_account_id, amount, flags, state FROM transfers
            WHERE (flags & {(int)TransferFlags.VoidPending}) = 0 AND ((flags & {(int)TransferFlags.Pending}) = 0 OR state = {(int)PendingState.Pending})
            """))
        await using (var r = await cmd.ExecuteReaderAsync(ct))
        {
            while (await r.ReadAsync(ct))
            {
                var pending = (r.GetInt32(3) & (int)TransferFlags.Pending) != 0;
                var amount = r.GetInt64(2);
                Bump(expected, r.ReadId(0), pending ? 2 : 0, amount);
                Bump(expected, r.ReadId(1), pending ? 3 : 1, amount);
            }
        }
        foreach (var a in accounts)
        {
            var e = expected.TryGetValue(a.Id.Value, out var v) ? v : new long[4];
            if (e[0] != a.DebitsPosted || e[1] != a.CreditsPosted || e[2] != a.DebitsPending || e[3] != a.CreditsPending)
                Add(violations, $"account {a.Id} balances {a.DebitsPosted}/{a.CreditsPosted}/{a.DebitsPending}/{a.CreditsPending} differ from its transfers {e[0]}/{e[1]}/{e[2]}/{e[3]}");
        }

        var totals = LedgerTotals.Sum(accounts);
        foreach (var t in totals.Where(t => !t.IsBalanced)) Add(violations, $"currency {t.Currency} does not balance: {t}");
        await tx.CommitAsync(ct);
        return new Report(violations.Count == 0,
            [.. totals.Select(t => new CurrencyTotals(t.Currency, t.DebitsPosted, t.CreditsPosted, t.DebitsPending, t.CreditsPending))],
            violations);
    }

    private static void Bump(Dictionary<Guid, long[]> sums, Guid account, int column, long amount)
    {
        if (!sums.TryGetValue(account, out var v)) sums[account] = v = new long[4];
        v[column] = checked(v[column] + amount);
    }

    private static void Add(List<string> violations, string violation)
    {
        if (violations.Count < ViolationsMax) violations.Add(violation);
    }

    private static DbCommand Command(DbConnection connection, DbTransaction tx, string sql)
    {
        var cmd = connection.CreateCommand();
        cmd.CommandText = sql;
        cmd.Transaction = tx;
        return cmd;
    }
}
