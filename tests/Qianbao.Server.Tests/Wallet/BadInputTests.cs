using System.Net;
using System.Net.Http.Headers;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using Dapper;
using Microsoft.Extensions.DependencyInjection;
using Qianbao.Server.Money;
using Qianbao.Server.Tests.Infrastructure;
using Qianbao.Server.Modules.Identity;
using Qianbao.Server.Storage;

namespace Qianbao.Server.Tests.Wallet;

/// <summary>The bad-input cases, as theory rows. Placeholders such as <c>{payee_id}</c> are filled in per host.</summary>
public static class BadInputCases
{
    public const string Transfers = "/v1/transfers";
    public const string TopUps = "/v1/topups";
    public const string Withdrawals = "/v1/withdrawals";

    /// <summary>Stands for "no amount member at all" (a null row value would mean JSON <c>null</c>'s absence too ambiguously).</summary>
    public const string Missing = "<missing>";

    private static readonly string[] MoneyPaths = [Transfers, TopUps, Withdrawals];

    private static readonly string[] BadAmountsJson =
    [
        "-1", "-100", "-9223372036854775808", "0", "-0", "1.5", "0.01", "10000000001", "9223372036854775807", "9223372036854775808", "18446744073709551616",
        "1e30", "\"100\"", "\"abc\"", "true", "false", "null", "[100]", "{\"value\":100}", Missing,
    ];

    public static TheoryData<string, string> BadAmounts() => Cross(MoneyPaths, BadAmountsJson);

    public static TheoryData<string, string> BadCurrencies() => Cross(MoneyPaths, ["\"XXX\"", "\"cny\"", "\"Cny\"", "\"\"", "\"CNY \"", "\"RMB\""]);

    public static TheoryData<string, string> MalformedBodies() => Cross(MoneyPaths,
    [
        "{", "{\"amount\": 100", "amount=100&currency=CNY", "", "   ", "[]", "null", "\"text\"", "100",
        "{\"amount\": 100} trailing", "{'amount': 100}", "{\"amount\": 100,}",
        // Members of the wrong JSON type do not match the request's shape.
        "{\"amount\": 100, \"currency\": 5}", "{\"amount\": 100, \"currency\": [\"CNY\"]}",
        // Nesting deeper than the serializer's limit (64).
        "{\"amount\": " + new string('[', 200) + new string(']', 200) + "}",
    ]);

    public static TheoryData<string, string> WrongContentTypes() => Cross(MoneyPaths,
        ["text/plain", "application/xml", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "text/json"]);

    public static TheoryData<string, string> BadIdempotencyKeys() => Cross(MoneyPaths,
        [Missing, "", new string('k', 256), "has space", "tab\tkey", "ключ"]);

    public static TheoryData<string, string> BadTokens() => Cross(MoneyPaths,
        ["none", "empty-bearer", "garbage", "prefix-only", "wrong-shape", "base64-length", "base64-chars", "base64-bits", "extra-segment",
         "tampered", "other-scheme", "operator-key", "expired"]);

    public static TheoryData<string> Paths() => [.. MoneyPaths];

    public static TheoryData<string, int, string> BadRecipients() => new()
    {
        { "{\"to_user_id\": \"{payer_id}\", \"amount\": 100}", 422, "same_wallet" },
        { "{\"to_phone\": \"{payer_phone}\", \"amount\": 100}", 422, "same_wallet" },
        { "{\"to_phone\": \"+86{payer_phone}\", \"amount\": 100}", 422, "same_wallet" },
        { "{\"to_phone\": \"13000000001\", \"amount\": 100}", 422, "recipient_not_found" },
        { "{\"to_phone\": \"+4915112345678\", \"amount\": 100}", 422, "recipient_not_found" },
        { "{\"to_phone\": \"not a phone\", \"amount\": 100}", 422, "recipient_not_found" },
        { "{\"to_phone\": \"\", \"amount\": 100}", 422, "recipient_not_found" },
        { "{\"to_user_id\": \"{random_id}\", \"amount\": 100}", 422, "recipient_not_found" },
        { "{\"to_user_id\": \"not-a-guid\", \"amount\": 100}", 422, "recipient_not_found" },
        { "{\"to_user_id\": \"{payee_id}\", \"to_phone\": \"{payee_phone}\", \"amount\": 100}", 400, "invalid_recipient" },
        { "{\"amount\": 100}", 400, "invalid_recipient" },
        { "{\"to_user_id\": null, \"to_phone\": null, \"amount\": 100}", 400, "invalid_recipient" },
        { "{\"to_user_id\": \"{payee_id}\", \"amount\": 100, \"note\": \"" + new string('n', 141) + "\"}", 400, "invalid_note" },
        { "{\"to_user_id\": \"{payee_id}\", \"amount\": 100, \"note\": \"line\\nbreak\"}", 400, "invalid_note" },
        { "{\"to_user_id\": \"{payee_id}\", \"amount\": 100, \"note\": \"nul\\u0000\"}", 400, "invalid_note" },
    };

