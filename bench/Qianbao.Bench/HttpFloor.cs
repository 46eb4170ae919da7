using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Qianbao.Bench;

/// <summary>
/// The HTTP floor of this machine: the same keep-alive clients and the same transfer request (bearer token, PIN and
/// Idempotency-Key headers, JSON body) as <see cref="HttpWorkload"/>, against a separate process whose
/// <c>POST /v1/transfers</c> only reads the body as JSON and answers 201 with a transfer-shaped JSON body: no
/// authentication, no database, no ledger. No server doing real work can answer faster on the same cores with the same
/// load generator, so the figure bounds every HTTP row of <c>bench/run.sh</c> (issue 13: what a ratio to pgbench can reach).
/// </summary>
public static class HttpFloor
{
    /// <param name="Port">A floor server already listening on this loopback port (e.g. <see cref="ServeAsync"/> in a test); its
    /// CPU is then this process's too. 0: start <c>floor-server</c> as a child process, as <c>bench/run.sh</c> does.</param>
    public sealed record Options(int Clients, double DurationS, double WarmupS, int Port = 0);

    /// <summary>Drives the floor server, prints a SUMMARY line; 1 when a request failed.</summary>
    public static async Task<int> RunAsync(Options o, TextWriter output, CancellationToken ct)
    {
        var port = o.Port > 0 ? o.Port : FreePort();
        using var server = o.Port > 0 ? Process.GetCurrentProcess() : Process.Start(new ProcessStartInfo("dotnet")
        {
            ArgumentList = { typeof(HttpFloor).Assembly.Location, "floor-server", "--port", port.ToString(CultureInfo.InvariantCulture) },
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        })!;
        try
        {
            using var http = new HttpClient(new SocketsHttpHandler
            {
                MaxConnectionsPerServer = o.Clients + 16,
                PooledConnectionLifetime = Timeout.InfiniteTimeSpan,
                UseCookies = false,
                AutomaticDecompression = DecompressionMethods.None,
            }) { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = TimeSpan.FromSeconds(60) };
            await WaitReadyAsync(http, server, ct);

            var start = Stopwatch.GetTimestamp() + (long)(o.WarmupS * Stopwatch.Frequency);
            var end = start + (long)(o.DurationS * Stopwatch.Frequency);
            var histograms = new LatencyHistogram[o.Clients];
            var failed = new long[o.Clients];
            var cpu = Task.Run(async () =>
            {
                await Task.Delay(TimeSpan.FromSeconds(o.WarmupS), ct);
                var (s0, c0) = (ProcessCpu.Of(server.Id), ProcessCpu.Of(Environment.ProcessId));
                await Task.Delay(TimeSpan.FromSeconds(o.DurationS), ct);
                return (Server: ProcessCpu.Of(server.Id) - s0, Client: ProcessCpu.Of(Environment.ProcessId) - c0);
            }, ct);
            var clients = Enumerable.Range(0, o.Clients).Select(c => Task.Run(async () =>
            {
                histograms[c] = new LatencyHistogram();
                var token = "floor-token-" + c.ToString(CultureInfo.InvariantCulture).PadLeft(40, '0');
                var random = new Random(c);
                while (Stopwatch.GetTimestamp() < end)
                {
                    using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/transfers")
                    {
                        Content = HttpWorkload.Json($$"""{"to_user_id":"{{Guid.CreateVersion7()}}","amount":{{1 + random.Next(1_000)}},"currency":"CNY"}"""),
                    };
                    request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
                    request.Headers.Add("Idempotency-Key", Guid.CreateVersion7().ToString("N"));
                    request.Headers.Add("X-Payment-Pin", HttpWorkload.Pin);
                    var sent = Stopwatch.GetTimestamp();
                    try
                    {
                        using var response = await http.SendAsync(request, CancellationToken.None);
                        await response.Content.LoadIntoBufferAsync(CancellationToken.None);
                        var done = Stopwatch.GetTimestamp();
                        if (response.StatusCode != HttpStatusCode.Created) failed[c]++;
                        else if (done >= start && done < end) histograms[c].Record(done - sent);
                    }
                    catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
                    {
                        failed[c]++;
                    }
                }
            }, ct)).ToArray();
            await Task.WhenAll(clients);
            var (serverCpu, clientCpu) = await cpu;
            var all = new LatencyHistogram();
            foreach (var h in histograms) all.Add(h);
            var rps = all.Count / o.DurationS;
            var ok = failed.Sum() == 0 && all.Count > 0;
            output.WriteLine(FormattableString.Invariant($"""

                http-floor: {o.Clients} clients against a server that only parses the request and answers (no auth, no database)
                  requests/s      {rps,12:0.0}   ({all.Count} in {o.DurationS:0.0} s; {failed.Sum()} failed)
                  latency ms      p50 {all.PercentileMs(50):0.00}  p99 {all.PercentileMs(99):0.00}
                  cpu/request     {serverCpu.TotalMicroseconds / Math.Max(1, all.Count):0.0} us server, {clientCpu.TotalMicroseconds / Math.Max(1, all.Count):0.0} us load generator
                """));
            output.WriteLine(FormattableString.Invariant(
                $"SUMMARY tps={rps:0.0} p50_ms={all.PercentileMs(50):0.00} p99_ms={all.PercentileMs(99):0.00} cpu_us_server={serverCpu.TotalMicroseconds / Math.Max(1, all.Count):0.0} cpu_us_client={clientCpu.TotalMicroseconds / Math.Max(1, all.Count):0.0} ok={(ok ? "true" : "false")}"));
            return ok ? 0 : 1;
        }
        finally
        {
            if (o.Port == 0)
            {
                if (!server.HasExited) server.Kill(entireProcessTree: true);
                await server.WaitForExitAsync(CancellationToken.None);
            }
        }
    }

