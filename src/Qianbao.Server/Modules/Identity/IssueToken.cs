using Dapper;
using Qianbao.Server.Http;
using Qianbao.Server.Storage;

namespace Qianbao.Server.Modules.Identity;

/// <summary><c>POST /v1/auth/token</c> <c>{phone, password}</c> → <c>{access_token, token_type, expires_in}</c>.</summary>
internal static class IssueToken
{
    public sealed record Request(string? Phone, string? Password);

    public static void Map(IEndpointRouteBuilder app) => app.MapPost("/v1/auth/token", HandleAsync).WithTags("Users");

    private static async Task<IResult> HandleAsync(HttpContext http, Db db, PasswordHasher hasher, TokenService tokens, CancellationToken ct)
    {
        var (request, _, problem) = await RequestBody.ReadJsonAsync<Request>(http.Request, ct);
        if (problem is not null) return problem;
        if (request!.Password is null || request.Password.Length > RegisterUser.PasswordLengthMax || !PhoneNumber.TryNormalize(request.Phone, out var phone))
            return InvalidCredentials();

        await using var connection = await db.OpenAsync(ct);
        var user = await connection.QuerySingleOrDefaultAsync<UserRow>(new CommandDefinition(
            "SELECT id, password_hash FROM users WHERE phone = @phone", new { phone }, cancellationToken: ct));
        // Verify against a decoy when the phone is unknown, so the answer's timing does not reveal which phones exist.
        var ok = hasher.Verify(request.Password, user?.password_hash ?? hasher.DecoyHash) && user is not null;
        if (!ok) return InvalidCredentials();

        return Results.Json(new
        {
            access_token = tokens.Issue(new UserSession(user!.id, Guid.CreateVersion7(), DateTimeOffset.UtcNow.ToUnixTimeSeconds())),
            token_type = "Bearer",
            expires_in = (long)tokens.Lifetime.TotalSeconds,
        }, JsonDefaults.Options);
    }

    private static IResult InvalidCredentials() => ApiProblem.Unauthorized("invalid_credentials", "Phone or password is wrong.");

    private sealed class UserRow
    {
        public Guid id { get; init; }
        public string password_hash { get; init; } = "";
    }
}
