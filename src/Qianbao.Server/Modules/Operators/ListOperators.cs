using Dapper;
using Qianbao.Server.Hosting;
using Qianbao.Server.Http;
using Qianbao.Server.Storage;

namespace Qianbao.Server.Modules.Operators;

/// <summary>
/// <c>GET /admin/v1/operators</c> (owner) → <c>{items:[{id, email, name, role, status, created_at, created_by, activated_at,
/// disabled_at}]}</c>, oldest first; <c>status</c> is <c>invited</c>, <c>active</c> or <c>disabled</c>. A team of
/// operators is small: one page of at most <see cref="ItemsMax"/>.
/// </summary>
internal static class ListOperators
{
    public const int ItemsMax = 1000;

    public static void Map(IEndpointRouteBuilder app) => app.MapGet("/admin/v1/operators", HandleAsync).RequireOperator().WithTags("Operator");

    private static async Task<IResult> HandleAsync(Db db, CancellationToken ct)
    {
        await using var connection = await db.OpenAsync(ct);
        var rows = await connection.QueryAsync<Row>(new CommandDefinition($"""
            SELECT id, email, name, role, created_by, created_at_us, activated_at_us, disabled_at_us FROM operators
            ORDER BY created_at_us, id LIMIT {ItemsMax}
            """, cancellationToken: ct));
        return Results.Json(new
        {
            items = rows.Select(r => new
            {
                id = r.id,
                email = r.email,
                name = r.name,
                role = r.role,
                status = Status(r.activated_at_us, r.disabled_at_us),
                created_at = TimeProviderExtensions.FromUnixMicroseconds(r.created_at_us),
                created_by = r.created_by,
                activated_at = r.activated_at_us is { } a ? TimeProviderExtensions.FromUnixMicroseconds(a) : (DateTimeOffset?)null,
                disabled_at = r.disabled_at_us is { } d ? TimeProviderExtensions.FromUnixMicroseconds(d) : (DateTimeOffset?)null,
            }),
        }, JsonDefaults.Options);
    }

    public static string Status(long? activatedAtUs, long? disabledAtUs) =>
        disabledAtUs is not null ? "disabled" : activatedAtUs is not null ? "active" : "invited";

    private sealed class Row
    {
        public Guid id { get; init; }
        public string email { get; init; } = "";
        public string name { get; init; } = "";
        public string role { get; init; } = "";
        public string created_by { get; init; } = "";
        public long created_at_us { get; init; }
        public long? activated_at_us { get; init; }
        public long? disabled_at_us { get; init; }
    }
}
