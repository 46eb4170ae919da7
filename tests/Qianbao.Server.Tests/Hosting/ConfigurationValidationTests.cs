using System.ComponentModel.DataAnnotations;
using System.Globalization;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Qianbao.Server.Hosting;
using Qianbao.Server.Adapters.Alipay.Notifications;

namespace Qianbao.Server.Tests.Hosting;

/// <summary>
/// The start-up check in-process, through the host's own registration (<see cref="ServiceRegistration.AddQianbao"/>):
/// every ranged key refuses the values just outside its range and takes its bounds; the mode rules refuse what
/// production must not run with.
/// </summary>
public sealed class ConfigurationValidationTests
{
    private const string LongKey = "0123456789abcdef0123456789abcdef";

    public static TheoryData<string> RangedKeys()
    {
        var data = new TheoryData<string>();
        foreach (var key in OptionsCatalog.Keys().Where(k => k.Property.GetCustomAttributes(typeof(RangeAttribute), false).Length > 0)) data.Add(key.Key);
        return data;
    }

    [Theory]
    [MemberData(nameof(RangedKeys))]
    public void EveryRangedKeyRefusesValuesOutsideItsRangeAndTakesItsBounds(string key)
    {
        var range = Range(key);
        var min = Convert.ToDecimal(range.Minimum, CultureInfo.InvariantCulture);
        var max = Convert.ToDecimal(range.Maximum, CultureInfo.InvariantCulture);

        Problems(WithCompanions(key, Text(min))).ShouldBeEmpty();
        Problems(WithCompanions(key, Text(max))).ShouldBeEmpty();
        Problems((key, Text(min - 1))).ShouldBe([$"{key} must be {Text(min)}..{Text(max)} (was {Text(min - 1)})"]);
        Problems((key, Text(max + 1))).ShouldBe([$"{key} must be {Text(min)}..{Text(max)} (was {Text(max + 1)})"]);
    }

    /// <summary>Tier caps may not fall from one tier to the next (LimitsOptions), so a cap at a bound takes the same cap of the other tiers along.</summary>
    private static (string Key, string? Value)[] WithCompanions(string key, string value) =>
        key.StartsWith("Qianbao:Limits:", StringComparison.Ordinal)
            ? [.. new[] { "ClassI", "ClassII", "ClassIII" }.Select(t => ($"Qianbao:Limits:{t}:{key.Split(':')[^1]}", (string?)value))]
            : [(key, value)];

    [Theory]
    [InlineData("Qianbao:Limits:ClassII:DailyMaxMinor", "99999", "Qianbao:Limits:ClassII:DailyMaxMinor must be at least ClassI:DailyMaxMinor (100000) (was 99999)")]
    [InlineData("Qianbao:Limits:ClassIII:CumulativeMaxMinor", "9999999", "Qianbao:Limits:ClassIII:CumulativeMaxMinor must be at least ClassII:CumulativeMaxMinor (10000000) (was 9999999)")]
    public void TierCapsMayNotFallFromOneTierToTheNext(string key, string value, string line) => Problems((key, value)).ShouldBe([line]);

    [Fact]
    public void EveryNumericKeyHasARange()
    {
        var unranged = OptionsCatalog.Keys()
            .Where(k => (Nullable.GetUnderlyingType(k.Property.PropertyType) ?? k.Property.PropertyType) is var t
                        && (t == typeof(int) || t == typeof(long) || t == typeof(double) || t == typeof(decimal)))
            .Where(k => k.Property.GetCustomAttributes(typeof(RangeAttribute), false).Length == 0)
            .Select(k => k.Key).ToList();
        unranged.ShouldBeEmpty();
    }

    [Fact]
    public void TheDefaultsPass() => Problems().ShouldBeEmpty();

    [Fact]
    public void SeveralBadKeysAreAllNamed() =>
        Problems(("Qianbao:Holds:IntervalMs", "0"), ("Qianbao:Auth:TokenLifetimeMinutes", "0")).ShouldBe(
            ["Qianbao:Auth:TokenLifetimeMinutes must be 1..43200 (was 0)", "Qianbao:Holds:IntervalMs must be 10..600000 (was 0)"],
            ignoreOrder: true);

