using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;

namespace Qianbao.Bench;

/// <summary>Settings of one HTTP load run against a running server (<c>Qianbao.Bench http ...</c>).</summary>
public sealed class HttpWorkloadOptions
{
    /// <summary>The server's base address, e.g. http://127.0.0.1:5080; not needed when an <see cref="HttpClient"/> is given.</summary>
    public Uri? Url { get; init; }

    /// <summary>Concurrent closed-loop clients, each on its own keep-alive connection, 1..10000.</summary>
    public int Clients { get; init; } = 64;

    /// <summary>Users to register and top up; transfers go between them. 2..100000.</summary>
    public int Users { get; init; } = 200;

    public double DurationS { get; init; } = 15;
    public double WarmupS { get; init; } = 2;

    /// <summary>Stop after this many transfers were sent (for quick, bounded runs).</summary>
    public long TransfersMax { get; init; } = long.MaxValue;

    public int Seed { get; init; } = 1;

    /// <summary>The operator key, to run <c>GET /admin/v1/ledger/check</c> after the load; skipped when null.</summary>
    public string? OperatorKey { get; init; }

    /// <summary>How long to wait for <c>/readyz</c> before giving up, in seconds.</summary>
    public double ReadyTimeoutS { get; init; } = 60;

    /// <summary>
    /// Sets users up as a secure server requires (codes read from the sandbox SMS messages with <see cref="OperatorKey"/>,
    /// a device login, a payment PIN, a verified identity and a bank card for class II limits) and sends every money
    /// request with <c>X-Payment-Pin</c>. Run the server with <c>Qianbao:Security:Relaxed=false</c> and
    /// <c>NewDeviceStepUpHours=0</c> (this workload does not answer step-up challenges).
    /// </summary>
    public bool Secure { get; init; }

    /// <summary>Each user's top-up, in fen.</summary>
    public long TopUpAmountMinor { get; init; } = 100_000_000;

    /// <summary>What each client does per iteration: transfers (default) or merchant payments with or without marketing.</summary>
    public HttpScenario Scenario { get; init; } = HttpScenario.Transfer;

    /// <summary>
    /// Payment scenarios: trades the merchant precreates before the load (outside the measured window); 0 = (warm-up + window)
    /// × 800 (at most <see cref="TransfersMax"/>). When they run out the clients stop and the window ends with the last payment.
    /// </summary>
    public int PaymentTrades { get; init; }

    /// <summary>The trades to precreate for a payment scenario.</summary>
    public int TradesToPrecreate => (int)Math.Min(TransfersMax, PaymentTrades > 0 ? PaymentTrades : (long)Math.Ceiling((WarmupS + DurationS) * 800));

    /// <summary>
    /// Told the load window (Stopwatch ticks: measuring starts, load ends) when the clients start, after the setup; the growth
    /// benchmark's history readers read during it.
    /// </summary>
    public Action<long, long>? LoadStarting { get; init; }

    public void Validate()
    {
        if (Clients is < 1 or > 10_000) throw new ArgumentOutOfRangeException(nameof(Clients), Clients, "1..10000");
        if (Users is < 2 or > 100_000) throw new ArgumentOutOfRangeException(nameof(Users), Users, "2..100000");
        if (DurationS is < 0.1 or > 3600) throw new ArgumentOutOfRangeException(nameof(DurationS), DurationS, "0.1..3600");
        if (WarmupS is < 0 or > 600) throw new ArgumentOutOfRangeException(nameof(WarmupS), WarmupS, "0..600");
        if (TransfersMax < 1) throw new ArgumentOutOfRangeException(nameof(TransfersMax), TransfersMax, "at least 1");
        if (PaymentTrades is < 0 or > 10_000_000) throw new ArgumentOutOfRangeException(nameof(PaymentTrades), PaymentTrades, "0..10000000");
        if (TopUpAmountMinor < 1) throw new ArgumentOutOfRangeException(nameof(TopUpAmountMinor), TopUpAmountMinor, "at least 1");
        if (Secure && OperatorKey is null) throw new ArgumentException("a secure run reads codes from the sandbox messages: give the operator key", nameof(OperatorKey));
        if (Scenario != HttpScenario.Transfer && OperatorKey is null) throw new ArgumentException("the payment scenarios set up a merchant: give the operator key", nameof(OperatorKey));
    }
}

