using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;

namespace Qianbao.Server.Modules.Channels;

/// <summary>
/// A funding channel reached over HTTP: a bank connector that speaks docs/channel-connector-protocol.md. Orders and
/// queries are signed with the shared secret, and so must the connector's answers be: an answer that is not (or is
/// stale) is treated as no answer, because a forged "succeeded" would mint money. Transport trouble never fails the
/// caller's request: the hold is durable before the order is sent, and reconciliation asks again later.
/// </summary>
internal sealed class HttpFundingChannel : IFundingChannel, IDisposable
{
    /// <summary>Largest answer read from a connector; a real one is under 200 bytes.</summary>
    private const int AnswerSizeMaxBytes = 16 * 1024;

    private readonly ChannelOptions options;
    private readonly byte[] key;
    private readonly HttpClient http;
    private readonly IChannelOutcomeSink outcomes;
    private readonly TimeProvider clock;
    private readonly ILogger logger;

    public HttpFundingChannel(ChannelOptions options, IChannelOutcomeSink outcomes, TimeProvider clock, ILogger<HttpFundingChannel> logger)
    {
        this.options = options;
        this.outcomes = outcomes;
        this.clock = clock;
        this.logger = logger;
        key = Encoding.UTF8.GetBytes(options.Secret);
        var timeout = TimeSpan.FromMilliseconds(options.TimeoutMs);
        http = new HttpClient(new SocketsHttpHandler
        {
            // A redirect would carry a signed order to wherever it points; the connector's address is configured, not discovered.
            AllowAutoRedirect = false,
            UseCookies = false,
            ConnectTimeout = timeout,
            MaxConnectionsPerServer = 16,
            PooledConnectionLifetime = TimeSpan.FromMinutes(5),
        })
        {
            Timeout = timeout,
            MaxResponseContentBufferSize = AnswerSizeMaxBytes,
        };
        http.DefaultRequestHeaders.UserAgent.ParseAdd("Qianbao-Channel/1.0");
    }

    public string Name => options.Name;

    /// <summary>The key callbacks from this connector are checked with.</summary>
    public ReadOnlySpan<byte> Key => key;

    public async Task SubmitAsync(ChannelOrder order, CancellationToken ct)
    {
        var body = JsonSerializer.SerializeToUtf8Bytes(new ChannelWire.CreateOrder(order.Id, ChannelWire.KindName(order.Kind), order.AmountMinor,
            order.Currency.Code, options.CallbackUrl?.AbsoluteUri), ChannelWire.Json);
        var answer = await ExchangeAsync(HttpMethod.Post, "orders", body, order.Id, ct);
        if (answer is not { Status: HttpStatusCode.OK or HttpStatusCode.Created, State: { } state }) return;
        // A connector that already knows the outcome says so at once; otherwise its callback (or our query) brings it.
        switch (state)
        {
            case ChannelOrderStatus.Succeeded: await outcomes.OnOutcomeAsync(Name, order.Id, true, ct); break;
            case ChannelOrderStatus.Failed: await outcomes.OnOutcomeAsync(Name, order.Id, false, ct); break;
        }
    }

    public async Task<ChannelOrderStatus> QueryAsync(Guid orderId, CancellationToken ct)
    {
        var answer = await ExchangeAsync(HttpMethod.Get, $"orders/{orderId:D}", null, orderId, ct);
        return answer switch
        {
            // Only an authenticated "no such order" makes us send it again; sending again is harmless (idempotent) anyway.
            { Status: HttpStatusCode.NotFound } => ChannelOrderStatus.Unknown,
            { Status: HttpStatusCode.OK, State: { } state } => state,
            // No usable answer: the outcome is unknown, so the hold stays as it is until a later pass.
            _ => ChannelOrderStatus.Processing,
        };
    }

