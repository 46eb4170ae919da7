using Dapper;
using Npgsql;
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
public sealed class LedgerHistory(Db db, AccountOwners owners, ILogger<LedgerHistory> logger)
{
    /// <summary>Entries of at most 1000 per page, whatever the caller asks.</summary>
    public const int TakeMax = 1000;

    public async Task<IReadOnlyList<LedgerEntry>> PageAsync(HistoryQuery q, CancellationToken ct)
    {
        Invariant.That(q.Take is > 0 and <= TakeMax, "a history page holds 1..1000 entries");
        if (db.Engine == DatabaseEngine.Postgres)
        {
            // One statement on a connection whose session has bitmap scans off (Db.OpenForHistoryAsync): the planner guesses a
            // handful of entries per account (the average over all accounts), so for a page of 20 it would rather fetch all of a
            // long history by bitmap and sort it than walk the index backwards: 10-70 ms instead of a fraction of one for someone
            // with thousands of entries. Npgsql directly: positional parameters spare the SQL rewriting of named ones on every page, and typed reads spare
            // Dapper's mapping (BENCHMARKS.md, issue 13, the history page's CPU).
            var rows = await ReadRowsAsync(q, ct);
            var entries = new List<LedgerEntry>(rows.Count);
            foreach (var r in rows)
            {
                if (!owners.TryGet(r.OtherAccountId, out var other))
                    throw new InvariantViolationException($"transfer {r.Id} names account {r.OtherAccountId}, which does not exist");
                entries.Add(new LedgerEntry(r.Seq, r.Id, r.Amount, Currency.Parse(r.Currency), checked((ushort)r.Code), (TransferFlags)r.Flags, r.Reference,
                    r.TimestampUs, (PendingState)r.State, r.Outgoing ? q.OwnerId : other, r.Outgoing ? other : q.OwnerId));
            }
            return entries;
        }
        await using (var connection = await db.OpenAsync(ct))
        {
            var args = new { before = q.BeforeSeq, owner = q.OwnerId, accountCode = (int)q.AccountCode, code = (int)q.TransferCode, fromUs = q.FromUs, toUs = q.ToUs, take = q.Take };
            var rows = await connection.QueryAsync<Row>(new CommandDefinition(SqliteSql, args, cancellationToken: ct));
            return [.. rows.Select(r => new LedgerEntry(r.seq, r.id, r.amount, Currency.Parse(r.currency), checked((ushort)r.code), (TransferFlags)r.flags, r.reference,
                r.timestamp_us, (PendingState)r.state, r.debit_owner_id, r.credit_owner_id))];
        }
    }

    /// <summary>
    /// The page's rows and their counterparties' owners, read again should PostgreSQL have no free connection slot. The history pool
    /// multiplexes (<see cref="Db.OpenForHistoryAsync"/>), so its physical connections are opened while a statement is sent and a full
    /// PostgreSQL (53300) or one starting or stopping (57P03) shows here rather than at the open that <see cref="PostgresSlotWait"/>
    /// waits at; the page waits the same way. Safe to repeat: read-only statements, nothing kept from a failed attempt.
    /// </summary>
    private async Task<List<PostgresRow>> ReadRowsAsync(HistoryQuery q, CancellationToken ct)
    {
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        var backoffMs = PostgresSlotWait.BackoffMsMin;
        while (true)
        {
            try
            {
                await using var connection = (NpgsqlConnection)await db.OpenForHistoryAsync(ct);
                var rows = new List<PostgresRow>(q.Take);
                // Most owners have one account of the kind, whose id the chart of accounts derives: the statement for that one account
                // (SoleAccountSql) proves it in the same snapshot and otherwise answers a marker, and the general statement reads the page.
                if (SoleAccountGuess(q) is not { } sole || !await ReadAsync(connection, SoleAccountSql, q, sole, rows, ct))
                    await ReadAsync(connection, PostgresSql, q, null, rows, ct);
                List<Guid>? unknown = null;
                foreach (var r in rows)
                    if (!owners.TryGet(r.OtherAccountId, out _)) (unknown ??= []).Add(r.OtherAccountId);
                // Counterparties' accounts not seen yet in this process: one more statement on the same connection (AccountOwners).
                if (unknown is not null) await ReadOwnersAsync(connection, unknown, ct);
                return rows;
            }
            catch (PostgresException e) when (PostgresSlotWait.IsNoFreeSlot(e) && System.Diagnostics.Stopwatch.GetElapsedTime(started) < SlotWaitMax)
            {
                if (backoffMs == PostgresSlotWait.BackoffMsMin)
                    logger.LogWarning("PostgreSQL has no free connection slot ({SqlState}) for a history page; it waits for one", e.SqlState);
                await Task.Delay(TimeSpan.FromMilliseconds(backoffMs + Random.Shared.Next(backoffMs)), ct);
                backoffMs = Math.Min(backoffMs * 2, PostgresSlotWait.BackoffMsMax);
            }
        }
    }

