using System.Buffers;
using System.Security.Cryptography;
using System.Text.Json;

namespace Qianbao.Server.Http;

/// <summary>
/// Reads a JSON request body with a hard size limit, so a caller's mistake (too large, not JSON,
/// malformed) becomes a 4xx problem with a stable code rather than a framework exception.
/// </summary>
public static class RequestBody
{
    public const int SizeMaxBytes = 64 * 1024;

    /// <summary>The raw body, or a problem: 413 <c>body_too_large</c>, 415 <c>unsupported_media_type</c>.</summary>
    public static async Task<(byte[]? Bytes, IResult? Problem)> ReadAsync(HttpRequest request, CancellationToken ct)
    {
        if (request.ContentLength > SizeMaxBytes) return (null, TooLarge());
        if (request.ContentType is { } type && !type.StartsWith("application/json", StringComparison.OrdinalIgnoreCase))
            return (null, ApiProblem.Create(StatusCodes.Status415UnsupportedMediaType, "unsupported_media_type", "Unsupported media type.", "Send application/json."));

        var buffer = ArrayPool<byte>.Shared.Rent(SizeMaxBytes + 1);
        try
        {
            var length = 0;
            while (true)
            {
                int read;
                try
                {
                    read = await request.Body.ReadAsync(buffer.AsMemory(length, SizeMaxBytes + 1 - length), ct);
                }
                catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
                {
                    return (null, TooLarge());
                }
                if (read == 0) break;
                length += read;
                if (length > SizeMaxBytes) return (null, TooLarge());
            }
            return (buffer.AsSpan(0, length).ToArray(), null);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>Parses a JSON object body into <typeparamref name="T"/>, or a 400 <c>malformed_json</c> problem.</summary>
    public static (T? Value, IResult? Problem) Parse<T>(byte[] body) where T : class
    {
        try
        {
            var value = JsonSerializer.Deserialize<T>(body, JsonDefaults.Options);
            return value is null ? (null, Malformed("The body must be a JSON object.")) : (value, null);
        }
        catch (JsonException e)
        {
            return (null, Malformed(e.Path is { Length: > 1 } path ? $"Malformed JSON at {path}." : "Malformed JSON."));
        }
    }

    /// <summary>Reads and parses in one step.</summary>
    public static async Task<(T? Value, byte[]? Bytes, IResult? Problem)> ReadJsonAsync<T>(HttpRequest request, CancellationToken ct) where T : class
    {
        var (bytes, problem) = await ReadAsync(request, ct);
        if (problem is not null) return (null, null, problem);
        var (value, parseProblem) = Parse<T>(bytes!);
        return (value, bytes, parseProblem);
    }

    public static string Hash(string method, string path, byte[] body)
    {
        var prefix = System.Text.Encoding.UTF8.GetBytes(method + " " + path + "\n");
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        sha.AppendData(prefix);
        sha.AppendData(body);
        return Convert.ToHexStringLower(sha.GetHashAndReset());
    }

    private static IResult Malformed(string detail) => ApiProblem.BadRequest("malformed_json", detail);

    private static IResult TooLarge() =>
        ApiProblem.Create(StatusCodes.Status413PayloadTooLarge, "body_too_large", "The body is too large.", $"At most {SizeMaxBytes} bytes.");
}