    [Theory]
    [InlineData("Qianbao:Holds:IntervalMs", "abc", "Qianbao:Holds:IntervalMs must be an integer 10..600000 (was 'abc')")]
    [InlineData("Qianbao:Holds:IntervalMs", "", "Qianbao:Holds:IntervalMs must be an integer 10..600000 (was '')")]
    [InlineData("Qianbao:Sandbox:DeclineAmountMinor", "99999999999999999999", "Qianbao:Sandbox:DeclineAmountMinor must be an integer 0..10000000000 (was '99999999999999999999')")]
    [InlineData("Qianbao:Mode", "staging", "Qianbao:Mode must be sandbox or production (was 'staging')")]
    [InlineData("Qianbao:Mode", "1", "Qianbao:Mode must be sandbox or production (was '1')")]
    [InlineData("Qianbao:Gateway:AllowPrivateNotifyUrls", "yes", "Qianbao:Gateway:AllowPrivateNotifyUrls must be true or false (was 'yes')")]
    public void ValuesTheBinderCannotConvertAreNamedNotThrown(string key, string value, string line) => Problems((key, value)).ShouldBe([line]);

    [Theory]
    [InlineData("Qianbao:Gateway:NotifyRetrySchedule", "4m", "Qianbao:Gateway:NotifyRetrySchedule must be TimeSpans of the form [d.]hh:mm:ss[.fffffff] (was \"4m\")")]
    [InlineData("Qianbao:Gateway:QrBaseUrl", "qr/", "Qianbao:Gateway:QrBaseUrl must be an absolute http(s) URL (was 'qr/')")]
    [InlineData("Qianbao:Gateway:PublicBaseUrl", "ftp://pay.example", "Qianbao:Gateway:PublicBaseUrl must be an absolute http(s) URL (was 'ftp://pay.example')")]
    [InlineData("Qianbao:DataDir", " ", "Qianbao:DataDir must be a directory path (was empty)")]
    public void RulesBeyondRangesNameTheKey(string key, string value, string line) => Problems((key, value)).ShouldBe([line]);

    [Theory]
    [InlineData("sandbox")]
    [InlineData("Sandbox")]
    [InlineData("SANDBOX")]
    public void TheModeIsCaseInsensitive(string mode) => Problems(("Qianbao:Mode", mode)).ShouldBeEmpty();

    [Fact]
    public void ProductionWithARealChannelAndAConfiguredKeyPasses() =>
        Problems(Production(("Qianbao:Mode", "Production"))).ShouldBeEmpty();

    [Fact]
    public void ProductionRefusesTheDefaultChannel() =>
        Problems(("Qianbao:Mode", "production"), ("Qianbao:OperatorKey", LongKey), ("Qianbao:Sms:Provider", "webhook"),
                ("Qianbao:Sms:WebhookUrl", "https://sms.example/send"), ("Qianbao:Sms:WebhookSecret", new string('w', 32)),
                ("Qianbao:Security:DataKeys", Infrastructure.ServerProcess.TestDataKeys), ("Qianbao:Security:IndexKey", Infrastructure.ServerProcess.TestIndexKey))
            .ShouldHaveSingleItem()
            .ShouldStartWith("Qianbao:Channels:Default must name a real funding channel in production mode (was 'sandbox'");

    [Fact]
    public void ProductionRefusesAnyChannelOfTheSandboxKind() =>
        Problems(Production(("Qianbao:Channels:bank:Kind", "Sandbox"), ("Qianbao:Channels:bank:BaseUrl", null), ("Qianbao:Channels:bank:Secret", null))).ShouldHaveSingleItem()
            .ShouldStartWith("Qianbao:Channels:Default must name a real funding channel in production mode (was 'bank'");

