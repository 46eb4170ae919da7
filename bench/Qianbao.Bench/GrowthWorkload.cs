using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Qianbao.Bench;

/// <summary>Settings of the growth run: the secure transfer load, and the history readers reading while it runs.</summary>
/// <param name="ReadsAloneS">Seconds of history reads with no transfers running, before the transfer load (0: none): pages/s and
/// CPU per page alone.</param>
/// <param name="ServerPid">The server's process, whose CPU per page is measured (0: not measured).</param>
/// <param name="ReadsWarmupS">Seconds the readers read alone before that window: a server just started still compiles its hot
/// methods at the next tier (the JIT's thread was about a quarter of the server's CPU a few seconds in: BENCHMARKS.md, issue 13,
/// session 7), which a longer warm-up leaves out of the per-page figures.</param>
/// <param name="PostgresPid">The postmaster of the server's cluster, whose CPU per page is measured (0: not measured).</param>
public sealed record GrowthWorkloadOptions(HttpWorkloadOptions Transfers, int Readers, int ReaderSeed, int HistoryClients, int DeepEntries,
    double ReadsAloneS = 0, int ServerPid = 0, int PostgresPid = 0, double ReadsWarmupS = 2);

/// <summary>History reads with no transfers running: pages/s, latency, CPU per page of the server and of PostgreSQL (µs).</summary>
public sealed record ReadsAlone(double PagesPerSecond, double P50Ms, double P95Ms, long Pages, double ServerCpuUsPerPage, double PostgresCpuUsPerPage);

public sealed record GrowthResult(HttpWorkloadResult Load, double FirstP50Ms, double FirstP95Ms, double DeepP50Ms, double DeepP95Ms, double P95Ms,
    long Reads, long DeepDepthMin, IReadOnlyList<string> Problems, ReadsAlone? Alone, double PagesPerSecondUnderLoad)
{
    public bool Ok => Load.Ok && Problems.Count == 0;
}

/// <summary>
/// The history under load on a grown database (issue 13, Growth): readers registered by <c>growth-readers</c> before the database
/// was grown (see <see cref="GrowthFixture"/>) log in and find a cursor deep in their history by paging; then the secure transfer
/// load runs (<see cref="HttpWorkload"/>, its own users) and, during its window, <see cref="GrowthWorkloadOptions.HistoryClients"/>
/// clients each read <c>GET /v1/transactions</c> as one reader, alternating its first page and the deep page, closed-loop.
/// </summary>
public static class GrowthWorkload
{
    /// <summary>Registers, secures and tops up the readers through the API (<c>growth-readers</c>), before the database is grown.</summary>
    public static async Task RegisterReadersAsync(HttpWorkloadOptions options, int readers, TextWriter output, CancellationToken ct)
    {
        using var http = Client(options.Url!, 32);
        await HttpWorkload.WaitReadyAsync(http, options.ReadyTimeoutS, ct);
        await Parallel.ForEachAsync(Enumerable.Range(0, readers), new ParallelOptions { MaxDegreeOfParallelism = 16, CancellationToken = ct },
            async (i, token) => await HttpWorkload.RegisterAndTopUpAsync(http, options, i, token));
        output.WriteLine($"[growth] {readers} readers registered and topped up (seed {options.Seed})");
    }

