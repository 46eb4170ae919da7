using System.Text.Json;
using Qianbao.Server.Http;

namespace Qianbao.Server.Modules.Operators.Audit;

/// <summary>
/// What an operator route's handler may add to the audit entry the <see cref="OperatorAccess.RequireOperator{TBuilder}"/>
/// filter appends after it: the state before and after (<see cref="AuditChange"/>) and the target when it is not the
/// route's <c>{id}</c> (<see cref="AuditTarget"/>). Values are serialised at once, as the API's JSON, so a later change to
/// the object does not change what was recorded. Never pass secrets (tokens, passwords): the log is read by people.
/// </summary>
internal static class AuditHooks
{
    private const string Item = "qianbao.audit";

    public static void AuditChange(this HttpContext http, object? before, object? after)
    {
        var notes = Notes(http);
        notes.BeforeJson = before is null ? null : JsonSerializer.Serialize(before, JsonDefaults.Options);
        notes.AfterJson = after is null ? null : JsonSerializer.Serialize(after, JsonDefaults.Options);
    }

    public static void AuditTarget(this HttpContext http, string target) => Notes(http).Target = target;

    internal static AuditNotes? AuditNotes(this HttpContext http) => http.Items.TryGetValue(Item, out var n) ? n as AuditNotes : null;

    private static AuditNotes Notes(HttpContext http)
    {
        if (http.AuditNotes() is { } notes) return notes;
        var created = new AuditNotes();
        http.Items[Item] = created;
        return created;
    }
}

internal sealed class AuditNotes
{
    public string? Target { get; set; }
    public string? BeforeJson { get; set; }
    public string? AfterJson { get; set; }
}