    /// <summary>The floor's server: Kestrel on loopback, one endpoint, logging off.</summary>
    public static async Task<int> ServeAsync(int port, CancellationToken ct)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls($"http://127.0.0.1:{port}");
        builder.Services.ConfigureHttpJsonOptions(j => j.SerializerOptions.TypeInfoResolverChain.Insert(0, FloorJson.Default));
        var app = builder.Build();
        app.MapGet("/ready", () => Results.Ok());
        app.MapPost("/v1/transfers", (FloorTransferRequest request, HttpContext context) =>
            context.Request.Headers.Authorization.Count == 0 || request.Amount <= 0
                ? Results.BadRequest()
                : Results.Json(new FloorTransfer(Guid.CreateVersion7(), request.ToUserId, request.Amount, request.Currency, "posted",
                    DateTimeOffset.UtcNow), FloorJson.Default.FloorTransfer, statusCode: StatusCodes.Status201Created));
        await app.StartAsync(ct);
        await Task.Delay(Timeout.Infinite, ct).ContinueWith(_ => { }, TaskScheduler.Default); // until Ctrl+C or killed
        await app.StopAsync(CancellationToken.None);
        return 0;
    }

    private static async Task WaitReadyAsync(HttpClient http, Process server, CancellationToken ct)
    {
        var deadline = Stopwatch.GetTimestamp() + 30 * Stopwatch.Frequency;
        while (true)
        {
            if (server.Id != Environment.ProcessId && server.HasExited) throw new InvalidOperationException("floor-server exited: " + await server.StandardError.ReadToEndAsync(ct));
            try
            {
                using var response = await http.GetAsync("/ready", ct);
                if (response.IsSuccessStatusCode) return;
            }
            catch (HttpRequestException) when (Stopwatch.GetTimestamp() < deadline)
            {
            }
            if (Stopwatch.GetTimestamp() >= deadline) throw new TimeoutException("floor-server did not answer within 30 s");
            await Task.Delay(100, ct);
        }
    }

    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}

internal sealed record FloorTransferRequest(
    [property: JsonPropertyName("to_user_id")] Guid ToUserId,
    [property: JsonPropertyName("amount")] long Amount,
    [property: JsonPropertyName("currency")] string Currency);

internal sealed record FloorTransfer(
    [property: JsonPropertyName("id")] Guid Id,
    [property: JsonPropertyName("to_user_id")] Guid ToUserId,
    [property: JsonPropertyName("amount")] long Amount,
    [property: JsonPropertyName("currency")] string Currency,
    [property: JsonPropertyName("status")] string Status,
    [property: JsonPropertyName("created_at")] DateTimeOffset CreatedAt);

[JsonSerializable(typeof(FloorTransferRequest))]
[JsonSerializable(typeof(FloorTransfer))]
internal sealed partial class FloorJson : JsonSerializerContext;
