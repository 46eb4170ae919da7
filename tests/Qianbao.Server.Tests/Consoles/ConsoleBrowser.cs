using Microsoft.Playwright;
using Qianbao.Server.Tests.Infrastructure;

namespace Qianbao.Server.Tests.Consoles;

/// <summary>
/// Debian's chromium driven by Playwright for .NET (no browser download: <c>./test.sh</c> installs the <c>chromium</c>
/// package), against a real server process on Kestrel. One browser and one server per test class (a class fixture);
/// each test opens its own context, so cookies never leak between tests. Screenshots go to
/// <c>TestResults/screenshots/</c> at the repository root (or <c>$QIANBAO_SCREENSHOTS</c>).
/// </summary>
public sealed class ConsoleBrowser : IAsyncLifetime
{
    public const string OperatorKey = "console-operator-key-0123456789abcdef";

    /// <summary>A phone-sized viewport (the wallet pages must work at 390 px wide).</summary>
    public static readonly ViewportSize Phone = new() { Width = 390, Height = 844 };

    public static readonly ViewportSize Desktop = new() { Width = 1280, Height = 900 };

    private IPlaywright? playwright;
    private IBrowser? browser;
    private ServerProcess? server;

    public IBrowser Browser => browser ?? throw new InvalidOperationException("not started");

    public ServerProcess Server => server ?? throw new InvalidOperationException("not started");

    public Uri BaseAddress => Server.BaseAddress;

    public static string ChromiumPath =>
        Environment.GetEnvironmentVariable("QIANBAO_CHROMIUM") is { Length: > 0 } configured ? configured : "/usr/bin/chromium";

    public static string ScreenshotDirectory
    {
        get
        {
            if (Environment.GetEnvironmentVariable("QIANBAO_SCREENSHOTS") is { Length: > 0 } configured) return configured;
            var dir = new DirectoryInfo(AppContext.BaseDirectory);
            while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Qianbao.slnx"))) dir = dir.Parent;
            return Path.Combine(dir?.FullName ?? AppContext.BaseDirectory, "TestResults", "screenshots");
        }
    }

    public async Task InitializeAsync()
    {
        File.Exists(ChromiumPath).ShouldBeTrue($"chromium is not at {ChromiumPath}: ./test.sh installs Debian's chromium package");
        server = await ServerProcess.StartAsync(new ServerSettings(Directory.CreateTempSubdirectory("qianbao-console-").FullName, null, OperatorKey));
        playwright = await Playwright.CreateAsync();
        browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = ChromiumPath,
            Headless = true,
            // Root in a container has no user namespace for chromium's sandbox.
            Args = ["--no-sandbox", "--disable-dev-shm-usage"],
        });
    }

    /// <summary>A fresh browser context (its own cookies) and page, in the given language and viewport.</summary>
    public async Task<IPage> NewPageAsync(string language = "zh-CN", ViewportSize? viewport = null)
    {
        var context = await Browser.NewContextAsync(new BrowserNewContextOptions
        {
            BaseURL = BaseAddress.ToString(),
            Locale = language,
            ViewportSize = viewport ?? Desktop,
        });
        context.SetDefaultTimeout(15_000);
        return await context.NewPageAsync();
    }

    /// <summary>Writes a full-page screenshot to <see cref="ScreenshotDirectory"/> (look at them).</summary>
    public static async Task ScreenshotAsync(IPage page, string name)
    {
        Directory.CreateDirectory(ScreenshotDirectory);
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(ScreenshotDirectory, name + ".png"), FullPage = true });
    }

    public async Task DisposeAsync()
    {
        if (browser is not null) await browser.CloseAsync();
        playwright?.Dispose();
        if (server is not null) await server.DisposeAsync();
    }
}
