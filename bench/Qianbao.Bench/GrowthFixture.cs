using System.Diagnostics;
using Dapper;
using Microsoft.Extensions.Logging;
using Npgsql;
using NpgsqlTypes;
using Qianbao.Ledger;
using Qianbao.Server.Hosting;
using Qianbao.Server.Money;
using Qianbao.Server.Storage;
using Qianbao.Server.Storage.PersonalData;

namespace Qianbao.Bench;

/// <summary>Settings of <c>growth-fixture</c>: how big the grown database gets, and the server's personal-data keys.</summary>
public sealed record GrowthFixtureOptions(string Connection, int Users, long Transfers, long ReaderTransfers, int Days, string DataKeys, string IndexKey);

/// <summary>
/// Grows a PostgreSQL database the server has migrated, and on which <c>growth-readers</c> registered the history readers through
/// the API, to <see cref="GrowthFixtureOptions.Users"/> users and <see cref="GrowthFixtureOptions.Transfers"/> transfers, set-based
/// and with the server stopped (nothing of the server is dropped or recreated):
/// <list type="bullet">
/// <item>filler users by binary COPY, their name and phone sealed and indexed with the server's keys (so anything that shows one can
///   open it), each with a CNY wallet named as the server names it (<see cref="ChartOfAccounts.UserWallet"/>); no password works;</item>
/// <item>transfers by <c>INSERT … SELECT generate_series</c> in chunks, oldest first over the past <see cref="GrowthFixtureOptions.Days"/>
///   days: a top-up from the sandbox channel's clearing account for each filler, then peer transfers between random fillers, and
///   every so many a peer transfer between two readers (the readers' own history: thousands of entries each, among themselves);</item>
/// <item>the accounts' posted balances raised by what their new transfers add up to, so the ledger check holds; then VACUUM ANALYZE.</item>
/// </list>
/// The readers' setup transfers (made through the API just before) are moved back before the history starts, so every history reads
/// newest first by both commit sequence and time.
/// </summary>
public static class GrowthFixture
{
    private const int ChunkRows = 1_000_000;