    public static TheoryData<string, string> RefusedByTheLedger() => new()
    {
        { "9701", "insufficient_funds" },
        // The largest amount one operation may move (100,000,000.00 CNY): refused for cover, not for size.
        { "10000000000", "insufficient_funds" },
    };

    public static TheoryData<string, string> StrangersObjects() => Cross(["/v1/transfers/", "/v1/topups/", "/v1/withdrawals/"],
        ["{transfer_id}", "{topup_id}", "{withdrawal_id}", "{random_id}", "abc", "1", "00000000-0000-0000-0000-00000000000g", "{payer_id}"]);

    public static TheoryData<string, int, string> BadRegistrations() => new()
    {
        { "{\"phone\": \"12345\", \"password\": \"long enough\", \"name\": \"N\"}", 400, "invalid_phone" },
        { "{\"phone\": \"\", \"password\": \"long enough\", \"name\": \"N\"}", 400, "invalid_phone" },
        { "{\"password\": \"long enough\", \"name\": \"N\"}", 400, "invalid_phone" },
        { "{\"phone\": \"+0123456789\", \"password\": \"long enough\", \"name\": \"N\"}", 400, "invalid_phone" },
        { "{\"phone\": \"phone\", \"password\": \"long enough\", \"name\": \"N\"}", 400, "invalid_phone" },
        { "{\"phone\": \"12800138000\", \"password\": \"long enough\", \"name\": \"N\"}", 400, "invalid_phone" },
        { "{\"phone\": \"{fresh_phone}\", \"password\": \"short77\", \"name\": \"N\"}", 400, "invalid_password" },
        { "{\"phone\": \"{fresh_phone}\", \"password\": \"\", \"name\": \"N\"}", 400, "invalid_password" },
        { "{\"phone\": \"{fresh_phone}\", \"name\": \"N\"}", 400, "invalid_password" },
        { "{\"phone\": \"{fresh_phone}\", \"password\": \"" + new string('p', 129) + "\", \"name\": \"N\"}", 400, "invalid_password" },
        { "{\"phone\": \"{fresh_phone}\", \"password\": \"long enough\", \"name\": \"\"}", 400, "invalid_name" },
        { "{\"phone\": \"{fresh_phone}\", \"password\": \"long enough\", \"name\": \"   \"}", 400, "invalid_name" },
        { "{\"phone\": \"{fresh_phone}\", \"password\": \"long enough\"}", 400, "invalid_name" },
        { "{\"phone\": \"{fresh_phone}\", \"password\": \"long enough\", \"name\": \"" + new string('x', 65) + "\"}", 400, "invalid_name" },
        { "{\"phone\": \"{fresh_phone}\", \"password\": \"long enough\", \"name\": \"tab\\tname\"}", 400, "invalid_name" },
        { "{\"phone\": \"{payer_phone}\", \"password\": \"long enough\", \"name\": \"Twin\"}", 409, "phone_taken" },
        { "{\"phone\": \"+86{payer_phone}\", \"password\": \"long enough\", \"name\": \"Twin\"}", 409, "phone_taken" },
        { "{\"phone\": \"{payer_phone_spaced}\", \"password\": \"long enough\", \"name\": \"Twin\"}", 409, "phone_taken" },
        { "{\"phone\": \"{fresh_phone}\", \"password\": 12345678, \"name\": \"N\"}", 400, "malformed_json" },
        { "{\"phone\": \"{fresh_phone}\"", 400, "malformed_json" },
    };

    public static TheoryData<string, int, string> BadLogins() => new()
    {
        { "{\"phone\": \"{payer_phone}\", \"password\": \"wrong horse\"}", 401, "invalid_credentials" },
        { "{\"phone\": \"{payer_phone}\", \"password\": \"Correct horse\"}", 401, "invalid_credentials" },
        { "{\"phone\": \"{payer_phone}\", \"password\": \"\"}", 401, "invalid_credentials" },
        { "{\"phone\": \"{payer_phone}\"}", 401, "invalid_credentials" },
        { "{\"phone\": \"{payer_phone}\", \"password\": \"" + new string('p', 5000) + "\"}", 401, "invalid_credentials" },
        { "{\"phone\": \"13000000001\", \"password\": \"correct horse\"}", 401, "invalid_credentials" },
        { "{\"phone\": \"garbage\", \"password\": \"correct horse\"}", 401, "invalid_credentials" },
        { "{\"password\": \"correct horse\"}", 401, "invalid_credentials" },
        { "{\"phone\": \"{payer_phone}\", \"password\": ", 400, "malformed_json" },
    };

