using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Microsoft.Playwright;
using QRCoder;
using Qianbao.Server.Adapters.Alipay;
using Qianbao.Server.Tests.Gateway.Sdk;
using Qianbao.Server.Tests.Infrastructure;

namespace Qianbao.Server.Tests.Consoles.Wallet;

/// <summary>The wallet console's browser tests share one server and one browser.</summary>
[CollectionDefinition(Name)]
public sealed class WalletConsole : ICollectionFixture<WalletBrowser>
{
    public const string Name = "wallet console";
}

/// <summary>
/// The wallet console's fixture: one real server process with account security on (SMS codes, PIN, identity, new
/// devices: the rules the pages must live with) and one chromium, shared by the wallet's browser tests. It also plays the
/// parts that are not the wallet's: the operator reading sandbox SMS codes, and a shop creating a trade QR code through
/// the Alipay gateway.
/// </summary>
public sealed class WalletBrowser : IAsyncLifetime
{
    private IPlaywright? playwright;
    private IBrowser? browser;
    private ServerProcess? server;
    private HttpClient? http;

    public IBrowser Browser => browser ?? throw new InvalidOperationException("not started");

    public HttpClient Http => http ?? throw new InvalidOperationException("not started");

    public Uri BaseAddress => server?.BaseAddress ?? throw new InvalidOperationException("not started");

    public string ServerOutput => server?.RecentOutput ?? "";