    [Fact]
    public void ProductionRefusesPrivateNotifyUrls() =>
        Problems(Production(("Qianbao:Gateway:AllowPrivateNotifyUrls", "true"))).ShouldHaveSingleItem()
            .ShouldStartWith("Qianbao:Gateway:AllowPrivateNotifyUrls must be false in production mode (was true)");

    [Theory]
    [InlineData(null, "Qianbao:OperatorKey must be set in production mode (was unset)")]
    [InlineData("", "Qianbao:OperatorKey must be set in production mode (was unset)")]
    [InlineData("short-key", "Qianbao:OperatorKey must be at least 32 characters in production mode (was 9)")]
    public void ProductionNeverGeneratesAnOperatorKey(string? key, string line) =>
        Problems(Production(("Qianbao:OperatorKey", key))).ShouldHaveSingleItem().ShouldStartWith(line);

    [Fact]
    public void ProductionRefusesSandboxMessages() =>
        Problems(Production(("Qianbao:Sms:Provider", null))).ShouldHaveSingleItem()
            .ShouldStartWith("Qianbao:Sms:Provider must be webhook in production mode (was sandbox)");

    [Fact]
    public void ProductionNeedsPersonalDataKeysFromTheSecretStore() =>
        Problems(Production(("Qianbao:Security:DataKeys", null), ("Qianbao:Security:IndexKey", " "))).ShouldBe(
        [
            "Qianbao:Security:DataKeys must be set in production mode (was unset): personal data is sealed with keys from your secret store",
            "Qianbao:Security:IndexKey must be set in production mode (was unset): the blind-index key comes from your secret store",
        ], ignoreOrder: true);

    [Theory]
    [InlineData("Qianbao:Security:DataKeys", "k1", "Qianbao:Security:DataKeys must be id:base64 entries separated by commas")]
    [InlineData("Qianbao:Security:DataKeys", "k1:c2hvcnQ=", "Qianbao:Security:DataKeys key 'k1' must be 32 bytes in base64")]
    [InlineData("Qianbao:Security:DataKeys", "k.1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=", "Qianbao:Security:DataKeys must be id:base64 entries")]
    [InlineData("Qianbao:Security:IndexKey", "not base64!", "Qianbao:Security:IndexKey must be 32 bytes in base64")]
    public void MalformedPersonalDataKeysAreRefused(string key, string value, string line) =>
        Problems((key, value)).ShouldHaveSingleItem().ShouldStartWith(line);

    [Fact]
    public void ProductionRefusesTheRelaxedSecuritySwitch() =>
        Problems(Production(("Qianbao:Security:Relaxed", "true"))).ShouldHaveSingleItem()
            .ShouldStartWith("Qianbao:Security:Relaxed must be false in production mode (was true)");

    [Fact]
    public void AWebhookProviderNeedsItsAddressAndSecret() =>
        Problems(("Qianbao:Sms:Provider", "webhook"), ("Qianbao:Sms:WebhookUrl", "sms.example"), ("Qianbao:Sms:WebhookSecret", "short")).ShouldBe(
        [
            "Qianbao:Sms:WebhookUrl must be an absolute http(s) URL with provider webhook (was 'sms.example')",
            "Qianbao:Sms:WebhookSecret must be 16..512 characters with provider webhook (was 5 characters)",
        ], ignoreOrder: true);

    [Fact]
    public void AnSmtpHostNeedsASenderAndCredentialsGoTogether() =>
        Problems(("Qianbao:Email:Smtp:Host", "smtp.example.com"), ("Qianbao:Email:Smtp:From", "nobody"), ("Qianbao:Email:Smtp:Username", "mailer")).ShouldBe(
        [
            "Qianbao:Email:Smtp:From must be an e-mail address such as 'Qianbao <no-reply@example.com>' with an SMTP host (was 'nobody')",
            "Qianbao:Email:Smtp:Password must be set together with Username (both or neither)",
        ], ignoreOrder: true);