    /// <summary>How long a page waits for a PostgreSQL connection slot: Npgsql's default connection Timeout, as <see cref="PostgresSlotWait"/>.</summary>
    private static readonly TimeSpan SlotWaitMax = TimeSpan.FromSeconds(15);

    /// <summary>
    /// The account the owner most likely has as its only one of the kind (a person's CNY wallet: ids are derived from the owner,
    /// see <see cref="ChartOfAccounts"/>); null when there is no such guess. Only a guess: <see cref="SoleAccountSql"/> checks it.
    /// </summary>
    private static Guid? SoleAccountGuess(HistoryQuery q) =>
        q.AccountCode == AccountCodes.UserWallet ? ChartOfAccounts.UserWallet(q.OwnerId, Currency.Cny).Id.Value : null;

    /// <summary>
    /// Runs one page statement into <paramref name="rows"/>, newest first. False when <see cref="SoleAccountSql"/> answered its
    /// marker (the owner's accounts of the kind are not exactly <paramref name="soleAccount"/>): nothing is added then.
    /// </summary>
    private static async Task<bool> ReadAsync(NpgsqlConnection connection, string sql, HistoryQuery q, Guid? soleAccount, List<PostgresRow> rows,
        CancellationToken ct)
    {
        await using var command = new NpgsqlCommand(sql, connection)
        {
            Parameters =
            {
                new NpgsqlParameter<long> { TypedValue = q.BeforeSeq }, new NpgsqlParameter<Guid> { TypedValue = q.OwnerId },
                new NpgsqlParameter<int> { TypedValue = q.AccountCode }, new NpgsqlParameter<int> { TypedValue = q.TransferCode },
                new NpgsqlParameter<long> { TypedValue = q.FromUs }, new NpgsqlParameter<long> { TypedValue = q.ToUs },
                new NpgsqlParameter<int> { TypedValue = q.Take },
            },
        };
        if (soleAccount is { } account) command.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = account });
        await using var reader = await command.ExecuteReaderAsync(ct);
        var ordered = true;
        while (await reader.ReadAsync(ct))
        {
            var seq = reader.GetInt64(0);
            if (seq == MarkerSeq) return false;
            if (rows.Count > 0 && rows[^1].Seq <= seq) ordered = false;
            rows.Add(new PostgresRow(seq, reader.GetGuid(1), reader.GetInt64(2), reader.GetString(3), reader.GetInt32(4),
                reader.GetInt32(5), reader.IsDBNull(6) ? null : reader.GetString(6), reader.GetInt64(7), reader.GetInt16(8), reader.GetBoolean(9), reader.GetGuid(10)));
        }
        // The sole-account statement's last UNION ALL has no ORDER BY of its own (a sort node for at most one page); its page
        // comes out in order as PostgreSQL appends it, and should a plan ever differ, the page is put in order here.
        if (!ordered) rows.Sort((a, b) => b.Seq.CompareTo(a.Seq));
        return true;
    }

    private async Task ReadOwnersAsync(NpgsqlConnection connection, List<Guid> accountIds, CancellationToken ct)
    {
        // A primary-key probe per id whatever plan the prepared statement settles on (see PostgresLedgerStore.ByPrimaryKey).
        await using var command = new NpgsqlCommand(
            "SELECT a.id, a.owner_id FROM unnest($1) AS u(id) CROSS JOIN LATERAL (SELECT id, owner_id FROM accounts WHERE id = u.id LIMIT 1) a", connection)
        {
            Parameters = { new NpgsqlParameter<Guid[]> { TypedValue = [.. accountIds.Distinct()] } },
        };
        await using var reader = await command.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct)) owners.Add(reader.GetGuid(0), reader.IsDBNull(1) ? null : reader.GetGuid(1));
    }

    private readonly record struct PostgresRow(long Seq, Guid Id, long Amount, string Currency, int Code, int Flags, string? Reference, long TimestampUs,
        short State, bool Outgoing, Guid OtherAccountId);

    // Post and void records are folded into the hold they settle, whose state tells what became of it. The tier-limit transfers
    // never touch an account whose history is read (wallets, merchants' settlement accounts); they are named anyway because the
    // PostgreSQL history indexes leave them out (migration 0044) and a partial index serves only a query that says so, in the
    // same words as its predicate.
    private static readonly string Filters = $"""
        t.seq < @before AND (t.flags & {(int)(TransferFlags.PostPending | TransferFlags.VoidPending)}) = 0
        AND t.code NOT IN ({TransferCodes.LimitGrant}, {TransferCodes.LimitUsage})
        AND (@code = 0 OR t.code = @code) AND t.timestamp_us >= @fromUs AND t.timestamp_us < @toUs
        """;

    private const string Columns = "t.seq, t.id, t.amount, t.currency, t.code, t.flags, t.reference, t.timestamp_us, t.state, t.debit_account_id, t.credit_account_id";

    /// <summary>
    /// Per account of the owner, its newest debits and its newest credits, each read backwards along its (account, seq) index and
    /// stopped after a page (LATERAL … ORDER BY seq DESC LIMIT), then merged and cut to a page. The other side's owner is not
    /// joined here: <see cref="AccountOwners"/> knows it (a probe of <c>accounts</c> per entry was about a third of the
    /// statement's time; BENCHMARKS.md, issue 13, session 6). An OR of the two sides cannot use those indexes in order: PostgreSQL read every entry the
    /// owner ever had and sorted them for each page (tens of ms on a long history, see BENCHMARKS.md, Growth). A transfer
    /// between two of the owner's own accounts is on both sides: the credit side leaves it out (UNION ALL, no sort of whole
    /// rows to remove duplicates; BENCHMARKS.md, issue 13, history).
    /// </summary>
    private static readonly string PostgresSql = Positional($"""
        SELECT t.seq, t.id, t.amount, t.currency, t.code, t.flags, t.reference, t.timestamp_us, t.state, t.outgoing, t.other_account_id
        FROM (SELECT d.*, true AS outgoing, d.credit_account_id AS other_account_id FROM accounts a
              CROSS JOIN LATERAL (SELECT {Columns} FROM transfers t WHERE t.debit_account_id = a.id AND {Filters} ORDER BY t.seq DESC LIMIT @take) d
              WHERE a.owner_id = @owner AND a.code = @accountCode
              UNION ALL
              SELECT c.*, false, c.debit_account_id FROM accounts a
              CROSS JOIN LATERAL (SELECT {Columns} FROM transfers t WHERE t.credit_account_id = a.id AND {Filters}
                                    AND t.debit_account_id NOT IN (SELECT id FROM accounts WHERE owner_id = @owner AND code = @accountCode)
                                  ORDER BY t.seq DESC LIMIT @take) c
              WHERE a.owner_id = @owner AND a.code = @accountCode
              ORDER BY seq DESC
              LIMIT @take) t
        ORDER BY t.seq DESC
        """);

    /// <summary>Not a sequence number (identity values start at 1): <see cref="SoleAccountSql"/>'s row saying "not the sole account".</summary>
    private const long MarkerSeq = 0;

    /// <summary>
    /// The page of an owner whose only account of the kind is <c>@account</c> (<see cref="SoleAccountGuess"/>): the gate reads the
    /// owner's accounts of the kind once (one index probe) and, unless they are exactly that one, the statement answers only a marker
    /// row (seq 0) and <see cref="PageAsync"/> reads the page with <see cref="PostgresSql"/>; checked in the same statement, hence
    /// the same snapshot, so an account another process creates meanwhile is either seen by the gate or has no entries on the page.
    /// With the account a parameter, the two sides are plain backward walks of the (account, seq) indexes that PostgreSQL merges
    /// (Merge Append) and stops after a page, so about 21 transfer rows are read for 21 shown instead of 42, and no lateral joins,
    /// no owner's-accounts lookup per side, no hashed NOT IN (about 32 shared buffers instead of 60, and 15-20 % less PostgreSQL CPU
    /// per page: BENCHMARKS.md, issue 13, session 7). A transfer between the account and itself would be on both sides: the credit
    /// side leaves it out, as <see cref="PostgresSql"/> does.
    /// </summary>
    private static readonly string SoleAccountSql = Positional($"""
        WITH gate AS MATERIALIZED (SELECT count(*) = 1 AND bool_and(id = @account) AS sole FROM accounts WHERE owner_id = @owner AND code = @accountCode)
        SELECT p.* FROM (
            SELECT u.* FROM ((SELECT {PageColumns}, true AS outgoing, t.credit_account_id AS other_account_id FROM transfers t
                              WHERE t.debit_account_id = @account AND {Filters} ORDER BY t.seq DESC LIMIT @take)
                             UNION ALL
                             (SELECT {PageColumns}, false, t.debit_account_id FROM transfers t
                              WHERE t.credit_account_id = @account AND t.debit_account_id <> @account AND {Filters} ORDER BY t.seq DESC LIMIT @take)) u
            WHERE (SELECT sole FROM gate)
            ORDER BY u.seq DESC
            LIMIT @take) p
        UNION ALL
        SELECT {MarkerSeq}, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL FROM gate WHERE NOT sole
        """);

    /// <summary>The PostgreSQL page statements (for the test that holds them to the history indexes' predicate).</summary>
    internal static IReadOnlyList<string> PostgresStatements => [PostgresSql, SoleAccountSql];

    private const string PageColumns = "t.seq, t.id, t.amount, t.currency, t.code, t.flags, t.reference, t.timestamp_us, t.state";

    /// <summary>The named parameters of the shared filters as PostgreSQL's positional ones, in the order PageAsync adds them.</summary>
    private static string Positional(string sql) => sql.Replace("@before", "$1").Replace("@owner", "$2").Replace("@accountCode", "$3").Replace("@code", "$4")
        .Replace("@fromUs", "$5").Replace("@toUs", "$6").Replace("@take", "$7").Replace("@account", "$8");

    private static readonly string SqliteSql = $"""
        SELECT t.seq, t.id, t.amount, t.currency, t.code, t.flags, t.reference, t.timestamp_us, t.state,
               da.owner_id AS debit_owner_id, ca.owner_id AS credit_owner_id
        FROM transfers t
        JOIN accounts da ON da.id = t.debit_account_id
        JOIN accounts ca ON ca.id = t.credit_account_id
        WHERE {Filters}
          AND (t.debit_account_id IN (SELECT id FROM accounts WHERE owner_id = @owner AND code = @accountCode)
               OR t.credit_account_id IN (SELECT id FROM accounts WHERE owner_id = @owner AND code = @accountCode))
        ORDER BY t.seq DESC
        LIMIT @take
        """;

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
