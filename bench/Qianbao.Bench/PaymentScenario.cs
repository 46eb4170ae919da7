using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Qianbao.Server.Adapters.Alipay;

namespace Qianbao.Bench;

/// <summary>What each closed-loop client of the HTTP workload does per iteration.</summary>
public enum HttpScenario
{
    /// <summary><c>POST /v1/transfers</c> between random users.</summary>
    Transfer,

    /// <summary>The merchant precreates a trade through the gateway (signed), the buyer pays it with <c>POST /v1/qr-payments</c> and <c>coupon_id:"none"</c>.</summary>
    Payment,

    /// <summary>
    /// As <see cref="Payment"/>, with marketing on: the buyer holds claimed ¥1 coupons (the best one is applied) and redeems
    /// <see cref="PaymentScenario.PointsPerPayment"/> points; every payment also earns points.
    /// </summary>
    MarketingPayment,
}

/// <summary>
/// The merchant side of the payment scenarios: a verified merchant with an app whose key this process holds, and (for
/// <see cref="HttpScenario.MarketingPayment"/>) a platform coupon campaign whose coupons every buyer claims up front and a
/// first payment that gives each buyer points to redeem. The trades are precreated through the signed gateway before the
/// measured window (<see cref="PrecreateManyAsync"/>; RSA-2048 signing on both sides would otherwise bound the run at a few
/// hundred iterations/s), so the window's rate, latency and CPU are the buyer's payment request alone.
/// </summary>
internal sealed class PaymentScenario(HttpClient http, string appId, RSA appKey)
{
    /// <summary>Points redeemed per marketing payment (at the default 100 points per yuan, 5 fen).</summary>
    public const int PointsPerPayment = 5;

    /// <summary>Coupons each buyer claims before the run (the campaign's per-user maximum is 100).</summary>
    public const int CouponsPerUser = 100;

    /// <summary>The seed payment that gives each buyer points to redeem, in fen.</summary>
    private const long SeedPaymentMinor = 30_000;

    private long tradeCounter;

