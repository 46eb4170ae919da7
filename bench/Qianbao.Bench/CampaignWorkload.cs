using System.Diagnostics;
using System.Text.Json;
using Dapper;
using Microsoft.Extensions.Logging;
using Npgsql;
using NpgsqlTypes;
using Qianbao.Server.Hosting;
using Qianbao.Server.Http;
using Qianbao.Server.Modules.Notifications;
using Qianbao.Server.Modules.Notifications.Campaigns;
using Qianbao.Server.Storage;

namespace Qianbao.Bench;

public sealed record CampaignBenchOptions(string Connection, int People, int HoldoutBps, int Seed);

/// <summary>
/// The campaign benchmark (issue 11): builds a population on PostgreSQL with INSERT … SELECT generate_series (settings for
/// a share: in-app consent, some also SMS, four time zones, a fifth inside quiet hours now, a twentieth at the daily cap),
/// starts an in-app campaign with two variants and a holdout (members written with the server's hash and insert) and sends
/// it with the server's set-based send, then COPYs the same number of inbox rows into a scratch copy of the inbox table.
/// Prints recipients/s of both and the ratio, and verifies the counts: every member decided once, every decision of the
/// expected kinds present, inbox numbers consistent with the settings rows.
/// </summary>
public static class CampaignWorkload
{
    private static readonly string[] Zones = ["Asia/Shanghai", "America/New_York", "Asia/Kolkata", "Pacific/Auckland"];

