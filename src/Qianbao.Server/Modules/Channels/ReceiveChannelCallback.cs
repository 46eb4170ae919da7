using System.Text.Json;
using Qianbao.Ledger;
using Qianbao.Server.Http;
using Qianbao.Server.Money;
using Qianbao.Server.Money.Ledger;

namespace Qianbao.Server.Modules.Channels;

/// <summary>
/// <c>POST /channels/v1/{name}/callbacks</c>: a bank connector reports an order's outcome
/// <c>{order_id, status: "succeeded"|"failed", reason?}</c>, signed with the channel's secret
/// (docs/channel-connector-protocol.md). Answers 200 <c>{order_id, status}</c> (the hold's status afterwards), signed
/// the same way; a repeated callback answers the same. Refused with nothing changed: 401
/// <c>channel_signature_invalid</c> (missing, malformed or wrong signature) or <c>channel_signature_stale</c>
/// (timestamp more than 5 minutes from our clock), 404 <c>not_found</c> (no such http channel, or no order of
/// it with that id), 400 <c>invalid_callback</c>, 409 <c>channel_outcome_conflict</c> (the order was already
/// settled the other way).
/// </summary>
internal static class ReceiveChannelCallback
{
    public static void Map(IEndpointRouteBuilder app) =>
        app.MapPost("/channels/v1/{name}/callbacks", HandleAsync).WithTags("Channels").ExcludeFromDescription();

    private static async Task<IResult> HandleAsync(string name, HttpContext http, FundingChannels channels, LedgerStore store,
        IChannelOutcomeSink outcomes, TimeProvider clock, ILoggerFactory loggers, CancellationToken ct)
    {
        if (channels.Find(name) is not HttpFundingChannel channel) return ApiProblem.NotFound("No such channel.");
        var (bytes, problem) = await RequestBody.ReadAsync(http.Request, ct);
        if (problem is not null) return problem;

        switch (ChannelSignature.Verify(channel.Key, http.Request.Headers[ChannelSignature.HeaderName].ToString(), bytes, clock.GetUtcNow()))
        {
            case SignatureCheck.Invalid:
                return ApiProblem.Unauthorized("channel_signature_invalid", $"The {ChannelSignature.HeaderName} header is missing, malformed or does not match the body.");
            case SignatureCheck.Stale:
                return ApiProblem.Unauthorized("channel_signature_stale", $"The signature's timestamp is more than {ChannelSignature.ReplayWindow.TotalMinutes:0} minutes from the server's clock.");
        }

        ChannelWire.OrderState? callback;
        try
        {
            callback = JsonSerializer.Deserialize<ChannelWire.OrderState>(bytes, ChannelWire.Json);
        }
        catch (JsonException)
        {
            callback = null;
        }

        var status = ChannelWire.ParseStatus(callback?.Status);
        if (callback?.OrderId is not { } orderId || status is not (ChannelOrderStatus.Succeeded or ChannelOrderStatus.Failed))
            return ApiProblem.BadRequest("invalid_callback", "Expected {\"order_id\": \"<uuid>\", \"status\": \"succeeded\" | \"failed\"}.");

        var hold = await store.GetTransferAsync(new TransferId(orderId), ct);
        if (hold is null || !hold.Has(TransferFlags.Pending) || hold.Code is not (TransferCodes.TopUp or TransferCodes.Withdrawal)
            || channels.ForHold(hold.DebitAccountId, hold.CreditAccountId, hold.Code, hold.Currency) != channel)
            return ApiProblem.NotFound("No order of this channel has that id.");

        var succeeded = status == ChannelOrderStatus.Succeeded;
        if (hold.State == PendingState.Posted && !succeeded || hold.State == PendingState.Voided && succeeded)
        {
            loggers.CreateLogger(typeof(ReceiveChannelCallback)).LogError(
                "Channel {Channel} reported order {OrderId} {Status}, but it was already settled as {State}", name, orderId, callback.Status, hold.State);
            return ApiProblem.Conflict("channel_outcome_conflict", $"The order was already settled as {HoldStatus.Name(hold.State)}.");
        }

        await outcomes.OnOutcomeAsync(channel.Name, orderId, succeeded, ct);
        var after = await store.GetTransferAsync(new TransferId(orderId), ct) ?? throw new InvariantViolationException($"hold {orderId} vanished");
        var lateSuccess = after.State == PendingState.Expired && await store.GetTransferAsync(ChannelOutcomeIds.LateSuccess(orderId), ct) is not null;
        var answer = JsonSerializer.SerializeToUtf8Bytes(new ChannelWire.OrderState(orderId,
            lateSuccess ? HoldStatus.Name(PendingState.Posted) : HoldStatus.Name(after.State), null), ChannelWire.Json);
        http.Response.Headers[ChannelSignature.HeaderName] = ChannelSignature.Sign(channel.Key, clock, answer);
        return Results.Bytes(answer, "application/json");
    }
}
