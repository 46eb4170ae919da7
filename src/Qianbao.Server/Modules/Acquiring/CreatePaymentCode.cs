using Qianbao.Server.Http;
using Qianbao.Server.Modules.Identity;
using Qianbao.Server.Modules.Identity.Spending;

namespace Qianbao.Server.Modules.Acquiring;

/// <summary><c>POST /v1/payment-codes</c> → 201 <c>{code, expires_in, expires_at}</c>: an 18-digit code to show a merchant, single use, valid 60 s.</summary>
internal static class CreatePaymentCode
{
    public static void Map(IEndpointRouteBuilder app) => app.MapPost("/v1/payment-codes", HandleAsync).RequireUser().WithTags("Payments");

    private static async Task<IResult> HandleAsync(HttpContext http, PaymentCodes codes, SpendingGate gate, CancellationToken ct)
    {
        if (await gate.CheckAsync(http, SpendKind.PaymentCode, 0, ct) is { } refused) return refused;
        var (code, expiresAt) = await codes.IssueAsync(http.UserId(), ct);
        return Results.Json(new { code, expires_in = PaymentCodes.LifetimeSeconds, expires_at = expiresAt }, JsonDefaults.Options,
            statusCode: StatusCodes.Status201Created);
    }
}
