using System.Text.Json;
using Dapper;
using Qianbao.Server.Http;
using Qianbao.Server.Money.Ledger;
using Qianbao.Server.Storage;

namespace Qianbao.Server.Money;

/// <summary>
/// The <c>Idempotency-Key</c> contract for POSTs that move money: the same key and body replay the first
/// response; the same key with another body is 422 <c>idempotency_key_reused</c>. The first response is
/// stored by the ledger executor in the same transaction as the transfer it describes (see
/// <see cref="StoredResponse"/>), and ids derived from the key make a concurrent duplicate hit the
/// transfers table's primary key rather than move money twice. Records are kept at least 24 hours.
/// </summary>
public sealed class Idempotency(Db db, TimeProvider clock)
{
    public const int KeyLengthMax = 255;
    public static readonly TimeSpan Retention = TimeSpan.FromHours(48);

    /// <summary>
    /// Starts an idempotent request: a replayed response (or a problem) to return at once, or a
    /// <see cref="IdempotentRequest"/> to carry on with.
    /// </summary>
    /// <param name="lookUp">
    /// false: do not look the key up now; the request must then go through <see cref="MoneyMovement.ExecuteAsync"/>, whose batch
    /// is guarded by <see cref="IdempotencyKeyFreeGuard"/> and answers a replay from what is stored (one round trip less for
    /// every first request; the checks before the batch run again for a replay, and they only read).
    /// </param>
    public async Task<(IdempotentRequest? Request, IResult? Done)> BeginAsync(HttpContext http, string scope, byte[] body, CancellationToken ct,
        bool lookUp = true)
    {
        var key = http.Request.Headers["Idempotency-Key"].ToString();
        if (key.Length == 0)
            return (null, ApiProblem.BadRequest("idempotency_key_missing", "Send an Idempotency-Key header (1-255 printable ASCII characters)."));
        if (key.Length > KeyLengthMax || key.Any(c => c is < '!' or > '~'))
            return (null, ApiProblem.BadRequest("idempotency_key_invalid", "The Idempotency-Key must be 1-255 printable ASCII characters."));

        var request = new IdempotentRequest(scope, key, RequestBody.Hash(http.Request.Method, http.Request.Path, body), clock) { LookedUp = lookUp };
        if (!lookUp) return (request, null);
        var stored = await FindAsync(scope, key, ct);
        if (stored is null) return (request, null);
        return (null, Replay(stored, request.RequestHash));
    }

    /// <summary>The stored first response for <paramref name="request"/>, for a replay that lost the race to store it.</summary>
    public async Task<IResult?> FindReplayAsync(IdempotentRequest request, CancellationToken ct)
    {
        var stored = await FindAsync(request.Scope, request.Key, ct);
        return stored is null ? null : Replay(stored, request.RequestHash);
    }

    private static IResult Replay(StoredRow stored, string requestHash) =>
        stored.request_hash == requestHash
            ? new RawJsonResult(stored.status_code, stored.body)
            : KeyReused();

    public static IResult KeyReused() =>
        ApiProblem.Unprocessable("idempotency_key_reused", "This Idempotency-Key was used with a different request.");

    private async Task<StoredRow?> FindAsync(string scope, string key, CancellationToken ct)
    {
        await using var connection = await db.OpenAsync(ct);
        return await connection.QuerySingleOrDefaultAsync<StoredRow>(new CommandDefinition(
            "SELECT request_hash, status_code, body FROM idempotency_keys WHERE scope = @scope AND key = @key",
            new { scope, key }, cancellationToken: ct));
    }

    /// <summary>Deletes records past <see cref="Retention"/>; returns how many.</summary>
    public async Task<int> PurgeAsync(CancellationToken ct)
    {
        await using var connection = await db.OpenAsync(ct);
        var cutoff = (clock.GetUtcNow() - Retention).ToUnixTimeMilliseconds() * 1000;
        return await connection.ExecuteAsync(new CommandDefinition("DELETE FROM idempotency_keys WHERE created_at_us < @cutoff", new { cutoff }, cancellationToken: ct));
    }

    private sealed class StoredRow
    {
        public string request_hash { get; init; } = "";
        public int status_code { get; init; }
        public string body { get; init; } = "";
    }
}

/// <summary>An idempotent request in progress: its scope, key and body hash.</summary>
public sealed record IdempotentRequest(string Scope, string Key, string RequestHash, TimeProvider Clock)
{
    /// <summary>A name for ids derived from this request: the same key in the same scope names the same object.</summary>
    public string Name => Scope + "/" + Key;

    /// <summary>Whether the key was looked up when the request began; if not, its batch is guarded by <see cref="IdempotencyKeyFreeGuard"/>.</summary>
    public bool LookedUp { get; init; } = true;

    /// <summary>The response to store with the ledger effect, and to return now.</summary>
    public StoredResponse Response(int statusCode, object body) =>
        new(Scope, Key, RequestHash, statusCode, JsonSerializer.Serialize(body, JsonDefaults.Options), Hosting.TimeProviderExtensions.GetUnixMicroseconds(Clock));
}

/// <summary>Writes a stored JSON body as it was first sent.</summary>
public sealed class RawJsonResult(int statusCode, string body) : IResult
{
    public int StatusCode => statusCode;
    public string Body => body;

    public Task ExecuteAsync(HttpContext httpContext)
    {
        httpContext.Response.StatusCode = statusCode;
        httpContext.Response.ContentType = statusCode >= 400 ? ApiProblem.ContentType : "application/json; charset=utf-8";
        return httpContext.Response.WriteAsync(body);
    }
}
