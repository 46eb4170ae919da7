using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace Qianbao.Server.Modules.Messaging;

/// <summary>One text message as the sender hands it to a provider.</summary>
/// <param name="Id">The queue row's id; stable over retries, so a receiver can drop a repeat.</param>
/// <param name="Attempt">1 for the first attempt.</param>
internal readonly record struct OutboundSms(Guid Id, string To, string Text, string Template, string Locale, int Attempt);

/// <summary>Delivers one text message. Null when delivered; otherwise why not (never the text, which may hold a code).</summary>
internal interface ISmsProvider
{
    Task<string?> SendAsync(OutboundSms message, CancellationToken ct);
}

/// <summary>
/// <c>sandbox</c>: nothing leaves the server. The row is marked delivered at once and stays in the queue table, where
/// <c>GET /admin/v1/sandbox/messages</c> reads it.
/// </summary>
internal sealed class SandboxSmsProvider : ISmsProvider
{
    public Task<string?> SendAsync(OutboundSms message, CancellationToken ct) => Task.FromResult<string?>(null);
}

/// <summary>
/// <c>webhook</c>: POSTs <c>{to, text, template, locale}</c> to <see cref="SmsOptions.WebhookUrl"/> with
/// <c>X-Qianbao-Signature: t=&lt;unix seconds&gt;,v1=&lt;hex HMAC-SHA256 of "&lt;t&gt;.&lt;raw body&gt;"&gt;</c> and
/// <c>X-Qianbao-Message-Id</c> (the same on every attempt: an attempt that timed out may still have been delivered, so a
/// receiver drops an id it has seen). Any 2xx is delivery; anything else, or no complete answer within
/// <see cref="SmsOptions.TimeoutMs"/>, is a failure the sender retries.
/// </summary>
internal sealed class WebhookSmsProvider(IHttpClientFactory httpClients, SmsOptions options, TimeProvider clock) : ISmsProvider
{
    public const string HttpClientName = "Qianbao.Sms";
    public const string SignatureHeader = "X-Qianbao-Signature";
    public const string MessageIdHeader = "X-Qianbao-Message-Id";

    /// <summary>Most of a wrong answer kept in <c>last_error</c>.</summary>
    private const int ExcerptLengthMax = 128;

    private static readonly JsonSerializerOptions BodyJson = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public async Task<string?> SendAsync(OutboundSms message, CancellationToken ct)
    {
        var body = JsonSerializer.Serialize(new { to = message.To, text = message.Text, template = message.Template, locale = message.Locale }, BodyJson);
        var t = clock.GetUtcNow().ToUnixTimeSeconds();
        // One bound for the whole exchange, body included: HttpClient.Timeout stops counting once headers arrive.
        using var attemptTimeout = new CancellationTokenSource(TimeSpan.FromMilliseconds(options.TimeoutMs), clock);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(ct, attemptTimeout.Token);
        try
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, options.WebhookUrl)
            {
                Content = new StringContent(body, Encoding.UTF8, "application/json"),
            };
            request.Headers.TryAddWithoutValidation(SignatureHeader, Signature(options.WebhookSecret!, t, body));
            request.Headers.TryAddWithoutValidation(MessageIdHeader, message.Id.ToString());
            using var response = await httpClients.CreateClient(HttpClientName).SendAsync(request, HttpCompletionOption.ResponseHeadersRead, linked.Token);
            if (response.IsSuccessStatusCode) return null;
            return $"HTTP {(int)response.StatusCode}: {Excerpt(await ReadBoundedAsync(response.Content, linked.Token))}";
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            return $"no complete answer within {options.TimeoutMs} ms";
        }
        catch (HttpRequestException ex)
        {
            return $"request failed ({ex.HttpRequestError}): {ex.Message}";
        }
        catch (IOException ex)
        {
            return $"connection failed: {ex.Message}";
        }
    }

    /// <summary>The header value: <c>t=&lt;t&gt;,v1=&lt;lowercase hex HMAC-SHA256(secret, "&lt;t&gt;.&lt;body&gt;")&gt;</c>.</summary>
    public static string Signature(string secret, long unixSeconds, string body)
    {
        var t = unixSeconds.ToString(CultureInfo.InvariantCulture);
        var mac = HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), Encoding.UTF8.GetBytes(t + "." + body));
        return $"t={t},v1={Convert.ToHexStringLower(mac)}";
    }

    /// <summary>At most a little more than <see cref="ExcerptLengthMax"/> characters of the answer: a receiver cannot make us buffer without bound.</summary>
    private static async Task<string> ReadBoundedAsync(HttpContent content, CancellationToken ct)
    {
        await using var stream = await content.ReadAsStreamAsync(ct);
        var buffer = new byte[ExcerptLengthMax * 4 + 4];
        var length = 0;
        int read;
        while (length < buffer.Length && (read = await stream.ReadAsync(buffer.AsMemory(length), ct)) > 0) length += read;
        return Encoding.UTF8.GetString(buffer, 0, length);
    }

    private static string Excerpt(string answer)
    {
        if (answer.Length == 0) return "(empty)";
        var cut = answer.Length > ExcerptLengthMax ? answer[..ExcerptLengthMax] + "..." : answer;
        return new string([.. cut.Select(c => char.IsControl(c) ? ' ' : c)]);
    }
}
