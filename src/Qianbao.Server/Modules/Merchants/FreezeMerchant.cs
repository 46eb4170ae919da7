using Qianbao.Server.Http;
using Qianbao.Server.Hosting;
using Qianbao.Server.Modules.Operators;
using Qianbao.Server.Money;

namespace Qianbao.Server.Modules.Merchants;

/// <summary>
/// <c>POST /admin/v1/merchants/{id}/freeze {reason}</c> and <c>POST /admin/v1/merchants/{id}/unfreeze {reason}</c> (risk)
/// → 200 <c>{id, status:"frozen"|"active", frozen_reason, frozen_at}</c>. The merchant's id goes into the same
/// <c>owner_freezes</c> table as a user's, so the money pipeline's freeze policy enforces it for every module:
/// <list type="bullet">
/// <item>no payments: a merchant payment crediting a frozen owner is refused (422 <c>merchant_frozen</c> natively,
/// <c>ACQ.SELLER_BEEN_BLOCKED</c> at the gateway), with the accounts locked, so a freeze committed before the payment's
/// batch always wins; the gateway also refuses to open a trade for a frozen merchant, and refuses a bar-code payment
/// before the buyer's code is spent;</item>
/// <item>no payouts, refunds or settlements: they debit the settlement account (422 <c>account_frozen</c> for a payout,
/// <c>ACQ.SELLER_BEEN_BLOCKED</c> at the gateway, <c>merchant_frozen</c> for a complaint's refund).</item>
/// </list>
/// Freezing a frozen merchant keeps the first freeze; unfreezing an active one is a no-op.
/// </summary>
internal static class FreezeMerchant
{
    public sealed record Request(string? Reason);

    public static void Map(IEndpointRouteBuilder app)
    {
        app.MapPost("/admin/v1/merchants/{id}/freeze", (string id, HttpContext http, MerchantDirectory merchants, Freezes freezes, ILoggerFactory loggers,
            CancellationToken ct) => HandleAsync(id, freeze: true, http, merchants, freezes, loggers, ct)).RequireOperator(OperatorRole.Risk).WithTags("Operator");
        app.MapPost("/admin/v1/merchants/{id}/unfreeze", (string id, HttpContext http, MerchantDirectory merchants, Freezes freezes, ILoggerFactory loggers,
            CancellationToken ct) => HandleAsync(id, freeze: false, http, merchants, freezes, loggers, ct)).RequireOperator(OperatorRole.Risk).WithTags("Operator");
    }

    private static async Task<IResult> HandleAsync(string id, bool freeze, HttpContext http, MerchantDirectory merchants, Freezes freezes,
        ILoggerFactory loggers, CancellationToken ct)
    {
        var (request, _, problem) = await RequestBody.ReadJsonAsync<Request>(http.Request, ct);
        if (problem is not null) return problem;
        var reason = request!.Reason?.Trim();
        if (string.IsNullOrEmpty(reason) || reason.Length > Freezes.ReasonLengthMax || reason.Any(char.IsControl))
            return ApiProblem.BadRequest(ErrorCodes.InvalidReason, $"reason must be 1-{Freezes.ReasonLengthMax} printable characters.");
        if (!Guid.TryParse(id, out var merchantId) || !await merchants.ExistsAsync(merchantId, ct)) return ApiProblem.NotFound();

        var state = freeze ? await freezes.FreezeAsync(merchantId, reason, ct) : await freezes.UnfreezeAsync(merchantId, ct);
        loggers.CreateLogger(typeof(FreezeMerchant)).LogInformation("Operator {Action} merchant {MerchantId}: {Reason}", freeze ? "froze" : "unfroze",
            merchantId, reason);
        return Results.Json(new
        {
            id = state.OwnerId,
            status = state.Frozen ? "frozen" : "active",
            frozen_reason = state.Reason,
            frozen_at = state.FrozenAtUs is { } us ? TimeProviderExtensions.FromUnixMicroseconds(us) : (DateTimeOffset?)null,
        }, JsonDefaults.Options);
    }
}