    public async Task InitializeAsync()
    {
        File.Exists(ConsoleBrowser.ChromiumPath).ShouldBeTrue($"chromium is not at {ConsoleBrowser.ChromiumPath}: ./test.sh installs Debian's chromium package");
        server = await ServerProcess.StartAsync(new ServerSettings(Directory.CreateTempSubdirectory("qianbao-wallet-console-").FullName, null,
            ConsoleBrowser.OperatorKey, Configuration: new Dictionary<string, string> { ["Qianbao:Security:Relaxed"] = "false" }));
        http = server.CreateClient();
        playwright = await Playwright.CreateAsync();
        browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = ConsoleBrowser.ChromiumPath,
            Headless = true,
            Args = ["--no-sandbox", "--disable-dev-shm-usage"],
        });
    }

    /// <summary>A fresh browser context (its own cookies: its own device) and page.</summary>
    public async Task<IPage> NewPageAsync(string language = "zh-CN", ViewportSize? viewport = null)
    {
        var context = await Browser.NewContextAsync(new BrowserNewContextOptions
        {
            BaseURL = BaseAddress.ToString(), Locale = language, ViewportSize = viewport ?? ConsoleBrowser.Phone,
        });
        context.SetDefaultTimeout(15_000);
        var page = await context.NewPageAsync();
        var failures = new List<string>();
        // No page may answer 5xx, whatever the input.
        page.Response += (_, response) =>
        {
            if (response.Status >= 500) failures.Add($"{response.Status} {response.Url}");
        };
        Failures[page] = failures;
        return page;
    }

    /// <summary>The 5xx answers each page saw.</summary>
    public Dictionary<IPage, List<string>> Failures { get; } = [];

    /// <summary>The code in the newest SMS to <paramref name="phone"/> once more than <paramref name="seen"/> messages went there.</summary>
    public async Task<string> NextCodeAsync(string phone, int seen)
    {
        await Poll.UntilAsync(async () => (await SandboxSms.TextsAsync(Http, ConsoleBrowser.OperatorKey, phone)).Count > seen, $"an SMS to {phone}");
        return await SandboxSms.LatestCodeAsync(Http, ConsoleBrowser.OperatorKey, phone);
    }

    public async Task<int> MessageCountAsync(string phone) => (await SandboxSms.TextsAsync(Http, ConsoleBrowser.OperatorKey, phone)).Count;

    /// <summary>A verified merchant with a gateway app (the shared test app key), and a caller for it.</summary>
    public async Task<GatewayCaller> ShopAsync(string name)
    {
        var created = await OperatorAsync(HttpMethod.Post, "/admin/v1/merchants", new
        {
            name, credit_code = CreditCodes.New(), legal_person = "张三", contact_phone = "13800138000", fee_bps = 60,
        });
        var id = created["id"]!.GetValue<Guid>();
        await OperatorAsync(HttpMethod.Post, $"/admin/v1/merchants/{id}/verify", null);
        var app = await OperatorAsync(HttpMethod.Post, $"/admin/v1/merchants/{id}/apps", new { app_public_key_pem = AlipayKeys.ExportPublicKeyBase64(SdkKeys.App) });
        return new GatewayCaller(Http, app["app_id"]!.GetValue<string>(), SdkKeys.App, app["platform_public_key"]!.GetValue<string>());
    }

    /// <summary>A precreated trade's QR code text (<c>alipay.trade.precreate</c>).</summary>
    public static async Task<string> TradeQrAsync(GatewayCaller shop, string amount, string subject) =>
        (await shop.CallAsync("alipay.trade.precreate", new { out_trade_no = "WC-" + Guid.NewGuid().ToString("N"), total_amount = amount, subject }))
            .ShouldBe("10000")["qr_code"]!;

    /// <summary>A PNG picture of <paramref name="text"/> as a QR code, written to a temporary file (what a phone photo would be).</summary>
    public static string QrPngFile(string text)
    {
        using var generator = new QRCodeGenerator();
        using var data = generator.CreateQrCode(text, QRCodeGenerator.ECCLevel.M);
        var path = Path.Combine(Directory.CreateTempSubdirectory("qianbao-qr-").FullName, "shop-qr.png");
        File.WriteAllBytes(path, new PngByteQRCode(data).GetGraphic(8));
        return path;
    }

    /// <summary>
    /// What the operator console's finance person does: a platform-funded coupon campaign of <paramref name="offFen"/> off
    /// from <paramref name="minSpendFen"/>, open now, its budget moved into the campaign.
    /// </summary>
    public async Task<Guid> CouponCampaignAsync(string name, long offFen, long minSpendFen, int stock)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/admin/v1/campaigns");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", ConsoleBrowser.OperatorKey);
        request.Headers.Add("Idempotency-Key", Guid.NewGuid().ToString());
        request.Content = JsonContent.Create(new
        {
            name, kind = "coupon", funding = new { source = "platform" }, budget = new { amount = offFen * stock, currency = "CNY" },
            starts_at = DateTimeOffset.UtcNow.AddMinutes(-5), ends_at = DateTimeOffset.UtcNow.AddDays(30),
            coupon = new { type = "threshold", amount = offFen, min_spend = minSpendFen, stock, valid_days = 7 },
        });
        var response = await Http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        response.StatusCode.ShouldBe(HttpStatusCode.Created, text);
        return JsonNode.Parse(text)!["id"]!.GetValue<Guid>();
    }

    /// <summary>Logs in through the page from a fresh browser: the new device's SMS code included.</summary>
    public async Task LogInAsync(IPage page, SecureUser person)
    {
        await page.GotoAsync("/wallet/login");
        await page.Locator("input[name=Phone]").FillAsync(person.Phone);
        await page.Locator("input[name=Password]").FillAsync(SecureUser.Password);
        var seen = await MessageCountAsync(person.Phone);
        await page.Locator("form button[type=submit]").ClickAsync();
        // Wait for the answer (the code field of a new device, or the home page) rather than race it: a login hashes the
        // password, which on a busy machine takes a while.
        var wait = new LocatorWaitForOptions { Timeout = 30_000 };
        var code = page.Locator("input[name=Code]");
        await code.Or(page.Locator("[data-balance]")).First.WaitForAsync(wait);
        if (await code.CountAsync() > 0)
        {
            await code.FillAsync(await NextCodeAsync(person.Phone, seen));
            await page.Locator("form button[type=submit]").ClickAsync();
            await page.Locator("[data-balance]").Or(page.Locator("p.error")).First.WaitForAsync(wait);
        }
        page.Url.ShouldEndWith("/wallet", customMessage: await page.Locator("main").InnerTextAsync());
    }

    /// <summary>The ledger check passes.</summary>
    public async Task AssertLedgerOkAsync()
    {
        var report = await OperatorAsync(HttpMethod.Get, "/admin/v1/ledger/check", null);
        report["ok"]!.GetValue<bool>().ShouldBeTrue(report.ToJsonString());
    }

    private async Task<JsonObject> OperatorAsync(HttpMethod method, string path, object? body)
    {
        using var request = new HttpRequestMessage(method, path);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", ConsoleBrowser.OperatorKey);
        if (body is not null) request.Content = JsonContent.Create(body);
        var response = await Http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        ((int)response.StatusCode).ShouldBeInRange(200, 299, text);
        return JsonNode.Parse(text) as JsonObject ?? [];
    }

    public async Task DisposeAsync()
    {
        if (browser is not null) await browser.CloseAsync();
        playwright?.Dispose();
        http?.Dispose();
        if (server is not null) await server.DisposeAsync();
    }
}
