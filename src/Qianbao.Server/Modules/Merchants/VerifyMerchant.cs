using Dapper;
using Qianbao.Server.Hosting;
using Qianbao.Server.Http;
using Qianbao.Server.Modules.Identity;
using Qianbao.Server.Money;
using Qianbao.Server.Storage;

namespace Qianbao.Server.Modules.Merchants;

/// <summary><c>POST /admin/v1/merchants/{id}/verify</c> → <c>{id, status:"verified"}</c>; verifying twice is harmless.</summary>
public static class VerifyMerchant
{
    public static void Map(IEndpointRouteBuilder app) =>
        app.MapPost("/admin/v1/merchants/{id}/verify", HandleAsync).RequireOperator().WithTags("Operator");

    private static async Task<IResult> HandleAsync(string id, Db db, TimeProvider clock, CancellationToken ct)
    {
        if (!Guid.TryParse(id, out var merchantId)) return ApiProblem.NotFound();
        await using var connection = await db.OpenAsync(ct);
        var updated = await connection.ExecuteAsync(new CommandDefinition(
            "UPDATE merchants SET status = @verified, verified_at_us = COALESCE(verified_at_us, @now) WHERE id = @id",
            new { id = merchantId, verified = MerchantRow.Verified, now = clock.GetUnixMicroseconds() }, cancellationToken: ct));
        return updated == 0 ? ApiProblem.NotFound() : Results.Json(new { id = merchantId, status = MerchantRow.Verified }, JsonDefaults.Options);
    }
}