    public async Task<CardVerificationResult> VerifyCardAsync(CardVerification verification, CancellationToken ct)
    {
        var body = JsonSerializer.SerializeToUtf8Bytes(new ChannelWire.VerifyCard(verification.Id, verification.CardNumber, verification.HolderName,
            verification.IdNumber), ChannelWire.Json);
        var uri = new Uri(options.BaseUrl!.AbsoluteUri.TrimEnd('/') + "/card-verifications");
        using var request = new HttpRequestMessage(HttpMethod.Post, uri) { Content = new ByteArrayContent(body) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        request.Headers.Add(ChannelSignature.HeaderName, ChannelSignature.Sign(key, clock, body));
        try
        {
            using var response = await http.SendAsync(request, ct);
            var bytes = await response.Content.ReadAsByteArrayAsync(ct);
            // Only a signed answer counts: a forged "matched" would raise an account's limits.
            if (response.StatusCode != HttpStatusCode.OK || !Verified(response, bytes))
            {
                logger.LogWarning("Channel {Channel} answered card verification {VerificationId} with {Status} (or unsigned); taken as no answer",
                    Name, verification.Id, (int)response.StatusCode);
                return CardVerificationResult.Unavailable;
            }
            var answer = JsonSerializer.Deserialize<ChannelWire.CardAnswer>(bytes, ChannelWire.Json);
            return answer switch
            {
                { Result: "matched" } when answer.VerificationId == verification.Id => CardVerificationResult.Matched,
                { Result: "mismatch" } when answer.VerificationId == verification.Id => CardVerificationResult.Mismatch,
                _ => CardVerificationResult.Unavailable,
            };
        }
        catch (Exception ex) when (ex is HttpRequestException or JsonException or TaskCanceledException && !ct.IsCancellationRequested)
        {
            logger.LogWarning("Channel {Channel} could not be reached for card verification {VerificationId}: {Error}", Name, verification.Id, ex.Message);
            return CardVerificationResult.Unavailable;
        }
    }

    private sealed record Answer(HttpStatusCode Status, ChannelOrderStatus? State);

    /// <summary>One signed exchange; null on transport failure, timeout, or an answer that is not correctly signed.</summary>
    private async Task<Answer?> ExchangeAsync(HttpMethod method, string path, byte[]? body, Guid orderId, CancellationToken ct)
    {
        var uri = new Uri(options.BaseUrl!.AbsoluteUri.TrimEnd('/') + "/" + path);
        using var request = new HttpRequestMessage(method, uri);
        request.Headers.Add(ChannelSignature.HeaderName, ChannelSignature.Sign(key, clock, body ?? []));
        if (body is not null)
        {
            request.Content = new ByteArrayContent(body);
            request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        }

        try
        {
            using var response = await http.SendAsync(request, ct);
            var bytes = await response.Content.ReadAsByteArrayAsync(ct);
            if (response.StatusCode == HttpStatusCode.NotFound && method == HttpMethod.Get)
                return Verified(response, bytes) ? new Answer(HttpStatusCode.NotFound, null) : null;
            if (response.StatusCode is not (HttpStatusCode.OK or HttpStatusCode.Created))
            {
                logger.LogWarning("Channel {Channel} answered {Status} to {Method} for order {OrderId}", Name, (int)response.StatusCode, method, orderId);
                return null;
            }

            if (!Verified(response, bytes))
            {
                logger.LogWarning("Channel {Channel} answered {Method} for order {OrderId} without a valid signature; ignored", Name, method, orderId);
                return null;
            }

            var state = JsonSerializer.Deserialize<ChannelWire.OrderState>(bytes, ChannelWire.Json);
            var status = ChannelWire.ParseStatus(state?.Status);
            if (state?.OrderId != orderId || status is null)
            {
                logger.LogWarning("Channel {Channel} answered {Method} for order {OrderId} with an unusable body", Name, method, orderId);
                return null;
            }

            return new Answer(response.StatusCode, status);
        }
        catch (Exception ex) when (ex is HttpRequestException or JsonException or TaskCanceledException && !ct.IsCancellationRequested)
        {
            logger.LogWarning("Channel {Channel} could not be reached for {Method} of order {OrderId}: {Error}", Name, method, orderId, ex.Message);
            return null;
        }
    }

    private bool Verified(HttpResponseMessage response, byte[] body)
    {
        var header = response.Headers.TryGetValues(ChannelSignature.HeaderName, out var values) ? values.FirstOrDefault() : null;
        return ChannelSignature.Verify(key, header, body, clock.GetUtcNow()) == SignatureCheck.Valid;
    }

    public void Dispose() => http.Dispose();
}
