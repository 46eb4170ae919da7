using Dapper;
using Qianbao.Server.Hosting;
using Qianbao.Server.Storage;

namespace Qianbao.Server.Modules.Messaging;

/// <summary>The delivery settings every channel's sender reads (<see cref="SmsOptions"/>, <see cref="Email.EmailOptions"/>).</summary>
internal interface IDeliveryOptions
{
    int TimeoutMs { get; }
    int PollIntervalMs { get; }
    int RetryBaseMs { get; }
    int RetryMaxMs { get; }
    int AttemptsMax { get; }
}

/// <summary>One claimed row of <c>outbound_messages</c>, as a channel's sender hands it to its provider.</summary>
internal sealed class OutboundRow
{
    public Guid id { get; init; }
    public string recipient { get; init; } = "";
    public string? recipient_enc { get; init; }
    public string template { get; init; } = "";
    public string locale { get; init; } = "";
    public string text { get; init; } = "";
    public string? subject { get; init; }
    public string? html { get; init; }
    public string? headers { get; init; }
    public int attempts { get; init; }
    public Guid? user_id { get; init; }
    public short marketing { get; init; }
}

/// <summary>
/// Delivers one channel's messages queued in <c>outbound_messages</c>: every poll (or at once on a nudge) it claims a
/// bounded batch of due messages, hands each to the channel (<see cref="SendAsync"/>), and records the outcome. A failed
/// attempt is retried after <c>RetryBaseMs</c>, doubling each time up to <c>RetryMaxMs</c>; after <c>AttemptsMax</c>
/// attempts the message is <c>failed</c> with its last error. SMS and e-mail share this; they differ only in how one
/// message leaves (and SMS paces itself).
/// </summary>
/// <remarks>
/// All state is in the table, so a queued message survives restarts and outages (an outage only delays it). Several
/// processes on one PostgreSQL may each run a sender: the claim is one statement that moves the chosen rows to
/// <c>sending</c> with a lease deadline in <c>next_attempt_at_us</c>, choosing them with <c>FOR UPDATE SKIP LOCKED</c>, so
/// two senders never hold the same row; an outcome is recorded only while the lease is still held. A row left in
/// <c>sending</c> by a crash is claimed again once its lease has passed (SQLite has one process, and the same statement
/// without the lock clause). Delivery is therefore at least once at the protocol level (after a timeout or a crash the
/// receiver may see a message again, always with the same message id) and once per row: a caller's dedupe key makes one
/// row per cause.
/// </remarks>
internal abstract class OutboundSender(Db db, IDeliveryOptions options, MessageSignal signal, TimeProvider clock, ILogger logger,
    IMarketingConsent? consent = null) : BackgroundService
{
    /// <summary>Most messages claimed, and sent concurrently, per pass.</summary>
    public const int BatchMax = 16;

    /// <summary>Longest <c>last_error</c> stored.</summary>
    public const int LastErrorLengthMax = 512;

    /// <summary>Added to the timeout to form the lease: covers the database round trips, so a lease does not lapse while its holder works.</summary>
    public static readonly TimeSpan LeaseMargin = TimeSpan.FromSeconds(30);

    /// <summary>
    /// A nudge comes from inside the queuing transaction, before it commits; a pass that found nothing after a nudge looks
    /// once more after this pause instead of leaving the message to the next poll.
    /// </summary>
    private static readonly TimeSpan AfterNudgeRecheck = TimeSpan.FromMilliseconds(100);

    protected abstract MessageChannel Channel { get; }

    /// <summary>Delivers one message. Null when delivered; otherwise why not (never the text, which may hold a code).</summary>
    protected abstract Task<string?> SendAsync(OutboundRow row, CancellationToken ct);

    /// <summary>False when this channel has nowhere to deliver (the loop then does not run; queued rows wait).</summary>
    protected virtual bool CanDeliver => true;

    /// <summary>How many messages this pass may claim at <paramref name="nowUs"/> (0..<see cref="BatchMax"/>): a paced channel grants fewer.</summary>
    protected virtual int ClaimLimit(long nowUs) => BatchMax;

    /// <summary>When a paced channel withheld claims, the wait until it grants more; null when it did not.</summary>
    protected virtual TimeSpan? PacingWait(long nowUs) => null;

    // PostgreSQL: the chosen ids are materialised first. As "WHERE id IN (SELECT … LIMIT n FOR UPDATE SKIP LOCKED)" the
    // planner may run the subquery more than once and claim more than n rows (seen: 5 claimed with a limit of 2), which
    // would break the per-second cap. SQLite has one writer and the plain form.
    private string ClaimSql(int limit) => db.Engine == DatabaseEngine.Postgres
        ? $"""
          WITH picked AS MATERIALIZED (
              SELECT id FROM outbound_messages
              WHERE channel = {(short)Channel} AND status IN ({(short)MessageStatus.Queued}, {(short)MessageStatus.Sending}) AND next_attempt_at_us <= @now
              ORDER BY next_attempt_at_us LIMIT {limit}
              FOR UPDATE SKIP LOCKED)
          UPDATE outbound_messages m SET status = {(short)MessageStatus.Sending}, attempts = m.attempts + 1, next_attempt_at_us = @lease
          FROM picked WHERE m.id = picked.id
          RETURNING m.id, m.recipient, m.recipient_enc, m.template, m.locale, m.text, m.subject, m.html, m.headers, m.attempts, m.user_id, m.marketing
          """
        : $"""
          UPDATE outbound_messages SET status = {(short)MessageStatus.Sending}, attempts = attempts + 1, next_attempt_at_us = @lease
          WHERE id IN (
              SELECT id FROM outbound_messages
              WHERE channel = {(short)Channel} AND status IN ({(short)MessageStatus.Queued}, {(short)MessageStatus.Sending}) AND next_attempt_at_us <= @now
              ORDER BY next_attempt_at_us LIMIT {limit})
            AND status IN ({(short)MessageStatus.Queued}, {(short)MessageStatus.Sending}) AND next_attempt_at_us <= @now
          RETURNING id, recipient, recipient_enc, template, locale, text, subject, html, headers, attempts, user_id, marketing
          """;

    // The last error is kept when an attempt has none of its own, so a delivered row still tells why earlier attempts failed.
    private static readonly string RecordSql = $"""
        UPDATE outbound_messages
        SET status = @status, next_attempt_at_us = @next, last_error = COALESCE(@lastError, last_error), delivered_at_us = @deliveredAt
        WHERE id = @id AND status = {(short)MessageStatus.Sending} AND next_attempt_at_us = @lease
        """;

    private static readonly string ReleaseSql = $"""
        UPDATE outbound_messages SET status = {(short)MessageStatus.Queued}, next_attempt_at_us = @now
        WHERE id = @id AND status = {(short)MessageStatus.Sending} AND next_attempt_at_us = @lease
        """;

    /// <summary>The wait after failed attempt <paramref name="attempt"/> (1-based): base · 2^(attempt-1), at most the maximum.</summary>
    public static TimeSpan RetryDelay(IDeliveryOptions options, int attempt)
    {
        var ms = options.RetryBaseMs * Math.Pow(2, Math.Min(attempt - 1, 40));
        return TimeSpan.FromMilliseconds(Math.Min(ms, options.RetryMaxMs));
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        // Leave the host's start-up path before touching the database.
        await Task.Yield();
        if (!CanDeliver)
        {
            logger.LogWarning("{Channel} messages are queued but not sent: no provider is configured", Channel);
            return;
        }
        var nudged = false;
        while (!stoppingToken.IsCancellationRequested)
        {
            var claimed = 0;
            try
            {
                claimed = await RunOnceAsync(stoppingToken);
                if (claimed == 0 && nudged)
                {
                    await Task.Delay(AfterNudgeRecheck, clock, stoppingToken);
                    claimed = await RunOnceAsync(stoppingToken);
                }
            }
            catch (Exception) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                logger.LogError(ex, "{Channel} sending pass failed; trying again next interval", Channel);
            }

            // Paced: wait for the next grant, then go again (more may be due).
            if (PacingWait(clock.GetUnixMicroseconds()) is { } pause)
            {
                try { await Task.Delay(pause, clock, stoppingToken); }
                catch (OperationCanceledException) { return; }
                nudged = false;
                continue;
            }
            // A full batch means more are probably due: go again without waiting.
            if (claimed >= BatchMax) { nudged = false; continue; }
            nudged = await WaitForWorkAsync(stoppingToken);
        }
    }

    /// <summary>One pass: claims the due messages (at most <see cref="ClaimLimit"/>), sends them concurrently, records each outcome; returns how many it claimed.</summary>
    public async Task<int> RunOnceAsync(CancellationToken ct)
    {
        var now = clock.GetUnixMicroseconds();
        var limit = Math.Clamp(ClaimLimit(now), 0, BatchMax);
        if (limit == 0) return 0;
        var lease = checked(now + (long)(TimeSpan.FromMilliseconds(options.TimeoutMs) + LeaseMargin).TotalMicroseconds);
        List<OutboundRow> claimed;
        await using (var connection = await db.OpenAsync(ct))
        {
            claimed = (await connection.QueryAsync<OutboundRow>(new CommandDefinition(ClaimSql(limit), new { now, lease }, cancellationToken: ct))).AsList();
        }
        Claimed(now, claimed.Count, limit);
        if (claimed.Count == 0) return 0;
        await Task.WhenAll(claimed.Select(row => AttemptAsync(row, lease, ct)));
        return claimed.Count;
    }

    /// <summary>Tells a paced channel how many of the <paramref name="granted"/> it actually used.</summary>
    protected virtual void Claimed(long nowUs, int used, int granted) { }

    private async Task AttemptAsync(OutboundRow row, long lease, CancellationToken ct)
    {
        string? error;
        try
        {
            // Consent is checked when the message leaves, not only when it was queued: a withdrawal meanwhile stops it.
            if (row.marketing != 0 && consent is not null && row.user_id is { } person && !await consent.AllowsAsync(person, Channel, ct))
            {
                await ExecuteBestEffortAsync(RecordSql, new
                {
                    id = row.id, lease, status = (short)MessageStatus.Withdrawn, next = clock.GetUnixMicroseconds(),
                    lastError = (string?)"marketing consent withdrawn before delivery", deliveredAt = (long?)null,
                });
                logger.LogInformation("{Channel} {MessageId} not sent: marketing consent withdrawn", Channel, row.id);
                return;
            }
            error = await SendAsync(row, ct);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            // Stopping mid-attempt: hand the row back now rather than leaving it to its lease. The receiver may have seen
            // this attempt; the next carries the same message id.
            await ExecuteBestEffortAsync(ReleaseSql, new { id = row.id, lease, now = clock.GetUnixMicroseconds() });
            return;
        }
        catch (Exception ex)
        {
            error = $"provider failed: {ex.GetType().Name}: {ex.Message}";
        }

        var nowUs = clock.GetUnixMicroseconds();
        object record;
        if (error is null)
        {
            record = new { id = row.id, lease, status = (short)MessageStatus.Delivered, next = nowUs, lastError = (string?)null, deliveredAt = (long?)nowUs };
            logger.LogInformation("{Channel} {MessageId} delivered on attempt {Attempt}", Channel, row.id, row.attempts);
        }
        else if (row.attempts < options.AttemptsMax)
        {
            var delay = RetryDelay(options, row.attempts);
            record = new { id = row.id, lease, status = (short)MessageStatus.Queued, next = checked(nowUs + (long)delay.TotalMicroseconds), lastError = Bound(error), deliveredAt = (long?)null };
            logger.LogWarning("{Channel} {MessageId} attempt {Attempt} failed ({Error}); retrying in {Delay}", Channel, row.id, row.attempts, error, delay);
        }
        else
        {
            record = new { id = row.id, lease, status = (short)MessageStatus.Failed, next = nowUs, lastError = Bound(error), deliveredAt = (long?)null };
            logger.LogWarning("{Channel} {MessageId} failed for good after attempt {Attempt} ({Error})", Channel, row.id, row.attempts, error);
        }

        if (await ExecuteBestEffortAsync(RecordSql, record) == 0)
        {
            // The lease lapsed while this attempt ran; whoever holds the row now decides its fate.
            logger.LogWarning("{Channel} {MessageId}: lost its claim before recording the outcome of attempt {Attempt}", Channel, row.id, row.attempts);
        }
    }

    /// <summary>Not cancellable: an attempt that was made should be recorded even while shutting down. -1 when the database failed.</summary>
    private async Task<int> ExecuteBestEffortAsync(string sql, object parameters)
    {
        try
        {
            await using var connection = await db.OpenAsync(CancellationToken.None);
            return await connection.ExecuteAsync(new CommandDefinition(sql, parameters));
        }
        catch (Exception ex) when (ex is System.Data.Common.DbException or InvalidOperationException)
        {
            logger.LogWarning(ex, "Could not record a {Channel} attempt; the row is retried when its claim lapses", Channel);
            return -1;
        }
    }

    /// <summary>Waits for a nudge or the poll interval; true when nudged.</summary>
    private async Task<bool> WaitForWorkAsync(CancellationToken stoppingToken)
    {
        using var poll = new CancellationTokenSource(TimeSpan.FromMilliseconds(options.PollIntervalMs), clock);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken, poll.Token);
        try
        {
            return await signal.WaitAsync(Channel, Timeout.InfiniteTimeSpan, linked.Token);
        }
        catch (OperationCanceledException)
        {
            return false; // the poll interval elapsed, or the host is stopping (the loop checks)
        }
    }

    private static string Bound(string error) => error.Length <= LastErrorLengthMax ? error : error[..LastErrorLengthMax];
}