    public static TheoryData<string, string> BadHistoryQueries() => new()
    {
        { "limit=0", "invalid_limit" },
        { "limit=101", "invalid_limit" },
        { "limit=-1", "invalid_limit" },
        { "limit=abc", "invalid_limit" },
        { "limit=1.5", "invalid_limit" },
        { "limit=99999999999999999999", "invalid_limit" },
        { "cursor=garbage", "invalid_cursor" },
        { "cursor=!!!", "invalid_cursor" },
        { "cursor=" + new string('A', 200), "invalid_cursor" },
        { "cursor=czA", "invalid_cursor" }, // "s0": a sequence number must be positive
        { "cursor=cy0x", "invalid_cursor" }, // "s-1"
        { "cursor=eDEw", "invalid_cursor" }, // "x10": wrong tag
        { "cursor=abcde", "invalid_cursor" }, // not a base64url length: once a 500
        { "type=bogus", "invalid_type" },
        { "type=TOPUP", "invalid_type" },
        { "type=other", "invalid_type" },
        { "from=yesterday", "invalid_time" },
        { "to=2024-13-45T00:00:00Z", "invalid_time" },
    };

    public static TheoryData<string, string, int, string> UnknownRoutes() => new()
    {
        { "GET", "/v1/nope", 404, "not_found" },
        { "POST", "/v1/nope", 404, "not_found" },
        { "GET", "/v2/wallet", 404, "not_found" },
        { "GET", "/admin/v1/nope", 404, "not_found" },
        { "GET", "/v1/transfers/a/b", 404, "not_found" },
        { "GET", "/nope", 404, "not_found" }, // "/" is the consoles' home page
        { "DELETE", "/v1/transfers", 405, "method_not_allowed" },
        { "PUT", "/v1/wallet", 405, "method_not_allowed" },
    };

    private static TheoryData<string, string> Cross(string[] paths, string[] values)
    {
        var data = new TheoryData<string, string>();
        foreach (var path in paths)
        {
            foreach (var value in values) data.Add(path, value);
        }
        return data;
    }
}

/// <summary>
/// Every bad input answers a 4xx problem (never a 5xx) with a stable code, and changes nothing: the
/// parties' wallets and histories, the ledger check's totals and the stored rows are the same afterwards.
/// </summary>
public abstract class BadInputTests<THost>(THost host) : IClassFixture<THost> where THost : QianbaoHost
{
    private static readonly ConditionalWeakTable<QianbaoHost, Task<Scene>> Scenes = new();
    private static int freshPhoneCounter;

    private HttpClient? http;

    protected THost Host { get; } = host;

    private HttpClient Http => http ??= Host.CreateClient();

    /// <summary>
    /// People and objects shared by the read-only cases of one host: a payer who topped up, paid the payee
    /// and withdrew (all settled), and a stranger with nothing.
    /// </summary>
    private sealed record Scene(WalletClient Payer, WalletClient Payee, WalletClient Stranger, Guid TransferId, Guid TopUpId, Guid WithdrawalId);

    private Task<Scene> SceneAsync() => Scenes.GetValue(Host, h => CreateSceneAsync(h.CreateClient()));

    private static async Task<Scene> CreateSceneAsync(HttpClient http)
    {
        var payer = await WalletClient.RegisterAsync(http, "Payer");
        var payee = await WalletClient.RegisterAsync(http, "Payee");
        var stranger = await WalletClient.RegisterAsync(http, "Stranger");
        var topUpId = await SettledHoldAsync(payer, "/v1/topups", 10_000);
        var sent = await payer.PostAsync(BadInputCases.Transfers, new { to_user_id = payee.UserId, amount = 100, note = "scene" });
        sent.StatusCode.ShouldBe(HttpStatusCode.Created, await sent.Content.ReadAsStringAsync());
        var withdrawalId = await SettledHoldAsync(payer, "/v1/withdrawals", 200);
        (await payer.AvailableAsync()).ShouldBe(9_700);
        return new Scene(payer, payee, stranger, await sent.IdAsync(), topUpId, withdrawalId);
    }

    /// <summary>Creates a top-up or withdrawal and waits (bounded) until the sandbox bank has settled it.</summary>
    private static async Task<Guid> SettledHoldAsync(WalletClient who, string path, long amount, string? key = null)
    {
        var response = await who.PostAsync(path, new { amount }, key);
        response.StatusCode.ShouldBe(HttpStatusCode.Accepted, await response.Content.ReadAsStringAsync());
        var id = await response.IdAsync();
        await Poll.UntilAsync(async () => (await who.GetJsonAsync($"{path}/{id}"))["status"]!.GetValue<string>() == "succeeded", $"{path}/{id} to succeed");
        return id;
    }

    // ------------------------------------------------------------------ money-moving POSTs

    [Theory]
    [MemberData(nameof(BadInputCases.BadAmounts), MemberType = typeof(BadInputCases))]
    public async Task AnAmountThatIsNotAPositiveInt64IsInvalidAmount(string path, string amountJson)
    {
        var scene = await SceneAsync();
        await ExpectRejectedAsync(scene, () => Send(HttpMethod.Post, path, Json(MoneyBody(scene, path, amountJson)), scene.Payer.Token, NewKey()),
            400, "invalid_amount");
    }

