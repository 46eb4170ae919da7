using Dapper;
using Qianbao.Server.Hosting;
using Qianbao.Server.Http;
using Qianbao.Server.Modules.Identity;
using Qianbao.Server.Storage;
using Qianbao.Server.Modules.Operators;

namespace Qianbao.Server.Modules.Messaging;

/// <summary>
/// <c>GET /admin/v1/sandbox/messages?to=&lt;phone or e-mail address&gt;</c> → <c>{items:[{to, channel, subject, text,
/// created_at}]}</c>, newest first (at most 50): what the sandbox SMS provider (or, with no SMTP in sandbox mode, the
/// sandbox mail provider: the text part) kept, so an operator (or the README walkthrough) can read a code. Only with
/// the sandbox provider of that channel; 404 otherwise, because real messages are not the operator's to read.
/// </summary>
internal static class ListSandboxMessages
{
    public const int ItemsMax = 50;

    public static void Map(IEndpointRouteBuilder app) =>
        app.MapGet("/admin/v1/sandbox/messages", HandleAsync).RequireOperator(OperatorRole.Support).WithTags("Operator");

    private static async Task<IResult> HandleAsync(string? to, Db db, SmsOptions sms, Email.IEmailProvider email, MessageRecipients recipients, CancellationToken ct)
    {
        string index, shown;
        if (to is not null && to.Contains('@'))
        {
            // E-mail: kept only when no SMTP is configured in sandbox mode.
            if (email is not Email.SandboxEmailProvider) return ApiProblem.NotFound("Mail is kept only in sandbox mode without SMTP.");
            if (!Email.EmailAddress.TryNormalize(to, out var address))
                return ApiProblem.BadRequest(ErrorCodes.InvalidEmail, "to must be an e-mail address or a mobile number.");
            (index, shown) = (recipients.EmailIndex(address), address);
        }
        else
        {
            if (sms.Provider != SmsProvider.Sandbox) return ApiProblem.NotFound("Messages are kept only with the sandbox SMS provider.");
            if (!PhoneNumber.TryNormalize(to, out var phone))
                return ApiProblem.BadRequest("invalid_phone", "to must be a mobile number such as 13800138000 or +8613800138000.");
            (index, shown) = (recipients.Index(phone), phone);
        }
        await using var connection = await db.OpenAsync(ct);
        var rows = await connection.QueryAsync<(short Channel, string Text, string? Subject, long CreatedAtUs)>(new CommandDefinition($"""
            SELECT channel, text, subject, created_at_us FROM outbound_messages WHERE recipient = @index
            ORDER BY created_at_us DESC, id DESC LIMIT {ItemsMax}
            """, new { index }, cancellationToken: ct));
        return Results.Json(new
        {
            items = rows.Select(r => new
            {
                to = shown, channel = ((MessageChannel)r.Channel).ToString().ToLowerInvariant(), subject = r.Subject, text = r.Text,
                created_at = TimeProviderExtensions.FromUnixMicroseconds(r.CreatedAtUs),
            }),
        }, JsonDefaults.Options);
    }
}