    public static async Task<int> RunAsync(CampaignBenchOptions o, ILoggerFactory loggers, CancellationToken ct)
    {
        await using var db = LedgerFixture.OpenDb(DatabaseEngine.Postgres, o.Connection);
        await Migrator.MigrateAsync(db, loggers.CreateLogger("Qianbao.Bench.Migrator"), ct);
        var nowUs = TimeProvider.System.GetUnixMicroseconds();
        var run = Guid.NewGuid().ToString("N")[..12];
        // A registration range of this run's own: the campaign's segment selects exactly this population.
        var fromUs = new DateTimeOffset(1980, 1, 1, 0, 0, 0, TimeSpan.Zero).AddDays(Random.Shared.Next(0, 3000)).ToUnixMicroseconds();

        var total = Stopwatch.StartNew();
        await using (var connection = (NpgsqlConnection)await db.OpenAsync(ct))
        {
            var build = Stopwatch.StartNew();
            await connection.ExecuteAsync(new CommandDefinition("""
                INSERT INTO users (id, phone, name, password_hash, created_at_us, locale)
                SELECT gen_random_uuid(), 'cb-' || @run || '-' || i, 'bench', 'x', @fromUs + i, CASE WHEN i % 3 = 0 THEN 'zh-CN' ELSE 'en' END
                FROM generate_series(0, @people - 1) AS i
                """, new { run, fromUs, people = o.People }, commandTimeout: 0, cancellationToken: ct));
            // Settings for 7 in 10 (the rest: defaults, no marketing consent); 1 in 10 also consented to SMS (this in-app
            // campaign leaves it unavailable); 1 in 5 inside quiet hours now (held until they end); zones in turn.
            await connection.ExecuteAsync(new CommandDefinition("""
                INSERT INTO notification_settings (user_id, transaction_channels, marketing_channels, service_channels, quiet_enabled,
                                                   quiet_start_min, quiet_end_min, time_zone, locale, last_seq, updated_at_us)
                SELECT u.id, 1, CASE WHEN k % 10 = 6 THEN 3 ELSE 1 END, 1, 1,
                       CASE WHEN k % 5 = 0 THEN (l.m + 1380) % 1440 ELSE (l.m + 60) % 1440 END,
                       CASE WHEN k % 5 = 0 THEN (l.m + 90) % 1440 ELSE (l.m + 180) % 1440 END,
                       z.tz, NULL, 0, @nowUs
                FROM (SELECT id, created_at_us - @fromUs AS k FROM users WHERE created_at_us >= @fromUs AND created_at_us < @fromUs + @people) u
                CROSS JOIN LATERAL (SELECT (@zones::text[])[1 + (u.k % 4)::int] AS tz) z
                CROSS JOIN LATERAL (SELECT (extract(hour FROM now() AT TIME ZONE z.tz) * 60 + extract(minute FROM now() AT TIME ZONE z.tz))::int AS m) l
                WHERE u.k % 10 < 7
                """, new { fromUs, people = o.People, nowUs, zones = Zones }, commandTimeout: 0, cancellationToken: ct));
            // 1 in 20 already had two marketing messages a minute ago (the daily cap is 2): capped.
            await connection.ExecuteAsync(new CommandDefinition("""
                INSERT INTO notifications (id, user_id, seq, category, type, dedupe_key, status, title, body, visible_at_us, created_at_us)
                SELECT gen_random_uuid(), u.id, s, 2, 'campaign', 'bench-prior:' || s, 0, 't', 'b', @atUs, @atUs
                FROM users u CROSS JOIN generate_series(1, 2) AS s
                WHERE u.created_at_us >= @fromUs AND u.created_at_us < @fromUs + @people AND (u.created_at_us - @fromUs) % 20 = 1;
                UPDATE notification_settings s SET last_seq = 2 FROM users u
                WHERE u.id = s.user_id AND u.created_at_us >= @fromUs AND u.created_at_us < @fromUs + @people AND (u.created_at_us - @fromUs) % 20 = 1;
                ANALYZE users; ANALYZE notification_settings; ANALYZE notifications;
                """, new { fromUs, people = o.People, atUs = nowUs - 60_000_000 }, commandTimeout: 0, cancellationToken: ct));
            Console.WriteLine($"population: {o.People:N0} people in {build.Elapsed.TotalSeconds:F1} s");
        }

        // The campaign: two variants (3:1) and a holdout, in-app.
        var definition = new CampaignDefinition(new Segment(RegisteredFrom: TimeProviderExtensions.FromUnixMicroseconds(fromUs), RegisteredTo: TimeProviderExtensions.FromUnixMicroseconds(fromUs + o.People)), ["in_app"],
            [new Variant("a", 3, "Half price", "Half price at Corner Shop", Action: new VariantAction("open_url", Url: "https://example.com/a")),
             new Variant("b", 1, "10% off", "10% off at Corner Shop")],
            new Conversion("payment", WindowHours: 72));
        var campaignId = Guid.CreateVersion7();
        var caps = new MarketingCaps(new NotificationOptions().MarketingPerDayMax, new NotificationOptions().MarketingPerWeekMax);

        // Each measured step starts without the previous one's dirty pages (as run.sh does before every measurement): otherwise
        // the step after a large write pays for evicting them, and the COPY's CPU moved by a factor of two with the send before it.
        await CheckpointAsync(db, ct);
        var send = Stopwatch.StartNew();
        int audience, holdout;
        // CPU time of the PostgreSQL backend doing each step (and of this client): on a shared machine the rates swing
        // with the neighbours' load, CPU per row hardly does.
        var startCpu = new StepCpu();
        var sendCpu = new StepCpu();
        var copyCpu = new StepCpu();
        await using (var connection = await db.OpenAsync(ct))
        {
            var startPid = await BackendPidAsync(connection);
            startCpu.Begin(startPid);
            var people = (await connection.QueryAsync<Guid>(new CommandDefinition(
                "SELECT id FROM users WHERE created_at_us >= @fromUs AND created_at_us < @fromUs + @people", new { fromUs, people = o.People },
                commandTimeout: 0, cancellationToken: ct))).AsList();
            var members = people.Select(u => (u, VariantAssignment.Assign(campaignId, u, o.HoldoutBps, definition.Variants))).ToList();
            audience = members.Count;
            holdout = members.Count(m => m.Item2 is null);
            await using var tx = await db.BeginWriteAsync(connection, ct);
            await connection.ExecuteAsync(new CommandDefinition($"""
                INSERT INTO messaging_campaigns (id, name, definition, holdout_bps, status, audience, holdout, scheduled, created_at_us, started_at_us, sent_at_us)
                VALUES (@campaignId, 'bench', @definition, @holdoutBps, {(short)CampaignState.Sending}, @audience, @holdout, @scheduled, @nowUs, @nowUs, @nowUs)
                """, new
            {
                campaignId, definition = JsonSerializer.Serialize(definition, JsonDefaults.Options), holdoutBps = o.HoldoutBps, audience, holdout,
                scheduled = audience - holdout, nowUs,
            }, tx, cancellationToken: ct));
            await CampaignSender.InsertMembersAsync(connection, tx, DatabaseEngine.Postgres, campaignId, members, ct);
            await tx.CommitAsync(ct);
            startCpu.End(startPid);
        }
        var materialiseS = send.Elapsed.TotalSeconds;
        var variants = BulkVariants.Of(definition);
        // The send ranges in parallel, one connection each, as the server's sender runs them; the backend CPU of each
        // connection is summed, this process's CPU taken over the whole step.
        List<short> ranges;
        await using (var connection = await db.OpenAsync(ct))
            ranges = (await connection.QueryAsync<short>(new CommandDefinition(
                "SELECT range_no FROM messaging_campaign_send_ranges WHERE campaign_id = @campaignId ORDER BY range_no", new { campaignId },
                cancellationToken: ct))).AsList();
        var clientAtSend = Process.GetCurrentProcess().TotalProcessorTime;
        var perRange = await Task.WhenAll(ranges.Select(range => Task.Run(async () =>
        {
            var cpu = new StepCpu();
            var taken = 0;
            while (true)
            {
                await using var connection = await db.OpenAsync(ct);
                var pid = await BackendPidAsync(connection);
                cpu.Begin(pid);
                await using var tx = await db.BeginWriteAsync(connection, ct);
                var n = await CampaignBulkSend.SendBatchAsync(connection, tx, campaignId, range, variants, 1 << (int)NotificationChannel.InApp,
                    TimeProvider.System.GetUnixMicroseconds(), caps, CampaignBulkSend.BatchSize, ct);
                await tx.CommitAsync(ct);
                cpu.End(pid);
                taken += n.Taken;
                if (n.Done) break;
            }
            return (taken, cpu.Backend);
        }, ct)));
        var decided = perRange.Sum(r => r.taken);
        sendCpu.Add(perRange.Aggregate(TimeSpan.Zero, (t, r) => t + r.Backend), Process.GetCurrentProcess().TotalProcessorTime - clientAtSend);
        var sendS = send.Elapsed.TotalSeconds;
        var recipients = audience - holdout;

        // The reference: a raw binary COPY of as many inbox rows into a scratch copy of the inbox table (same indexes).
        double copyS;
        await using (var connection = (NpgsqlConnection)await db.OpenAsync(ct))
        {
            await connection.ExecuteAsync("DROP TABLE IF EXISTS bench_inbox_copy; CREATE TABLE bench_inbox_copy (LIKE notifications INCLUDING ALL)");
            await CheckpointAsync(db, ct);
            var users = (await connection.QueryAsync<Guid>(new CommandDefinition(
                "SELECT user_id FROM messaging_campaign_members WHERE campaign_id = @campaignId AND variant IS NOT NULL", new { campaignId },
                commandTimeout: 0, cancellationToken: ct))).AsList();
            var copyPid = await BackendPidAsync(connection);
            copyCpu.Begin(copyPid);
            var copy = Stopwatch.StartNew();
            await using (var writer = await connection.BeginBinaryImportAsync("""
                COPY bench_inbox_copy (id, user_id, seq, category, type, dedupe_key, status, title, body, action, campaign_id, variant, visible_at_us, created_at_us)
                FROM STDIN (FORMAT BINARY)
                """, ct))
            {
                var dedupe = CampaignSender.DedupeKey(campaignId);
                foreach (var user in users)
                {
                    await writer.StartRowAsync(ct);
                    await writer.WriteAsync(Guid.CreateVersion7(), NpgsqlDbType.Uuid, ct);
                    await writer.WriteAsync(user, NpgsqlDbType.Uuid, ct);
                    await writer.WriteAsync(3L, NpgsqlDbType.Bigint, ct);
                    await writer.WriteAsync((short)2, NpgsqlDbType.Smallint, ct);
                    await writer.WriteAsync("campaign", NpgsqlDbType.Text, ct);
                    await writer.WriteAsync(dedupe, NpgsqlDbType.Text, ct);
                    await writer.WriteAsync((short)0, NpgsqlDbType.Smallint, ct);
                    await writer.WriteAsync(variants.Titles[0], NpgsqlDbType.Text, ct);
                    await writer.WriteAsync(variants.Bodies[0], NpgsqlDbType.Text, ct);
                    await writer.WriteAsync(variants.Actions[0]!, NpgsqlDbType.Text, ct);
                    await writer.WriteAsync(campaignId, NpgsqlDbType.Uuid, ct);
                    await writer.WriteAsync("a", NpgsqlDbType.Text, ct);
                    await writer.WriteAsync(nowUs, NpgsqlDbType.Bigint, ct);
                    await writer.WriteAsync(nowUs, NpgsqlDbType.Bigint, ct);
                }
                await writer.CompleteAsync(ct);
            }
            copyS = copy.Elapsed.TotalSeconds;
            copyCpu.End(copyPid);
        }

        // Verification.
        var failures = new List<string>();
        await using (var connection = await db.OpenAsync(ct))
        {
            var byStatus = (await connection.QueryAsync<(short Status, long Count)>(new CommandDefinition(
                "SELECT status, count(*) FROM notifications WHERE campaign_id = @campaignId GROUP BY status", new { campaignId },
                commandTimeout: 0, cancellationToken: ct))).ToDictionary(r => (NotificationStatus)r.Status, r => r.Count);
            var held = await connection.ExecuteScalarAsync<long>(new CommandDefinition(
                "SELECT count(*) FROM notifications WHERE campaign_id = @campaignId AND status = 0 AND visible_at_us > created_at_us", new { campaignId },
                commandTimeout: 0, cancellationToken: ct));
            var unsent = await connection.ExecuteScalarAsync<long>(new CommandDefinition(
                """
                SELECT count(*) FROM messaging_campaign_members m WHERE m.campaign_id = @campaignId AND m.variant IS NOT NULL
                  AND NOT EXISTS (SELECT 1 FROM notifications n WHERE n.user_id = m.user_id AND n.dedupe_key = @dedupe)
                """, new { campaignId, dedupe = CampaignSender.DedupeKey(campaignId) }, commandTimeout: 0, cancellationToken: ct));
            var seqDrift = await connection.ExecuteScalarAsync<long>(new CommandDefinition("""
                SELECT count(*) FROM notifications n JOIN notification_settings s ON s.user_id = n.user_id
                WHERE n.campaign_id = @campaignId AND n.seq <> s.last_seq
                """, new { campaignId }, commandTimeout: 0, cancellationToken: ct));
            var byVariant = (await connection.QueryAsync<(string Variant, long Count)>(new CommandDefinition(
                "SELECT variant, count(*) FROM notifications WHERE campaign_id = @campaignId GROUP BY variant", new { campaignId },
                commandTimeout: 0, cancellationToken: ct))).ToDictionary(r => r.Variant, r => r.Count);
            var copied = await connection.ExecuteScalarAsync<long>("SELECT count(*) FROM bench_inbox_copy");
            var written = byStatus.Values.Sum();
            if (written != recipients) failures.Add($"notifications {written} != recipients {recipients}");
            if (decided != recipients) failures.Add($"decided {decided} != recipients {recipients}");
            if (unsent != 0) failures.Add($"{unsent} members without a notification");
            if (seqDrift != 0) failures.Add($"{seqDrift} inbox numbers differ from the settings' last_seq");
            if (copied != recipients) failures.Add($"copied {copied} != recipients {recipients}");
            foreach (var status in new[] { NotificationStatus.Inbox, NotificationStatus.Capped, NotificationStatus.Suppressed })
                if (byStatus.GetValueOrDefault(status) == 0) failures.Add($"no {status} decision");
            if (held == 0) failures.Add("nothing held by quiet hours");
            Console.WriteLine($"decisions: inbox {byStatus.GetValueOrDefault(NotificationStatus.Inbox):N0} (held {held:N0}), capped "
                + $"{byStatus.GetValueOrDefault(NotificationStatus.Capped):N0}, suppressed {byStatus.GetValueOrDefault(NotificationStatus.Suppressed):N0}; "
                + $"variants a {byVariant.GetValueOrDefault("a"):N0} b {byVariant.GetValueOrDefault("b"):N0}; holdout {holdout:N0}");
            await connection.ExecuteAsync("DROP TABLE bench_inbox_copy");
        }

        var setRate = recipients / sendS;
        var sendOnlyRate = recipients / (sendS - materialiseS);
        var copyRate = recipients / copyS;
        Console.WriteLine($"campaign: audience {audience:N0}, recipients {recipients:N0}; start (members) {materialiseS:F1} s + send {sendS - materialiseS:F1} s"
            + $" = {recipients / sendS:N0} recipients/s (send alone {sendOnlyRate:N0}/s); raw COPY {copyS:F1} s = {copyRate:N0} rows/s; total {total.Elapsed.TotalSeconds:F0} s");
        Console.WriteLine(FormattableString.Invariant(
            $"SUMMARY campaign_people={o.People} recipients={recipients} recipients_per_s={setRate:F0} send_only_per_s={sendOnlyRate:F0} copy_rows_per_s={copyRate:F0} ratio={setRate / copyRate:F3} checks={(failures.Count == 0 ? "ok" : "failed")}"));
        double Us(TimeSpan t) => t.TotalMicroseconds / recipients;
        Console.WriteLine($"CPU per recipient (PostgreSQL backend + this client): start {Us(startCpu.Backend):F1} + {Us(startCpu.Client):F1} µs, "
            + $"send {Us(sendCpu.Backend):F1} + {Us(sendCpu.Client):F1} µs, raw COPY {Us(copyCpu.Backend):F1} + {Us(copyCpu.Client):F1} µs; "
            + $"CPU ratio COPY / (start + send) {(copyCpu.Backend + copyCpu.Client) / (startCpu.Backend + startCpu.Client + sendCpu.Backend + sendCpu.Client):F3}, "
            + $"COPY / send {(copyCpu.Backend + copyCpu.Client) / (sendCpu.Backend + sendCpu.Client):F3}");
        foreach (var f in failures) Console.Error.WriteLine("CHECK FAILED: " + f);
        return failures.Count == 0 ? 0 : 1;
    }

