using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.Configuration;
using Qianbao.Server.Modules.Channels;

namespace Qianbao.Server.Tests.Channels;

/// <summary><c>Qianbao:Channels</c>: defaults, and every bad value refused at start with a message naming its key.</summary>
public sealed class ChannelsOptionsTests
{
    private const string Secret = "0123456789abcdef0123456789abcdef";

    private static ChannelsOptions Load(params (string Key, string Value)[] settings) =>
        ChannelsOptions.Load(new ConfigurationBuilder()
            .AddInMemoryCollection(settings.Select(s => new KeyValuePair<string, string?>(s.Key, s.Value))).Build());

    private static (string, string)[] Bank(params (string Key, string Value)[] overrides)
    {
        var settings = new Dictionary<string, string>
        {
            ["Qianbao:Channels:Default"] = "bank",
            ["Qianbao:Channels:bank:Kind"] = "http",
            ["Qianbao:Channels:bank:BaseUrl"] = "https://connector.example/qianbao",
            ["Qianbao:Channels:bank:Secret"] = Secret,
        };
        foreach (var (key, value) in overrides) settings[key] = value;
        return settings.Where(s => s.Value != "<unset>").Select(s => (s.Key, s.Value)).ToArray();
    }

    [Fact]
    public void WithoutConfigurationTheSandboxBankIsTheDefault()
    {
        var options = Load();
        options.Default.ShouldBe("sandbox");
        options.DefaultChannel.Kind.ShouldBe(ChannelKind.Sandbox);
        options.Channels.Keys.ShouldBe(["sandbox"]);
    }

    [Fact]
    public void AnHttpChannelCanBeTheDefaultAndTheSandboxStaysForOlderOrders()
    {
        var options = Load(Bank(("Qianbao:Channels:bank:TimeoutMs", "250"), ("Qianbao:Channels:bank:CallbackUrl", "https://wallet.example/channels/v1/bank/callbacks")));
        options.Default.ShouldBe("bank");
        var bank = options.DefaultChannel;
        (bank.Kind, bank.BaseUrl!.AbsoluteUri, bank.Secret, bank.TimeoutMs).ShouldBe((ChannelKind.Http, "https://connector.example/qianbao", Secret, 250));
        bank.CallbackUrl!.AbsoluteUri.ShouldBe("https://wallet.example/channels/v1/bank/callbacks");
        options.Channels.Keys.Order().ShouldBe(["bank", "sandbox"]);
    }

    [Theory]
    [InlineData("Qianbao:Channels:Default", "nowhere", "Qianbao:Channels:Default")]
    [InlineData("Qianbao:Channels:bank:Kind", "ftp", "Qianbao:Channels:bank:Kind")]
    [InlineData("Qianbao:Channels:bank:Kind", "<unset>", "Qianbao:Channels:bank:Kind")]
    [InlineData("Qianbao:Channels:bank:Secret", "<unset>", "Qianbao:Channels:bank:Secret")]
    [InlineData("Qianbao:Channels:bank:Secret", "too-short", "Qianbao:Channels:bank:Secret")]
    [InlineData("Qianbao:Channels:bank:BaseUrl", "<unset>", "Qianbao:Channels:bank:BaseUrl")]
    [InlineData("Qianbao:Channels:bank:BaseUrl", "/relative", "Qianbao:Channels:bank:BaseUrl")]
    [InlineData("Qianbao:Channels:bank:BaseUrl", "ftp://connector.example/", "Qianbao:Channels:bank:BaseUrl")]
    [InlineData("Qianbao:Channels:bank:BaseUrl", "https://user:pw@connector.example/", "Qianbao:Channels:bank:BaseUrl")]
    [InlineData("Qianbao:Channels:bank:TimeoutMs", "0", "Qianbao:Channels:bank:TimeoutMs")]
    [InlineData("Qianbao:Channels:bank:TimeoutMs", "99", "Qianbao:Channels:bank:TimeoutMs")]
    [InlineData("Qianbao:Channels:bank:TimeoutMs", "60001", "Qianbao:Channels:bank:TimeoutMs")]
    [InlineData("Qianbao:Channels:bank:TimeoutMs", "fast", "Qianbao:Channels:bank:TimeoutMs")]
    [InlineData("Qianbao:Channels:bank:CallbackUrl", "callbacks", "Qianbao:Channels:bank:CallbackUrl")]
    [InlineData("Qianbao:Channels:Big_Bank:Kind", "http", "Qianbao:Channels:Big_Bank")]
    [InlineData("Qianbao:Channels:sandbox:Kind", "http", "Qianbao:Channels:sandbox:Kind")]
    [InlineData("Qianbao:Channels:play:Secret", Secret, "Qianbao:Channels:play:Kind")]
    public void BadValuesAreRefusedNamingTheKey(string key, string value, string named)
    {
        var refused = Should.Throw<InvalidOperationException>(() => Load(Bank((key, value))));
        refused.Message.ShouldContain(named);
    }

    [Fact]
    public void SandboxKindTakesNoConnectorSettings()
    {
        var refused = Should.Throw<InvalidOperationException>(() => Load(("Qianbao:Channels:play:Kind", "sandbox"), ("Qianbao:Channels:play:BaseUrl", "https://x.example/")));
        refused.Message.ShouldContain("Qianbao:Channels:play:BaseUrl");
        Load(("Qianbao:Channels:play:Kind", "sandbox"), ("Qianbao:Channels:Default", "play")).DefaultChannel.Kind.ShouldBe(ChannelKind.Sandbox);
    }

    [Fact]
    public void TheServerDoesNotStartWithABadChannel()
    {
        var dataDir = Directory.CreateTempSubdirectory("qianbao-channel-config-").FullName;
        using var factory = new WebApplicationFactory<Program>().WithWebHostBuilder(b =>
        {
            b.UseSetting("Qianbao:DataDir", dataDir);
            b.UseSetting("Qianbao:Channels:Default", "bank");
            b.UseSetting("Qianbao:Channels:bank:Kind", "http");
            b.UseSetting("Qianbao:Channels:bank:BaseUrl", "https://connector.example/");
        });
        // The host refuses before it builds (Program prints the refusal and exits 78; see StartupRefusalTests for the process).
        Should.Throw<Exception>(() => factory.Server);
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Qianbao:Channels:Default"] = "bank", ["Qianbao:Channels:bank:Kind"] = "http", ["Qianbao:Channels:bank:BaseUrl"] = "https://connector.example/",
        }).Build();
        var refused = Should.Throw<Qianbao.Server.Hosting.ConfigurationRefusedException>(() => ChannelsOptions.Load(configuration));
        refused.Problems.ShouldHaveSingleItem().ShouldContain("Qianbao:Channels:bank:Secret");
    }
}