    public static async Task<GrowthResult> RunAsync(GrowthWorkloadOptions o, TextWriter output, CancellationToken ct)
    {
        var url = o.Transfers.Url!;
        using var http = Client(url, o.HistoryClients + 16);
        await HttpWorkload.WaitReadyAsync(http, o.Transfers.ReadyTimeoutS, ct);
        var readerOptions = new HttpWorkloadOptions { Url = url, Seed = o.ReaderSeed, Secure = o.Transfers.Secure, OperatorKey = o.Transfers.OperatorKey };
        var tokens = new string[o.Readers];
        await Parallel.ForEachAsync(Enumerable.Range(0, o.Readers), new ParallelOptions { MaxDegreeOfParallelism = 16, CancellationToken = ct },
            async (i, token) => tokens[i] = await HttpWorkload.LoginAsync(http, readerOptions, i, token));

        // A deep cursor per reader: page back 100 entries at a time, as an app scrolling far would.
        var deep = new string?[o.Readers];
        var depth = new long[o.Readers];
        var paging = Stopwatch.StartNew();
        await Parallel.ForEachAsync(Enumerable.Range(0, o.Readers), new ParallelOptions { MaxDegreeOfParallelism = 8, CancellationToken = ct }, async (r, token) =>
        {
            string? cursor = null;
            while (depth[r] < o.DeepEntries)
            {
                var (status, body) = await GetAsync(http, tokens[r], "/v1/transactions?limit=100" + (cursor is null ? "" : "&cursor=" + cursor), token);
                if (status != HttpStatusCode.OK) throw new InvalidOperationException($"paging reader {r}'s history answered {(int)status} {body}");
                var page = JsonNode.Parse(body)!;
                depth[r] += page["items"]!.AsArray().Count;
                var next = page["next_cursor"]?.GetValue<string>();
                if (next is null) break;
                cursor = next;
            }
            deep[r] = cursor;
        });
        output.WriteLine($"[growth] {o.Readers} readers logged in; deep cursors after {depth.Min()}..{depth.Max()} entries, found in {paging.Elapsed.TotalSeconds:0.0} s");

        var failures = new long[o.HistoryClients];
        var problems = new string?[o.HistoryClients];
        ReadsAlone? alone = null;
        if (o.ReadsAloneS > 0)
        {
            var warmup = (long)(o.ReadsWarmupS * Stopwatch.Frequency);
            var aloneStart = Stopwatch.GetTimestamp() + warmup;
            var aloneEnd = aloneStart + (long)(o.ReadsAloneS * Stopwatch.Frequency);
            var cpu = new TaskCompletionSource<(TimeSpan Server, TimeSpan Postgres)>();
            var sampler = Task.Run(async () =>
            {
                await Task.Delay(TimeSpan.FromTicks((long)((aloneStart - Stopwatch.GetTimestamp()) * (double)TimeSpan.TicksPerSecond / Stopwatch.Frequency)), ct);
                var (s0, p0) = (ServerCpu(o), PostgresCpu(o));
                await Task.Delay(TimeSpan.FromSeconds(o.ReadsAloneS), ct);
                return (ServerCpu(o) - s0, PostgresCpu(o) - p0);
            }, ct);
            var (firstAlone, deepAlone) = await ReadAsync(http, o, tokens, deep, Task.FromResult((aloneStart, aloneEnd)), Task.CompletedTask, failures, problems, ct);
            var (serverCpu, postgresCpu) = await sampler;
            var both = new LatencyHistogram();
            foreach (var h in firstAlone.Concat(deepAlone)) both.Add(h);
            alone = new ReadsAlone(both.Count / o.ReadsAloneS, both.PercentileMs(50), both.PercentileMs(95), both.Count,
                o.ServerPid > 0 && both.Count > 0 ? serverCpu.TotalMicroseconds / both.Count : 0,
                o.PostgresPid > 0 && both.Count > 0 ? postgresCpu.TotalMicroseconds / both.Count : 0);
            output.WriteLine(FormattableString.Invariant($"[growth] reads alone: {alone.PagesPerSecond:0.0} pages/s, p50 {alone.P50Ms:0.00} ms, p95 {alone.P95Ms:0.00} ms, CPU per page {alone.ServerCpuUsPerPage:0} µs server + {alone.PostgresCpuUsPerPage:0} µs PostgreSQL"));
        }

        var window = new TaskCompletionSource<(long Start, long End)>(TaskCreationOptions.RunContinuationsAsynchronously);
        var t = o.Transfers;
        var transfers = new HttpWorkloadOptions
        {
            Url = t.Url, Clients = t.Clients, Users = t.Users, DurationS = t.DurationS, WarmupS = t.WarmupS, TransfersMax = t.TransfersMax, Seed = t.Seed,
            OperatorKey = t.OperatorKey, ReadyTimeoutS = t.ReadyTimeoutS, Secure = t.Secure, TopUpAmountMinor = t.TopUpAmountMinor, Scenario = t.Scenario,
            LoadStarting = (start, end) => window.TrySetResult((start, end)),
        };
        var load = HttpWorkload.RunAsync(transfers, output, ct);
        var (first, deepPages) = await ReadAsync(http, o, tokens, deep, window.Task, load, failures, problems, ct);
        var result = await load;

        var firstAll = new LatencyHistogram();
        var deepAll = new LatencyHistogram();
        var all = new LatencyHistogram();
        for (var c = 0; c < first.Length; c++)
        {
            firstAll.Add(first[c]);
            deepAll.Add(deepPages[c]);
            all.Add(first[c]);
            all.Add(deepPages[c]);
        }
        var list = new List<string>();
        if (failures.Sum() > 0) list.Add($"{failures.Sum()} history reads failed, first: {problems.First(p => p is not null)}");
        if (firstAll.Count == 0 || deepAll.Count == 0) list.Add("no history read completed inside the load window");
        return new GrowthResult(result, firstAll.PercentileMs(50), firstAll.PercentileMs(95), deepAll.PercentileMs(50), deepAll.PercentileMs(95),
            all.PercentileMs(95), all.Count, depth.Min(), list, alone, result.MeasuredSeconds > 0 ? all.Count / result.MeasuredSeconds : 0);
    }

    private static TimeSpan ServerCpu(GrowthWorkloadOptions o) => o.ServerPid > 0 ? ProcessCpu.Of(o.ServerPid) : TimeSpan.Zero;

    private static TimeSpan PostgresCpu(GrowthWorkloadOptions o) => o.PostgresPid > 0 ? ProcessCpu.OfCluster(o.PostgresPid) : TimeSpan.Zero;

