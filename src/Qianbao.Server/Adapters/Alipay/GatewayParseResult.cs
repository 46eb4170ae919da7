using System.Diagnostics.CodeAnalysis;

namespace Qianbao.Server.Adapters.Alipay;

/// <summary>
/// The outcome of <see cref="GatewayRequest.Parse"/>: either a validated <see cref="Request"/> or an
/// <see cref="Error"/> for the endpoint to write. Exactly one of the two is set.
/// </summary>
internal readonly record struct GatewayParseResult
{
    private GatewayParseResult(GatewayRequest? request, GatewayError? error, string? method)
    {
        Request = request;
        Error = error;
        Method = method;
    }

    /// <summary>The validated request; set when <see cref="IsSuccess"/>.</summary>
    public GatewayRequest? Request { get; }

    /// <summary>Why the request was refused; set when not <see cref="IsSuccess"/>.</summary>
    public GatewayError? Error { get; }

    /// <summary>
    /// The <c>method</c> parameter when it was present and well-formed, even on failure, so the endpoint can answer
    /// under <c>&lt;method&gt;_response</c> (which the SDK can verify) instead of <c>error_response</c> (which it
    /// cannot). Null when the method was missing or malformed.
    /// </summary>
    public string? Method { get; }

    [MemberNotNullWhen(true, nameof(Request))]
    [MemberNotNullWhen(false, nameof(Error))]
    public bool IsSuccess => Request is not null;

    internal static GatewayParseResult Ok(GatewayRequest request) => new(request, null, request.Method);

    internal static GatewayParseResult Fail(GatewayError error, string? method) => new(null, error, method);
}
