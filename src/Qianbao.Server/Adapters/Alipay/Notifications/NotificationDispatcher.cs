using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using System.Threading.Channels;
using Dapper;
using Qianbao.Server.Hosting;
using Qianbao.Server.Storage;

namespace Qianbao.Server.Adapters.Alipay.Notifications;

/// <summary>
/// Sends the asynchronous notifications that <see cref="NotificationOutbox"/> wrote into <c>notify_deliveries</c>:
/// signs each attempt with the current platform key (adding <c>notify_time</c> and <c>sign_type</c>), POSTs it to the
/// row's URL and counts it delivered only when the answer, trimmed of whitespace, is exactly <c>success</c>. Failed
/// attempts are retried on <see cref="NotificationOptions.NotifyRetrySchedule"/> with the same <c>notify_id</c>; after
/// the last delay the row is <c>failed</c> (an operator may replay it).
/// </summary>
/// <remarks>
/// All state lives in the table, so deliveries survive restarts. Several server processes on one PostgreSQL may run a
/// dispatcher each: a row is claimed with a conditional update that moves <c>next_attempt_at_us</c> to a lease
/// (now + timeout + margin) before it is sent, and only the process whose update changed the row sends. Results are
/// recorded only while the lease is still held; a process that dies mid-send leaves the lease to expire and the
/// attempt is made again. Delivery is therefore at least once, as with Alipay: merchants must treat a repeated
/// <c>notify_id</c> as already seen.
/// </remarks>
public sealed class NotificationDispatcher : BackgroundService
{
    /// <summary>Name of the <see cref="IHttpClientFactory"/> client the dispatcher sends with.</summary>
    public const string HttpClientName = "Qianbao.Notifications";

    /// <summary>Longest <c>last_error</c> stored.</summary>
    public const int LastErrorLengthMax = 512;

    /// <summary>
    /// Most response bytes read. The only accepted answer is <c>success</c> (7 bytes plus whitespace); anything longer
    /// is a failure, and reading further would let a hostile receiver make us buffer without bound.
    /// </summary>
    public const int ResponseBytesMax = 1024;

    /// <summary>Most attempts in flight at once per process.</summary>
    public const int SendConcurrencyMax = 16;

    /// <summary>
    /// Most attempts in flight at once per merchant per process: a merchant whose receiver hangs holds at most this many
    /// sending slots, and every other merchant's notifications go out on the rest without waiting for it.
    /// </summary>
    public const int MerchantSendConcurrencyMax = 2;

    /// <summary>Longest wait for a receiver to accept the connection, in milliseconds (less when NotifyTimeoutMs is).</summary>
    public const int ConnectTimeoutMsMax = 5_000;

    /// <summary>How much of a wrong answer is kept in <c>last_error</c> to help the merchant debug.</summary>
    private const int ResponseExcerptLengthMax = 64;

    /// <summary>
    /// Added to the timeout to form the claim lease: covers signing and the two database round trips, so a lease does
    /// not expire while its holder is still legitimately working on the attempt.
    /// </summary>
    private static readonly TimeSpan LeaseMargin = TimeSpan.FromSeconds(30);

    // Due rows, oldest first, at most MerchantSendConcurrencyMax per merchant: a merchant with a backlog cannot fill the
    // batch and starve the others. The merchant is the trade's; a row without a trade row counts by its URL.
    private const string DueSql = """
        SELECT id, notify_id, trade_no, url, fields_json, attempts, next_attempt_at_us, fairness_key
        FROM (
            SELECT d.id, d.notify_id, d.trade_no, d.url, d.fields_json, d.attempts, d.next_attempt_at_us, d.created_at_us,
                COALESCE(CAST(t.merchant_id AS text), d.url) AS fairness_key,
                row_number() OVER (PARTITION BY COALESCE(CAST(t.merchant_id AS text), d.url) ORDER BY d.next_attempt_at_us, d.created_at_us) AS merchant_rank
            FROM notify_deliveries d LEFT JOIN trades t ON t.trade_no = d.trade_no
            WHERE d.status = 'pending' AND d.next_attempt_at_us <= @now
        ) due
        WHERE merchant_rank <= @perMerchant
        ORDER BY next_attempt_at_us, created_at_us
        LIMIT @limit
        """;

