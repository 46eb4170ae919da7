using System.Collections.Concurrent;
using System.Collections.Frozen;
using Fluid;
using Fluid.Ast;

namespace Qianbao.Server.Modules.Notifications;

/// <summary>
/// The built-in title and body of each notification type in zh-CN (the default) and en, in Liquid (<c>{{ amount }}</c>),
/// rendered with Fluid from the request's variables: a safe template language (no code execution, no member access
/// beyond the given strings). Operators may replace a type's texts per locale (<see cref="TemplateStore"/>).
/// </summary>
internal static class NotificationTemplates
{
    public const string DefaultLocale = "zh-CN";
    public static readonly IReadOnlyList<string> Locales = ["zh-CN", "en"];

    private static readonly FrozenDictionary<(string Type, string Locale), (string Title, string Body)> Texts =
        new Dictionary<(string, string), (string, string)>
        {
            [("trade_paid", "zh-CN")] = ("付款成功", "您在{{ merchant }}付款 ¥{{ amount }}"),
            [("trade_paid", "en")] = ("Payment made", "You paid ¥{{ amount }} at {{ merchant }}"),
            [("trade_refunded", "zh-CN")] = ("退款到账", "{{ merchant }}退款 ¥{{ amount }} 已到账"),
            [("trade_refunded", "en")] = ("Refund received", "{{ merchant }} refunded ¥{{ amount }}"),
            [("transfer_sent", "zh-CN")] = ("转账成功", "您向{{ counterparty }}转账 ¥{{ amount }}"),
            [("transfer_sent", "en")] = ("Transfer sent", "You sent ¥{{ amount }} to {{ counterparty }}"),
            [("transfer_received", "zh-CN")] = ("收到转账", "{{ counterparty }}向您转账 ¥{{ amount }}"),
            [("transfer_received", "en")] = ("Money received", "{{ counterparty }} sent you ¥{{ amount }}"),
            [("top_up_succeeded", "zh-CN")] = ("充值成功", "充值 ¥{{ amount }} 已到账"),
            [("top_up_succeeded", "en")] = ("Top-up done", "Your top-up of ¥{{ amount }} arrived"),
            [("top_up_failed", "zh-CN")] = ("充值失败", "充值 ¥{{ amount }} 未成功"),
            [("top_up_failed", "en")] = ("Top-up failed", "Your top-up of ¥{{ amount }} did not go through"),
            [("withdrawal_succeeded", "zh-CN")] = ("提现成功", "提现 ¥{{ amount }} 已转出"),
            [("withdrawal_succeeded", "en")] = ("Withdrawal done", "Your withdrawal of ¥{{ amount }} was paid out"),
            [("withdrawal_failed", "zh-CN")] = ("提现失败", "提现 ¥{{ amount }} 未成功，资金已退回余额"),
            [("withdrawal_failed", "en")] = ("Withdrawal failed", "Your withdrawal of ¥{{ amount }} failed; the money is back in your balance"),
            [("red_packet_received", "zh-CN")] = ("领到红包", "您领到{{ counterparty }}的红包 ¥{{ amount }}"),
            [("red_packet_received", "en")] = ("Red packet received", "You got ¥{{ amount }} from {{ counterparty }}'s red packet"),
            [("red_packet_returned", "zh-CN")] = ("红包退回", "红包未领完，¥{{ amount }} 已退回余额"),
            [("red_packet_returned", "en")] = ("Red packet returned", "¥{{ amount }} of your red packet was not claimed and is back in your balance"),
            [("cashback_posted", "zh-CN")] = ("返现到账", "返现 ¥{{ amount }} 已到账"),
            [("cashback_posted", "en")] = ("Cashback received", "¥{{ amount }} cashback arrived in your balance"),
            [("coupon_expiring", "zh-CN")] = ("优惠券即将过期", "您的{{ coupon }}优惠券将于 {{ expires }}（北京时间）过期，请尽快使用"),
            [("coupon_expiring", "en")] = ("Coupon expiring", "Your {{ coupon }} coupon expires at {{ expires }} (China time)"),
            [("points_expiring", "zh-CN")] = ("积分即将过期", "您有 {{ points }} 积分将于 {{ expires }}（北京时间）过期"),
            [("points_expiring", "en")] = ("Points expiring", "{{ points }} of your points expire at {{ expires }} (China time)"),
            [("complaint_replied", "zh-CN")] = ("投诉有新回复", "客服回复了您的投诉"),
            [("complaint_replied", "en")] = ("Complaint update", "Support replied to your complaint"),
            [("complaint_resolved", "zh-CN")] = ("投诉已处理", "您的投诉已处理：{{ decision }}"),
            [("complaint_resolved", "en")] = ("Complaint resolved", "Your complaint was resolved: {{ decision }}"),
            [("new_device_login", "zh-CN")] = ("新设备登录", "您的账户在新设备 {{ device }} 上登录。如非本人操作，请立即修改密码。"),
            [("new_device_login", "en")] = ("New device sign-in", "Your account was signed in on a new device ({{ device }}). If this was not you, change your password now."),
            [("password_changed", "zh-CN")] = ("登录密码已修改", "您的登录密码已修改。如非本人操作，请立即联系客服。"),
            [("password_changed", "en")] = ("Password changed", "Your password was changed. If this was not you, contact support now."),
            [("pin_changed", "zh-CN")] = ("支付密码已设置", "您的支付密码已设置。如非本人操作，请立即联系客服。"),
            [("pin_changed", "en")] = ("Payment PIN set", "Your payment PIN was set. If this was not you, contact support now."),
            [("pin_locked", "zh-CN")] = ("支付密码已锁定", "支付密码错误次数过多，已锁定至 {{ until }}（北京时间）。"),
            [("pin_locked", "en")] = ("Payment PIN locked", "Too many wrong payment PINs: payments are locked until {{ until }} (China time)."),
            [("large_transfer", "zh-CN")] = ("大额转账提醒", "您向{{ counterparty }}转账 ¥{{ amount }}。如非本人操作，请立即联系客服。"),
            [("large_transfer", "en")] = ("Large transfer", "You sent ¥{{ amount }} to {{ counterparty }}. If this was not you, contact support now."),
            [("session_revoked", "zh-CN")] = ("登录已退出", "您的一个登录设备已被退出。如非本人操作，请立即修改密码。"),
            [("session_revoked", "en")] = ("Session signed out", "One of your sessions was signed out. If this was not you, change your password now."),
        }.ToFrozenDictionary();

