using System.Text.RegularExpressions;

namespace Qianbao.Server.Modules.Channels;

/// <summary>How a configured funding channel is reached.</summary>
internal enum ChannelKind : byte
{
    /// <summary>The built-in simulated bank (<see cref="Qianbao.Server.Channels.SandboxBankChannel"/>).</summary>
    Sandbox = 1,

    /// <summary>A bank connector spoken to over the HTTP protocol of docs/channel-connector-protocol.md.</summary>
    Http = 2,
}

/// <summary>One entry under <c>Qianbao:Channels:&lt;name&gt;</c>.</summary>
internal sealed class ChannelOptions
{
    public const int TimeoutMsMin = 100;
    public const int TimeoutMsMax = 60_000;
    public const int SecretLengthMin = 32;
    public const int SecretLengthMax = 512;

    /// <summary>The section key, lower case; part of the channel's clearing account id and of its callback path.</summary>
    public string Name { get; init; } = "";

    /// <summary><c>sandbox</c> or <c>http</c>.</summary>
    public ChannelKind Kind { get; init; } = ChannelKind.Sandbox;

    /// <summary>http: the connector's base address (absolute http or https URL); orders go to <c>{BaseUrl}/orders</c>.</summary>
    public Uri? BaseUrl { get; init; }

    /// <summary>http: the HMAC-SHA256 key shared with the connector (32..512 characters, used as UTF-8 bytes).</summary>
    public string Secret { get; init; } = "";

    /// <summary>http: bound on one whole exchange with the connector (connect, send, answer), in milliseconds (100..60000).</summary>
    public int TimeoutMs { get; init; } = 5_000;

    /// <summary>http, optional: sent with each order as <c>callback_url</c>, for connectors that do not have it configured.</summary>
    public Uri? CallbackUrl { get; init; }
}

/// <summary>
/// Settings of the funding channels (configuration section <c>Qianbao:Channels</c>): <c>Default</c> names the channel
/// top-ups, withdrawals and merchant payouts use; every other child section is a channel. With no configuration there
/// is one channel, the built-in sandbox bank named <c>sandbox</c> (so the clearing account ids of existing data stay
/// the same). <see cref="Load"/> throws at start on a bad value, naming the key: a server that cannot reach its bank,
/// or that would accept unsigned callbacks, must not start.
/// </summary>
internal sealed partial class ChannelsOptions
{
    public const string SectionName = "Qianbao:Channels";

    /// <summary>A bad setting stops the server with one line naming the key (exit code 78), like every other section.</summary>
    private static Hosting.ConfigurationRefusedException Refuse(string line) => new([line]);
    public const string SandboxName = "sandbox";
    public const int ChannelsMax = 16;

    public string Default { get; init; } = SandboxName;

    /// <summary>Every configured channel by name, including the built-in sandbox.</summary>
    public IReadOnlyDictionary<string, ChannelOptions> Channels { get; init; } = new Dictionary<string, ChannelOptions>();

    public ChannelOptions DefaultChannel => Channels[Default];

    [GeneratedRegex("^[a-z][a-z0-9_-]{0,31}$")]
    private static partial Regex NamePattern();

