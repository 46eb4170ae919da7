using System.Net.Http.Json;
using System.Text.Json;
using Qianbao.Server.Hosting;
using Qianbao.Server.Tests.Infrastructure;

namespace Qianbao.Server.Tests.Hosting;

/// <summary>
/// The real server as a process: a bad configuration stops it with exit code 78 and one line naming the key (no
/// stack trace); the default sandbox mode says so on the console and in <c>/healthz</c>.
/// </summary>
public sealed class StartupRefusalTests : IDisposable
{
    private readonly string dataDir = Directory.CreateTempSubdirectory("qianbao-refusal-").FullName;

    [Theory]
    [InlineData("Qianbao:Holds:IntervalMs", "0", "Qianbao:Holds:IntervalMs must be 10..600000 (was 0)")]
    [InlineData("Qianbao:Ledger:BatchSizeMax", "70000", "Qianbao:Ledger:BatchSizeMax must be 1..65536 (was 70000)")]
    [InlineData("Qianbao:Gateway:NotifyTimeoutMs", "soon", "Qianbao:Gateway:NotifyTimeoutMs must be an integer 100..120000 (was 'soon')")]
    [InlineData("Qianbao:Mode", "staging", "Qianbao:Mode must be sandbox or production (was 'staging')")]
    public async Task ABadValueStopsTheServerWithOneLineNamingTheKey(string key, string value, string line)
    {
        var (exitCode, output) = await ServerProcess.RunUntilExitAsync(Settings((key, value)));

        exitCode.ShouldBe(ConfigurationRefusedException.ExitCode, output);
        output.ShouldContain("Qianbao cannot start: " + line, Case.Sensitive, output);
        ShouldHaveNoStackTrace(output);
    }

    [Fact]
    public async Task ProductionWithTheSandboxBankRefusesToStart()
    {
        var (exitCode, output) = await ServerProcess.RunUntilExitAsync(Settings(("Qianbao:Mode", "production"),
            ("Qianbao:OperatorKey", new string('k', 40)), ("Qianbao:Sms:Provider", "webhook"), ("Qianbao:Sms:WebhookUrl", "https://sms.example/send"),
            ("Qianbao:Sms:WebhookSecret", new string('w', 32))));

        exitCode.ShouldBe(ConfigurationRefusedException.ExitCode, output);
        var refusals = output.Split('\n').Where(l => l.StartsWith("Qianbao cannot start: ", StringComparison.Ordinal)).ToList();
        refusals.ShouldHaveSingleItem(output);
        refusals[0].ShouldContain("Qianbao:Channels:Default must name a real funding channel in production mode (was 'sandbox'");
        ShouldHaveNoStackTrace(output);
        File.Exists(Path.Combine(dataDir, "qianbao.db")).ShouldBeFalse("the database is not touched before the configuration passed");
    }

    [Fact]
    public async Task ProductionAllowingPrivateNotifyUrlsRefusesToStart()
    {
        var (exitCode, output) = await ServerProcess.RunUntilExitAsync(Settings(("Qianbao:Mode", "production"),
            ("Qianbao:OperatorKey", new string('k', 40)), ("Qianbao:Channels:Default", "bank"), ("Qianbao:Channels:bank:Kind", "http"),
            ("Qianbao:Channels:bank:BaseUrl", "https://bank-connector.example/"), ("Qianbao:Channels:bank:Secret", new string('s', 40)),
            ("Qianbao:Gateway:AllowPrivateNotifyUrls", "true")));

        exitCode.ShouldBe(ConfigurationRefusedException.ExitCode, output);
        output.ShouldContain("Qianbao cannot start: Qianbao:Gateway:AllowPrivateNotifyUrls must be false in production mode (was true)", Case.Sensitive, output);
        ShouldHaveNoStackTrace(output);
    }

    [Fact]
    public async Task TheDefaultIsASandboxAndSaysSo()
    {
        await using var server = await ServerProcess.StartAsync(Settings());
        using var client = server.CreateClient();

        using var health = await client.GetAsync("healthz");
        var body = await health.Content.ReadFromJsonAsync<JsonElement>();
        body.GetProperty("status").GetString().ShouldBe("ok");
        body.GetProperty("mode").GetString().ShouldBe("sandbox");
        // The banner is written before the server listens; the output reader may still be a moment behind.
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (!server.RecentOutput.Contains("Qianbao is running in SANDBOX mode: test money only", StringComparison.Ordinal) && DateTime.UtcNow < deadline)
            await Task.Delay(20);
        server.RecentOutput.ShouldContain("Qianbao is running in SANDBOX mode: test money only", Case.Sensitive, server.RecentOutput);
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(dataDir, recursive: true);
        }
        catch (IOException)
        {
            // Cleaned by the OS later.
        }
    }

    private ServerSettings Settings(params (string Key, string Value)[] configuration) =>
        new(dataDir, null, "test-operator-key", Configuration: configuration.ToDictionary(c => c.Key, c => c.Value));

    private static void ShouldHaveNoStackTrace(string output)
    {
        output.ShouldNotContain("Unhandled exception", Case.Insensitive, output);
        output.ShouldNotContain("   at ", Case.Sensitive, output);
    }
}
