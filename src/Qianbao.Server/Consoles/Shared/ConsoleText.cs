namespace Qianbao.Server.Consoles.Shared;

/// <summary>
/// Every text a console page shows, in zh-CN and en. Each console keeps its own table (one file per console); a key is
/// looked up across all of them. A missing key is a bug the tests catch (Consoles/ConsoleTextTests), so it shows as
/// the key itself rather than failing the page.
/// </summary>
internal static class ConsoleText
{
    private static readonly IReadOnlyDictionary<string, (string Zh, string En)>[] Tables =
    [
        CommonTexts.Entries,
        Merchant.MerchantTexts.Entries,
        Wallet.WalletTexts.Entries,
        Operator.OperatorTexts.Entries,
    ];

    private static readonly Dictionary<string, (string Zh, string En)> All = Merge();

    public static IEnumerable<string> Keys => All.Keys;

    public static bool Has(string key) => All.ContainsKey(key);

    public static string Get(string key, ConsoleLanguage language) =>
        All.TryGetValue(key, out var text) ? language.IsEnglish ? text.En : text.Zh : key;

    private static Dictionary<string, (string Zh, string En)> Merge()
    {
        var all = new Dictionary<string, (string Zh, string En)>(StringComparer.Ordinal);
        foreach (var table in Tables)
            foreach (var (key, text) in table)
                if (!all.TryAdd(key, text)) throw new InvalidOperationException($"console text key '{key}' is defined twice");
        return all;
    }
}

/// <summary>Texts every console shares: the frame, the home page, common words and form messages.</summary>
internal static class CommonTexts
{
    public static readonly IReadOnlyDictionary<string, (string Zh, string En)> Entries = new Dictionary<string, (string, string)>
    {
        ["app.name"] = ("钱包", "Qianbao"),
        ["app.tagline"] = ("数字钱包平台", "Digital wallet platform"),
        ["home.title"] = ("选择控制台", "Choose a console"),
        ["home.wallet"] = ("钱包", "Wallet"),
        ["home.wallet.about"] = ("充值、付款、转账、红包和消息。", "Top up, pay, send money, red packets and messages."),
        ["home.merchant"] = ("商户中心", "Merchant console"),
        ["home.merchant.about"] = ("入驻、收款码、交易与退款、数据分析、营销。", "Sign up, collection code, trades and refunds, analytics, marketing."),
        ["home.operator"] = ("运营管理", "Operator console"),
        ["home.operator.about"] = ("指标、审核、风控、营销与审计。", "KPIs, reviews, risk, marketing and audit."),
        ["lang.switch"] = ("English", "中文"),
        ["nav.skip"] = ("跳到正文", "Skip to content"),
        ["nav.signout"] = ("退出", "Sign out"),
        ["form.submit"] = ("提交", "Submit"),
        ["form.save"] = ("保存", "Save"),
        ["form.cancel"] = ("取消", "Cancel"),
        ["form.search"] = ("搜索", "Search"),
        ["form.required"] = ("必填", "Required"),
        ["form.error"] = ("未能完成", "Not done"),
        ["form.done"] = ("已完成", "Done"),
        ["list.empty"] = ("暂无记录", "Nothing yet"),
        ["list.more"] = ("更多", "More"),
        ["error.unavailable"] = ("服务暂时不可用，请稍后重试。", "The service is unavailable for a moment; try again."),
        ["error.session"] = ("登录已过期，请重新登录。", "Your session has ended; sign in again."),
    };
}