    /// <summary>
    /// <see cref="GrowthWorkloadOptions.HistoryClients"/> closed-loop clients, each reading as one reader and alternating its first
    /// page and its deep page, from when <paramref name="window"/> is known until its end; latencies of answers inside the window.
    /// Nothing is read if <paramref name="abandon"/> ends first (the load failed before its window).
    /// </summary>
    private static async Task<(LatencyHistogram[] First, LatencyHistogram[] Deep)> ReadAsync(HttpClient http, GrowthWorkloadOptions o, string[] tokens,
        string?[] deep, Task<(long Start, long End)> window, Task abandon, long[] failures, string?[] problems, CancellationToken ct)
    {
        var first = new LatencyHistogram[o.HistoryClients];
        var deepPages = new LatencyHistogram[o.HistoryClients];
        var readers = new Task[o.HistoryClients];
        for (var c = 0; c < readers.Length; c++)
        {
            var client = c;
            first[c] = new LatencyHistogram();
            deepPages[c] = new LatencyHistogram();
            readers[c] = Task.Run(async () =>
            {
                var finished = await Task.WhenAny(window, abandon);
                if (finished != window && !window.IsCompleted) return;
                var (start, end) = await window;
                var r = client % o.Readers;
                var isDeep = client % 2 == 1;
                while (Stopwatch.GetTimestamp() < end)
                {
                    var path = isDeep && deep[r] is { } cursor ? "/v1/transactions?cursor=" + cursor : "/v1/transactions";
                    var sent = Stopwatch.GetTimestamp();
                    HttpStatusCode status;
                    byte[] body;
                    try
                    {
                        (status, body) = await GetBytesAsync(http, tokens[r], path, CancellationToken.None);
                    }
                    catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
                    {
                        failures[client]++;
                        problems[client] ??= ex.Message;
                        continue;
                    }
                    var done = Stopwatch.GetTimestamp();
                    if (status != HttpStatusCode.OK || PageItems(body) is not > 0)
                    {
                        failures[client]++;
                        problems[client] ??= $"{(int)status} {Encoding.UTF8.GetString(body.AsSpan(0, Math.Min(body.Length, 300)))}";
                    }
                    else if (done >= start && done < end)
                    {
                        (isDeep ? deepPages : first)[client].Record(done - sent);
                    }
                    isDeep = !isDeep;
                }
            }, ct);
        }
        await Task.WhenAll(readers);
        return (first, deepPages);
    }

    private static HttpClient Client(Uri url, int connections) => new(new SocketsHttpHandler
    {
        MaxConnectionsPerServer = connections,
        PooledConnectionLifetime = Timeout.InfiniteTimeSpan,
        UseCookies = false,
        AutomaticDecompression = DecompressionMethods.None,
    }) { BaseAddress = url, Timeout = TimeSpan.FromSeconds(120) };

    /// <summary>
    /// How many entries a history page's <c>items</c> holds, or -1 unless the body is one well-formed JSON object whose
    /// <c>items</c> is an array of objects. The readers share the 2 cores with the server and PostgreSQL, so they check each page
    /// with a forward-only reader (no document of nodes per page, as <c>JsonNode.Parse</c> built: BENCHMARKS.md, issue 13,
    /// session 7); a wrong answer (an error body, no items, malformed JSON, trailing bytes) still fails the read.
    /// </summary>
    public static int PageItems(ReadOnlySpan<byte> body)
    {
        var json = new Utf8JsonReader(body);
        var items = -1;
        try
        {
            if (!json.Read() || json.TokenType != JsonTokenType.StartObject) return -1;
            while (json.Read() && json.TokenType == JsonTokenType.PropertyName)
            {
                var isItems = json.ValueTextEquals("items"u8);
                if (!json.Read()) return -1;
                if (!isItems) { json.Skip(); continue; }
                if (json.TokenType != JsonTokenType.StartArray) return -1;
                items = 0;
                while (json.Read() && json.TokenType != JsonTokenType.EndArray)
                {
                    if (json.TokenType != JsonTokenType.StartObject) return -1;
                    items++;
                    json.Skip();
                }
            }
            // The root object's end, then nothing after it (Read throws on trailing bytes).
            return json.TokenType == JsonTokenType.EndObject && json.CurrentDepth == 0 && !json.Read() ? items : -1;
        }
        catch (JsonException)
        {
            return -1;
        }
    }

    private static async Task<(HttpStatusCode Status, byte[] Body)> GetBytesAsync(HttpClient http, string token, string path, CancellationToken ct)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        using var response = await http.SendAsync(request, ct);
        return (response.StatusCode, await response.Content.ReadAsByteArrayAsync(ct));
    }

    private static async Task<(HttpStatusCode Status, string Body)> GetAsync(HttpClient http, string token, string path, CancellationToken ct)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        using var response = await http.SendAsync(request, ct);
        return (response.StatusCode, await response.Content.ReadAsStringAsync(ct));
    }
}