    [Fact]
    public void PublicBaseUrlMustBeAnAbsoluteHttpUrl() =>
        Problems(("Qianbao:PublicBaseUrl", "wallet.example.com")).ShouldHaveSingleItem()
            .ShouldStartWith("Qianbao:PublicBaseUrl must be an absolute http(s) URL");

    [Fact]
    public void SandboxTakesAnythingProductionRefuses() =>
        Problems(("Qianbao:Gateway:AllowPrivateNotifyUrls", "true"), ("Qianbao:OperatorKey", "short"), ("Qianbao:Security:Relaxed", "true")).ShouldBeEmpty();

    [Theory]
    [InlineData("sandbox", null, true)]
    [InlineData("production", null, false)]
    [InlineData("sandbox", "false", false)]
    [InlineData("production", "false", false)]
    public void PrivateNotifyUrlsDefaultByMode(string mode, string? configured, bool allowed)
    {
        var settings = Production(("Qianbao:Mode", mode), ("Qianbao:Gateway:AllowPrivateNotifyUrls", configured));
        using var provider = Build(settings);
        provider.GetRequiredService<NotificationOptions>().AllowPrivateNotifyUrls.ShouldBe(allowed);
    }

    [Fact]
    public void ConsumersGetThePlainOptionsObject()
    {
        using var provider = Build([("Qianbao:Holds:IntervalMs", "1234")]);
        provider.GetRequiredService<Qianbao.Server.Modules.Channels.HoldMaintenanceOptions>().IntervalMs.ShouldBe(1234);
        provider.GetRequiredService<Qianbao.Server.Modules.Channels.HoldMaintenanceOptions>().ShouldBeSameAs(provider.GetRequiredService<IOptions<Qianbao.Server.Modules.Channels.HoldMaintenanceOptions>>().Value);
    }

    private static (string Key, string? Value)[] Production(params (string Key, string? Value)[] overrides)
    {
        var settings = new Dictionary<string, string?>
        {
            ["Qianbao:Mode"] = "production",
            ["Qianbao:OperatorKey"] = LongKey,
            ["Qianbao:Channels:Default"] = "bank",
            ["Qianbao:Channels:bank:Kind"] = "http",
            ["Qianbao:Channels:bank:BaseUrl"] = "https://bank-connector.example/",
            ["Qianbao:Channels:bank:Secret"] = new string('s', 40),
            ["Qianbao:Sms:Provider"] = "webhook",
            ["Qianbao:Sms:WebhookUrl"] = "https://sms.example/send",
            ["Qianbao:Sms:WebhookSecret"] = new string('w', 32),
            ["Qianbao:Security:DataKeys"] = Infrastructure.ServerProcess.TestDataKeys,
            ["Qianbao:Security:IndexKey"] = Infrastructure.ServerProcess.TestIndexKey,
        };
        foreach (var (key, value) in overrides) settings[key] = value;
        return settings.Select(s => (s.Key, s.Value)).ToArray();
    }

    /// <summary>What the server would print at start for these settings, without the "Qianbao cannot start: " prefix.</summary>
    private static IReadOnlyList<string> Problems(params (string Key, string? Value)[] settings)
    {
        try
        {
            using var provider = Build(settings);
            StartupValidation.ThrowIfConfigurationInvalid(provider);
            return [];
        }
        catch (ConfigurationRefusedException e)
        {
            return e.Problems;
        }
    }

    private static ServiceProvider Build((string Key, string? Value)[] settings)
    {
        // The empty builder reads no environment or appsettings, so only these settings count.
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions());
        builder.Configuration.AddInMemoryCollection(settings.Select(s => KeyValuePair.Create(s.Key, s.Value)));
        builder.Services.AddSingleton<IConfiguration>(builder.Configuration);
        builder.AddQianbao();
        return builder.Services.BuildServiceProvider();
    }

    private static RangeAttribute Range(string key) =>
        (RangeAttribute)OptionsCatalog.Keys().Single(k => k.Key == key).Property.GetCustomAttributes(typeof(RangeAttribute), false).Single();

    private static string Text(decimal value) => value.ToString(CultureInfo.InvariantCulture);
}
