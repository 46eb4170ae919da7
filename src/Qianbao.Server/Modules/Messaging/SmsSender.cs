using Dapper;
using Qianbao.Server.Hosting;
using Qianbao.Server.Storage;

namespace Qianbao.Server.Modules.Messaging;

/// <summary>
/// Delivers the text messages <see cref="SmsOutbox"/> queued in <c>outbound_messages</c>: every poll (or at once on a
/// nudge) it claims a bounded batch of due messages, hands each to the configured <see cref="ISmsProvider"/>, and records
/// the outcome. A failed attempt is retried after <see cref="SmsOptions.RetryBaseMs"/>, doubling each time up to
/// <see cref="SmsOptions.RetryMaxMs"/>; after <see cref="SmsOptions.AttemptsMax"/> attempts the message is
/// <c>failed</c> with its last error.
/// </summary>
/// <remarks>
/// All state is in the table, so a queued message survives restarts. Several processes on one PostgreSQL may each run a
/// sender: the claim is one statement that moves the chosen rows to <c>sending</c> with a lease deadline in
/// <c>next_attempt_at_us</c>, choosing them with <c>FOR UPDATE SKIP LOCKED</c>, so two senders never hold the same row;
/// an outcome is recorded only while the lease is still held. A row left in <c>sending</c> by a crash is claimed again
/// once its lease has passed (SQLite has one process, and the same statement without the lock clause). Delivery is
/// therefore at least once: after a timeout or a crash the receiver may see a message again, with the same
/// <c>X-Qianbao-Message-Id</c>.
/// </remarks>
internal sealed class SmsSender(Db db, ISmsProvider provider, SmsOptions options, MessageSignal signal, TimeProvider clock, MessageRecipients recipients,
    ILogger<SmsSender> logger) : BackgroundService
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

    private string ClaimSql => $"""
        UPDATE outbound_messages SET status = {(short)MessageStatus.Sending}, attempts = attempts + 1, next_attempt_at_us = @lease
        WHERE id IN (
            SELECT id FROM outbound_messages
            WHERE channel = {(short)MessageChannel.Sms} AND status IN ({(short)MessageStatus.Queued}, {(short)MessageStatus.Sending}) AND next_attempt_at_us <= @now
            ORDER BY next_attempt_at_us LIMIT {BatchMax}
            {(db.Engine == DatabaseEngine.Postgres ? "FOR UPDATE SKIP LOCKED" : "")})
          AND status IN ({(short)MessageStatus.Queued}, {(short)MessageStatus.Sending}) AND next_attempt_at_us <= @now
        RETURNING id, recipient, recipient_enc, template, locale, text, attempts
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
    public static TimeSpan RetryDelay(SmsOptions options, int attempt)
    {
        var ms = options.RetryBaseMs * Math.Pow(2, Math.Min(attempt - 1, 40));
        return TimeSpan.FromMilliseconds(Math.Min(ms, options.RetryMaxMs));
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        // Leave the host's start-up path before touching the database.
        await Task.Yield();
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
                logger.LogError(ex, "SMS sending pass failed; trying again next interval");
            }

            // A full batch means more are probably due: go again without waiting.
            if (claimed >= BatchMax) { nudged = false; continue; }
            nudged = await WaitForWorkAsync(stoppingToken);
        }
    }

    /// <summary>One pass: claims the due messages (at most <see cref="BatchMax"/>), sends them concurrently, records each outcome; returns how many it claimed.</summary>
    public async Task<int> RunOnceAsync(CancellationToken ct)
    {
        var now = clock.GetUnixMicroseconds();
        var lease = checked(now + (long)(TimeSpan.FromMilliseconds(options.TimeoutMs) + LeaseMargin).TotalMicroseconds);
        List<ClaimedRow> claimed;
        await using (var connection = await db.OpenAsync(ct))
        {
            claimed = (await connection.QueryAsync<ClaimedRow>(new CommandDefinition(ClaimSql, new { now, lease }, cancellationToken: ct))).AsList();
        }
        if (claimed.Count == 0) return 0;
        await Task.WhenAll(claimed.Select(row => AttemptAsync(row, lease, ct)));
        return claimed.Count;
    }

    private async Task AttemptAsync(ClaimedRow row, long lease, CancellationToken ct)
    {
        string? error;
        try
        {
            var phone = recipients.Open(row.id, row.recipient, row.recipient_enc);
            error = await provider.SendAsync(new OutboundSms(row.id, phone, row.text, row.template, row.locale, row.attempts), ct);
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
            logger.LogInformation("SMS {MessageId} delivered on attempt {Attempt}", row.id, row.attempts);
        }
        else if (row.attempts < options.AttemptsMax)
        {
            var delay = RetryDelay(options, row.attempts);
            record = new { id = row.id, lease, status = (short)MessageStatus.Queued, next = checked(nowUs + (long)delay.TotalMicroseconds), lastError = Bound(error), deliveredAt = (long?)null };
            logger.LogWarning("SMS {MessageId} attempt {Attempt} failed ({Error}); retrying in {Delay}", row.id, row.attempts, error, delay);
        }
        else
        {
            record = new { id = row.id, lease, status = (short)MessageStatus.Failed, next = nowUs, lastError = Bound(error), deliveredAt = (long?)null };
            logger.LogWarning("SMS {MessageId} failed for good after attempt {Attempt} ({Error})", row.id, row.attempts, error);
        }

        if (await ExecuteBestEffortAsync(RecordSql, record) == 0)
        {
            // The lease lapsed while this attempt ran; whoever holds the row now decides its fate.
            logger.LogWarning("SMS {MessageId}: lost its claim before recording the outcome of attempt {Attempt}", row.id, row.attempts);
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
            logger.LogWarning(ex, "Could not record an SMS attempt; the row is retried when its claim lapses");
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
            return await signal.WaitAsync(Timeout.InfiniteTimeSpan, linked.Token);
        }
        catch (OperationCanceledException)
        {
            return false; // the poll interval elapsed, or the host is stopping (the loop checks)
        }
    }

    private static string Bound(string error) => error.Length <= LastErrorLengthMax ? error : error[..LastErrorLengthMax];

    private sealed class ClaimedRow
    {
        public Guid id { get; init; }
        public string recipient { get; init; } = "";
        public string? recipient_enc { get; init; }
        public string template { get; init; } = "";
        public string locale { get; init; } = "";
        public string text { get; init; } = "";
        public int attempts { get; init; }
    }
}