    public static string Supported(string? locale) => locale is not null && Locales.Contains(locale) ? locale : DefaultLocale;

    public static bool Has(string type, string locale) => Texts.ContainsKey((type, locale));

    public static IEnumerable<string> Types => Texts.Keys.Select(k => k.Type).Distinct();

    /// <summary>The built-in texts of a type in a locale, or null.</summary>
    public static (string Title, string Body)? Default(string type, string locale) =>
        Texts.TryGetValue((type, locale), out var t) ? t : null;

    private static readonly FluidParser Parser = new();
    private static readonly ConcurrentDictionary<string, IFluidTemplate> Parsed = new(StringComparer.Ordinal);
    private static readonly TemplateOptions Options = new();

    /// <summary>
    /// The variables a type's templates may use: those its built-in texts use (in any locale). An operator's edit may use no
    /// others, so a template cannot ask for data the notification does not carry.
    /// </summary>
    public static readonly FrozenDictionary<string, FrozenSet<string>> Variables = Texts
        .GroupBy(p => p.Key.Type)
        .ToFrozenDictionary(g => g.Key, g => g.SelectMany(p => UsedVariables(p.Value.Title)!.Concat(UsedVariables(p.Value.Body)!)).ToFrozenSet(StringComparer.Ordinal));

    /// <summary>The rendered built-in texts, or null for a type without a template (then the request must carry its own).</summary>
    public static (string Title, string Body)? Render(string type, string locale, IReadOnlyDictionary<string, string>? variables) =>
        Texts.TryGetValue((type, Supported(locale)), out var t) ? (Fill(t.Title, variables), Fill(t.Body, variables)) : null;

    /// <summary>
    /// Renders a Liquid text (Fluid: no code execution, only the given string variables; output not HTML-encoded, these are
    /// plain texts). A variable not given renders empty. A text that does not parse is returned as written. A text of only
    /// plain runs and <c>{{ name }}</c> of a notification variable (every built-in text) is filled by concatenation
    /// instead, to the same characters (<see cref="SimpleText"/>): Fluid's context and renderer cost several µs a text.
    /// </summary>
    public static string Fill(string text, IReadOnlyDictionary<string, string>? variables) =>
        SimpleOf(text) is { } simple ? simple.Fill(variables) : FillWithFluid(text, variables);

    /// <summary><see cref="Fill"/> always by Fluid (the reference the plain substitution is tested against).</summary>
    internal static string FillWithFluid(string text, IReadOnlyDictionary<string, string>? variables)
    {
        if (!Parsed.TryGetValue(text, out var template))
        {
            if (!Parser.TryParse(text, out template, out _)) return text;
            // Bounded like the plain splits: a text past the bound is parsed again each time rather than kept.
            if (Parsed.Count < SimpleTextsMax) Parsed.TryAdd(text, template);
        }
        var context = new TemplateContext(Options);
        if (variables is not null)
            foreach (var (name, value) in variables) context.SetValue(name, value);
        return template.Render(context, NullEncoder.Default);
    }

    /// <summary>Most texts whose split (or its absence), and whose Fluid parse, is kept: the built-in ones and the operators' edits, not one per text ever seen.</summary>
    private const int SimpleTextsMax = 4096;

