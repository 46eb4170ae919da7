using System.Net;
using Microsoft.Extensions.Configuration;
using Qianbao.Server.Http;
using Qianbao.Server.Modules.Merchants;

namespace Qianbao.Server.Tests.Modules.Merchants;

/// <summary>Which notify URLs and addresses count as public, and how the setting follows the mode.</summary>
public sealed class NotifyUrlPolicyTests
{
    [Theory]
    [InlineData("0.0.0.0")]
    [InlineData("0.1.2.3")]
    [InlineData("10.0.0.1")]
    [InlineData("127.0.0.1")]
    [InlineData("127.255.255.254")]
    [InlineData("169.254.169.254")]
    [InlineData("172.16.0.1")]
    [InlineData("172.31.255.255")]
    [InlineData("192.168.1.1")]
    [InlineData("100.64.0.1")]
    [InlineData("192.0.0.8")]
    [InlineData("198.18.0.1")]
    [InlineData("224.0.0.1")]
    [InlineData("239.255.255.250")]
    [InlineData("240.0.0.1")]
    [InlineData("255.255.255.255")]
    [InlineData("::")]
    [InlineData("::1")]
    [InlineData("fe80::1")]
    [InlineData("febf::1")]
    [InlineData("fec0::1")]
    [InlineData("fc00::1")]
    [InlineData("fd12:3456::1")]
    [InlineData("ff02::1")]
    [InlineData("100::1")]
    [InlineData("::ffff:127.0.0.1")]
    [InlineData("::ffff:10.1.2.3")]
    [InlineData("::ffff:169.254.1.1")]
    [InlineData("::127.0.0.1")]
    [InlineData("64:ff9b::a00:1")] // NAT64 of 10.0.0.1
    [InlineData("2002:7f00:1::1")] // 6to4 of 127.0.0.1
    public void Private_and_special_addresses_are_not_public(string address) =>
        PublicAddresses.IsPublic(IPAddress.Parse(address)).ShouldBeFalse(address);

    [Theory]
    [InlineData("1.1.1.1")]
    [InlineData("93.184.215.14")]
    [InlineData("172.15.255.255")]
    [InlineData("172.32.0.1")]
    [InlineData("100.63.255.255")]
    [InlineData("100.128.0.1")]
    [InlineData("223.255.255.255")]
    [InlineData("2606:4700:4700::1111")]
    [InlineData("2001:4860:4860::8888")]
    [InlineData("::ffff:1.1.1.1")]
    [InlineData("64:ff9b::101:101")] // NAT64 of 1.1.1.1
    public void Internet_addresses_are_public(string address) =>
        PublicAddresses.IsPublic(IPAddress.Parse(address)).ShouldBeTrue(address);

    [Theory]
    [InlineData(null, null, true)] // the default mode is sandbox
    [InlineData("sandbox", null, true)]
    [InlineData("Sandbox", null, true)]
    [InlineData("production", null, false)]
    [InlineData("something-else", null, false)] // an unknown mode fails closed
    [InlineData("production", "true", true)] // explicit wins (production mode itself refuses to start with it)
    [InlineData("sandbox", "false", false)]
    [InlineData(null, "False", false)]
    public void Private_addresses_follow_the_mode_unless_set(string? mode, string? allow, bool allowed) =>
        NotifyUrlPolicy.FromConfiguration(Config(mode, allow)).AllowsPrivateAddresses.ShouldBe(allowed);

    [Fact]
    public void A_setting_that_is_not_a_boolean_names_the_key() =>
        Should.Throw<InvalidOperationException>(() => NotifyUrlPolicy.FromConfiguration(Config(null, "maybe")))
            .Message.ShouldContain("Qianbao:Gateway:AllowPrivateNotifyUrls");

    [Theory]
    [InlineData("http://127.0.0.1:8080/notify")]
    [InlineData("http://localhost/notify")]
    [InlineData("http://[::1]/notify")]
    [InlineData("http://[::ffff:192.168.0.1]/notify")]
    [InlineData("https://10.0.0.5/notify")]
    [InlineData("http://169.254.169.254/latest/meta-data")]
    [InlineData("http://2130706433/notify")] // 127.0.0.1 written as one number
    [InlineData("http://0x7f.1/notify")]
    [InlineData("http://no-such-host.invalid/notify")] // does not resolve: cannot be shown public
    [InlineData("ftp://1.1.1.1/notify")]
    public async Task Public_only_policy_refuses_urls_that_lead_inside(string url) =>
        (await new NotifyUrlPolicy(allowPrivateAddresses: false).IsAcceptableAsync(url, CancellationToken.None)).ShouldBeFalse(url);

    [Fact]
    public async Task Public_only_policy_accepts_a_public_address_and_the_sandbox_policy_accepts_loopback()
    {
        (await new NotifyUrlPolicy(false).IsAcceptableAsync("https://93.184.215.14/notify", CancellationToken.None)).ShouldBeTrue();
        (await new NotifyUrlPolicy(false).IsAcceptableAsync("http://[2606:4700:4700::1111]:8443/n", CancellationToken.None)).ShouldBeTrue();
        (await new NotifyUrlPolicy(true).IsAcceptableAsync("http://127.0.0.1:8080/notify", CancellationToken.None)).ShouldBeTrue();
        (await new NotifyUrlPolicy(true).IsAcceptableAsync("not a url", CancellationToken.None)).ShouldBeFalse();
    }

    private static IConfiguration Config(string? mode, string? allow)
    {
        var values = new Dictionary<string, string?>();
        if (mode is not null) values["Qianbao:Mode"] = mode;
        if (allow is not null) values["Qianbao:Gateway:AllowPrivateNotifyUrls"] = allow;
        return new ConfigurationBuilder().AddInMemoryCollection(values).Build();
    }
}
