using System.Globalization;
using System.Text.Json;
using Dapper;
using Npgsql;
using Qianbao.Server.Hosting;
using Qianbao.Server.Http;
using Qianbao.Server.Modules.Identity;
using Qianbao.Server.Storage;

namespace Qianbao.Server.Modules.Notifications;

/// <summary>
/// <c>GET /v1/notifications/stream</c>: Server-Sent Events. Each new inbox item is <c>event: notification</c> with the
/// item's JSON as <c>data</c> and the person's inbox number as <c>id</c>; reconnecting with <c>Last-Event-ID</c> (or
/// <c>?last_event_id=</c>) replays what came after it; without one the stream starts at the present. A comment line is
/// sent every 15 s as a heartbeat. Inbox numbers follow commit order per person (see <see cref="NotificationSettings"/>),
/// so a replay from n misses nothing committed after n.
/// </summary>
internal static class NotificationStream
{
    public static readonly TimeSpan Heartbeat = TimeSpan.FromSeconds(15);

    /// <summary>A signal raised inside the writing transaction may come before its commit: look again this often, this many times.</summary>
    private static readonly TimeSpan Recheck = TimeSpan.FromMilliseconds(50);
    private const int RechecksMax = 20;
    private const int BatchMax = 100;

    public static void Map(IEndpointRouteBuilder app) =>
        app.MapGet("/v1/notifications/stream", HandleAsync).RequireUser().WithTags("Notifications");

    private static async Task<IResult> HandleAsync(HttpContext http, Db db, NotificationFeed feed, TimeProvider clock, string? last_event_id = null)
    {
        var header = http.Request.Headers["Last-Event-ID"].ToString();
        var resume = string.IsNullOrEmpty(header) ? last_event_id : header;
        long lastSeq = -1;
        if (!string.IsNullOrEmpty(resume) && (!long.TryParse(resume, NumberStyles.None, CultureInfo.InvariantCulture, out lastSeq)))
            return ApiProblem.BadRequest(ErrorCodes.InvalidCursor, "Last-Event-ID is not one this stream sent.");
        var userId = http.UserId();
        var ct = http.RequestAborted;
        using var subscription = feed.Subscribe(userId);
        if (lastSeq < 0)
        {
            await using var connection = await db.OpenAsync(ct);
            lastSeq = (await NotificationSettings.ReadAsync(connection, null, userId, ct)).Seq;
        }

        http.Response.Headers.ContentType = "text/event-stream";
        http.Response.Headers.CacheControl = "no-cache";
        http.Response.Headers["X-Accel-Buffering"] = "no";
        await http.Response.WriteAsync(": stream open\n\n", ct);
        await http.Response.Body.FlushAsync(ct);
        try
        {
            while (!ct.IsCancellationRequested)
            {
                lastSeq = await SendNewAsync(http, db, userId, lastSeq, clock, ct);
                if (!await subscription.WaitAsync(Heartbeat, ct))
                {
                    await http.Response.WriteAsync(": heartbeat\n\n", ct);
                    await http.Response.Body.FlushAsync(ct);
                    continue;
                }
                for (var i = 0; i < RechecksMax && !ct.IsCancellationRequested; i++)
                {
                    var before = lastSeq;
                    lastSeq = await SendNewAsync(http, db, userId, lastSeq, clock, ct);
                    if (lastSeq != before) break;
                    await Task.Delay(Recheck, ct);
                }
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            // The client went away.
        }
        return Results.Empty;
    }

    /// <summary>Sends everything after <paramref name="afterSeq"/>, a page of <see cref="BatchMax"/> at a time (a release of many held messages is one signal).</summary>
    private static async Task<long> SendNewAsync(HttpContext http, Db db, Guid userId, long afterSeq, TimeProvider clock, CancellationToken ct)
    {
        while (true)
        {
            List<NotificationInbox.Item> items;
            await using (var connection = await db.OpenAsync(ct))
                items = await NotificationInbox.AfterAsync(connection, userId, afterSeq, clock.GetUnixMicroseconds(), BatchMax, ct);
            if (items.Count == 0) return afterSeq;
            foreach (var item in items)
            {
                var data = JsonSerializer.Serialize(NotificationInbox.Json(item), JsonDefaults.Options);
                await http.Response.WriteAsync($"id: {item.seq.ToString(CultureInfo.InvariantCulture)}\nevent: notification\ndata: {data}\n\n", ct);
            }
            await http.Response.Body.FlushAsync(ct);
            afterSeq = items[^1].seq;
            if (items.Count < BatchMax) return afterSeq;
        }
    }
}

/// <summary>
/// On PostgreSQL, LISTENs for the <c>pg_notify</c> that <see cref="NotificationFeed"/> sends inside each inserting
/// transaction (PostgreSQL delivers it at commit, to every process) and wakes this process's streams of that person, so a
/// notification written by another server process reaches an open stream here. Reconnects after a lost connection (the
/// streams' heartbeat reads catch up meanwhile: they re-query on every wake and on reconnect).
/// </summary>
internal sealed class NotificationListener(Db db, NotificationFeed feed, ILogger<NotificationListener> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (db.Engine != DatabaseEngine.Postgres) return;
        await Task.Yield();
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await using var connection = await db.OpenForListenAsync(stoppingToken);
                connection.Notification += (_, e) =>
                {
                    if (Guid.TryParse(e.Payload, out var userId)) feed.Raise(userId);
                };
                await connection.ExecuteAsync(new CommandDefinition("LISTEN " + NotificationFeed.PgChannel, cancellationToken: stoppingToken));
                while (!stoppingToken.IsCancellationRequested) await connection.WaitAsync(stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                logger.LogWarning(ex, "Notification listener lost its connection; listening again shortly");
                try { await Task.Delay(TimeSpan.FromSeconds(1), stoppingToken); }
                catch (OperationCanceledException) { return; }
            }
        }
    }
}
