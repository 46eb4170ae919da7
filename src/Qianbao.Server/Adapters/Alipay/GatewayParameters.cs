using System.Diagnostics.CodeAnalysis;
using System.Text;
using Microsoft.Extensions.Primitives;

namespace Qianbao.Server.Adapters.Alipay;

/// <summary>
/// Merges the query string and the url-encoded form body of a gateway request into one ordinal dictionary.
/// The SDK puts public parameters in the query and <c>biz_content</c> in the body, but other clients put
/// everything in one place, so both are read. Ambiguity is refused rather than resolved: the signature covers one
/// value per key, and picking one of two silently would let a proxy or attacker change what we act on without
/// changing what we verified.
/// </summary>
internal static class GatewayParameters
{
    /// <summary>
    /// Collects parameters. Fails with 40002 <c>isv.invalid-parameter</c> when a key repeats within the query or
    /// within the body, appears in both with different values, is not <c>[A-Za-z0-9_.-]</c>, or when a count or
    /// length limit of <paramref name="options"/> is exceeded. A key in both places with the same value is kept once.
    /// </summary>
    /// <param name="query">Decoded query pairs, e.g. ASP.NET Core's <c>Request.Query</c>.</param>
    /// <param name="form">Decoded form pairs, e.g. <c>Request.Form</c>; empty when the body is not a form.</param>
    public static bool TryCollect(
        IEnumerable<KeyValuePair<string, StringValues>> query,
        IEnumerable<KeyValuePair<string, StringValues>> form,
        GatewayRequestOptions options,
        [NotNullWhen(true)] out Dictionary<string, string>? parameters,
        out GatewayError error)
    {
        ArgumentNullException.ThrowIfNull(query);
        ArgumentNullException.ThrowIfNull(form);
        ArgumentNullException.ThrowIfNull(options);
        parameters = null;
        var collected = new Dictionary<string, string>(StringComparer.Ordinal);

        if (!TryAddAll(collected, query, options, fromBody: false, out error)
            || !TryAddAll(collected, form, options, fromBody: true, out error))
        {
            return false;
        }

        parameters = collected;
        error = default;
        return true;
    }

    private static bool TryAddAll(
        Dictionary<string, string> collected,
        IEnumerable<KeyValuePair<string, StringValues>> source,
        GatewayRequestOptions options,
        bool fromBody,
        out GatewayError error)
    {
        // Keys seen in this source, so a repeat inside one source is caught even when its values agree.
        var seenHere = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (key, values) in source)
        {
            if (!IsValidKey(key, options.KeyLengthMax))
            {
                error = GatewayErrors.InvalidParameter("参数名无效");
                return false;
            }

            if (values.Count > 1 || !seenHere.Add(key))
            {
                error = GatewayErrors.InvalidParameter("参数重复: " + key);
                return false;
            }

            // A key with no value at all ("?a" or a null entry) is the same as an empty one.
            var value = values.Count == 0 ? string.Empty : values[0] ?? string.Empty;
            var bytesMax = key == "biz_content" ? options.BizContentBytesMax : options.ValueBytesMax;

            // Char count bounds the byte count from below, so a cheap length check avoids encoding huge values.
            if (value.Length > bytesMax || Encoding.UTF8.GetByteCount(value) > bytesMax)
            {
                error = GatewayErrors.InvalidParameter("参数过长: " + key);
                return false;
            }

            if (collected.TryGetValue(key, out var existing))
            {
                // Only reachable for the body, after the query was collected.
                if (!fromBody || !string.Equals(existing, value, StringComparison.Ordinal))
                {
                    error = GatewayErrors.InvalidParameter("参数重复: " + key);
                    return false;
                }

                continue;
            }

            if (collected.Count >= options.ParameterCountMax)
            {
                error = GatewayErrors.InvalidParameter("参数过多");
                return false;
            }

            collected.Add(key, value);
        }

        error = default;
        return true;
    }

    private static bool IsValidKey(string? key, int lengthMax)
    {
        if (string.IsNullOrEmpty(key) || key.Length > lengthMax)
        {
            return false;
        }

        foreach (var c in key)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c is '_' or '.' or '-'))
            {
                return false;
            }
        }

        return true;
    }
}
