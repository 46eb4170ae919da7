namespace Qianbao.Server.Adapters.Alipay;

/// <summary>Limits and tolerances applied while parsing a gateway request. Every field is a hard bound.</summary>
internal sealed record GatewayRequestOptions
{
    /// <summary>The defaults described on the protocol page.</summary>
    public static GatewayRequestOptions Default { get; } = new();

    /// <summary>Most distinct parameters, query and body together (default 64; the SDK sends about 10).</summary>
    public int ParameterCountMax { get; init; } = 64;

    /// <summary>Longest parameter name in characters (default 64).</summary>
    public int KeyLengthMax { get; init; } = 64;

    /// <summary>Longest parameter value in UTF-8 bytes, except <c>biz_content</c> (default 8 KiB).</summary>
    public int ValueBytesMax { get; init; } = 8 * 1024;

    /// <summary>Longest <c>biz_content</c> in UTF-8 bytes (default 32 KiB).</summary>
    public int BizContentBytesMax { get; init; } = 32 * 1024;

    /// <summary>Deepest JSON nesting accepted in <c>biz_content</c> (default 16; real payloads use 3).</summary>
    public int BizContentDepthMax { get; init; } = 16;

    /// <summary>Longest accepted <c>method</c> in characters (default 128; the longest Alipay method is ~60).</summary>
    public int MethodLengthMax { get; init; } = 128;

    /// <summary>
    /// How far the request <c>timestamp</c> may be from now, either way (default 15 minutes). Bounds the window in
    /// which a captured request can be replayed and tolerates ordinary clock drift.
    /// </summary>
    public TimeSpan TimestampSkewMax { get; init; } = TimeSpan.FromMinutes(15);
}
