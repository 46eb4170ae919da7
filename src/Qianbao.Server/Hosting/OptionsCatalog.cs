using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Qianbao.Server.Modules.Channels;
using Qianbao.Server.Adapters.Alipay.Notifications;
using Qianbao.Server.Adapters.Alipay.Methods;
using Qianbao.Server.Money.Ledger;
using Qianbao.Server.Modules.Identity;
using Qianbao.Server.Modules.Identity.Limits;
using Qianbao.Server.Modules.Messaging;
using Qianbao.Server.Modules.Points;
using Qianbao.Server.Modules.Cashback;
using Qianbao.Server.Modules.Risk;
using Qianbao.Server.Modules.RedPackets;

using Qianbao.Server.Money.Events;

namespace Qianbao.Server.Hosting;

/// <summary>
/// Every configuration section the server binds, with its options class: the one list that registration, the
/// start-up check and the README test (tests/…/Docs/ConfigurationTableTests) all read. A new options class is
/// added here, with a <see cref="System.ComponentModel.DataAnnotations.RangeAttribute"/> on each numeric property,
/// and its keys in README's configuration table.
/// </summary>
public static class OptionsCatalog
{
    /// <summary>One bound section. Several classes may share a section (the gateway's and the notifications').</summary>
    public sealed record Section(string Path, Type Type, Action<IServiceCollection, IConfiguration> Register);

    /// <summary>The funding channel top-ups and withdrawals use; read directly (its owner binds it), <c>sandbox</c> by default.</summary>
    public const string ChannelsDefaultKey = "Qianbao:Channels:Default";

    /// <summary>The name of the built-in sandbox bank, and the default of <see cref="ChannelsDefaultKey"/>.</summary>
    public const string SandboxChannel = "sandbox";

    public static IReadOnlyList<Section> Sections { get; } =
    [
        For<QianbaoOptions>("Qianbao"),
        For<LedgerExecutorOptions>("Qianbao:Ledger"),
        For<SandboxOptions>("Qianbao:Sandbox"),
        For<HoldMaintenanceOptions>("Qianbao:Holds"),
        For<GatewayOptions>("Qianbao:Gateway"),
        For<NotificationOptions>(NotificationOptions.SectionName),
        For<EventOptions>(EventOptions.SectionName),
        For<SecurityOptions>(SecurityOptions.SectionName),
        For<LimitsOptions>(LimitsOptions.SectionName),
        For<SmsOptions>(SmsOptions.SectionName),
        For<Modules.Messaging.Email.EmailOptions>(Modules.Messaging.Email.EmailOptions.SectionName),
        For<Modules.Notifications.NotificationOptions>(Modules.Notifications.NotificationOptions.SectionName),
        For<AmlOptions>(AmlOptions.SectionName),
        For<RedPacketsOptions>(RedPacketsOptions.SectionName),
        For<PointsOptions>(PointsOptions.SectionName),
        For<CashbackOptions>(CashbackOptions.SectionName),
        For<Modules.Merchants.MerchantOptions>(Modules.Merchants.MerchantOptions.SectionName),
        For<Modules.Analytics.AnalyticsOptions>(Modules.Analytics.AnalyticsOptions.SectionName),
    ];

    /// <summary>Keys read straight from configuration rather than through an options class above.</summary>
    public static IReadOnlyList<string> DirectKeys { get; } =
    [
        "ConnectionStrings:Postgres",
        ChannelsDefaultKey,
        "Qianbao:Channels:<name>:Kind",
        // Bound and checked by the channels' own loader (Modules/Channels/ChannelsOptions: one section per configured
        // channel name), which refuses a bad value with the same one line per key.
        "Qianbao:Channels:<name>:BaseUrl",
        "Qianbao:Channels:<name>:Secret",
        "Qianbao:Channels:<name>:TimeoutMs",
        "Qianbao:Channels:<name>:CallbackUrl",
    ];

    /// <summary>The funding channel named by <see cref="ChannelsDefaultKey"/>, <see cref="SandboxChannel"/> when unset.</summary>
    public static string DefaultChannel(IConfiguration configuration) =>
        configuration[ChannelsDefaultKey] is { Length: > 0 } configured ? configured.Trim() : SandboxChannel;

    /// <summary>Every key of every section, nested options walked.</summary>
    public static IEnumerable<OptionKey> Keys() => Sections.SelectMany(s => OptionsRules.Keys(s.Type, s.Path));

    /// <summary>Registers every section: bound, checked by <see cref="OptionsRules"/> at start, resolvable as the plain options object.</summary>
    public static IServiceCollection AddQianbaoOptions(this IServiceCollection services, IConfiguration configuration)
    {
        foreach (var section in Sections) section.Register(services, configuration);
        return services;
    }

    /// <summary>Values the binder cannot convert, over all sections: run before anything binds.</summary>
    public static IReadOnlyList<string> CheckRawValues(IConfiguration configuration) =>
        Sections.SelectMany(s => OptionsRules.CheckRawValues(configuration, s.Type, s.Path)).ToList();

    /// <summary>
    /// <c>AddOptions&lt;T&gt;().Bind(section).ValidateOnStart()</c> with <see cref="OptionsRulesValidator{T}"/>, and
    /// <typeparamref name="T"/> itself as a singleton (<c>IOptions&lt;T&gt;.Value</c>) so consumers keep taking the plain
    /// object. Idempotent, so a module can register its own options for a container of its own too.
    /// </summary>
    public static IServiceCollection AddValidatedOptions<T>(this IServiceCollection services, IConfiguration configuration, string section)
        where T : class
    {
        if (services.Any(d => d.ServiceType == typeof(IValidateOptions<T>) && d.ImplementationInstance is OptionsRulesValidator<T>)) return services;
        services.AddOptions<T>().Bind(configuration.GetSection(section)).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<T>>(new OptionsRulesValidator<T>(section)));
        services.AddSingleton(sp => sp.GetRequiredService<IOptions<T>>().Value);
        return services;
    }

    private static Section For<T>(string path) where T : class =>
        new(path, typeof(T), (services, configuration) => services.AddValidatedOptions<T>(configuration, path));
}
