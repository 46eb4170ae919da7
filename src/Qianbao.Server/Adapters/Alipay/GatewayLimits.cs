using System.Collections.Concurrent;
using System.Security.Cryptography;
using Qianbao.Server.Adapters.Alipay.Methods;

namespace Qianbao.Server.Adapters.Alipay;

/// <summary>
/// Token buckets, one per key (an app id or a client address), each holding at most one second's worth of requests and
/// refilled continuously. In memory and per process on purpose: a database round trip per gateway request would cost more
/// than what the limit protects, and a flood is absorbed where it lands. Keys idle long enough to be full again are
/// dropped once there are more than <see cref="KeysMax"/>, so many addresses cannot grow the table without bound.
/// </summary>
internal sealed class TokenBuckets(int perSecond, TimeProvider clock)
{
    public const int KeysMax = 100_000;

    private readonly ConcurrentDictionary<string, Bucket> buckets = new(StringComparer.Ordinal);

    /// <summary>Takes one token for <paramref name="key"/>; false when its bucket is empty (over the limit).</summary>
    public bool TryTake(string key)
    {
        var now = clock.GetTimestamp();
        var bucket = buckets.GetOrAdd(key, static (_, state) => new Bucket(state.perSecond, state.now), (perSecond, now));
        bool taken;
        lock (bucket)
        {
            bucket.Refill(now, perSecond, clock);
            taken = bucket.Tokens >= 1;
            if (taken) bucket.Tokens -= 1;
        }
        if (buckets.Count > KeysMax) Sweep(now);
        return taken;
    }

    private void Sweep(long now)
    {
        foreach (var (key, bucket) in buckets)
        {
            lock (bucket)
            {
                bucket.Refill(now, perSecond, clock);
                if (bucket.Tokens >= perSecond) buckets.TryRemove(key, out _);
            }
        }
        // Still full of busy keys (a flood from very many addresses): start over rather than grow; briefly lenient.
        if (buckets.Count > KeysMax) buckets.Clear();
    }

    private sealed class Bucket(double tokens, long stamp)
    {
        public double Tokens = tokens;
        private long stamp = stamp;

        public void Refill(long now, int perSecond, TimeProvider clock)
        {
            if (now <= stamp) return;
            Tokens = Math.Min(perSecond, Tokens + clock.GetElapsedTime(stamp, now).TotalSeconds * perSecond);
            stamp = now;
        }
    }
}

/// <summary>The gateway's two limits: per client address (checked first) and per app (checked before its signature).</summary>
internal sealed class GatewayLimits(GatewayOptions options, TimeProvider clock)
{
    /// <summary>The msg Alipay's gateway table gives code 40005 (调用频次超限).</summary>
    public const string CallLimitedMsg = "Call Limited";

    private readonly TokenBuckets perApp = new(options.RequestsPerSecondMax, clock);
    private readonly TokenBuckets perAddress = new(options.RequestsPerSecondPerAddressMax, clock);

    public bool AllowsAddress(System.Net.IPAddress? address) => perAddress.TryTake(address?.ToString() ?? "unknown");

    public bool AllowsApp(string appId) => perApp.TryTake(appId);

    /// <summary>
    /// 40005 Call Limited, <c>isv.app-call-limited</c>: Alipay's flow-control answer (应用调用次数超限，包含调用频率超限); the
    /// caller slows down and retries. The same code for the per-address limit, which Alipay does not name separately.
    /// </summary>
    public static GatewayError AppCallLimited(string subMsg) =>
        new(GatewayCodes.CallLimited, CallLimitedMsg, GatewaySubCodes.AppCallLimited, subMsg);
}

/// <summary>
/// Signed answers to requests refused before their app is known (a malformed or incomplete request). Their text is fixed
/// (the method from our table, a fixed code and message), so each is signed once per platform key and reused: such a
/// request costs no RSA signature, yet the SDK can still verify the answer under the method's key. Bounded: a table of
/// more than <see cref="EntriesMax"/> answers is dropped and refilled.
/// </summary>
internal sealed class GatewayFixedAnswers
{
    public const int EntriesMax = 1024;

    private readonly ConcurrentDictionary<(RSA Key, string? Method, GatewayError Error), byte[]> answers = new();

    public byte[] Get(RSA platformKey, string? method, GatewayError error)
    {
        if (answers.TryGetValue((platformKey, method, error), out var body)) return body;
        if (answers.Count >= EntriesMax) answers.Clear();
        body = new GatewayResponseWriter(platformKey).WriteError(method, error);
        answers[(platformKey, method, error)] = body;
        return body;
    }
}