    /// <summary>A random valid unified social credit code (GB 32100: the server checks the check character).</summary>
    private static string NewCreditCode()
    {
        const string alphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY";
        int[] weights = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28];
        var chars = ("91110000" + new string(Enumerable.Range(0, 9).Select(_ => alphabet[Random.Shared.Next(alphabet.Length)]).ToArray())).ToCharArray();
        var sum = 0;
        for (var i = 0; i < 17; i++) sum += alphabet.IndexOf(chars[i]) * weights[i];
        return new string(chars) + alphabet[(31 - sum % 31) % 31];
    }

    public static async Task<PaymentScenario> SetUpAsync(HttpClient http, HttpWorkloadOptions options, IReadOnlyList<HttpWorkload.User> users,
        TextWriter progress, CancellationToken ct)
    {
        var key = options.OperatorKey ?? throw new ArgumentException("the payment scenarios set up a merchant: give the operator key");
        var merchant = await OperatorAsync(http, key, HttpMethod.Post, "/admin/v1/merchants", new JsonObject
        {
            ["name"] = "Bench Shop", ["credit_code"] = NewCreditCode(), ["legal_person"] = "张三",
            ["contact_phone"] = "13800138000", ["fee_bps"] = 60,
        }, HttpStatusCode.Created, ct);
        var merchantId = merchant["id"]!.GetValue<string>();
        await OperatorAsync(http, key, HttpMethod.Post, $"/admin/v1/merchants/{merchantId}/verify", null, HttpStatusCode.OK, ct);
        var appKey = RSA.Create(2048);
        var app = await OperatorAsync(http, key, HttpMethod.Post, $"/admin/v1/merchants/{merchantId}/apps",
            new JsonObject { ["app_public_key_pem"] = AlipayKeys.ExportPublicKeyBase64(appKey) }, HttpStatusCode.Created, ct);
        var scenario = new PaymentScenario(http, app["app_id"]!.GetValue<string>(), appKey);
        if (options.Scenario != HttpScenario.MarketingPayment) return scenario;

        var now = DateTimeOffset.UtcNow;
        var campaign = await OperatorAsync(http, key, HttpMethod.Post, "/admin/v1/campaigns", new JsonObject
        {
            ["name"] = "Bench coupons", ["kind"] = "coupon", ["funding"] = new JsonObject { ["source"] = "platform" },
            ["budget"] = new JsonObject { ["amount"] = 1_000_000_000L, ["currency"] = "CNY" },
            ["starts_at"] = now.AddMinutes(-1).ToString("O"), ["ends_at"] = now.AddDays(1).ToString("O"),
            ["coupon"] = new JsonObject
            {
                ["type"] = "fixed", ["amount"] = 100, ["stock"] = 1_000_000, ["per_user_max"] = CouponsPerUser, ["valid_days"] = 1,
            },
        }, HttpStatusCode.Created, ct, Guid.NewGuid().ToString("N"));
        var campaignId = campaign["id"]!.GetValue<string>();
        progress.WriteLine($"[http] each of {users.Count} buyers claims {CouponsPerUser} coupons and makes a seed payment for points ...");
        await Parallel.ForEachAsync(users, new ParallelOptions { MaxDegreeOfParallelism = 16, CancellationToken = ct }, async (user, token) =>
        {
            for (var i = 0; i < CouponsPerUser; i++)
            {
                var claim = await HttpWorkload.PostAsync(http, "/v1/coupons", user.Token, Guid.NewGuid().ToString("N"),
                    new JsonObject { ["campaign_id"] = campaignId }, token);
                if (claim.Status != HttpStatusCode.Created) throw new InvalidOperationException($"claiming a coupon answered {(int)claim.Status} {claim.Body}");
            }
            var (status, body) = await scenario.PayAsync(user, options.Secure, SeedPaymentMinor, usePoints: 0, coupon: false, token);
            if (status != HttpStatusCode.OK) throw new InvalidOperationException($"the seed payment answered {(int)status} {body}");
        });
        // Points are earned by an event subscriber shortly after each payment: wait until the last buyer has them.
        var deadline = DateTime.UtcNow.AddSeconds(60);
        foreach (var user in users)
        {
            while (true)
            {
                using var request = new HttpRequestMessage(HttpMethod.Get, "/v1/points");
                request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", user.Token);
                using var response = await http.SendAsync(request, ct);
                var points = JsonNode.Parse(await response.Content.ReadAsStringAsync(ct))?["balance"]?.GetValue<long>() ?? 0;
                if (points >= SeedPaymentMinor / 100) break;
                if (DateTime.UtcNow > deadline) throw new TimeoutException($"buyer {user.Id} has {points} points 60 s after the seed payment");
                await Task.Delay(50, ct);
            }
        }
        return scenario;
    }

    /// <summary>
    /// Precreates <paramref name="count"/> trades (1,000..1,999 fen each) through the signed gateway, 2 × processors at a time;
    /// their QR codes, in order. Runs before the measured window, so the merchant's requests are counted apart from the payments.
    /// </summary>
    public async Task<ConcurrentQueue<string>> PrecreateManyAsync(int count, int seed, CancellationToken ct)
    {
        var codes = new string[count];
        await Parallel.ForEachAsync(Enumerable.Range(0, count),
            new ParallelOptions { MaxDegreeOfParallelism = 2 * Environment.ProcessorCount, CancellationToken = ct }, async (i, token) =>
            {
                var amountMinor = 1_000 + new Random(HashCode.Combine(seed, i, "trade")).Next(1_000);
                var (qr, refusal) = await PrecreateAsync(amountMinor, token);
                codes[i] = qr?.QrCode ?? throw new InvalidOperationException("precreating a trade failed: " + refusal);
            });
        return new ConcurrentQueue<string>(codes);
    }

    /// <summary>The buyer pays the precreated trade <paramref name="qrCode"/>: the payment's status and body.</summary>
    public Task<(HttpStatusCode Status, string Body)> PayPrecreatedAsync(HttpWorkload.User buyer, bool secure, string qrCode, int usePoints, bool coupon,
        CancellationToken ct)
    {
        var body = new JsonObject { ["qr_code"] = qrCode };
        if (!coupon) body["coupon_id"] = "none";
        if (usePoints > 0) body["use_points"] = usePoints;
        return HttpWorkload.PostAsync(http, "/v1/qr-payments", buyer.Token, Guid.CreateVersion7().ToString("N"), body, ct, secure ? HttpWorkload.Pin : null);
    }

    /// <summary>
    /// One iteration: precreates a trade of <paramref name="amountMinor"/> through the gateway, then the buyer pays it. Returns the
    /// payment's status and body (or the precreate's failure as a 502-like status with its answer).
    /// </summary>
    public async Task<(HttpStatusCode Status, string Body)> PayAsync(HttpWorkload.User buyer, bool secure, long amountMinor, int usePoints, bool coupon,
        CancellationToken ct)
    {
        var (qr, refusal) = await PrecreateAsync(amountMinor, ct);
        if (qr is null) return (HttpStatusCode.BadGateway, "precreate failed: " + refusal);
        return await PayPrecreatedAsync(buyer, secure, qr.Value.QrCode, usePoints, coupon, ct);
    }

    /// <summary>The trade's QR code, or null and the gateway's answer.</summary>
    private async Task<((string QrCode, string TradeNo)? Qr, string Refusal)> PrecreateAsync(long amountMinor, CancellationToken ct)
    {
        var biz = JsonSerializer.Serialize(new
        {
            out_trade_no = "B" + Interlocked.Increment(ref tradeCounter).ToString(CultureInfo.InvariantCulture) + "-" + Guid.NewGuid().ToString("N")[..12],
            total_amount = (amountMinor / 100m).ToString("0.00", CultureInfo.InvariantCulture),
            subject = "bench",
        });
        var parameters = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["app_id"] = appId, ["method"] = "alipay.trade.precreate", ["charset"] = "utf-8", ["sign_type"] = "RSA2",
            ["timestamp"] = AlipayTime.ToChinaString(DateTimeOffset.UtcNow), ["version"] = "1.0", ["biz_content"] = biz,
        };
        parameters["sign"] = AlipaySignature.Sign(AlipaySignature.BuildRequestSignContent(parameters), appKey);
        var form = string.Join('&', parameters.Select(p => Uri.EscapeDataString(p.Key) + "=" + Uri.EscapeDataString(p.Value)));
        using var content = new StringContent(form, Encoding.UTF8, "application/x-www-form-urlencoded");
        using var response = await http.PostAsync("/gateway.do", content, ct);
        var raw = await response.Content.ReadAsStringAsync(ct);
        var inner = JsonNode.Parse(raw)?["alipay_trade_precreate_response"];
        if (inner?["code"]?.GetValue<string>() != "10000") return (null, $"{(int)response.StatusCode} {raw}");
        return ((inner["qr_code"]!.GetValue<string>(), inner["out_trade_no"]?.GetValue<string>() ?? ""), "");
    }

    private static async Task<JsonObject> OperatorAsync(HttpClient http, string key, HttpMethod method, string path, JsonObject? body, HttpStatusCode expected,
        CancellationToken ct, string? idempotencyKey = null)
    {
        using var request = new HttpRequestMessage(method, path);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        if (idempotencyKey is not null) request.Headers.Add("Idempotency-Key", idempotencyKey);
        if (body is not null) request.Content = new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json");
        using var response = await http.SendAsync(request, ct);
        var text = await response.Content.ReadAsStringAsync(ct);
        if (response.StatusCode != expected) throw new InvalidOperationException($"{method} {path} answered {(int)response.StatusCode} {text}");
        return JsonNode.Parse(text) as JsonObject ?? [];
    }
}
