using System.Collections.Concurrent;
using System.Net;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Qianbao.Server.Modules.Channels;

namespace Qianbao.Server.Tests.Channels;

/// <summary>
/// A bank connector the tests run themselves: a Kestrel app on 127.0.0.1 speaking docs/channel-connector-protocol.md.
/// It accepts orders (refusing badly signed requests), answers queries, and sends signed callbacks to Qianbao through
/// <see cref="CallbackClient"/>. Knobs let a test make it decline, lose callbacks, hold orders open, or fail.
/// </summary>
public sealed class FakeBankConnector : IAsyncDisposable
{
    public const string Secret = "test-connector-secret-0123456789abcdef";

    private readonly WebApplication app;
    private readonly ConcurrentDictionary<Guid, Order> orders = new();
    private readonly TimeProvider clock;

    public sealed class Order
    {
        public required Guid Id { get; init; }
        public required string Kind { get; init; }
        public required long AmountMinor { get; init; }
        public required string Currency { get; init; }
        public string Status { get; set; } = "processing";
    }

    /// <summary>Decides an order's outcome when it arrives; null keeps it processing until <see cref="CompleteAsync"/>.</summary>
    public Func<Order, bool?> Decide { get; set; } = _ => true;

    /// <summary>Whether the bank says a card (number, holder name, ID number) is the holder's; every card is by default.</summary>
    public Func<string, string, string, bool> CardMatches { get; set; } = (_, _, _) => true;

    public int CardVerificationRequests;

    /// <summary>When set, outcomes are recorded (queries see them) but no callback is sent: a lost callback.</summary>
    public bool LoseCallbacks { get; set; }

    /// <summary>When set, every request is answered 503 and nothing is recorded: a connector outage.</summary>
    public bool Down { get; set; }

    /// <summary>Where callbacks go (the Qianbao under test); set by the test once the host runs.</summary>
    public HttpClient? CallbackClient { get; set; }

    public int BadlySignedRequests;
    public int CreateRequests;
    public int QueryRequests;

    public Uri BaseUrl { get; }

    public IReadOnlyDictionary<Guid, Order> Orders => orders;

    public FakeBankConnector(TimeProvider clock)
    {
        this.clock = clock;
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        app = builder.Build();
        app.MapPost("/bank/orders", (Delegate)CreateAsync);
        app.MapGet("/bank/orders/{id}", (Delegate)QueryAsync);
        app.MapPost("/bank/card-verifications", (Delegate)VerifyCardAsync);
        app.StartAsync().GetAwaiter().GetResult();
        var address = app.Urls.First();
        BaseUrl = new Uri(address.TrimEnd('/') + "/bank");
    }

    /// <summary>Settles an order kept open, recording the outcome and (unless callbacks are lost) calling back.</summary>
    public async Task CompleteAsync(Guid orderId, bool succeeded)
    {
        var order = orders[orderId];
        order.Status = succeeded ? "succeeded" : "failed";
        if (!LoseCallbacks) await SendCallbackAsync(order);
    }

    /// <summary>Records an order as if Qianbao had sent it (for holds a test creates directly in the ledger).</summary>
    public void Accept(Guid orderId, string kind, long amountMinor) =>
        orders[orderId] = new Order { Id = orderId, Kind = kind, AmountMinor = amountMinor, Currency = "CNY" };

    public static byte[] CallbackBody(Guid orderId, string status) =>
        Encoding.UTF8.GetBytes(JsonSerializer.Serialize(new { order_id = orderId, status }));

    /// <summary>Posts a callback body with the given signature header (or none) and returns Qianbao's answer.</summary>
    public Task<HttpResponseMessage> PostCallbackAsync(byte[] body, string? signature, string channel = "bank")
    {
        var request = new HttpRequestMessage(HttpMethod.Post, $"/channels/v1/{channel}/callbacks") { Content = new ByteArrayContent(body) };
        request.Content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
        if (signature is not null) request.Headers.TryAddWithoutValidation(ChannelSignature.HeaderName, signature);
        return (CallbackClient ?? throw new InvalidOperationException("no callback client")).SendAsync(request);
    }

    public string Sign(byte[] body, DateTimeOffset? at = null, string secret = Secret) =>
        ChannelSignature.Sign(Encoding.UTF8.GetBytes(secret), (at ?? clock.GetUtcNow()).ToUnixTimeSeconds(), body);

