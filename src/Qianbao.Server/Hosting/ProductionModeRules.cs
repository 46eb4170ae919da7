using Microsoft.Extensions.Options;
using Qianbao.Server.Adapters.Alipay.Notifications;
using Qianbao.Server.Modules.Identity;
using Qianbao.Server.Modules.Messaging;

namespace Qianbao.Server.Hosting;

/// <summary>
/// What <c>Qianbao:Mode=production</c> refuses at start, so that a production server cannot mint money with the
/// sandbox bank, cannot be steered into the private network by a notify URL, and never invents its own credential.
/// Sandbox mode refuses none of it.
/// </summary>
internal sealed class ProductionModeRules(IConfiguration configuration)
    : IValidateOptions<QianbaoOptions>, IValidateOptions<NotificationOptions>, IValidateOptions<SecurityOptions>, IValidateOptions<SmsOptions>
{
    /// <summary>
    /// A production operator key is a secret from the deployment's secret store, long enough not to be guessed:
    /// 32 characters is 128 bits or more of hex, and <c>openssl rand -hex 32</c> gives 64.
    /// </summary>
    public const int ProductionOperatorKeyLengthMin = 32;

    private const string AllowPrivateNotifyUrlsKey = NotificationOptions.SectionName + ":" + nameof(NotificationOptions.AllowPrivateNotifyUrls);

    /// <summary>
    /// Registers the rules and resolves the mode-dependent default of <c>Qianbao:Gateway:AllowPrivateNotifyUrls</c>
    /// (unset: true in sandbox, false in production). Needs <see cref="OptionsCatalog.AddQianbaoOptions"/>.
    /// </summary>
    public static IServiceCollection Register(IServiceCollection services)
    {
        services.AddSingleton<ProductionModeRules>();
        services.AddSingleton<IValidateOptions<QianbaoOptions>>(sp => sp.GetRequiredService<ProductionModeRules>());
        services.AddSingleton<IValidateOptions<NotificationOptions>>(sp => sp.GetRequiredService<ProductionModeRules>());
        services.AddSingleton<IValidateOptions<SecurityOptions>>(sp => sp.GetRequiredService<ProductionModeRules>());
        services.AddSingleton<IValidateOptions<SmsOptions>>(sp => sp.GetRequiredService<ProductionModeRules>());
        services.AddOptions<NotificationOptions>().PostConfigure<IConfiguration>((notify, configuration) =>
            notify.AllowPrivateNotifyUrls ??= ConfiguredMode(configuration) == QianbaoMode.Sandbox);
        return services;
    }

    public ValidateOptionsResult Validate(string? name, QianbaoOptions options)
    {
        if (options.Mode != QianbaoMode.Production) return ValidateOptionsResult.Success;
        var problems = new List<string>();
        var channel = OptionsCatalog.DefaultChannel(configuration);
        if (IsSandboxChannel(configuration, channel))
        {
            problems.Add($"{OptionsCatalog.ChannelsDefaultKey} must name a real funding channel in production mode (was '{channel}', the sandbox bank, "
                         + "which moves test money only)");
        }
        var key = options.OperatorKey?.Trim();
        if (string.IsNullOrEmpty(key))
        {
            problems.Add($"Qianbao:OperatorKey must be set in production mode (was unset): a production server never generates or prints "
                         + $"its operator credential; give it at least {ProductionOperatorKeyLengthMin} characters from your secret store");
        }
        else if (key.Length < ProductionOperatorKeyLengthMin)
        {
            problems.Add($"Qianbao:OperatorKey must be at least {ProductionOperatorKeyLengthMin} characters in production mode (was {key.Length})");
        }
        return problems.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(problems);
    }

    public ValidateOptionsResult Validate(string? name, NotificationOptions options)
    {
        if (ConfiguredMode(configuration) == QianbaoMode.Production && options.AllowPrivateNotifyUrls == true)
        {
            return ValidateOptionsResult.Fail($"{AllowPrivateNotifyUrlsKey} must be false in production mode (was true): notify URLs to private, "
                                              + "loopback or link-local addresses would let a merchant reach into our network");
        }
        return ValidateOptionsResult.Success;
    }

    public ValidateOptionsResult Validate(string? name, SecurityOptions options)
    {
        if (ConfiguredMode(configuration) != QianbaoMode.Production) return ValidateOptionsResult.Success;
        var problems = new List<string>();
        if (options.Relaxed)
        {
            problems.Add($"{SecurityOptions.SectionName}:{nameof(SecurityOptions.Relaxed)} must be false in production mode (was true): "
                         + "it turns off phone verification, the payment PIN, step-up and the tier limits");
        }
        // Keys generated into the data directory would sit next to the data they protect, and a second process would make its own.
        if (string.IsNullOrWhiteSpace(options.DataKeys))
            problems.Add($"{SecurityOptions.SectionName}:{nameof(SecurityOptions.DataKeys)} must be set in production mode (was unset): personal data is sealed with keys from your secret store");
        if (string.IsNullOrWhiteSpace(options.IndexKey))
            problems.Add($"{SecurityOptions.SectionName}:{nameof(SecurityOptions.IndexKey)} must be set in production mode (was unset): the blind-index key comes from your secret store");
        return problems.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(problems);
    }

    public ValidateOptionsResult Validate(string? name, SmsOptions options) =>
        ConfiguredMode(configuration) == QianbaoMode.Production && options.Provider == SmsProvider.Sandbox
            ? ValidateOptionsResult.Fail($"{SmsOptions.SectionName}:{nameof(SmsOptions.Provider)} must be webhook in production mode (was sandbox): "
                                         + "sandbox messages never reach a phone")
            : ValidateOptionsResult.Success;

    /// <summary>
    /// The mode as configured, read without resolving <see cref="QianbaoOptions"/>: resolving them would validate them,
    /// and their problems would then be reported a second time as problems of the options that asked. An unknown
    /// name counts as the default here; the start-up check refuses it by itself.
    /// </summary>
    public static QianbaoMode ConfiguredMode(IConfiguration configuration) =>
        Enum.TryParse<QianbaoMode>(configuration["Qianbao:Mode"]?.Trim(), ignoreCase: true, out var mode) && Enum.IsDefined(mode) ? mode : QianbaoMode.Sandbox;

    /// <summary>The built-in sandbox bank: a channel whose Kind is <c>sandbox</c>, or the channel named <c>sandbox</c> with no Kind of its own.</summary>
    public static bool IsSandboxChannel(IConfiguration configuration, string channel)
    {
        var kind = configuration[$"Qianbao:Channels:{channel}:Kind"];
        return string.IsNullOrWhiteSpace(kind)
            ? channel.Equals(OptionsCatalog.SandboxChannel, StringComparison.OrdinalIgnoreCase)
            : kind.Trim().Equals(OptionsCatalog.SandboxChannel, StringComparison.OrdinalIgnoreCase);
    }
}