    private static async Task CheckpointAsync(Db db, CancellationToken ct)
    {
        await using var connection = await db.OpenAsync(ct);
        await connection.ExecuteAsync(new CommandDefinition("CHECKPOINT", commandTimeout: 0, commandType: System.Data.CommandType.Text, cancellationToken: ct));
    }

    private static async Task<int> BackendPidAsync(System.Data.Common.DbConnection connection) =>
        await connection.ExecuteScalarAsync<int>("SELECT pg_backend_pid()");

    /// <summary>CPU time of one PostgreSQL backend (read from /proc: the bench runs beside its cluster) and of this process over a step's parts.</summary>
    private sealed class StepCpu
    {
        private TimeSpan backendAt, clientAt;
        public TimeSpan Backend { get; private set; }
        public TimeSpan Client { get; private set; }

        public void Begin(int pid)
        {
            backendAt = ProcessCpu(pid);
            clientAt = Process.GetCurrentProcess().TotalProcessorTime;
        }

        public void Add(TimeSpan backend, TimeSpan client)
        {
            Backend += backend;
            Client += client;
        }

        public void End(int pid)
        {
            Backend += ProcessCpu(pid) - backendAt;
            Client += Process.GetCurrentProcess().TotalProcessorTime - clientAt;
        }

        private static TimeSpan ProcessCpu(int pid)
        {
            try
            {
                var stat = File.ReadAllText($"/proc/{pid}/stat");
                var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
                return TimeSpan.FromSeconds((long.Parse(fields[11], System.Globalization.CultureInfo.InvariantCulture)
                    + long.Parse(fields[12], System.Globalization.CultureInfo.InvariantCulture)) / 100.0);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or FormatException)
            {
                return TimeSpan.Zero; // not on this machine, or not Linux
            }
        }
    }
}