    [Theory]
    [MemberData(nameof(BadInputCases.BadCurrencies), MemberType = typeof(BadInputCases))]
    public async Task AnUnknownCurrencyIsInvalidCurrency(string path, string currencyJson)
    {
        var scene = await SceneAsync();
        await ExpectRejectedAsync(scene, () => Send(HttpMethod.Post, path, Json(MoneyBody(scene, path, "100", currencyJson)), scene.Payer.Token, NewKey()),
            400, "invalid_currency");
    }

    [Theory]
    [MemberData(nameof(BadInputCases.MalformedBodies), MemberType = typeof(BadInputCases))]
    public async Task ABodyThatIsNotTheRequestObjectIsMalformedJson(string path, string body)
    {
        var scene = await SceneAsync();
        await ExpectRejectedAsync(scene, () => Send(HttpMethod.Post, path, Json(body), scene.Payer.Token, NewKey()), 400, "malformed_json");
    }

    [Fact]
    public async Task InvalidUtf8IsMalformedJson()
    {
        var scene = await SceneAsync();
        byte[] body = [.. "{\"amount\": 100, \"currency\": \"CN"u8, 0xC3, 0x28, .. "\"}"u8];
        foreach (var path in BadInputCases.Paths())
        {
            await ExpectRejectedAsync(scene, () =>
            {
                var content = new ByteArrayContent(body);
                content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
                return Send(HttpMethod.Post, path, content, scene.Payer.Token, NewKey());
            }, 400, "malformed_json");
        }
    }

    [Theory]
    [MemberData(nameof(BadInputCases.Paths), MemberType = typeof(BadInputCases))]
    public async Task ABodyOver64KiBIsBodyTooLarge(string path)
    {
        var scene = await SceneAsync();
        // A well-formed request, just too big: the limit is on bytes, not on what they say.
        var body = MoneyBody(scene, path, "100", extra: ", \"padding\": \"" + new string('p', 64 * 1024) + "\"");
        await ExpectRejectedAsync(scene, () => Send(HttpMethod.Post, path, Json(body), scene.Payer.Token, NewKey()), 413, "body_too_large");
        // The same without a Content-Length (chunked): the server must count while reading.
        await ExpectRejectedAsync(scene, () => Send(HttpMethod.Post, path, new UnsizedJsonContent(Encoding.UTF8.GetBytes(body)), scene.Payer.Token, NewKey()),
            413, "body_too_large");
    }

    [Theory]
    [MemberData(nameof(BadInputCases.Paths), MemberType = typeof(BadInputCases))]
    public async Task ABodyOfExactly64KiBIsNotTooLarge(string path)
    {
        var scene = await SceneAsync();
        // Pad a request with an unknown member up to exactly the limit; it is then judged on its content
        // (here an amount of 0, so that it still changes nothing).
        var head = MoneyBody(scene, path, "0")[..^1] + ", \"padding\": \"";
        var body = head + new string('p', 64 * 1024 - head.Length - 2) + "\"}";
        Encoding.UTF8.GetByteCount(body).ShouldBe(64 * 1024);
        await ExpectRejectedAsync(scene, () => Send(HttpMethod.Post, path, Json(body), scene.Payer.Token, NewKey()), 400, "invalid_amount");
    }

    [Theory]
    [MemberData(nameof(BadInputCases.WrongContentTypes), MemberType = typeof(BadInputCases))]
    public async Task ANonJsonContentTypeIsUnsupportedMediaType(string path, string contentType)
    {
        var scene = await SceneAsync();
        await ExpectRejectedAsync(scene, () =>
        {
            var content = new StringContent(MoneyBody(scene, path, "100"), Encoding.UTF8);
            content.Headers.ContentType = MediaTypeHeaderValue.Parse(contentType);
            return Send(HttpMethod.Post, path, content, scene.Payer.Token, NewKey());
        }, 415, "unsupported_media_type");
    }

    [Theory]
    [MemberData(nameof(BadInputCases.BadIdempotencyKeys), MemberType = typeof(BadInputCases))]
    public async Task AMissingOrInvalidIdempotencyKeyIsRefused(string path, string key)
    {
        var scene = await SceneAsync();
        var code = key is BadInputCases.Missing or "" ? "idempotency_key_missing" : "idempotency_key_invalid";
        await ExpectRejectedAsync(scene, () => Send(HttpMethod.Post, path, Json(MoneyBody(scene, path, "100")), scene.Payer.Token,
            key == BadInputCases.Missing ? null : key), 400, code);
    }

