namespace Qianbao.Server.Http;

/// <summary>
/// RFC 9457 problem details with a stable snake_case <c>code</c>. Every error the API returns goes
/// through here, so the README's table of codes and the behaviour cannot drift apart.
/// </summary>
public static class ApiProblem
{
    public const string ContentType = "application/problem+json";

    public static IResult Create(int status, string code, string title, string? detail = null) =>
        Results.Json(Body(status, code, title, detail), JsonDefaults.Options, ContentType, status);

    public static Dictionary<string, object?> Body(int status, string code, string title, string? detail = null) => new()
    {
        ["type"] = $"https://qianbao.dev/problems/{code}",
        ["title"] = title,
        ["status"] = status,
        ["code"] = code,
        ["detail"] = detail,
    };

    public static IResult BadRequest(string code, string detail) => Create(StatusCodes.Status400BadRequest, code, "The request is invalid.", detail);
    public static IResult Unprocessable(string code, string detail) => Create(StatusCodes.Status422UnprocessableEntity, code, "The request cannot be carried out.", detail);
    public static IResult Unauthorized(string code, string detail) => Create(StatusCodes.Status401Unauthorized, code, "Authentication is required.", detail);
    public static IResult NotFound(string detail = "No such object.") => Create(StatusCodes.Status404NotFound, "not_found", "Not found.", detail);
    public static IResult Conflict(string code, string detail) => Create(StatusCodes.Status409Conflict, code, "Conflict.", detail);
    public static IResult Forbidden(string code, string detail) => Create(StatusCodes.Status403Forbidden, code, "Not allowed.", detail);

    /// <summary>A problem with extra members beside the standard ones (e.g. <c>attempts_left</c>, <c>verification_id</c>).</summary>
    public static IResult WithExtensions(int status, string code, string title, string detail, IReadOnlyDictionary<string, object?> extensions)
    {
        var body = Body(status, code, title, detail);
        foreach (var (key, value) in extensions) body[key] = value;
        return Results.Json(body, JsonDefaults.Options, ContentType, status);
    }

    /// <summary>429 with <c>Retry-After</c> in whole seconds (at least 1).</summary>
    public static IResult TooMany(string code, string detail, TimeSpan retryAfter) =>
        new RetryAfterResult(Create(StatusCodes.Status429TooManyRequests, code, "Too many requests.", detail), retryAfter);

    private sealed class RetryAfterResult(IResult inner, TimeSpan retryAfter) : IResult, IStatusCodeHttpResult
    {
        public int? StatusCode => StatusCodes.Status429TooManyRequests;

        public Task ExecuteAsync(HttpContext httpContext)
        {
            var seconds = Math.Max(1, (long)Math.Ceiling(retryAfter.TotalSeconds));
            httpContext.Response.Headers.RetryAfter = seconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
            return inner.ExecuteAsync(httpContext);
        }
    }
}
