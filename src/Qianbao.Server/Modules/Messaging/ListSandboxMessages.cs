using Dapper;
using Qianbao.Server.Hosting;
using Qianbao.Server.Http;
using Qianbao.Server.Modules.Identity;
using Qianbao.Server.Storage;
using Qianbao.Server.Modules.Operators;

namespace Qianbao.Server.Modules.Messaging;

/// <summary>
/// <c>GET /admin/v1/sandbox/messages?to=&lt;phone&gt;</c> → <c>{items:[{to, channel, text, created_at}]}</c>, newest first
/// (at most 50): what the sandbox SMS provider kept, so an operator (or the README walkthrough) can read a code.
/// Only with the sandbox provider; 404 otherwise, because real messages are not the operator's to read.
/// </summary>
internal static class ListSandboxMessages
{
    public const int ItemsMax = 50;

    public static void Map(IEndpointRouteBuilder app) =>
        app.MapGet("/admin/v1/sandbox/messages", HandleAsync).RequireOperator(OperatorRole.Support).WithTags("Operator");

    private static async Task<IResult> HandleAsync(string? to, Db db, SmsOptions sms, MessageRecipients recipients, CancellationToken ct)
    {
        if (sms.Provider != SmsProvider.Sandbox) return ApiProblem.NotFound("Messages are kept only with the sandbox SMS provider.");
        if (!PhoneNumber.TryNormalize(to, out var phone))
            return ApiProblem.BadRequest("invalid_phone", "to must be a mobile number such as 13800138000 or +8613800138000.");
        await using var connection = await db.OpenAsync(ct);
        var rows = await connection.QueryAsync<(short Channel, string Text, long CreatedAtUs)>(new CommandDefinition($"""
            SELECT channel, text, created_at_us FROM outbound_messages WHERE recipient = @index
            ORDER BY created_at_us DESC, id DESC LIMIT {ItemsMax}
            """, new { index = recipients.Index(phone) }, cancellationToken: ct));
        return Results.Json(new
        {
            items = rows.Select(r => new
            {
                to = phone, channel = ((MessageChannel)r.Channel).ToString().ToLowerInvariant(), text = r.Text,
                created_at = TimeProviderExtensions.FromUnixMicroseconds(r.CreatedAtUs),
            }),
        }, JsonDefaults.Options);
    }
}