    [Theory]
    [MemberData(nameof(BadInputCases.BadTokens), MemberType = typeof(BadInputCases))]
    public async Task AWellFormedRequestWithoutAValidTokenIsUnauthorized(string path, string tokenKind)
    {
        var scene = await SceneAsync();
        var valid = scene.Payer.Token;
        string? authorization = tokenKind switch
        {
            "none" => null,
            "empty-bearer" => "Bearer ",
            "garbage" => "Bearer garbage",
            "prefix-only" => "Bearer qb1.",
            "wrong-shape" => "Bearer qb1.AAAA.BBBB",
            // Not base64url at all: once a 500, because the decoder threw instead of answering false.
            "base64-length" => "Bearer qb1.abcde.fghij",
            "base64-chars" => "Bearer qb1.!!!!.????",
            "base64-bits" => "Bearer qb1.garbage.garbage",
            "extra-segment" => "Bearer " + valid + ".x",
            // Another user id in the payload under the payer's signature.
            "tampered" => "Bearer " + valid[..4] + (valid[4] == 'A' ? 'B' : 'A') + valid[5..],
            "other-scheme" => "Basic " + valid,
            "operator-key" => "Bearer " + Host.OperatorKey,
            "expired" => "Bearer " + await IssueTokenAsync(scene.Payer.UserId, DateTimeOffset.UtcNow.AddHours(-2)),
            _ => throw new ArgumentOutOfRangeException(nameof(tokenKind), tokenKind, null),
        };
        var code = tokenKind == "expired" ? "token_expired" : "unauthorized";
        await ExpectRejectedAsync(scene, () => SendWithAuthorization(HttpMethod.Post, path, Json(MoneyBody(scene, path, "100")), authorization, NewKey()),
            401, code);
    }

    [Fact]
    public async Task ATokenCraftedWithTheServersKeyWorksUntilItExpires()
    {
        // The control for the expired-token rows: the crafted token is refused for its age, not its form.
        var scene = await SceneAsync();
        var fresh = await IssueTokenAsync(scene.Payer.UserId, DateTimeOffset.UtcNow);
        (await SendWithAuthorization(HttpMethod.Get, "/v1/wallet", null, "Bearer " + fresh, null)).StatusCode.ShouldBe(HttpStatusCode.OK);

        var expired = await IssueTokenAsync(scene.Payer.UserId, DateTimeOffset.UtcNow.AddHours(-2));
        await (await SendWithAuthorization(HttpMethod.Get, "/v1/wallet", null, "Bearer " + expired, null)).ShouldBeProblemAsync(401, "token_expired");
        await (await SendWithAuthorization(HttpMethod.Get, "/v1/transactions", null, "Bearer " + expired, null)).ShouldBeProblemAsync(401, "token_expired");
    }

    [Fact]
    public async Task TheOperatorApiRefusesUserTokens()
    {
        var scene = await SceneAsync();
        await ExpectRejectedAsync(scene, () => SendWithAuthorization(HttpMethod.Get, "/admin/v1/ledger/check", null, "Bearer " + scene.Payer.Token, null),
            401, "unauthorized");
        await ExpectRejectedAsync(scene, () => SendWithAuthorization(HttpMethod.Get, "/admin/v1/ledger/check", null, null, null), 401, "unauthorized");
    }

    // ------------------------------------------------------------------ transfers: recipient and note

    [Theory]
    [MemberData(nameof(BadInputCases.BadRecipients), MemberType = typeof(BadInputCases))]
    public async Task ABadRecipientOrNoteIsRefused(string bodyTemplate, int status, string code)
    {
        var scene = await SceneAsync();
        await ExpectRejectedAsync(scene, () => Send(HttpMethod.Post, BadInputCases.Transfers, Json(Fill(bodyTemplate, scene)), scene.Payer.Token, NewKey()),
            status, code);
    }

    [Theory]
    [MemberData(nameof(BadInputCases.RefusedByTheLedger), MemberType = typeof(BadInputCases))]
    public async Task ATransferTheLedgerRefusesMovesNothingAndReplaysItsAnswer(string amountJson, string code)
    {
        // Not a bad input but a business outcome: its answer is stored under the key (one record), nothing else changes.
        var scene = await SceneAsync();
        var key = NewKey();
        var body = MoneyBody(scene, BadInputCases.Transfers, amountJson);
        await ExpectRejectedAsync(scene, () => Send(HttpMethod.Post, BadInputCases.Transfers, Json(body), scene.Payer.Token, key), 422, code,
            storedResponses: 1);
        await ExpectRejectedAsync(scene, () => Send(HttpMethod.Post, BadInputCases.Transfers, Json(body), scene.Payer.Token, key), 422, code);
    }