    private const string ClaimSql = """
        UPDATE notify_deliveries SET next_attempt_at_us = @lease
        WHERE id = @id AND status = 'pending' AND next_attempt_at_us = @seen AND attempts = @attempts
        """;

    // The last error and first-known delivery time are kept when an attempt has none of its own, so an operator still
    // sees why earlier attempts failed, and that a replayed row had been delivered before.
    private const string RecordSql = """
        UPDATE notify_deliveries
        SET status = @status, attempts = @attempts, next_attempt_at_us = @next, last_error = COALESCE(@lastError, last_error),
            delivered_at_us = COALESCE(@deliveredAt, delivered_at_us), last_http_status = @httpStatus
        WHERE id = @id AND status = 'pending' AND next_attempt_at_us = @lease
        """;

    private const string ReleaseSql = """
        UPDATE notify_deliveries SET next_attempt_at_us = @seen
        WHERE id = @id AND status = 'pending' AND next_attempt_at_us = @lease
        """;

    private readonly Db db;
    private readonly PlatformKeyRing keys;
    private readonly IHttpClientFactory httpClients;
    private readonly NotificationOptions options;
    private readonly TimeProvider clock;
    private readonly ILogger<NotificationDispatcher> logger;
    private readonly IReadOnlyList<TimeSpan> schedule;
    private readonly TimeSpan timeout;

    /// <summary>Sending slots taken, in total and per merchant (fairness key); guarded by <see cref="slotsLock"/>.</summary>
    private readonly Dictionary<string, int> sendingByMerchant = new(StringComparer.Ordinal);
    private readonly Lock slotsLock = new();
    private int sending;

    /// <summary>Attempts the background loop started and has not seen finish; awaited on stop so claims are released.</summary>
    private readonly System.Collections.Concurrent.ConcurrentDictionary<Task, byte> running = new();

    /// <summary>
    /// A wake-up flag: capacity one and extra writes dropped, so any number of nudges during a pass cause exactly one
    /// more pass and none is lost.
    /// </summary>
    private readonly Channel<byte> wake = Channel.CreateBounded<byte>(new BoundedChannelOptions(1)
    {
        FullMode = BoundedChannelFullMode.DropWrite,
        SingleReader = true,
    });

    public NotificationDispatcher(Db db, PlatformKeyRing keys, IHttpClientFactory httpClients, NotificationOptions options,
        TimeProvider clock, ILogger<NotificationDispatcher> logger)
    {
        options.Validate();
        this.db = db;
        this.keys = keys;
        this.httpClients = httpClients;
        this.options = options;
        this.clock = clock;
        this.logger = logger;
        schedule = options.ParseRetrySchedule();
        timeout = TimeSpan.FromMilliseconds(options.NotifyTimeoutMs);
    }

    /// <summary>The parsed retry schedule: after failed attempt n the next is due after element n-1.</summary>
    public IReadOnlyList<TimeSpan> RetrySchedule => schedule;

    /// <summary>
    /// Wakes the background loop now instead of at the next poll. Call after committing a new outbox row (or replaying
    /// one). Cheap, never blocks, safe from any thread; only wakes this process (others find the row by polling).
    /// </summary>
    public void Nudge() => wake.Writer.TryWrite(0);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        // Leave the host's start-up path before touching the database.
        await Task.Yield();
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                var again = false;
                try
                {
                    // Attempts run on their own; the loop never waits for a receiver, only for work or a free slot.
                    var (selected, started) = await StartDueAsync(stoppingToken);
                    foreach (var attempt in started) Track(attempt);
                    again = selected >= options.NotifyBatchMax && started.Count > 0;
                }
                catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
                {
                    logger.LogError(ex, "Notification dispatch pass failed; trying again next interval");
                }
                catch (Exception) when (stoppingToken.IsCancellationRequested)
                {
                    // Stopping: whatever the pass was doing was cut short; claims it held are released or expire.
                    return;
                }