public sealed record HttpWorkloadResult
{
    public required int Clients { get; init; }
    public required int Users { get; init; }
    public required double SetupSeconds { get; init; }
    public required long Created { get; init; }
    public required long Rejected { get; init; }
    public required long Failed { get; init; }
    public required long MeasuredTransfers { get; init; }
    public required double MeasuredSeconds { get; init; }

    /// <summary>Payments a coupon took something off (marketing scenario).</summary>
    public long Discounted { get; init; }

    /// <summary>Payments that redeemed points (marketing scenario).</summary>
    public long PointsRedeemed { get; init; }

    /// <summary>Payment scenarios: trades precreated before the window, and the seconds that took (not in the window).</summary>
    public int TradesPrecreated { get; init; }
    public double PrecreateSeconds { get; init; }

    /// <summary>Payment scenarios: the precreated trades ran out before the window's end (it ended with the last payment).</summary>
    public bool TradesRanOut { get; init; }
    public double TransfersPerSecond => MeasuredSeconds > 0 ? MeasuredTransfers / MeasuredSeconds : 0;
    public required double P50Ms { get; init; }
    public required double P99Ms { get; init; }
    public required double MaxMs { get; init; }
    public required bool? CheckOk { get; init; }
    public required IReadOnlyList<string> Problems { get; init; }
    public bool Ok => Problems.Count == 0;
}

/// <summary>
/// The wallet API under load over keep-alive HTTP/1.1: registers users, tops each up through
/// <c>POST /v1/topups</c> and waits until the sandbox bank has confirmed it, then closed-loop clients send
/// <c>POST /v1/transfers</c> between random users, each with a fresh Idempotency-Key. Afterwards the sum of
/// all wallets must still be what was topped up, and the operator's ledger check (when a key is given) must pass.
/// </summary>
public static class HttpWorkload
{
    private const string Password = "bench-password-1";
    internal const string Pin = "246810";

    internal sealed record User(Guid Id, string Token);

    private sealed class ClientState
    {
        public readonly LatencyHistogram Histogram = new();
        public long Created;
        public long Measured;
        public long PaidMinor;
        public long Discounted;
        public long PointsRedeemed;
        public long Rejected;
        public long Failed;
        public string? FirstProblem;

        public void Fail(string problem)
        {
            Failed++;
            FirstProblem ??= problem;
        }
        public long LastCompletionTicks;
    }

    /// <summary>Runs against <see cref="HttpWorkloadOptions.Url"/> over keep-alive connections, one per client.</summary>
    public static async Task<HttpWorkloadResult> RunAsync(HttpWorkloadOptions options, TextWriter? progress = null, CancellationToken ct = default)
    {
        if (options.Url is null) throw new ArgumentException("a URL is required", nameof(options));
        using var handler = new SocketsHttpHandler
        {
            MaxConnectionsPerServer = options.Clients + 16,
            PooledConnectionLifetime = Timeout.InfiniteTimeSpan,
            PooledConnectionIdleTimeout = TimeSpan.FromMinutes(5),
            UseCookies = false,
            AutomaticDecompression = DecompressionMethods.None,
        };
        using var http = new HttpClient(handler) { BaseAddress = options.Url, Timeout = TimeSpan.FromSeconds(60) };
        return await RunAsync(options, http, progress, ct);
    }

