using System.Text;
using Dapper;
using Qianbao.Server.Hosting;
using Qianbao.Server.Storage;

namespace Qianbao.Server.Modules.Notifications.Campaigns;

/// <summary>What a start or a send counted: people selected, kept back, and messages queued after consent and caps.</summary>
internal readonly record struct CampaignCounts(int Audience, int Holdout, int Scheduled);

/// <summary>
/// Starts and sends messaging campaigns. Start writes the members in one transaction with the state change (so a start
/// happens once): the segment's people, each with the variant <see cref="VariantAssignment"/> gives (or the holdout).
/// Sending notifies each unsent non-holdout member through <see cref="Notifier"/> (category marketing: consent, quiet
/// hours and caps decide) with the dedupe key of the campaign, one person per transaction (the person's settings row is the
/// lock the caps need); a member's notification is the one with the campaign's dedupe key (unique per person): a send
/// interrupted anywhere resumes where it was and never notifies anyone twice.
/// </summary>
internal sealed class CampaignSender(Db db, CampaignStore store, CampaignAudience audience, Notifier notifier, TimeProvider clock,
    NotificationOptions options, CampaignPersonalisation personalisation, ILogger<CampaignSender> logger)
{
    public const int SendBatch = 500;

    public static string DedupeKey(Guid campaignId) => "campaign:" + campaignId.ToString("N");

    public async Task<CampaignCounts?> MaterialiseAsync(CampaignRow row, CancellationToken ct)
    {
        var definition = row.Definition;
        var people = await audience.SelectAsync(definition.Segment, ct);
        var members = people.Select(u => (UserId: u, Variant: VariantAssignment.Assign(row.id, u, row.holdout_bps, definition.Variants))).ToList();
        var holdout = members.Count(m => m.Variant is null);
        var nowUs = clock.GetUnixMicroseconds();

        await using var connection = await db.OpenAsync(ct);
        await using var tx = await db.BeginWriteAsync(connection, ct);
        var changed = await connection.ExecuteAsync(new CommandDefinition($"""
            UPDATE messaging_campaigns SET status = {(short)CampaignState.Scheduled}, started_at_us = @nowUs, audience = @count, holdout = @holdout, scheduled = @planned
            WHERE id = @id AND status = {(short)CampaignState.Draft}
            """, new { row.id, nowUs, count = members.Count, holdout, planned = members.Count - holdout }, tx, cancellationToken: ct));
        if (changed == 0) return null;
        await InsertMembersAsync(connection, tx, db.Engine, row.id, members, ct);
        await tx.CommitAsync(ct);
        // The forecast after consent and caps; the send replaces it with the exact count when it ends.
        var scheduled = await CampaignForecast.ScheduledAsync(db, row.id, definition.ChannelSet,
            new MarketingCaps(options.MarketingPerDayMax, options.MarketingPerWeekMax), nowUs, ct);
        await using (var update = await db.OpenAsync(ct))
            await update.ExecuteAsync(new CommandDefinition("UPDATE messaging_campaigns SET scheduled = @scheduled WHERE id = @id AND status = @status",
                new { scheduled, row.id, status = (short)CampaignState.Scheduled }, cancellationToken: ct));
        return new CampaignCounts(members.Count, holdout, scheduled);
    }

    /// <summary>
    /// Writes the members with their variants (null: holdout). On PostgreSQL one statement per 50,000 from arrays, in
    /// PostgreSQL's uuid order (so that each batch of the set-based send, a range of the primary key, reads a run of
    /// neighbouring pages instead of pages all over the campaign), and the send ranges (<see cref="CampaignBulkSend.SplitRanges"/>).
    /// </summary>
    public static async Task InsertMembersAsync(System.Data.Common.DbConnection connection, System.Data.Common.DbTransaction tx, DatabaseEngine engine,
        Guid campaignId, IReadOnlyList<(Guid UserId, string? Variant)> members, CancellationToken ct)
    {
        if (engine == DatabaseEngine.Postgres)
        {
            var sorted = UuidOrder.Sorted(members, m => m.UserId);
            foreach (var chunk in sorted.Chunk(50_000))
                await connection.ExecuteAsync(new CommandDefinition("""
                    INSERT INTO messaging_campaign_members (campaign_id, user_id, variant)
                    SELECT @campaignId, u, v FROM unnest(@users::uuid[], @variants::text[]) AS m(u, v)
                    """, new { campaignId, users = chunk.Select(m => m.UserId).ToArray(), variants = chunk.Select(m => m.Variant).ToArray() }, tx,
                    cancellationToken: ct));
            var ranges = CampaignBulkSend.SplitRanges(sorted.Select(m => m.UserId).ToList());
            await connection.ExecuteAsync(new CommandDefinition("""
                INSERT INTO messaging_campaign_send_ranges (campaign_id, range_no, first_user_id, last_user_id)
                SELECT @campaignId, r, f, l FROM unnest(@nos::smallint[], @firsts::uuid[], @lasts::uuid[]) AS x(r, f, l)
                """, new { campaignId, nos = ranges.Select(r => r.RangeNo).ToArray(), firsts = ranges.Select(r => r.First).ToArray(),
                lasts = ranges.Select(r => r.Last).ToArray() }, tx, cancellationToken: ct));
        }
        else
        {
            foreach (var chunk in members.Chunk(400))
            {
                var sql = new StringBuilder("INSERT INTO messaging_campaign_members (campaign_id, user_id, variant) VALUES ");
                var p = new DynamicParameters(new { id = campaignId.ToString() });
                for (var i = 0; i < chunk.Length; i++)
                {
                    sql.Append(i == 0 ? "" : ", ").Append("(@id, @u").Append(i).Append(", @v").Append(i).Append(')');
                    p.Add("u" + i, chunk[i].UserId.ToString());
                    p.Add("v" + i, chunk[i].Variant);
                }
                await connection.ExecuteAsync(new CommandDefinition(sql.ToString(), p, tx, cancellationToken: ct));
            }
        }
    }

    /// <summary>
    /// Sends the campaign when it is due (or resumes its sending); null when it is not due yet. On PostgreSQL the in-app
    /// messages go set-based (<see cref="CampaignBulkSend"/>) unless <paramref name="setBased"/> is false (the per-person
    /// reference the equivalence test compares with); members the set path leaves (SMS, e-mail) go through the notifier.
    /// </summary>
    public async Task<CampaignCounts?> SendIfDueAsync(Guid campaignId, CancellationToken ct, bool setBased = true)
    {
        var nowUs = clock.GetUnixMicroseconds();
        await using (var connection = await db.OpenAsync(ct))
        {
            await connection.ExecuteAsync(new CommandDefinition($"""
                UPDATE messaging_campaigns SET status = {(short)CampaignState.Sending}, sent_at_us = @nowUs
                WHERE id = @campaignId AND status = {(short)CampaignState.Scheduled} AND (send_at_us IS NULL OR send_at_us <= @nowUs)
                """, new { campaignId, nowUs }, cancellationToken: ct));
        }
        var row = await store.FindAsync(campaignId, ct);
        if (row is null || row.State is CampaignState.Draft or CampaignState.Scheduled) return null;
        if (row.State == CampaignState.Sent) return new CampaignCounts(row.audience ?? 0, row.holdout ?? 0, row.scheduled ?? 0);

        var definition = row.Definition;
        var variants = definition.Variants.ToDictionary(v => v.Key!);
        // A variant whose texts use the person's data is rendered per recipient (the per-person path below); the others
        // are the same for everyone, rendered once, and stay on the set-based path.
        var used = definition.Variants.ToDictionary(v => v.Key!, CampaignPersonalisation.Used);
        var personal = used.Where(u => u.Value.Count > 0).Select(u => u.Key).ToArray();
        var channels = definition.ChannelSet;
        var dedupe = DedupeKey(campaignId);
        // Whether anyone can be left for the per-person path (the set-based path may cover everyone).
        var personalLeft = true;
        if (setBased && db.Engine == DatabaseEngine.Postgres)
        {
            var bulk = BulkVariants.Of(definition with { Variants = definition.Variants.Select(CampaignPersonalisation.RenderedForEveryone).ToList() }, personal);
            var mask = channels.Aggregate(0, (m, c) => m | 1 << (int)c);
            var caps = new MarketingCaps(options.MarketingPerDayMax, options.MarketingPerWeekMax);
            // The ranges in parallel, one connection each (each batch locks its range's row: other processes' senders take turns).
            List<short> ranges;
            await using (var connection = await db.OpenAsync(ct))
                ranges = (await connection.QueryAsync<short>(new CommandDefinition(
                    "SELECT range_no FROM messaging_campaign_send_ranges WHERE campaign_id = @campaignId ORDER BY range_no", new { campaignId },
                    cancellationToken: ct))).AsList();
            await Task.WhenAll(ranges.Select(range => Task.Run(async () =>
            {
                while (true)
                {
                    await using var connection = await db.OpenAsync(ct);
                    await using var tx = await db.BeginWriteAsync(connection, ct);
                    var batch = await CampaignBulkSend.SendBatchAsync(connection, tx, campaignId, range, bulk, mask, clock.GetUnixMicroseconds(), caps,
                        CampaignBulkSend.BatchSize, ct);
                    await tx.CommitAsync(ct);
                    if (batch.Done) break;
                }
            }, ct)));
            // (A campaign without send ranges, which start always writes on PostgreSQL, is left to the per-person path whole.)
            if (ranges.Count > 0 && CampaignBulkSend.CoversEveryone(bulk, mask)) personalLeft = false;
        }
        // The rest one person at a time, walking the members' primary key (campaign_id, user_id) in order: each batch is an
        // index range; a member is sent when the inbox holds the campaign's message for them (its unique dedupe key).
        var afterUser = Guid.Empty;
        while (personalLeft)
        {
            List<(Guid UserId, string Variant)> batch;
            await using (var connection = await db.OpenAsync(ct))
                batch = (await connection.QueryAsync<(Guid, string)>(new CommandDefinition($"""
                    SELECT m.user_id, m.variant FROM messaging_campaign_members m
                    WHERE m.campaign_id = @campaignId AND m.user_id > @afterUser AND m.variant IS NOT NULL
                      AND NOT EXISTS (SELECT 1 FROM notifications n WHERE n.user_id = m.user_id AND n.dedupe_key = @dedupe)
                    ORDER BY m.user_id LIMIT {SendBatch}
                    """, new { campaignId, afterUser = db.Id(afterUser), dedupe }, cancellationToken: ct))).AsList();
            if (batch.Count == 0) break;
            afterUser = batch[^1].UserId;
            foreach (var (userId, key) in batch)
            {
                // Read before the transaction: the person's data comes from other modules' own reads.
                var variant = await personalisation.RenderAsync(variants[key], used[key], userId, ct);
                await using var connection = await db.OpenAsync(ct);
                await using var tx = await db.BeginWriteAsync(connection, ct);
                // The notifier's dedupe key makes a repeat (another process's sender) return the first message.
                await notifier.NotifyAsync(connection, tx, new NotificationRequest(userId, NotificationCategory.Marketing, "campaign",
                    dedupe, Action: CampaignDefinition.ToAction(variant.Action), CampaignId: campaignId, Variant: key,
                    Title: variant.Title, Body: variant.Body, Channels: channels, EmailSubject: variant.EmailSubject), ct);
                await tx.CommitAsync(ct);
            }
        }

        await using (var connection = await db.OpenAsync(ct))
        {
            var scheduled = await connection.ExecuteScalarAsync<int>(new CommandDefinition($"""
                SELECT COUNT(*) FROM messaging_campaign_members m JOIN notifications n ON n.user_id = m.user_id AND n.dedupe_key = @dedupe
                WHERE m.campaign_id = @campaignId AND n.status IN ({(short)NotificationStatus.Inbox}, {(short)NotificationStatus.NotInInbox})
                """, new { campaignId, dedupe }, cancellationToken: ct));
            await connection.ExecuteAsync(new CommandDefinition($"""
                UPDATE messaging_campaigns SET status = {(short)CampaignState.Sent}, scheduled = @scheduled WHERE id = @campaignId
                """, new { campaignId, scheduled }, cancellationToken: ct));
            logger.LogInformation("Messaging campaign {Campaign} sent: {Scheduled} messages queued", campaignId, scheduled);
            return new CampaignCounts(row.audience ?? 0, row.holdout ?? 0, scheduled);
        }
    }

    /// <summary>One scheduler pass: sends every campaign that is due or was interrupted while sending; returns how many.</summary>
    public async Task<int> SendDueAsync(CancellationToken ct)
    {
        var nowUs = clock.GetUnixMicroseconds();
        List<Guid> due;
        await using (var connection = await db.OpenAsync(ct))
            due = (await connection.QueryAsync<Guid>(new CommandDefinition($"""
                SELECT id FROM messaging_campaigns
                WHERE (status = {(short)CampaignState.Scheduled} AND (send_at_us IS NULL OR send_at_us <= @nowUs)) OR status = {(short)CampaignState.Sending}
                """, new { nowUs }, cancellationToken: ct))).AsList();
        foreach (var id in due) await SendIfDueAsync(id, ct);
        return due.Count;
    }
}

/// <summary>Sends campaigns whose <c>send_at</c> has come, and resumes interrupted sends, every few seconds and at once after a start.</summary>
internal sealed class CampaignScheduler(CampaignSender sender, CampaignWakeUp wakeUp, ILogger<CampaignScheduler> logger) : BackgroundService
{
    public const int IntervalMs = 10_000;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await sender.SendDueAsync(stoppingToken);
            }
            catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
            {
                logger.LogError(ex, "Sending due messaging campaigns failed; trying again next interval");
            }
            try
            {
                await wakeUp.WaitAsync(TimeSpan.FromMilliseconds(IntervalMs), stoppingToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }
}
