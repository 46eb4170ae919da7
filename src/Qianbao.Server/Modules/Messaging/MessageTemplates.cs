using System.Collections.Frozen;
using System.Globalization;

namespace Qianbao.Server.Modules.Messaging;

/// <summary>Which text a message is. Stored by name in <c>outbound_messages.template</c>; never rename one.</summary>
internal enum MessageTemplate
{
    /// <summary>A one-time code; arguments: code, minutes valid, purpose words.</summary>
    VerificationCode,
    NewDeviceLogin,
    PasswordChanged,
    PinChanged,
    PinLocked,
}

/// <summary>
/// The texts, in zh-CN (the default) and en. Arguments are positional (<c>{0}</c>, <c>{1}</c>) and formatted invariantly.
/// Every template has both locales: a test holds that.
/// </summary>
internal static class MessageTemplates
{
    public const string DefaultLocale = "zh-CN";
    public static readonly IReadOnlyList<string> Locales = ["zh-CN", "en"];

    private static readonly FrozenDictionary<(MessageTemplate, string), string> Texts = new Dictionary<(MessageTemplate, string), string>
    {
        [(MessageTemplate.VerificationCode, "zh-CN")] = "【钱包】验证码 {0}，{1} 分钟内有效，用于{2}。请勿告诉他人。",
        [(MessageTemplate.VerificationCode, "en")] = "[Qianbao] Your code is {0}. It is valid for {1} minutes, to {2}. Never share it.",
        [(MessageTemplate.NewDeviceLogin, "zh-CN")] = "【钱包】您的账户在新设备 {0} 上登录。如非本人操作，请立即修改密码。",
        [(MessageTemplate.NewDeviceLogin, "en")] = "[Qianbao] Your account was signed in on a new device ({0}). If this was not you, change your password now.",
        [(MessageTemplate.PasswordChanged, "zh-CN")] = "【钱包】您的登录密码已修改。如非本人操作，请立即联系客服。",
        [(MessageTemplate.PasswordChanged, "en")] = "[Qianbao] Your password was changed. If this was not you, contact support now.",
        [(MessageTemplate.PinChanged, "zh-CN")] = "【钱包】您的支付密码已设置。如非本人操作，请立即联系客服。",
        [(MessageTemplate.PinChanged, "en")] = "[Qianbao] Your payment PIN was set. If this was not you, contact support now.",
        [(MessageTemplate.PinLocked, "zh-CN")] = "【钱包】支付密码错误次数过多，已锁定至 {0}（北京时间）。",
        [(MessageTemplate.PinLocked, "en")] = "[Qianbao] Too many wrong payment PINs: payments are locked until {0} (China time).",
    }.ToFrozenDictionary();

    /// <summary><paramref name="locale"/> if a text exists in it, else <see cref="DefaultLocale"/>.</summary>
    public static string Supported(string? locale) =>
        locale is not null && Locales.Contains(locale) ? locale : DefaultLocale;

    public static string Render(MessageTemplate template, string locale, params object[] args) =>
        string.Format(CultureInfo.InvariantCulture, Texts[(template, Supported(locale))], args);

    public static bool Has(MessageTemplate template, string locale) => Texts.ContainsKey((template, locale));

    /// <summary>The stored name of a template, snake_case.</summary>
    public static string Name(MessageTemplate template) => template switch
    {
        MessageTemplate.VerificationCode => "verification_code",
        MessageTemplate.NewDeviceLogin => "new_device_login",
        MessageTemplate.PasswordChanged => "password_changed",
        MessageTemplate.PinChanged => "pin_changed",
        MessageTemplate.PinLocked => "pin_locked",
        _ => throw new ArgumentOutOfRangeException(nameof(template), template, null),
    };
}