    private static readonly string[] Surnames = ["王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "马", "朱", "胡", "郭", "何", "林", "罗", "高"];
    private static readonly string[] Given = ["伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明", "超", "秀英", "霞", "平", "刚", "桂英"];
    private static readonly string[] Notes = ["午饭", "AA 车费", "房租", "还你的", "生日快乐", "电影票", "水电费", "奶茶"];

    public static async Task<int> RunAsync(GrowthFixtureOptions o, ILoggerFactory loggers, TextWriter output, CancellationToken ct)
    {
        if (DataKeyRing.TryParseKeys(o.DataKeys, out var keys) is { } keysProblem) throw new ArgumentException("--data-keys " + keysProblem);
        var indexKey = DataKeyRing.TryKey(o.IndexKey) ?? throw new ArgumentException("--index-key must be 32 bytes in base64");
        var protector = new PersonalDataProtector(new DataKeyRing(keys, indexKey));
        DbValues.RegisterDapperHandlers();
        await using var db = LedgerFixture.OpenDb(DatabaseEngine.Postgres, o.Connection);
        await Migrator.MigrateAsync(db, loggers.CreateLogger("Qianbao.Bench.Migrator"), ct);
        var total = Stopwatch.StartNew();
        await using var connection = (NpgsqlConnection)await db.OpenAsync(ct);
        await connection.ExecuteAsync("SET work_mem = '256MB'; SET maintenance_work_mem = '512MB'; SET synchronous_commit = off");

        var existingUsers = await connection.ExecuteScalarAsync<long>("SELECT count(*) FROM users");
        if (existingUsers > 10_000) throw new InvalidOperationException($"the database already holds {existingUsers} users: grow a fresh one");
        var readers = (await connection.QueryAsync<Guid>(
            $"SELECT id FROM accounts WHERE code = {AccountCodes.UserWallet} AND currency = 'CNY' AND owner_id IS NOT NULL ORDER BY owner_id")).ToArray();
        var fillers = checked((int)(o.Users - existingUsers));
        if (fillers < 2) throw new ArgumentException($"--users must exceed the {existingUsers} users already there by at least 2");
        if (o.Transfers < fillers) throw new ArgumentException("--transfers must be at least the filler users (each gets a top-up)");
        var readerTransfers = readers.Length >= 2 ? Math.Min(o.ReaderTransfers, (o.Transfers - fillers) / 2) : 0;
        var stride = readerTransfers > 0 ? (o.Transfers - fillers) / readerTransfers : 0;
        var nowUs = TimeProvider.System.GetUnixMicroseconds();
        var endUs = nowUs - 3_600_000_000L; // history ends an hour ago
        var startUs = endUs - o.Days * 86_400_000_000L;
        var stepUs = Math.Max(1, (endUs - startUs) / o.Transfers);
        var clearingAccount = ChartOfAccounts.ChannelClearing("sandbox", Currency.Cny);
        var clearing = clearingAccount.Id.Value;
        // The server opens it at start; a database it never ran on (the smoke test's) needs it too, or the top-ups debit nothing.
        await connection.ExecuteAsync("INSERT INTO accounts (id, currency, code, flags, created_at_us) VALUES (@clearing, 'CNY', @code, @flags, @startUs) ON CONFLICT (id) DO NOTHING",
            new { clearing, code = (int)clearingAccount.Code, flags = (int)clearingAccount.Flags, startUs });
        var seqBefore = await connection.ExecuteScalarAsync<long>("SELECT coalesce(max(seq), 0) FROM transfers");
        output.WriteLine($"[growth] {existingUsers} users ({readers.Length} reader wallets) and {seqBefore} transfers there; adding {fillers} users and " +
                         $"{o.Transfers} transfers ({readerTransfers} between readers) over {o.Days} days");

        // The readers' setup (registration top-ups, made a minute ago through the API) moves to before the history.
        await connection.ExecuteAsync("UPDATE transfers SET timestamp_us = @t + seq WHERE seq <= @seqBefore",
            new { t = startUs - 86_400_000_000L, seqBefore });

        var step = Stopwatch.StartNew();
        await connection.ExecuteAsync("""
            CREATE TEMP TABLE growth_filler (n integer PRIMARY KEY, account_id uuid NOT NULL);
            CREATE TEMP TABLE growth_reader (n integer PRIMARY KEY, account_id uuid NOT NULL);
            """);
        await using (var import = await connection.BeginBinaryImportAsync("COPY growth_reader (n, account_id) FROM STDIN (FORMAT BINARY)", ct))
        {
            for (var r = 0; r < readers.Length; r++)
            {
                await import.StartRowAsync(ct);
                await import.WriteAsync(r, NpgsqlDbType.Integer, ct);
                await import.WriteAsync(readers[r], NpgsqlDbType.Uuid, ct);
            }
            await import.CompleteAsync(ct);
        }
        await CopyFillersAsync(connection, protector, fillers, startUs, ct);
        await connection.ExecuteAsync("ANALYZE growth_filler; ANALYZE growth_reader");
        output.WriteLine($"[growth] {fillers} users and wallets copied in {step.Elapsed.TotalSeconds:0.0} s");

        step.Restart();
        for (long from = 1; from <= o.Transfers; from += ChunkRows)
        {
            var to = Math.Min(o.Transfers, from + ChunkRows - 1);
            // Explicit seqs (the identity's own values, set past them below): commit order follows time, as the server's would.
            await connection.ExecuteAsync(new CommandDefinition($"""
                INSERT INTO transfers (seq, id, debit_account_id, credit_account_id, amount, currency, code, flags, pending_id, timeout_seconds,
                                       reference, timestamp_us, state, expires_at_us)
                OVERRIDING SYSTEM VALUE
                SELECT @seqBefore + g.i,
                       (lpad(to_hex(g.ts / 1000), 12, '0') || '7' || lpad(to_hex(g.i % 4096), 3, '0') || '8' || lpad(to_hex(g.i), 15, '0'))::uuid,
                       CASE g.kind WHEN 0 THEN @clearing WHEN 1 THEN rd.account_id ELSE fd.account_id END,
                       CASE g.kind WHEN 0 THEN ft.account_id WHEN 1 THEN rc.account_id ELSE fc.account_id END,
                       CASE g.kind WHEN 0 THEN 100000 + (g.i % 100) * 1000 ELSE 1 + floor(g.r3 * 1000)::bigint END,
                       'CNY', CASE g.kind WHEN 0 THEN {TransferCodes.TopUp} ELSE {TransferCodes.PeerTransfer} END, 0, NULL, 0,
                       CASE WHEN g.kind <> 0 AND g.i % 5 = 0 THEN (@notes::text[])[1 + (g.i / 5) % {Notes.Length}] END,
                       g.ts, {(int)PendingState.None}, 0
                FROM (SELECT i, @startUs + (i - 1) * @stepUs AS ts,
                             CASE WHEN i <= @fillers THEN 0 WHEN @stride > 0 AND (i - @fillers) % @stride = 0 THEN 1 ELSE 2 END AS kind,
                             floor(random() * @fillers)::int AS a, floor(random() * (@fillers - 1))::int AS b,
                             floor(random() * greatest(@readers, 1))::int AS ra, floor(random() * greatest(@readers - 1, 1))::int AS rb,
                             random() AS r3
                      FROM generate_series(@from::bigint, @to::bigint) AS i) g
                LEFT JOIN growth_filler ft ON g.kind = 0 AND ft.n = g.i
                LEFT JOIN growth_reader rd ON g.kind = 1 AND rd.n = g.ra
                LEFT JOIN growth_reader rc ON g.kind = 1 AND rc.n = (g.ra + 1 + g.rb) % greatest(@readers, 1)
                LEFT JOIN growth_filler fd ON g.kind = 2 AND fd.n = 1 + g.a
                LEFT JOIN growth_filler fc ON g.kind = 2 AND fc.n = 1 + (g.a + 1 + g.b) % @fillers
                """, new { seqBefore, clearing, notes = Notes, startUs, stepUs, fillers, stride, readers = readers.Length, from, to },
                commandTimeout: 0, cancellationToken: ct));
            output.WriteLine($"[growth] transfers {to}/{o.Transfers} after {step.Elapsed.TotalSeconds:0.0} s");
        }
        await connection.ExecuteAsync("SELECT setval(pg_get_serial_sequence('transfers', 'seq'), @last)", new { last = seqBefore + o.Transfers });

        step.Restart();
        // What the new transfers add to each account (none is pending), added to what the readers' setup had posted.
        await connection.ExecuteAsync(new CommandDefinition("""
            UPDATE accounts a SET debits_posted = a.debits_posted + s.d, credits_posted = a.credits_posted + s.c
            FROM (SELECT id, sum(d)::bigint AS d, sum(c)::bigint AS c
                  FROM (SELECT debit_account_id AS id, amount AS d, 0::bigint AS c FROM transfers WHERE seq > @seqBefore
                        UNION ALL
                        SELECT credit_account_id, 0, amount FROM transfers WHERE seq > @seqBefore) x
                  GROUP BY id) s
            WHERE a.id = s.id
            """, new { seqBefore }, commandTimeout: 0, cancellationToken: ct));
        var overdrawn = await connection.ExecuteScalarAsync<long>(
            $"SELECT count(*) FROM accounts WHERE (flags & {(int)AccountFlags.DebitsMustNotExceedCredits}) <> 0 AND debits_posted > credits_posted");
        var missing = await connection.ExecuteScalarAsync<long>(
            "SELECT count(*) FROM transfers WHERE seq > @seqBefore AND (debit_account_id IS NULL OR credit_account_id IS NULL)", new { seqBefore });
        output.WriteLine($"[growth] balances posted in {step.Elapsed.TotalSeconds:0.0} s; {overdrawn} overdrawn wallets, {missing} transfers without an account");

        step.Restart();
        await connection.ExecuteAsync(new CommandDefinition("VACUUM ANALYZE users", commandTimeout: 0, cancellationToken: ct));
        await connection.ExecuteAsync(new CommandDefinition("VACUUM ANALYZE accounts", commandTimeout: 0, cancellationToken: ct));
        await connection.ExecuteAsync(new CommandDefinition("VACUUM ANALYZE transfers", commandTimeout: 0, cancellationToken: ct));
        output.WriteLine($"[growth] vacuum analyze in {step.Elapsed.TotalSeconds:0.0} s");
        var ok = overdrawn == 0 && missing == 0;
        var perReader = readers.Length > 0 ? 2.0 * readerTransfers / readers.Length : 0;
        output.WriteLine(FormattableString.Invariant(
            $"SUMMARY mode=growth-fixture users={o.Users} transfers={o.Transfers} reader_entries={perReader:0} seconds={total.Elapsed.TotalSeconds:0.0} ok={(ok ? "true" : "false")}"));
        return ok ? 0 : 1;
    }

    /// <summary>Filler users (sealed name and phone, blind-indexed phone) and their wallets, numbered 1..n in <c>growth_filler</c>.</summary>
    private static async Task CopyFillersAsync(NpgsqlConnection connection, PersonalDataProtector protector, int fillers, long startUs, CancellationToken ct)
    {
        const int batch = 50_000;
        var wallet = (int)AccountFlags.DebitsMustNotExceedCredits;
        var rows = new (Guid User, Guid Account, string Phone, string PhoneEnc, string Name, long CreatedUs)[batch];
        await using var users = await connection.BeginBinaryImportAsync(
            "COPY users (id, phone, phone_enc, name, password_hash, created_at_us) FROM STDIN (FORMAT BINARY)", ct);
        var accountRows = new List<(Guid Account, Guid User, long CreatedUs, int N)>(fillers);
        for (var first = 1; first <= fillers; first += batch)
        {
            var count = Math.Min(batch, fillers - first + 1);
            Parallel.For(0, count, k =>
            {
                var n = first + k;
                var createdUs = startUs - 86_400_000_000L * 30 + n; // registered in the month before the history starts
                var user = Guid.CreateVersion7(DateTimeOffset.FromUnixTimeMilliseconds(createdUs / 1000));
                var e164 = "+86170" + n.ToString("D8", System.Globalization.CultureInfo.InvariantCulture);
                var name = Surnames[n % Surnames.Length] + Given[n / Surnames.Length % Given.Length];
                rows[k] = (user, ChartOfAccounts.UserWallet(user, Currency.Cny).Id.Value, protector.Index(IndexKind.Phone, e164),
                    protector.Seal(e164, new SealedField("users", "phone_enc", user)), protector.Seal(name, new SealedField("users", "name", user)), createdUs);
            });
            for (var k = 0; k < count; k++)
            {
                var r = rows[k];
                await users.StartRowAsync(ct);
                await users.WriteAsync(r.User, NpgsqlDbType.Uuid, ct);
                await users.WriteAsync(r.Phone, NpgsqlDbType.Text, ct);
                await users.WriteAsync(r.PhoneEnc, NpgsqlDbType.Text, ct);
                await users.WriteAsync(r.Name, NpgsqlDbType.Text, ct);
                await users.WriteAsync("!", NpgsqlDbType.Text, ct); // no password: a filler never logs in
                await users.WriteAsync(r.CreatedUs, NpgsqlDbType.Bigint, ct);
                accountRows.Add((r.Account, r.User, r.CreatedUs, first + k));
            }
        }
        await users.CompleteAsync(ct);
        await users.DisposeAsync();

        await using (var accounts = await connection.BeginBinaryImportAsync(
            "COPY accounts (id, currency, code, flags, owner_id, created_at_us) FROM STDIN (FORMAT BINARY)", ct))
        {
            foreach (var a in accountRows)
            {
                await accounts.StartRowAsync(ct);
                await accounts.WriteAsync(a.Account, NpgsqlDbType.Uuid, ct);
                await accounts.WriteAsync("CNY", NpgsqlDbType.Text, ct);
                await accounts.WriteAsync((int)AccountCodes.UserWallet, NpgsqlDbType.Integer, ct);
                await accounts.WriteAsync(wallet, NpgsqlDbType.Integer, ct);
                await accounts.WriteAsync(a.User, NpgsqlDbType.Uuid, ct);
                await accounts.WriteAsync(a.CreatedUs, NpgsqlDbType.Bigint, ct);
            }
            await accounts.CompleteAsync(ct);
        }
        await using (var map = await connection.BeginBinaryImportAsync("COPY growth_filler (n, account_id) FROM STDIN (FORMAT BINARY)", ct))
        {
            foreach (var a in accountRows)
            {
                await map.StartRowAsync(ct);
                await map.WriteAsync(a.N, NpgsqlDbType.Integer, ct);
                await map.WriteAsync(a.Account, NpgsqlDbType.Uuid, ct);
            }
            await map.CompleteAsync(ct);
        }
    }
}