                // A full batch that started something means more rows are probably due: go again without waiting.
                if (again) continue;
                await WaitForWorkAsync(stoppingToken);
            }
        }
        finally
        {
            // Attempts cut short by the stop hand their rows back; wait for that, bounded by their own timeout.
            await Task.WhenAll(running.Keys).WaitAsync(timeout + LeaseMargin, CancellationToken.None)
                .ContinueWith(_ => { }, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        }
    }

    /// <summary>
    /// One pass: attempts the due deliveries that have a free sending slot (at most
    /// <see cref="NotificationOptions.NotifyBatchMax"/> selected, <see cref="MerchantSendConcurrencyMax"/> per merchant)
    /// and returns how many this dispatcher attempted once they are done (rows another process claimed first are not
    /// counted). Public so tests can drive it; the background loop does the same without waiting for the receivers.
    /// </summary>
    public async Task<int> RunOnceAsync(CancellationToken ct)
    {
        var (_, started) = await StartDueAsync(ct);
        var attempted = await Task.WhenAll(started);
        return attempted.Count(a => a);
    }

    /// <summary>Selects due rows and starts an attempt for each that gets a sending slot; returns how many were selected and the attempts.</summary>
    private async Task<(int Selected, List<Task<bool>> Started)> StartDueAsync(CancellationToken ct)
    {
        List<DueRow> due;
        await using (var connection = await db.OpenAsync(ct))
        {
            due = (await connection.QueryAsync<DueRow>(new CommandDefinition(DueSql,
                new { now = clock.GetUnixMicroseconds(), limit = options.NotifyBatchMax, perMerchant = MerchantSendConcurrencyMax },
                cancellationToken: ct))).AsList();
        }

        var started = new List<Task<bool>>();
        foreach (var row in due)
        {
            if (!TryTakeSlot(row.fairness_key)) continue;
            started.Add(Task.Run(async () =>
            {
                try
                {
                    return await AttemptAsync(row, ct);
                }
                finally
                {
                    ReleaseSlot(row.fairness_key);
                    // A slot is free: the background loop may have rows waiting for one.
                    Nudge();
                }
            }, CancellationToken.None));
        }
        return (due.Count, started);
    }

    private bool TryTakeSlot(string merchant)
    {
        lock (slotsLock)
        {
            var mine = sendingByMerchant.GetValueOrDefault(merchant);
            if (sending >= SendConcurrencyMax || mine >= MerchantSendConcurrencyMax) return false;
            sending++;
            sendingByMerchant[merchant] = mine + 1;
            return true;
        }
    }

    private void ReleaseSlot(string merchant)
    {
        lock (slotsLock)
        {
            sending--;
            if (--CollectionsMarshal.GetValueRefOrNullRef(sendingByMerchant, merchant) == 0) sendingByMerchant.Remove(merchant);
        }
    }

    private void Track(Task<bool> attempt)
    {
        running.TryAdd(attempt, 0);
        _ = attempt.ContinueWith(done =>
        {
            running.TryRemove(done, out _);
            if (done.Exception?.GetBaseException() is { } ex and not OperationCanceledException)
                logger.LogError(ex, "Notification attempt failed; the row is retried when its claim expires");
        }, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
    }

    /// <summary>Claims, signs, sends and records one attempt. False when another dispatcher claimed the row first.</summary>
    private async Task<bool> AttemptAsync(DueRow row, CancellationToken ct)
    {
        var lease = checked(clock.GetUnixMicroseconds() + (long)(timeout + LeaseMargin).TotalMicroseconds);
        await using (var connection = await db.OpenAsync(ct))
        {
            var claimed = await connection.ExecuteAsync(new CommandDefinition(ClaimSql,
                new { id = row.id, lease, seen = row.next_attempt_at_us, attempts = row.attempts }, cancellationToken: ct));
            if (claimed != 1) return false;
        }

        string formBody;
        try
        {
            formBody = SignedFormBody(row);
        }
        catch (Exception ex) when (ex is JsonException or ArgumentException)
        {
            // The stored fields cannot be made into a notification: retrying cannot help, so the row fails now (no
            // attempt counted) and says why; an operator can replay it after fixing the data.
            logger.LogError(ex, "Notification {NotifyId} for trade {TradeNo} has unusable fields; marking it failed", row.notify_id, row.trade_no);
            await RecordAsync(row, lease, "failed", row.attempts, deliveredAtUs: null, $"unusable notification fields: {ex.GetType().Name}: {ex.Message}");
            return true;
        }

        string? error;
        int? httpStatus;
        try
        {
            (error, httpStatus) = await SendAsync(row.url, formBody, ct);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            // Shutting down mid-attempt: hand the row back at once rather than leaving it to the lease. The receiver may
            // have seen this attempt; the next one carries the same notify_id.
            await ReleaseAsync(row, lease);
            throw;
        }

        var attempts = checked(row.attempts + 1);
        if (error is null)
        {
            await RecordAsync(row, lease, "delivered", attempts, deliveredAtUs: clock.GetUnixMicroseconds(), lastError: null, httpStatus: httpStatus);
            logger.LogInformation("Notification {NotifyId} for trade {TradeNo} delivered on attempt {Attempt}", row.notify_id, row.trade_no, attempts);
            return true;
        }

        // Attempt n failed: the next one is due after schedule[n-1]; with no delay left the delivery has failed. A
        // replayed row that already used the schedule gets exactly one more attempt.
        if (attempts <= schedule.Count)
        {
            await RecordAsync(row, lease, "pending", attempts, deliveredAtUs: null, error, nextUs: checked(clock.GetUnixMicroseconds() + (long)schedule[attempts - 1].TotalMicroseconds), httpStatus: httpStatus);
            logger.LogWarning("Notification {NotifyId} for trade {TradeNo} attempt {Attempt} failed ({Error}); retrying in {Delay}",
                row.notify_id, row.trade_no, attempts, error, schedule[attempts - 1]);
        }
        else
        {
            await RecordAsync(row, lease, "failed", attempts, deliveredAtUs: null, error, httpStatus: httpStatus);
            logger.LogWarning("Notification {NotifyId} for trade {TradeNo} failed for good after attempt {Attempt} ({Error})",
                row.notify_id, row.trade_no, attempts, error);
        }

        return true;
    }

    /// <summary>
    /// The stored fields plus this attempt's <c>notify_time</c>, signed with the current platform key (which adds
    /// <c>sign_type</c>=RSA2 and <c>sign</c>), as a form body. Throws <see cref="JsonException"/> or
    /// <see cref="ArgumentException"/> for fields that cannot be signed.
    /// </summary>
    private string SignedFormBody(DueRow row)
    {
        var fields = JsonSerializer.Deserialize<Dictionary<string, string>>(row.fields_json)
            ?? throw new JsonException("fields_json is null");
        fields["notify_time"] = AlipayTime.ToChinaString(clock.GetUtcNow());
        return NotificationSigner.Sign(fields, keys.Current.PrivateKey).FormBody;
    }

    /// <summary>
    /// POSTs one attempt. The error is null when the receiver answered <c>success</c>, else why not (never the body sent); the
    /// HTTP status is the receiver's, null when there was no answer.
    /// </summary>
    private async Task<(string? Error, int? HttpStatus)> SendAsync(string url, string formBody, CancellationToken ct)
    {
        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps))
            return ("notify url is not an absolute http(s) URL", null);

        // One bound for the whole exchange, body included: HttpClient.Timeout stops counting once headers arrive.
        using var attemptTimeout = new CancellationTokenSource(timeout, clock);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(ct, attemptTimeout.Token);
        try
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, uri)
            {
                // StringContent with a media type sends "application/x-www-form-urlencoded; charset=utf-8".
                Content = new StringContent(formBody, Encoding.UTF8, "application/x-www-form-urlencoded"),
            };
            var client = httpClients.CreateClient(HttpClientName);
            using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, linked.Token);
            var (answer, complete) = await ReadBoundedAsync(response.Content, linked.Token);
            var status = (int)response.StatusCode;
            if (complete && answer.Trim() == "success") return (null, status);
            return (Bound($"HTTP {status}, answer {Excerpt(answer, complete)} is not \"success\""), status);
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            return ($"no complete answer within {options.NotifyTimeoutMs} ms", null);
        }
        catch (HttpRequestException ex)
        {
            return (Bound($"request failed ({ex.HttpRequestError}): {ex.Message}"), null);
        }
        catch (IOException ex)
        {
            return (Bound($"connection failed: {ex.Message}"), null);
        }
    }

    private static async Task<(string Text, bool Complete)> ReadBoundedAsync(HttpContent content, CancellationToken ct)
    {
        await using var stream = await content.ReadAsStreamAsync(ct);
        var buffer = new byte[ResponseBytesMax + 1];
        var length = 0;
        int read;
        while (length < buffer.Length && (read = await stream.ReadAsync(buffer.AsMemory(length), ct)) > 0) length += read;
        var complete = length <= ResponseBytesMax;
        return (Encoding.UTF8.GetString(buffer, 0, Math.Min(length, ResponseBytesMax)), complete);
    }

    /// <summary>A short, printable quotation of a wrong answer.</summary>
    private static string Excerpt(string answer, bool complete)
    {
        if (answer.Length == 0) return "(empty)";
        var builder = new StringBuilder("\"");
        foreach (var c in answer.Length > ResponseExcerptLengthMax ? answer[..ResponseExcerptLengthMax] : answer)
            builder.Append(char.IsControl(c) ? ' ' : c);
        builder.Append('"');
        if (answer.Length > ResponseExcerptLengthMax || !complete) builder.Append("...");
        return builder.ToString();
    }

    private static string Bound(string error) => error.Length <= LastErrorLengthMax ? error : error[..LastErrorLengthMax];

    private async Task RecordAsync(DueRow row, long lease, string status, int attempts, long? deliveredAtUs, string? lastError, long? nextUs = null,
        int? httpStatus = null)
    {
        // Not cancellable: an attempt that was made should be recorded even while shutting down.
        await using var connection = await db.OpenAsync(CancellationToken.None);
        var changed = await connection.ExecuteAsync(new CommandDefinition(RecordSql, new
        {
            id = row.id, lease, status, attempts, lastError = lastError is null ? null : Bound(lastError), deliveredAt = deliveredAtUs,
            next = nextUs ?? clock.GetUnixMicroseconds(), httpStatus,
        }));
        if (changed != 1)
        {
            // The lease expired (or an operator replayed the row) while this attempt ran; whoever holds the row now
            // decides its fate, and this attempt's outcome is only logged.
            logger.LogWarning("Notification {NotifyId} for trade {TradeNo}: lost its claim before recording {Status}", row.notify_id, row.trade_no, status);
        }
    }

    private async Task ReleaseAsync(DueRow row, long lease)
    {
        try
        {
            await using var connection = await db.OpenAsync(CancellationToken.None);
            await connection.ExecuteAsync(new CommandDefinition(ReleaseSql, new { id = row.id, lease, seen = row.next_attempt_at_us }));
        }
        catch (Exception ex) when (ex is System.Data.Common.DbException or InvalidOperationException)
        {
            // Best effort during shutdown: the lease expires by itself.
            logger.LogInformation(ex, "Could not release the claim on notification {NotifyId}; it is retried when the claim expires", row.notify_id);
        }
    }

    private async Task WaitForWorkAsync(CancellationToken stoppingToken)
    {
        using var poll = new CancellationTokenSource(TimeSpan.FromMilliseconds(options.NotifyPollIntervalMs), clock);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken, poll.Token);
        try
        {
            if (await wake.Reader.WaitToReadAsync(linked.Token)) wake.Reader.TryRead(out _);
        }
        catch (OperationCanceledException)
        {
            // The poll interval elapsed, or the host is stopping (the loop checks).
        }
    }

    private sealed class DueRow
    {
        public Guid id { get; init; }
        public string notify_id { get; init; } = "";
        public string trade_no { get; init; } = "";
        public string url { get; init; } = "";
        public string fields_json { get; init; } = "";
        public int attempts { get; init; }
        public long next_attempt_at_us { get; init; }
        public string fairness_key { get; init; } = "";
    }
}