    [Fact]
    public async Task ANoteOfExactly140CharactersIsAccepted()
    {
        // The control for the too-long note: the limit is 140, not less.
        var http = Host.CreateClient();
        var payer = await WalletClient.RegisterAsync(http);
        var payee = await WalletClient.RegisterAsync(http);
        await SettledHoldAsync(payer, "/v1/topups", 1_000);
        var note = string.Concat(Enumerable.Repeat("红包", 70));
        var sent = await payer.PostAsync(BadInputCases.Transfers, new { to_phone = payee.Phone, amount = 1, note });
        sent.StatusCode.ShouldBe(HttpStatusCode.Created, await sent.Content.ReadAsStringAsync());
        (await payee.GetJsonAsync($"/v1/transfers/{await sent.IdAsync()}"))["note"]!.GetValue<string>().ShouldBe(note);
    }

    [Theory]
    [MemberData(nameof(BadInputCases.Paths), MemberType = typeof(BadInputCases))]
    public async Task ARefusedRequestDoesNotUseUpItsIdempotencyKey(string path)
    {
        var http = Host.CreateClient();
        var payer = await WalletClient.RegisterAsync(http);
        var payee = await WalletClient.RegisterAsync(http);
        if (path != BadInputCases.TopUps) await SettledHoldAsync(payer, "/v1/topups", 1_000);
        object Body(long amount) => path == BadInputCases.Transfers ? new { to_user_id = payee.UserId, amount } : new { amount };

        const string key = "refused-then-fine";
        await (await payer.PostAsync(path, Body(0), key)).ShouldBeProblemAsync(400, "invalid_amount");
        await (await payer.PostRawAsync(path, JsonSerializer.Serialize(Body(100)), key, "text/plain")).ShouldBeProblemAsync(415, "unsupported_media_type");
        if (path == BadInputCases.Transfers)
        {
            await (await payer.PostAsync(path, new { to_user_id = payer.UserId, amount = 100 }, key)).ShouldBeProblemAsync(422, "same_wallet");
        }

        var accepted = await payer.PostAsync(path, Body(100), key);
        ((int)accepted.StatusCode).ShouldBeInRange(200, 299, await accepted.Content.ReadAsStringAsync());
        var id = await accepted.IdAsync();
        if (path != BadInputCases.Transfers)
        {
            await Poll.UntilAsync(async () => (await payer.GetJsonAsync($"{path}/{id}"))["status"]!.GetValue<string>() == "succeeded", $"{path}/{id}");
        }
        (await payer.AvailableAsync()).ShouldBe(path switch { BadInputCases.TopUps => 100, _ => 900 });
    }

    // ------------------------------------------------------------------ reading other people's objects

    [Theory]
    [MemberData(nameof(BadInputCases.StrangersObjects), MemberType = typeof(BadInputCases))]
    public async Task AnIdThatIsNotTheCallersOfThatKindIsNotFound(string prefix, string idTemplate)
    {
        var scene = await SceneAsync();
        // The stranger never sees any of the payer's objects; the payer sees an object only at its own kind's path.
        await ExpectRejectedAsync(scene, () => Send(HttpMethod.Get, prefix + Fill(idTemplate, scene), null, scene.Stranger.Token, null), 404, "not_found");
        var ownKind = (prefix, idTemplate) is ("/v1/transfers/", "{transfer_id}") or ("/v1/topups/", "{topup_id}") or ("/v1/withdrawals/", "{withdrawal_id}");
        if (ownKind)
        {
            (await scene.Payer.GetAsync(prefix + Fill(idTemplate, scene))).StatusCode.ShouldBe(HttpStatusCode.OK);
        }
        else
        {
            await ExpectRejectedAsync(scene, () => Send(HttpMethod.Get, prefix + Fill(idTemplate, scene), null, scene.Payer.Token, null), 404, "not_found");
        }
    }

    [Fact]
    public async Task TheRecipientCanReadTheTransferButNotThePayersHolds()
    {
        var scene = await SceneAsync();
        (await scene.Payee.GetJsonAsync($"/v1/transfers/{scene.TransferId}"))["direction"]!.GetValue<string>().ShouldBe("in");
        await ExpectRejectedAsync(scene, () => Send(HttpMethod.Get, $"/v1/topups/{scene.TopUpId}", null, scene.Payee.Token, null), 404, "not_found");
        await ExpectRejectedAsync(scene, () => Send(HttpMethod.Get, $"/v1/withdrawals/{scene.WithdrawalId}", null, scene.Payee.Token, null), 404, "not_found");
    }

    // ------------------------------------------------------------------ users

    [Theory]
    [MemberData(nameof(BadInputCases.BadRegistrations), MemberType = typeof(BadInputCases))]
    public async Task ABadRegistrationIsRefused(string bodyTemplate, int status, string code)
    {
        var scene = await SceneAsync();
        await ExpectRejectedAsync(scene, () => Send(HttpMethod.Post, "/v1/users", Json(Fill(bodyTemplate, scene)), null, null), status, code);
    }