    /// <summary>Runs through <paramref name="http"/> (its base address is the server), e.g. an in-process test server's client.</summary>
    public static async Task<HttpWorkloadResult> RunAsync(HttpWorkloadOptions options, HttpClient http, TextWriter? progress = null, CancellationToken ct = default)
    {
        options.Validate();
        progress ??= TextWriter.Null;
        var setup = Stopwatch.StartNew();

        await WaitReadyAsync(http, options.ReadyTimeoutS, ct);
        progress.WriteLine($"[http] registering and topping up {options.Users} users ...");
        var users = new User[options.Users];
        await Parallel.ForEachAsync(Enumerable.Range(0, options.Users), new ParallelOptions { MaxDegreeOfParallelism = 16, CancellationToken = ct },
            async (i, token) => users[i] = await RegisterAndTopUpAsync(http, options, i, token));
        var payments = options.Scenario == HttpScenario.Transfer ? null : await PaymentScenario.SetUpAsync(http, options, users, progress, ct);
        // The merchant's side, signed with RSA-2048 by both ends, happens here, before the window: the window measures the payments.
        ConcurrentQueue<string>? trades = null;
        var precreate = Stopwatch.StartNew();
        if (payments is not null)
        {
            progress.WriteLine($"[http] the merchant precreates {options.TradesToPrecreate} trades through the gateway ...");
            trades = await payments.PrecreateManyAsync(options.TradesToPrecreate, options.Seed, ct);
            progress.WriteLine($"[http] precreated {trades.Count} trades in {precreate.Elapsed.TotalSeconds:0.0} s ({trades.Count / Math.Max(precreate.Elapsed.TotalSeconds, 1e-3):0}/s)");
        }
        precreate.Stop();
        var tradesPrecreated = trades?.Count ?? 0;
        var walletsBefore = await SumWalletsAsync(http, users, ct);
        setup.Stop();
        progress.WriteLine($"[http] setup took {setup.Elapsed.TotalSeconds:0.0} s; running {options.Clients} clients for " +
            $"{options.WarmupS:0.#} s warm-up + {options.DurationS:0.#} s");

        var start = Stopwatch.GetTimestamp();
        var measureStart = start + (long)(options.WarmupS * Stopwatch.Frequency);
        var end = measureStart + (long)(options.DurationS * Stopwatch.Frequency);
        options.LoadStarting?.Invoke(measureStart, end);
        var budget = options.TransfersMax;
        var clients = Enumerable.Range(0, options.Clients).Select(_ => new ClientState()).ToArray();
        var tasks = new Task[options.Clients];
        for (var c = 0; c < tasks.Length; c++)
        {
            var state = clients[c];
            var random = new Random(HashCode.Combine(options.Seed, c, "http"));
            var client = c;
            tasks[c] = Task.Run(() => payments is null ? ClientAsync(state, random) : PaymentClientAsync(state, random, payments, trades!, client), ct);
        }
        await Task.WhenAll(tasks);
        var lastCompletion = clients.Max(s => s.LastCompletionTicks);

        var histogram = new LatencyHistogram();
        foreach (var s in clients) histogram.Add(s.Histogram);
        var problems = new List<string>();
        var failed = clients.Sum(s => s.Failed);
        if (failed > 0) problems.Add($"{failed} transfers failed, first: {clients.Select(s => s.FirstProblem).First(p => p is not null)}");
        var created = clients.Sum(s => s.Created);
        if (created == 0) problems.Add("no transfer was acknowledged");
        var walletsAfter = await SumWalletsAsync(http, users, ct);
        var paid = clients.Sum(s => s.PaidMinor);
        if (walletsAfter != walletsBefore - paid)
            problems.Add($"the users' wallets held {walletsBefore} fen before the run and {walletsAfter} fen after, having paid {paid} fen");
        bool? checkOk = null;
        if (options.OperatorKey is { } key)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, "/admin/v1/ledger/check");
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
            using var response = await http.SendAsync(request, ct);
            var body = await response.Content.ReadAsStringAsync(ct);
            checkOk = response.StatusCode == HttpStatusCode.OK && JsonNode.Parse(body)?["ok"]?.GetValue<bool>() == true;
            if (checkOk != true) problems.Add($"ledger check failed: {(int)response.StatusCode} {body[..Math.Min(body.Length, 500)]}");
        }

        return new HttpWorkloadResult
        {
            Clients = options.Clients,
            Users = options.Users,
            SetupSeconds = setup.Elapsed.TotalSeconds,
            Created = created,
            Rejected = clients.Sum(s => s.Rejected),
            Failed = failed,
            MeasuredTransfers = clients.Sum(s => s.Measured),
            Discounted = clients.Sum(s => s.Discounted),
            PointsRedeemed = clients.Sum(s => s.PointsRedeemed),
            TradesPrecreated = tradesPrecreated,
            PrecreateSeconds = precreate.Elapsed.TotalSeconds,
            TradesRanOut = trades is not null && trades.IsEmpty && lastCompletion < end,
            MeasuredSeconds = Math.Max(0, Math.Min(end, lastCompletion) - measureStart) / (double)Stopwatch.Frequency,
            P50Ms = histogram.PercentileMs(50),
            P99Ms = histogram.PercentileMs(99),
            MaxMs = histogram.MaxMs,
            CheckOk = checkOk,
            Problems = problems,
        };

        async Task ClientAsync(ClientState state, Random random)
        {
            while (Stopwatch.GetTimestamp() < end && Interlocked.Decrement(ref budget) >= 0)
            {
                var from = random.Next(users.Length);
                var other = random.Next(users.Length - 1);
                var to = other >= from ? other + 1 : other;
                var amount = 1 + random.Next(1_000);
                using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/transfers")
                {
                    Content = Json($$"""{"to_user_id":"{{users[to].Id}}","amount":{{amount}},"currency":"CNY"}"""),
                };
                request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", users[from].Token);
                request.Headers.Add("Idempotency-Key", Guid.CreateVersion7().ToString("N"));
                if (options.Secure) request.Headers.Add("X-Payment-Pin", Pin);

                var sent = Stopwatch.GetTimestamp();
                HttpStatusCode status;
                string? problem = null;
                try
                {
                    using var response = await http.SendAsync(request, CancellationToken.None);
                    status = response.StatusCode;
                    if (status != HttpStatusCode.Created) problem = await response.Content.ReadAsStringAsync(CancellationToken.None);
                    else await response.Content.LoadIntoBufferAsync(CancellationToken.None);
                }
                catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
                {
                    state.Fail(ex.GetType().Name + ": " + ex.Message);
                    continue;
                }
                var done = Stopwatch.GetTimestamp();
                state.LastCompletionTicks = done;
                if (status == HttpStatusCode.Created)
                {
                    state.Created++;
                    if (done >= measureStart && done < end)
                    {
                        state.Measured++;
                        state.Histogram.Record(done - sent);
                    }
                }
                else if (status == HttpStatusCode.UnprocessableEntity
                         && (problem!.Contains("insufficient_funds", StringComparison.Ordinal) || problem.Contains("limit_exceeded", StringComparison.Ordinal)))
                {
                    state.Rejected++;
                }
                else
                {
                    state.Fail($"{(int)status} {problem}");
                }
            }
        }
        // A person does not pay twice at once: each client pays as its own share of the buyers (client c: users c, c + clients, ...),
        // so two of a buyer's payments never race for the same best coupon.
        async Task PaymentClientAsync(ClientState state, Random random, PaymentScenario scenario, ConcurrentQueue<string> trades, int client)
        {
            var marketing = options.Scenario == HttpScenario.MarketingPayment;
            var mine = Enumerable.Range(0, users.Length).Where(u => u % options.Clients == client % users.Length % options.Clients).Select(u => users[u]).ToArray();
            if (mine.Length == 0) mine = [users[client % users.Length]];
            while (Stopwatch.GetTimestamp() < end && Interlocked.Decrement(ref budget) >= 0 && trades.TryDequeue(out var qrCode))
            {
                var buyer = mine[random.Next(mine.Length)];
                var sent = Stopwatch.GetTimestamp();
                HttpStatusCode status;
                string body;
                try
                {
                    (status, body) = await scenario.PayPrecreatedAsync(buyer, options.Secure, qrCode, marketing ? PaymentScenario.PointsPerPayment : 0, marketing,
                        CancellationToken.None);
                }
                catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
                {
                    state.Fail(ex.GetType().Name + ": " + ex.Message);
                    continue;
                }
                var done = Stopwatch.GetTimestamp();
                state.LastCompletionTicks = done;
                if (status != HttpStatusCode.OK)
                {
                    state.Fail($"{(int)status} {body}");
                    continue;
                }
                var answer = JsonNode.Parse(body)!;
                state.Created++;
                state.PaidMinor += answer["pay_amount"]!.GetValue<long>();
                if (answer["discount_amount"]?.GetValue<long>() > 0) state.Discounted++;
                if (answer["points_used"]?.GetValue<long>() > 0) state.PointsRedeemed++;
                if (done >= measureStart && done < end)
                {
                    state.Measured++;
                    state.Histogram.Record(done - sent);
                }
            }
        }
    }

    internal static async Task WaitReadyAsync(HttpClient http, double timeoutS, CancellationToken ct)
    {
        var deadline = Stopwatch.StartNew();
        string last = "no answer";
        while (deadline.Elapsed.TotalSeconds < timeoutS)
        {
            try
            {
                using var response = await http.GetAsync("/readyz", ct);
                if (response.StatusCode == HttpStatusCode.OK) return;
                last = $"status {(int)response.StatusCode}";
            }
            catch (HttpRequestException ex)
            {
                last = ex.Message;
            }
            await Task.Delay(200, ct);
        }
        throw new TimeoutException($"{http.BaseAddress} was not ready within {timeoutS:0} s ({last})");
    }

    /// <summary>Mainland mobile numbers 1[3-9]xxxxxxxxx: the seed picks the block, i the number.</summary>
    internal static string Phone(int seed, int i) =>
        "139" + (seed % 100).ToString("D2", CultureInfo.InvariantCulture) + i.ToString("D6", CultureInfo.InvariantCulture);

    internal static async Task<User> RegisterAndTopUpAsync(HttpClient http, HttpWorkloadOptions options, int i, CancellationToken ct)
    {
        var phone = Phone(options.Seed, i);
        var registration = new JsonObject { ["phone"] = phone, ["password"] = Password, ["name"] = $"Bench {i}" };
        if (options.Secure)
        {
            var (verificationId, code) = await CodeAsync(http, options, phone, "register", null, ct);
            registration["verification_id"] = verificationId;
            registration["code"] = code;
        }
        var registered = await PostAsync(http, "/v1/users", null, null, registration, ct);
        if (registered.Status == HttpStatusCode.Conflict)
            throw new InvalidOperationException($"phone {phone} is taken: run the HTTP benchmark on a fresh database or with another --seed");
        if (registered.Status != HttpStatusCode.Created)
            throw new InvalidOperationException($"registering {phone} answered {(int)registered.Status} {registered.Body}");
        var userId = JsonNode.Parse(registered.Body)!["id"]!.GetValue<Guid>();
        var accessToken = await LoginAsync(http, options, i, ct);
        if (options.Secure) await SecureAsync(http, options, i, phone, accessToken, ct);

        var topUp = await PostAsync(http, "/v1/topups", accessToken, Guid.CreateVersion7().ToString("N"),
            new JsonObject { ["amount"] = options.TopUpAmountMinor, ["currency"] = "CNY" }, ct, options.Secure ? Pin : null);
        if (topUp.Status != HttpStatusCode.Accepted) throw new InvalidOperationException($"top-up answered {(int)topUp.Status} {topUp.Body}");
        var id = JsonNode.Parse(topUp.Body)!["id"]!.GetValue<Guid>();
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, $"/v1/topups/{id}");
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", accessToken);
            using var response = await http.SendAsync(request, ct);
            var status = JsonNode.Parse(await response.Content.ReadAsStringAsync(ct))?["status"]?.GetValue<string>();
            if (status == "succeeded") break;
            if (status is not "pending" || deadline.Elapsed > TimeSpan.FromSeconds(60))
                throw new InvalidOperationException($"top-up {id} is {status ?? "unreadable"} after {deadline.Elapsed.TotalSeconds:0} s");
            await Task.Delay(20, ct);
        }
        return new User(userId, accessToken);
    }

    /// <summary>Logs user <paramref name="i"/> of <see cref="HttpWorkloadOptions.Seed"/> in from its own device (answering the new-device code when asked); the access token.</summary>
    internal static async Task<string> LoginAsync(HttpClient http, HttpWorkloadOptions options, int i, CancellationToken ct)
    {
        var phone = Phone(options.Seed, i);
        var login = new JsonObject { ["phone"] = phone, ["password"] = Password, ["device_id"] = $"bench-{i}" };
        var token = await PostAsync(http, "/v1/auth/token", null, null, login, ct);
        if (options.Secure && token.Status == HttpStatusCode.Unauthorized && token.Body.Contains("device_verification_required", StringComparison.Ordinal))
        {
            login["verification_id"] = JsonNode.Parse(token.Body)!["verification_id"]!.GetValue<string>();
            login["code"] = await LatestCodeAsync(http, options, phone, ct);
            token = await PostAsync(http, "/v1/auth/token", null, null, login, ct);
        }
        if (token.Status != HttpStatusCode.OK) throw new InvalidOperationException($"logging in {phone} answered {(int)token.Status} {token.Body}");
        return JsonNode.Parse(token.Body)!["access_token"]!.GetValue<string>();
    }

    /// <summary>A PIN, a verified identity and a bank card (class II), as the README walkthrough sets a person up.</summary>
    private static async Task SecureAsync(HttpClient http, HttpWorkloadOptions options, int i, string phone, string accessToken, CancellationToken ct)
    {
        var (verificationId, code) = await CodeAsync(http, options, phone, "set_pin", accessToken, ct);
        using (var request = new HttpRequestMessage(HttpMethod.Put, "/v1/me/payment-pin")
               {
                   Content = Json(new JsonObject { ["pin"] = Pin, ["verification_id"] = verificationId, ["code"] = code }.ToJsonString()),
               })
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", accessToken);
            using var response = await http.SendAsync(request, ct);
            if (response.StatusCode != HttpStatusCode.NoContent)
                throw new InvalidOperationException($"setting the PIN answered {(int)response.StatusCode} {await response.Content.ReadAsStringAsync(ct)}");
        }
        const string name = "Bench User"; // letters only: the identity check refuses digits in a name
        var idNumber = ResidentId(options.Seed, i);
        var identity = await PostAsync(http, "/v1/me/identity", accessToken, null, new JsonObject { ["name"] = name, ["id_number"] = idNumber }, ct);
        if (identity.Status != HttpStatusCode.OK) throw new InvalidOperationException($"verifying the identity answered {(int)identity.Status} {identity.Body}");
        var card = await PostAsync(http, "/v1/me/bank-cards", accessToken, Guid.CreateVersion7().ToString("N"),
            new JsonObject { ["card_number"] = CardNumber(options.Seed, i), ["holder_name"] = name, ["id_number"] = idNumber }, ct);
        if (card.Status is not (HttpStatusCode.OK or HttpStatusCode.Created))
            throw new InvalidOperationException($"adding a bank card answered {(int)card.Status} {card.Body}");
    }

    private static async Task<(string VerificationId, string Code)> CodeAsync(HttpClient http, HttpWorkloadOptions options, string phone, string purpose,
        string? accessToken, CancellationToken ct)
    {
        var asked = await PostAsync(http, "/v1/verifications", accessToken, null, new JsonObject { ["phone"] = phone, ["purpose"] = purpose }, ct);
        if (asked.Status != HttpStatusCode.Accepted) throw new InvalidOperationException($"asking for a {purpose} code answered {(int)asked.Status} {asked.Body}");
        return (JsonNode.Parse(asked.Body)!["verification_id"]!.GetValue<string>(), await LatestCodeAsync(http, options, phone, ct));
    }

    private static async Task<string> LatestCodeAsync(HttpClient http, HttpWorkloadOptions options, string phone, CancellationToken ct)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/admin/v1/sandbox/messages?to=" + Uri.EscapeDataString(phone));
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", options.OperatorKey);
        using var response = await http.SendAsync(request, ct);
        var body = await response.Content.ReadAsStringAsync(ct);
        var text = JsonNode.Parse(body)?["items"]?.AsArray().FirstOrDefault()?["text"]?.GetValue<string>()
                   ?? throw new InvalidOperationException($"no sandbox message for {phone}: {(int)response.StatusCode} {body}");
        return System.Text.RegularExpressions.Regex.Match(text, @"\b\d{6}\b").Value;
    }

    /// <summary>A GB 11643 resident ID unique per (seed, user): area 110105, a birth date from the user number, check character computed.</summary>
    private static string ResidentId(int seed, int i)
    {
        var birth = new DateOnly(1960, 1, 1).AddDays(i % 12_000).ToString("yyyyMMdd", CultureInfo.InvariantCulture);
        var body = "110105" + birth + ((seed * 7 + i / 12_000) % 1000).ToString("D3", CultureInfo.InvariantCulture);
        int[] weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
        var sum = 0;
        for (var k = 0; k < 17; k++) sum += (body[k] - '0') * weights[k];
        return body + "10X98765432"[sum % 11];
    }

    /// <summary>A Luhn-valid 16-digit card number unique per (seed, user).</summary>
    private static string CardNumber(int seed, int i)
    {
        var body = "622202" + (seed % 100).ToString("D2", CultureInfo.InvariantCulture) + i.ToString("D7", CultureInfo.InvariantCulture);
        var sum = 0;
        for (var k = 0; k < body.Length; k++)
        {
            var d = body[body.Length - 1 - k] - '0';
            if (k % 2 == 0) { d *= 2; if (d > 9) d -= 9; }
            sum += d;
        }
        return body + (char)('0' + (10 - sum % 10) % 10);
    }

    private static async Task<long> SumWalletsAsync(HttpClient http, User[] users, CancellationToken ct)
    {
        long sum = 0;
        foreach (var user in users)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, "/v1/wallet");
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", user.Token);
            using var response = await http.SendAsync(request, ct);
            var body = await response.Content.ReadAsStringAsync(ct);
            if (response.StatusCode != HttpStatusCode.OK) throw new InvalidOperationException($"GET /v1/wallet answered {(int)response.StatusCode} {body}");
            foreach (var balance in JsonNode.Parse(body)!["balances"]!.AsArray())
            {
                if (balance!["currency"]!.GetValue<string>() != "CNY") continue;
                // Available plus incoming holds: a top-up still in flight counts once whichever side of its confirmation we read.
                sum = checked(sum + balance["available"]!.GetValue<long>() + balance["pending_in"]!.GetValue<long>());
            }
        }
        return sum;
    }

    internal static async Task<(HttpStatusCode Status, string Body)> PostAsync(HttpClient http, string path, string? token, string? idempotencyKey,
        JsonObject body, CancellationToken ct, string? pin = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = Json(body.ToJsonString()) };
        if (token is not null) request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        if (pin is not null) request.Headers.Add("X-Payment-Pin", pin);
        if (idempotencyKey is not null) request.Headers.Add("Idempotency-Key", idempotencyKey);
        using var response = await http.SendAsync(request, ct);
        return (response.StatusCode, await response.Content.ReadAsStringAsync(ct));
    }

    internal static ByteArrayContent Json(string json)
    {
        var content = new ByteArrayContent(Encoding.UTF8.GetBytes(json));
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        return content;
    }
}