    private async Task SendCallbackAsync(Order order)
    {
        var body = CallbackBody(order.Id, order.Status);
        using var response = await PostCallbackAsync(body, Sign(body));
        response.StatusCode.ShouldBe(HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
        // Qianbao signs its answer too.
        var answer = await response.Content.ReadAsByteArrayAsync();
        ChannelSignature.Verify(Encoding.UTF8.GetBytes(Secret), response.Headers.GetValues(ChannelSignature.HeaderName).Single(), answer, clock.GetUtcNow())
            .ShouldBe(SignatureCheck.Valid);
    }

    private async Task<IResult> CreateAsync(HttpContext http)
    {
        Interlocked.Increment(ref CreateRequests);
        var body = await ReadBodyAsync(http);
        if (Down) return Results.StatusCode(503);
        if (!Verified(http, body)) return Results.StatusCode(401);
        var request = JsonDocument.Parse(body).RootElement;
        var id = request.GetProperty("order_id").GetGuid();
        var fresh = new Order
        {
            Id = id,
            Kind = request.GetProperty("kind").GetString()!,
            AmountMinor = request.GetProperty("amount_minor").GetInt64(),
            Currency = request.GetProperty("currency").GetString()!,
        };
        var order = orders.GetOrAdd(id, fresh);
        if (order.AmountMinor != fresh.AmountMinor || order.Kind != fresh.Kind) return Results.StatusCode(409);
        if (ReferenceEquals(order, fresh) && Decide(order) is { } succeeded)
        {
            // Outcomes come later, by callback, as a real bank's do.
            _ = Task.Run(async () =>
            {
                order.Status = succeeded ? "succeeded" : "failed";
                if (!LoseCallbacks) await SendCallbackAsync(order);
            });
        }

        return Signed(http, new { order_id = id, status = "processing" });
    }

    private async Task<IResult> VerifyCardAsync(HttpContext http)
    {
        Interlocked.Increment(ref CardVerificationRequests);
        var body = await ReadBodyAsync(http);
        if (Down) return Results.StatusCode(503);
        if (!Verified(http, body)) return Results.StatusCode(401);
        var request = JsonDocument.Parse(body).RootElement;
        var matched = CardMatches(request.GetProperty("card_number").GetString()!, request.GetProperty("holder_name").GetString()!,
            request.GetProperty("id_number").GetString()!);
        return Signed(http, new { verification_id = request.GetProperty("verification_id").GetGuid(), result = matched ? "matched" : "mismatch" });
    }

    private async Task<IResult> QueryAsync(string id, HttpContext http)
    {
        Interlocked.Increment(ref QueryRequests);
        if (Down) return Results.StatusCode(503);
        if (!Verified(http, [])) return Results.StatusCode(401);
        if (!orders.TryGetValue(Guid.Parse(id), out var order))
        {
            http.Response.Headers[ChannelSignature.HeaderName] = Sign([]);
            return Results.StatusCode(404);
        }

        return Signed(http, new { order_id = order.Id, status = order.Status });
    }

    private IResult Signed(HttpContext http, object answer)
    {
        var bytes = JsonSerializer.SerializeToUtf8Bytes(answer);
        http.Response.Headers[ChannelSignature.HeaderName] = Sign(bytes);
        return Results.Bytes(bytes, "application/json");
    }

    private bool Verified(HttpContext http, byte[] body)
    {
        var ok = ChannelSignature.Verify(Encoding.UTF8.GetBytes(Secret), http.Request.Headers[ChannelSignature.HeaderName].ToString(), body,
            clock.GetUtcNow()) == SignatureCheck.Valid;
        if (!ok) Interlocked.Increment(ref BadlySignedRequests);
        return ok;
    }

    private static async Task<byte[]> ReadBodyAsync(HttpContext http)
    {
        using var buffer = new MemoryStream();
        await http.Request.Body.CopyToAsync(buffer);
        return buffer.ToArray();
    }

    public async ValueTask DisposeAsync() => await app.DisposeAsync();
}

/// <summary>The system clock moved forward by what a test says: shared by Qianbao and the connector, so signatures agree.</summary>
public sealed class ShiftedClock : TimeProvider
{
    private long offsetTicks;

    public void Advance(TimeSpan by) => Interlocked.Add(ref offsetTicks, by.Ticks);

    public override DateTimeOffset GetUtcNow() => System.GetUtcNow().AddTicks(Interlocked.Read(ref offsetTicks));
}