    [Theory]
    [MemberData(nameof(BadInputCases.BadLogins), MemberType = typeof(BadInputCases))]
    public async Task ABadLoginIsRefused(string bodyTemplate, int status, string code)
    {
        var scene = await SceneAsync();
        await ExpectRejectedAsync(scene, () => Send(HttpMethod.Post, "/v1/auth/token", Json(Fill(bodyTemplate, scene)), null, null), status, code);
        // The control: the right password still works afterwards.
        (await WalletClient.TokenAsync(Host.CreateClient(), scene.Payer.Phone, "correct horse")).ShouldNotBeNullOrEmpty();
    }

    [Fact]
    public async Task TheBadRegistrationTemplatesWouldOtherwiseSucceed()
    {
        // The control for the registration rows: a fresh phone with a good password and name registers.
        var scene = await SceneAsync();
        var body = Fill("{\"phone\": \"{fresh_phone}\", \"password\": \"long enough\", \"name\": \"N\"}", scene);
        (await Send(HttpMethod.Post, "/v1/users", Json(body), null, null)).StatusCode.ShouldBe(HttpStatusCode.Created);
    }

    // ------------------------------------------------------------------ history and routing

    [Theory]
    [MemberData(nameof(BadInputCases.BadHistoryQueries), MemberType = typeof(BadInputCases))]
    public async Task ABadHistoryQueryIsRefused(string query, string code)
    {
        var scene = await SceneAsync();
        await ExpectRejectedAsync(scene, () => Send(HttpMethod.Get, "/v1/transactions?" + query, null, scene.Payer.Token, null), 400, code);
    }

    [Fact]
    public async Task TheHistoryQueryLimitsAreInclusive()
    {
        var scene = await SceneAsync();
        foreach (var query in (string[])["limit=1", "limit=100", "type=transfer", "from=2020-01-01T00:00:00Z"])
        {
            (await scene.Payer.GetAsync("/v1/transactions?" + query)).StatusCode.ShouldBe(HttpStatusCode.OK, query);
        }
        var firstPage = await scene.Payer.GetJsonAsync("/v1/transactions?limit=1");
        var cursor = firstPage["next_cursor"]!.GetValue<string>();
        (await scene.Payer.GetAsync("/v1/transactions?limit=1&cursor=" + cursor)).StatusCode.ShouldBe(HttpStatusCode.OK);
    }

    [Theory]
    [MemberData(nameof(BadInputCases.UnknownRoutes), MemberType = typeof(BadInputCases))]
    public async Task AnUnknownRouteOrMethodIsAProblem(string method, string path, int status, string code)
    {
        var scene = await SceneAsync();
        await ExpectRejectedAsync(scene, () => Send(new HttpMethod(method), path, method == "GET" ? null : Json("{\"amount\": 100}"), scene.Payer.Token, NewKey()),
            status, code);
    }

    // ------------------------------------------------------------------ helpers

    /// <summary>Sends the request, expects the problem, and checks that nothing observable changed.</summary>
    /// <param name="storedResponses">Idempotency records the refusal may add (a ledger refusal's answer is kept for replays).</param>
    private async Task ExpectRejectedAsync(Scene scene, Func<Task<HttpResponseMessage>> send, int status, string code, int storedResponses = 0)
    {
        var before = await SnapshotAsync(scene);
        var response = await send();
        ((int)response.StatusCode).ShouldBeLessThan(500, await response.Content.ReadAsStringAsync());
        await response.ShouldBeProblemAsync(status, code);
        var after = await SnapshotAsync(scene);
        after.ShouldBe(before with { IdempotencyKeys = before.IdempotencyKeys + storedResponses });
    }

    /// <summary>What a refused request must leave alone: the payer's and payee's wallets and histories, the ledger, and the stored rows.</summary>
    private sealed record Snapshot(string PayerWallet, string PayeeWallet, string PayerHistory, string PayeeHistory, string LedgerTotals,
        long Users, long Accounts, long Transfers, long IdempotencyKeys, long Settings);

    private async Task<Snapshot> SnapshotAsync(Scene scene)
    {
        var db = Host.Services.GetRequiredService<Db>();
        var report = await LedgerCheck.RunAsync(db, CancellationToken.None);
        report.Violations.ShouldBeEmpty();
        report.Ok.ShouldBeTrue();
        await using var connection = await db.OpenAsync();
        async Task<long> CountAsync(string table) => await connection.ExecuteScalarAsync<long>($"SELECT COUNT(*) FROM {table}");
        return new Snapshot(
            (await scene.Payer.GetJsonAsync("/v1/wallet")).ToJsonString(),
            (await scene.Payee.GetJsonAsync("/v1/wallet")).ToJsonString(),
            await HistoryAsync(scene.Payer),
            await HistoryAsync(scene.Payee),
            JsonSerializer.Serialize(report.Currencies.Select(c => new[] { c.Currency, c.DebitsPosted.ToString(), c.CreditsPosted.ToString(), c.DebitsPending.ToString(), c.CreditsPending.ToString() })),
            await CountAsync("users"),
            await CountAsync("accounts"),
            await CountAsync("transfers"),
            await CountAsync("idempotency_keys"),
            await CountAsync("settings"));
    }

