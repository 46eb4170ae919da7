using Qianbao.Server.Http;
using Qianbao.Server.Modules.Identity;
using Qianbao.Server.Money;
using Qianbao.Server.Storage;
using Qianbao.Server.Modules.Operators;

namespace Qianbao.Server.Modules.Admin;

/// <summary><c>GET /admin/v1/ledger/check</c> → <c>{ok, currencies:[...], violations:[...]}</c>: runs <see cref="LedgerCheck"/>.</summary>
internal static class CheckLedger
{
    public static void Map(IEndpointRouteBuilder app) => app.MapGet("/admin/v1/ledger/check", HandleAsync).RequireOperator(OperatorRole.Finance).WithTags("Operator");

    private static async Task<IResult> HandleAsync(Db db, CancellationToken ct) => Results.Json(await LedgerCheck.RunAsync(db, ct), JsonDefaults.Options);
}