    private static readonly ConcurrentDictionary<string, SimpleText?> SimpleTexts = new(StringComparer.Ordinal);

    /// <summary>
    /// The names a plain substitution may fill: the notification variables. Not any identifier: some are Liquid literals
    /// (<c>{{ empty }}</c>, <c>{{ true }}</c>, <c>{{ nil }}</c>), which Fluid renders as such.
    /// </summary>
    private static readonly FrozenSet<string> SimpleNames = Variables.Values.SelectMany(v => v).ToFrozenSet(StringComparer.Ordinal);

    /// <summary>The text split for plain substitution, or null when Fluid must render it.</summary>
    internal static SimpleText? SimpleOf(string text)
    {
        if (SimpleTexts.TryGetValue(text, out var known)) return known;
        var split = SimpleText.Split(text, SimpleNames);
        if (SimpleTexts.Count < SimpleTextsMax) SimpleTexts.TryAdd(text, split);
        return split;
    }

    /// <summary>
    /// A text that is plain runs and <c>{{ name }}</c> tags only (<see cref="Literals"/> has one more element than
    /// <see cref="Names"/>, which alternate with it). What Fluid does with such a text, and so what <see cref="Fill"/> does:
    /// each run is copied as written, each tag is the variable's value as given (no encoding, no trimming), or nothing when the
    /// variable is not given. Accepted only in the strictest form: a run with no brace at all (so no other tag, no
    /// <c>{%</c>, no stray <c>}}</c>), a tag of two braces, spaces, a known name, spaces, two braces (no filter, no member,
    /// no <c>{{-</c> trimming); anything else is left to Fluid.
    /// </summary>
    internal sealed class SimpleText(string[] literals, string[] names)
    {
        public IReadOnlyList<string> Literals => literals;

        public IReadOnlyList<string> Names => names;

        public static SimpleText? Split(string text, IReadOnlySet<string> known)
        {
            var literals = new List<string>();
            var names = new List<string>();
            var at = 0;
            while (true)
            {
                var open = text.IndexOf("{{", at, StringComparison.Ordinal);
                var run = open < 0 ? text[at..] : text[at..open];
                if (run.AsSpan().IndexOfAny('{', '}') >= 0) return null;
                literals.Add(run);
                if (open < 0) break;
                var close = text.IndexOf("}}", open + 2, StringComparison.Ordinal);
                if (close < 0) return null;
                var name = text.AsSpan(open + 2, close - open - 2).Trim(' ');
                if (!known.Contains(name.ToString())) return null;
                names.Add(name.ToString());
                at = close + 2;
            }
            Qianbao.Ledger.Invariant.That(literals.Count == names.Count + 1, "a split text alternates runs and names, starting and ending with a run");
            return new SimpleText([.. literals], [.. names]);
        }

        public string Fill(IReadOnlyDictionary<string, string>? variables)
        {
            if (names.Length == 0) return literals[0];
            var values = new string[names.Length];
            var length = 0;
            for (var i = 0; i < names.Length; i++)
            {
                values[i] = variables is not null && variables.TryGetValue(names[i], out var v) ? v ?? "" : "";
                length += literals[i].Length + values[i].Length;
            }
            length += literals[^1].Length;
            return string.Create(length, (literals, values), static (span, state) =>
            {
                var (runs, vals) = state;
                var at = 0;
                for (var i = 0; i < vals.Length; i++)
                {
                    runs[i].CopyTo(span[at..]);
                    at += runs[i].Length;
                    vals[i].CopyTo(span[at..]);
                    at += vals[i].Length;
                }
                runs[^1].CopyTo(span[at..]);
            });
        }
    }

    /// <summary>The variable names <paramref name="text"/> reads, or null when it is not valid Liquid (<paramref name="error"/> says why).</summary>
    public static IReadOnlySet<string>? UsedVariables(string text) => UsedVariables(text, out _);

    public static IReadOnlySet<string>? UsedVariables(string text, out string? error)
    {
        if (!Parser.TryParse(text, out var template, out error)) return null;
        var visitor = new VariableCollector();
        visitor.VisitTemplate(template);
        return visitor.Names;
    }

    /// <summary>The SMS text of a notification: the body under the sender's signature.</summary>
    public static string SmsText(string locale, string body) => Supported(locale) == "en" ? "[Qianbao] " + body : "【钱包】" + body;

    /// <summary>Collects the first segment of every member expression ({{ a.b }} reads a).</summary>
    private sealed class VariableCollector : AstVisitor
    {
        public HashSet<string> Names { get; } = new(StringComparer.Ordinal);

        protected override Expression VisitMemberExpression(MemberExpression memberExpression)
        {
            if (memberExpression.Segments.FirstOrDefault() is IdentifierSegment first) Names.Add(first.Identifier);
            return base.VisitMemberExpression(memberExpression);
        }
    }
}
