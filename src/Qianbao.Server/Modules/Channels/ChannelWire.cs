using System.Text.Json;
using System.Text.Json.Serialization;
using Qianbao.Ledger;

namespace Qianbao.Server.Modules.Channels;

/// <summary>
/// The JSON messages of docs/channel-connector-protocol.md. Field names are snake_case; amounts are integer minor
/// units; order ids are the ids of the ledger holds behind them.
/// </summary>
internal static class ChannelWire
{
    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    /// <summary><c>POST {BaseUrl}/orders</c>: collect (top-up) or pay out (withdrawal); idempotent by <see cref="OrderId"/>.</summary>
    public sealed record CreateOrder(Guid OrderId, string Kind, long AmountMinor, string Currency, string? CallbackUrl);

    /// <summary>What the connector answers about an order (create, query), and what a callback carries.</summary>
    public sealed record OrderState(Guid? OrderId, string? Status, string? Reason);

    /// <summary><c>POST {BaseUrl}/card-verifications</c>: is the card the holder's?</summary>
    public sealed record VerifyCard(Guid VerificationId, string CardNumber, string HolderName, string IdNumber);

    /// <summary>The connector's answer: <c>result</c> is <c>matched</c> or <c>mismatch</c>.</summary>
    public sealed record CardAnswer(Guid? VerificationId, string? Result);

    public static string KindName(ChannelOrderKind kind) => kind switch
    {
        ChannelOrderKind.Collect => "collect",
        ChannelOrderKind.Payout => "payout",
        _ => throw new InvariantViolationException($"unknown channel order kind {kind}"),
    };

    /// <summary>Parses a connector's status word; null when it is none of <c>processing</c>, <c>succeeded</c>, <c>failed</c>.</summary>
    public static ChannelOrderStatus? ParseStatus(string? status) => status switch
    {
        "processing" => ChannelOrderStatus.Processing,
        "succeeded" => ChannelOrderStatus.Succeeded,
        "failed" => ChannelOrderStatus.Failed,
        _ => null,
    };
}
