using System.ComponentModel.DataAnnotations;
using Qianbao.Server.Hosting;

namespace Qianbao.Server.Modules.Messaging;

/// <summary>Where text messages go.</summary>
internal enum SmsProvider
{
    /// <summary>Kept for the operator to read (<c>GET /admin/v1/sandbox/messages</c>); refused in production mode.</summary>
    Sandbox,

    /// <summary>POSTed as signed JSON to <see cref="SmsOptions.WebhookUrl"/>, an SMS gateway's or the operator's relay.</summary>
    Webhook,
}

/// <summary>Text messages (configuration section <c>Qianbao:Sms</c>); every key is listed in README.</summary>
internal sealed class SmsOptions : IOptionsRules, IDeliveryOptions
{
    public const string SectionName = "Qianbao:Sms";
    public const int WebhookSecretLengthMin = 16;

    public SmsProvider Provider { get; set; } = SmsProvider.Sandbox;

    /// <summary>The absolute http(s) URL messages are POSTed to (provider <c>webhook</c>).</summary>
    public string? WebhookUrl { get; set; }

    /// <summary>HMAC-SHA256 key of the <c>X-Qianbao-Signature</c> header (provider <c>webhook</c>; 16..512 characters).</summary>
    public string? WebhookSecret { get; set; }

    /// <summary>Whole-exchange timeout of one delivery attempt, ms (100..60000).</summary>
    [Range(100, 60_000)]
    public int TimeoutMs { get; set; } = 5000;

    /// <summary>Pause between polls of the message queue when nothing new was queued, ms (10..600000).</summary>
    [Range(10, 600_000)]
    public int PollIntervalMs { get; set; } = 1000;

    /// <summary>Wait after the first failed attempt, ms; it doubles after each further failure up to <see cref="RetryMaxMs"/> (100..600000).</summary>
    [Range(100, 600_000)]
    public int RetryBaseMs { get; set; } = 1000;

    /// <summary>Longest wait between two attempts, ms (100..86400000); below <see cref="RetryBaseMs"/> it is every wait.</summary>
    [Range(100, 86_400_000)]
    public int RetryMaxMs { get; set; } = 600_000;

    /// <summary>Attempts before a message is given up as <c>failed</c> (1..100).</summary>
    [Range(1, 100)]
    public int AttemptsMax { get; set; } = 12;

    /// <summary>
    /// The provider's cap: most messages handed to it per second by one server process (1..10000); the sender paces itself
    /// and the rest wait in the queue. Per process: with several processes, divide the provider's limit among them.
    /// </summary>
    [Range(1, 10_000)]
    public int PerSecondMax { get; set; } = 50;

    IEnumerable<(string Property, string Problem)> IOptionsRules.Problems()
    {
        if (Provider != SmsProvider.Webhook) yield break;
        if (!Uri.TryCreate(WebhookUrl, UriKind.Absolute, out var url) || url.Scheme is not ("http" or "https"))
            yield return (nameof(WebhookUrl), $"must be an absolute http(s) URL with provider webhook (was '{WebhookUrl}')");
        if (WebhookSecret is null || WebhookSecret.Length is < WebhookSecretLengthMin or > 512)
            yield return (nameof(WebhookSecret), $"must be {WebhookSecretLengthMin}..512 characters with provider webhook (was {WebhookSecret?.Length ?? 0} characters)");
    }
}