    private static async Task<string> HistoryAsync(WalletClient who)
    {
        var page = await who.GetJsonAsync("/v1/transactions?limit=100");
        page["next_cursor"].ShouldBeNull("the scene's history fits one page");
        return page["items"]!.ToJsonString();
    }

    private async Task<string> IssueTokenAsync(Guid userId, DateTimeOffset issuedAt)
    {
        var db = Host.Services.GetRequiredService<Db>();
        await using var connection = await db.OpenAsync();
        var key = Convert.FromBase64String(await connection.ExecuteScalarAsync<string>("SELECT value FROM settings WHERE name = 'token_key'") ?? "");
        key.Length.ShouldBe(32);
        return new TokenService(key, new FixedClock(issuedAt), TimeSpan.FromHours(1)).Issue(new UserSession(userId, Guid.NewGuid(), issuedAt.ToUnixTimeSeconds()));
    }

    private Task<HttpResponseMessage> Send(HttpMethod method, string path, HttpContent? content, string? token, string? idempotencyKey) =>
        SendWithAuthorization(method, path, content, token is null ? null : "Bearer " + token, idempotencyKey);

    private async Task<HttpResponseMessage> SendWithAuthorization(HttpMethod method, string path, HttpContent? content, string? authorization, string? idempotencyKey)
    {
        using var request = new HttpRequestMessage(method, path) { Content = content };
        if (authorization is not null) request.Headers.TryAddWithoutValidation("Authorization", authorization).ShouldBeTrue();
        if (idempotencyKey is not null) request.Headers.TryAddWithoutValidation("Idempotency-Key", idempotencyKey).ShouldBeTrue();
        var response = await Http.SendAsync(request);
        await response.Content.LoadIntoBufferAsync();
        return response;
    }

    private static StringContent Json(string body) => new(body, Encoding.UTF8, "application/json");

    private static string NewKey() => Guid.NewGuid().ToString();

    private static string MoneyBody(Scene scene, string path, string amountJson, string currencyJson = "\"CNY\"", string extra = "")
    {
        var members = new List<string>();
        if (path == BadInputCases.Transfers) members.Add($"\"to_user_id\": \"{scene.Payee.UserId}\"");
        if (amountJson != BadInputCases.Missing) members.Add($"\"amount\": {amountJson}");
        members.Add($"\"currency\": {currencyJson}");
        return "{" + string.Join(", ", members) + extra + "}";
    }

    private static string Fill(string template, Scene scene)
    {
        var fresh = "137" + Interlocked.Increment(ref freshPhoneCounter).ToString("D4") + Random.Shared.Next(0, 10_000).ToString("D4");
        var phone = scene.Payer.Phone;
        return template
            .Replace("{payer_id}", scene.Payer.UserId.ToString(), StringComparison.Ordinal)
            .Replace("{payee_id}", scene.Payee.UserId.ToString(), StringComparison.Ordinal)
            .Replace("{payer_phone_spaced}", $"{phone[..3]} {phone[3..7]}-{phone[7..]}", StringComparison.Ordinal)
            .Replace("{payer_phone}", phone, StringComparison.Ordinal)
            .Replace("{payee_phone}", scene.Payee.Phone, StringComparison.Ordinal)
            .Replace("{fresh_phone}", fresh, StringComparison.Ordinal)
            .Replace("{random_id}", Guid.CreateVersion7().ToString(), StringComparison.Ordinal)
            .Replace("{transfer_id}", scene.TransferId.ToString(), StringComparison.Ordinal)
            .Replace("{topup_id}", scene.TopUpId.ToString(), StringComparison.Ordinal)
            .Replace("{withdrawal_id}", scene.WithdrawalId.ToString(), StringComparison.Ordinal);
    }

    private sealed class FixedClock(DateTimeOffset now) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => now;
    }

    /// <summary>A JSON body sent without a Content-Length (chunked), so only counting while reading can enforce the limit.</summary>
    private sealed class UnsizedJsonContent : HttpContent
    {
        private readonly byte[] bytes;

        public UnsizedJsonContent(byte[] bytes)
        {
            this.bytes = bytes;
            Headers.ContentType = new MediaTypeHeaderValue("application/json");
        }

        protected override Task SerializeToStreamAsync(Stream stream, System.Net.TransportContext? context) => stream.WriteAsync(bytes).AsTask();

        protected override bool TryComputeLength(out long length)
        {
            length = 0;
            return false;
        }
    }
}

public sealed class SqliteBadInputTests(SqliteHost host) : BadInputTests<SqliteHost>(host);

public sealed class PostgresBadInputTests(PostgresHost host) : BadInputTests<PostgresHost>(host);
