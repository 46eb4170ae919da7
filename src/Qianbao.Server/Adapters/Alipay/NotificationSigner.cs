using System.Security.Cryptography;
using System.Text;

namespace Qianbao.Server.Adapters.Alipay;

/// <summary>
/// A signed asynchronous notification, ready to POST as <c>application/x-www-form-urlencoded; charset=utf-8</c>.
/// </summary>
/// <param name="Fields">Every field sent, including <c>sign_type</c> and <c>sign</c>, keys in ordinal order.</param>
/// <param name="FormBody">The url-encoded body (RFC 3986 percent-encoding, UTF-8).</param>
internal sealed record SignedNotification(IReadOnlyList<KeyValuePair<string, string>> Fields, string FormBody);

/// <summary>
/// Signs asynchronous notifications (<c>trade_status_sync</c>) the way Alipay does: SHA256withRSA with the platform
/// key over every field except <c>sign</c> and <c>sign_type</c>, sorted, joined as <c>k=v</c> with <c>&amp;</c>.
/// </summary>
internal static class NotificationSigner
{
    /// <summary>
    /// Adds <c>sign_type</c>=RSA2 and <c>sign</c> to <paramref name="fields"/> and encodes the form body.
    /// Fields with empty values are left out of the body entirely: Alipay's rule drops them from the string-to-sign
    /// but the SDK's <c>checkNotifySign</c> keeps every key it receives, so only omission makes both agree.
    /// </summary>
    /// <param name="fields">Notification fields without <c>sign</c> or <c>sign_type</c>; keys must be unique.</param>
    /// <param name="platformPrivateKey">The platform key whose public half merchants hold.</param>
    public static SignedNotification Sign(IEnumerable<KeyValuePair<string, string>> fields, RSA platformPrivateKey)
    {
        ArgumentNullException.ThrowIfNull(fields);
        ArgumentNullException.ThrowIfNull(platformPrivateKey);

        var kept = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (var (key, value) in fields)
        {
            if (string.IsNullOrEmpty(key) || key is "sign" or "sign_type")
            {
                throw new ArgumentException($"Field name '{key}' is empty or reserved.", nameof(fields));
            }

            if (string.IsNullOrEmpty(value))
            {
                continue;
            }

            if (!kept.TryAdd(key, value))
            {
                throw new ArgumentException($"Field '{key}' is repeated.", nameof(fields));
            }
        }

        var sign = AlipaySignature.Sign(AlipaySignature.BuildNotifySignContent(kept), platformPrivateKey);
        kept.Add("sign_type", "RSA2");
        kept.Add("sign", sign);

        var body = new StringBuilder();
        foreach (var (key, value) in kept)
        {
            if (body.Length > 0)
            {
                body.Append('&');
            }

            body.Append(Uri.EscapeDataString(key)).Append('=').Append(Uri.EscapeDataString(value));
        }

        return new SignedNotification(kept.ToList(), body.ToString());
    }
}