    /// <summary>Binds and validates <see cref="SectionName"/>; throws <see cref="InvalidOperationException"/> naming the offending key.</summary>
    public static ChannelsOptions Load(IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var section = configuration.GetSection(SectionName);
        var channels = new Dictionary<string, ChannelOptions>(StringComparer.Ordinal)
        {
            // Always present, so orders placed with the sandbox before a switch to a real bank are still reconciled.
            [SandboxName] = new ChannelOptions { Name = SandboxName, Kind = ChannelKind.Sandbox },
        };
        foreach (var child in section.GetChildren())
        {
            if (string.Equals(child.Key, nameof(Default), StringComparison.OrdinalIgnoreCase)) continue;
            var name = child.Key;
            if (!NamePattern().IsMatch(name))
                throw Refuse($"{SectionName}:{name}: a channel name must be 1..32 characters of a-z, 0-9, '_' or '-', starting with a letter.");
            channels[name] = LoadChannel(child, name);
        }

        if (channels.Count > ChannelsMax)
            throw Refuse($"{SectionName}: at most {ChannelsMax} channels may be configured, not {channels.Count}.");
        var defaultName = section[nameof(Default)];
        defaultName = string.IsNullOrWhiteSpace(defaultName) ? SandboxName : defaultName.Trim();
        if (!channels.ContainsKey(defaultName))
            throw Refuse(
                $"{SectionName}:Default names \"{defaultName}\", which is not configured (set {SectionName}:{defaultName}:Kind); configured: {string.Join(", ", channels.Keys)}.");
        return new ChannelsOptions { Default = defaultName, Channels = channels };
    }

    private static ChannelOptions LoadChannel(IConfigurationSection section, string name)
    {
        var prefix = $"{SectionName}:{name}";
        var kindText = section["Kind"];
        var kind = kindText?.Trim().ToLowerInvariant() switch
        {
            null or "" => throw Refuse($"{prefix}:Kind is required: sandbox or http."),
            "sandbox" => ChannelKind.Sandbox,
            "http" => ChannelKind.Http,
            _ => throw Refuse($"{prefix}:Kind must be sandbox or http, not \"{kindText}\"."),
        };
        if (name == SandboxName && kind != ChannelKind.Sandbox)
            throw Refuse($"{prefix}:Kind: the name \"{SandboxName}\" is the built-in sandbox bank; give the http channel another name.");
        if (kind == ChannelKind.Sandbox)
        {
            foreach (var key in new[] { "BaseUrl", "Secret", "TimeoutMs", "CallbackUrl" })
                if (section[key] is not null)
                    throw Refuse($"{prefix}:{key} applies to Kind=http only; the sandbox bank is set under Qianbao:Sandbox.");
            return new ChannelOptions { Name = name, Kind = kind };
        }

        var baseUrl = AbsoluteHttpUrl(section["BaseUrl"], $"{prefix}:BaseUrl", required: true)!;
        var secret = section["Secret"] ?? "";
        if (secret.Length is < ChannelOptions.SecretLengthMin or > ChannelOptions.SecretLengthMax)
            throw Refuse($"{prefix}:Secret is required: the HMAC-SHA256 key shared with the connector, {ChannelOptions.SecretLengthMin}..{ChannelOptions.SecretLengthMax} characters.");
        var timeoutMs = 5_000;
        if (section["TimeoutMs"] is { } timeoutText
            && (!int.TryParse(timeoutText, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out timeoutMs)
                || timeoutMs is < ChannelOptions.TimeoutMsMin or > ChannelOptions.TimeoutMsMax))
            throw Refuse($"{prefix}:TimeoutMs must be {ChannelOptions.TimeoutMsMin}..{ChannelOptions.TimeoutMsMax}, not \"{timeoutText}\".");
        var callbackUrl = AbsoluteHttpUrl(section["CallbackUrl"], $"{prefix}:CallbackUrl", required: false);
        return new ChannelOptions { Name = name, Kind = kind, BaseUrl = baseUrl, Secret = secret, TimeoutMs = timeoutMs, CallbackUrl = callbackUrl };
    }

    private static Uri? AbsoluteHttpUrl(string? text, string key, bool required)
    {
        if (string.IsNullOrWhiteSpace(text))
            return required ? throw Refuse($"{key} is required: the connector's absolute http or https address.") : null;
        if (!Uri.TryCreate(text.Trim(), UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https")
            || !string.IsNullOrEmpty(uri.Query) || !string.IsNullOrEmpty(uri.Fragment) || !string.IsNullOrEmpty(uri.UserInfo))
            throw Refuse($"{key} must be an absolute http or https URL without query, fragment or credentials, not \"{text}\".");
        return uri;
    }
}
