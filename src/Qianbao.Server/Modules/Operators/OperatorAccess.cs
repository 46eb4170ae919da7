using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Qianbao.Server.Http;
using Qianbao.Server.Modules.Operators.Audit;

namespace Qianbao.Server.Modules.Operators;

/// <summary>The endpoint filter of every <c>/admin/v1</c> route: who the operator is, whether their role may call it, and the audit entry.</summary>
internal static class OperatorAccess
{
    private const string PrincipalItem = "qianbao.operator";
    private const int RouteValueLengthMax = 100;

    /// <summary>
    /// Requires an operator credential whose role is <see cref="OperatorRole.Owner"/> or one of <paramref name="roles"/>:
    /// no or a bad credential is 401 <c>unauthorized</c> (an expired token <c>token_expired</c>, a disabled operator's token
    /// <c>unauthorized</c>), another role 403 <c>forbidden</c>. Credentials: the bootstrap operator key
    /// (<c>Qianbao:OperatorKey</c>, an owner) or an operator access token (<c>POST /admin/v1/auth/token</c>). The allowed
    /// roles are endpoint metadata, shown in OpenAPI (<c>x-roles</c>).
    /// Every call that is not a GET (and a GET with <c>reveal</c>), allowed or refused with 403, is appended to the audit
    /// log after the handler answered, with the route pattern, route values, status and what the handler attached through
    /// <see cref="AuditHooks"/>. The handler's own transaction has committed by then: a crash in between loses the entry
    /// (never the reverse), and a failing append answers 500 so a reveal is never shown unrecorded.
    /// </summary>
    public static TBuilder RequireOperator<TBuilder>(this TBuilder builder, params OperatorRole[] roles) where TBuilder : IEndpointConventionBuilder
    {
        var allowed = new OperatorRoles(roles);
        builder.WithMetadata(allowed);
        builder.WithDescription($"Operator roles: {allowed.Describe()}.");
        return builder.AddEndpointFilter(async (context, next) =>
        {
            var http = context.HttpContext;
            var (principal, refusal) = Authenticate(http);
            if (principal is not { } caller) return refusal;
            var audited = !HttpMethods.IsGet(http.Request.Method) && !HttpMethods.IsHead(http.Request.Method) || http.Request.Query.ContainsKey("reveal");
            if (!allowed.Allows(caller.Role))
            {
                var forbidden = ApiProblem.Forbidden(ErrorCodes.Forbidden, $"This route is for the roles {allowed.Describe()}; yours is {OperatorRoles.Name(caller.Role)}.");
                if (audited) await AppendAsync(http, caller, StatusCodes.Status403Forbidden);
                return forbidden;
            }
            http.Items[PrincipalItem] = caller;
            if (!audited) return await next(context);
            object? result;
            try
            {
                result = await next(context);
            }
            catch (Exception) when (!http.RequestAborted.IsCancellationRequested)
            {
                await AppendAsync(http, caller, StatusCodes.Status500InternalServerError);
                throw;
            }
            await AppendAsync(http, caller, StatusOf(result));
            return result;
        });
    }

    /// <summary>The operator calling; the endpoint must have <see cref="RequireOperator{TBuilder}"/>.</summary>
    public static OperatorPrincipal Operator(this HttpContext http) =>
        http.Items.TryGetValue(PrincipalItem, out var p) && p is OperatorPrincipal principal
            ? principal : throw new InvalidOperationException("endpoint lacks RequireOperator()");

    private static (OperatorPrincipal? Principal, IResult? Refusal) Authenticate(HttpContext http)
    {
        var header = http.Request.Headers.Authorization.ToString();
        if (!header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase)) return (null, Unauthorized());
        var given = header[7..].Trim();
        if (given.StartsWith(OperatorTokens.Prefix, StringComparison.Ordinal))
        {
            switch (http.RequestServices.GetRequiredService<OperatorTokens>().Validate(given, out var principal))
            {
                case OperatorTokenCheck.Valid when http.RequestServices.GetRequiredService<DisabledOperators>().Contains(principal.OperatorId!.Value):
                    return (null, ApiProblem.Unauthorized(ErrorCodes.Unauthorized, "This operator account is disabled."));
                case OperatorTokenCheck.Valid:
                    return (principal, null);
                case OperatorTokenCheck.Expired:
                    return (null, ApiProblem.Unauthorized(ErrorCodes.TokenExpired, "The operator access token has expired; log in again (POST /admin/v1/auth/token)."));
                default:
                    return (null, Unauthorized());
            }
        }
        var expected = http.RequestServices.GetRequiredService<OperatorKey>().Value;
        return CryptographicOperations.FixedTimeEquals(SHA256.HashData(Encoding.UTF8.GetBytes(given)), SHA256.HashData(Encoding.UTF8.GetBytes(expected)))
            ? (OperatorPrincipal.Bootstrap, null) : (null, Unauthorized());
    }

    private static IResult Unauthorized() =>
        ApiProblem.Unauthorized(ErrorCodes.Unauthorized, "Send Authorization: Bearer <operator key or operator access token>.");

    /// <summary>The status the handler's answer will have: a typed result's, 200 for a plain object, null when unknown.</summary>
    private static long? StatusOf(object? result) => result switch
    {
        IStatusCodeHttpResult { StatusCode: { } status } => status,
        IStatusCodeHttpResult => StatusCodes.Status200OK,
        IResult => null,
        _ => StatusCodes.Status200OK,
    };

    private static async Task AppendAsync(HttpContext http, OperatorPrincipal caller, long? status)
    {
        var pattern = (http.GetEndpoint() as RouteEndpoint)?.RoutePattern.RawText ?? http.Request.Path.Value ?? "";
        var notes = http.AuditNotes();
        var routeValues = http.Request.RouteValues
            .Where(kv => kv.Value is string)
            .ToDictionary(kv => kv.Key, kv => Truncate((string)kv.Value!));
        var detail = new Dictionary<string, object?> { ["route"] = routeValues };
        if (http.Request.Query.TryGetValue("reveal", out var reveal)) detail["reveal"] = Truncate(reveal.ToString());
        var target = notes?.Target ?? (routeValues.TryGetValue("id", out var id) ? id : null);
        var entry = new AuditEntry(caller.Actor, OperatorRoles.Name(caller.Role), $"{http.Request.Method} {pattern}", target, status,
            JsonSerializer.Serialize(detail, JsonDefaults.Options), notes?.BeforeJson, notes?.AfterJson, http.Connection.RemoteIpAddress?.ToString());
        // Not the request's token: the action has happened, so its record must be written even if the caller went away.
        await http.RequestServices.GetRequiredService<AuditLog>().AppendAsync(entry, CancellationToken.None);
    }

    private static string Truncate(string value) => value.Length > RouteValueLengthMax ? value[..RouteValueLengthMax] + "…" : value;
}

/// <summary>The bootstrap operator credential (<c>Qianbao:OperatorKey</c>, or generated in sandbox mode): an owner.</summary>
public sealed record OperatorKey(string Value);
