using System.Data.Common;
using Dapper;
using Qianbao.Server.Hosting;
using Qianbao.Server.Http;
using Qianbao.Server.Modules.Operators;
using Qianbao.Server.Storage;

namespace Qianbao.Server.Modules.Notifications;

/// <summary>The operators' replacements of built-in texts (<c>notification_templates</c>), read in the notifying transaction.</summary>
internal static class TemplateStore
{
    public static async Task<(string Title, string Body)?> FindAsync(DbConnection connection, DbTransaction? tx, string type, string locale, CancellationToken ct) =>
        await connection.QuerySingleOrDefaultAsync<(string, string)?>(new CommandDefinition(
            "SELECT title, body FROM notification_templates WHERE type = @type AND locale = @locale", new { type, locale }, tx, cancellationToken: ct));

    /// <summary>
    /// The operators' texts of many (type, locale) pairs in one read, in the caller's transaction (so as current as
    /// <see cref="FindAsync"/> per pair; the table is small and read here rather than cached, so an edit in any process counts
    /// from the next batch on without an invalidation to carry).
    /// </summary>
    public static async Task<Dictionary<(string Type, string Locale), (string Title, string Body)>> FindManyAsync(DbConnection connection, DbTransaction? tx,
        IReadOnlyCollection<string> types, CancellationToken ct)
    {
        var found = new Dictionary<(string, string), (string, string)>();
        if (types.Count == 0) return found;
        var postgres = connection is Npgsql.NpgsqlConnection;
        var rows = await connection.QueryAsync<(string Type, string Locale, string Title, string Body)>(new CommandDefinition(
            $"SELECT type, locale, title, body FROM notification_templates WHERE {(postgres ? "type = ANY(@types)" : "type IN (SELECT value FROM json_each(@types))")}",
            new { types = postgres ? (object)types.ToArray() : System.Text.Json.JsonSerializer.Serialize(types) }, tx, cancellationToken: ct));
        foreach (var (type, locale, title, body) in rows) found[(type, locale)] = (title, body);
        return found;
    }

    /// <summary><see cref="RenderAsync"/> from texts already read by <see cref="FindManyAsync"/>.</summary>
    public static (string Title, string Body)? Render(IReadOnlyDictionary<(string Type, string Locale), (string Title, string Body)> saved, string type,
        string locale, IReadOnlyDictionary<string, string>? variables)
    {
        if (!NotificationTemplates.Variables.ContainsKey(type)) return null;
        var texts = saved.TryGetValue((type, locale), out var s) ? s : NotificationTemplates.Default(type, locale);
        return texts is { } t ? (NotificationTemplates.Fill(t.Title, variables), NotificationTemplates.Fill(t.Body, variables)) : null;
    }

    /// <summary>The texts of a type in a locale rendered: the operator's if saved, else the built-in ones; null for a type without either.</summary>
    public static async Task<(string Title, string Body)?> RenderAsync(DbConnection connection, DbTransaction tx, string type, string locale,
        IReadOnlyDictionary<string, string>? variables, CancellationToken ct)
    {
        if (!NotificationTemplates.Variables.ContainsKey(type)) return null;
        var texts = await FindAsync(connection, tx, type, locale, ct) ?? NotificationTemplates.Default(type, locale);
        return texts is { } t ? (NotificationTemplates.Fill(t.Title, variables), NotificationTemplates.Fill(t.Body, variables)) : null;
    }
}

/// <summary>
/// <c>GET/PUT /admin/v1/messaging/templates/{type}/{locale}</c> → <c>{type, locale, title, body, variables, customized}</c>
/// (Owner, Support). PUT <c>{title, body}</c> saves Liquid texts validated first: not Liquid → 400 <c>invalid_template</c>;
/// a variable the type does not carry → 400 <c>unknown_template_variable</c>; an unknown type or locale is 404. Saving the
/// built-in texts again is allowed (it pins them).
/// </summary>
internal static class EditTemplates
{
    public const int TextLengthMax = 1000;

    public sealed record Request(string? Title, string? Body);

    public static void Map(IEndpointRouteBuilder app)
    {
        app.MapGet("/admin/v1/messaging/templates/{type}/{locale}", GetAsync).RequireOperator(OperatorRole.Owner, OperatorRole.Support).WithTags("Operator");
        app.MapPut("/admin/v1/messaging/templates/{type}/{locale}", PutAsync).RequireOperator(OperatorRole.Owner, OperatorRole.Support).WithTags("Operator");
    }

    private static bool Known(string type, string locale) =>
        NotificationTemplates.Variables.ContainsKey(type) && NotificationTemplates.Locales.Contains(locale);

    private static async Task<IResult> GetAsync(string type, string locale, Db db, CancellationToken ct)
    {
        if (!Known(type, locale)) return ApiProblem.NotFound("No such notification type or locale.");
        await using var connection = await db.OpenAsync(ct);
        var saved = await TemplateStore.FindAsync(connection, null, type, locale, ct);
        var texts = saved ?? NotificationTemplates.Default(type, locale)!.Value;
        return Results.Json(new
        {
            type, locale, title = texts.Title, body = texts.Body, variables = NotificationTemplates.Variables[type].Order(StringComparer.Ordinal), customized = saved is not null,
        }, JsonDefaults.Options);
    }

    private static async Task<IResult> PutAsync(string type, string locale, HttpContext http, Db db, TimeProvider clock, CancellationToken ct)
    {
        if (!Known(type, locale)) return ApiProblem.NotFound("No such notification type or locale.");
        var (request, _, problem) = await RequestBody.ReadJsonAsync<Request>(http.Request, ct);
        if (problem is not null) return problem;
        var allowed = NotificationTemplates.Variables[type];
        foreach (var (field, text) in new[] { ("title", request!.Title), ("body", request.Body) })
        {
            if (string.IsNullOrWhiteSpace(text) || text.Length > TextLengthMax)
                return ApiProblem.BadRequest(ErrorCodes.InvalidTemplate, $"{field} must be 1..{TextLengthMax} characters of Liquid.");
            var used = NotificationTemplates.UsedVariables(text, out var error);
            if (used is null) return ApiProblem.BadRequest(ErrorCodes.InvalidTemplate, $"{field} is not valid Liquid: {error}");
            var unknown = used.Where(v => !allowed.Contains(v)).Order(StringComparer.Ordinal).ToList();
            if (unknown.Count > 0)
                return ApiProblem.BadRequest(ErrorCodes.UnknownTemplateVariable,
                    $"{field} uses {string.Join(", ", unknown)}; {type} carries only {string.Join(", ", allowed.Order(StringComparer.Ordinal))}.");
        }
        await using var connection = await db.OpenAsync(ct);
        await using var tx = await db.BeginWriteAsync(connection, ct);
        await connection.ExecuteAsync(new CommandDefinition("""
            INSERT INTO notification_templates (type, locale, title, body, updated_at_us) VALUES (@type, @locale, @title, @body, @nowUs)
            ON CONFLICT (type, locale) DO UPDATE SET title = excluded.title, body = excluded.body, updated_at_us = excluded.updated_at_us
            """, new { type, locale, title = request.Title, body = request.Body, nowUs = clock.GetUnixMicroseconds() }, tx, cancellationToken: ct));
        await tx.CommitAsync(ct);
        return Results.Json(new
        {
            type, locale, title = request.Title, body = request.Body, variables = allowed.Order(StringComparer.Ordinal), customized = true,
        }, JsonDefaults.Options);
    }
}
