namespace Qianbao.Server.Consoles.Operator;

/// <summary>Every text of the operator console (<c>/operator</c>), in zh-CN and en.</summary>
internal static class OperatorTexts
{
    public static readonly IReadOnlyDictionary<string, (string Zh, string En)> Entries = new Dictionary<string, (string, string)>
    {
        // Navigation
        ["op.nav.dashboard"] = ("指标", "KPIs"),
        ["op.nav.users"] = ("用户", "Users"),
        ["op.nav.merchants"] = ("商户审核", "Merchant review"),
        ["op.nav.cases"] = ("风控案件", "AML cases"),
        ["op.nav.complaints"] = ("投诉", "Complaints"),
        ["op.nav.campaigns"] = ("营销活动", "Campaigns"),
        ["op.nav.messaging"] = ("消息活动", "Messaging"),
        ["op.nav.ledger"] = ("账务核对", "Ledger check"),
        ["op.nav.audit"] = ("审计日志", "Audit log"),
        ["op.nav.templates"] = ("消息模板", "Templates"),
        ["op.nav.operators"] = ("运营人员", "Operators"),

        // Login
        ["op.login.title"] = ("运营人员登录", "Operator sign-in"),
        ["op.login.password.title"] = ("邮箱、密码和动态码", "E-mail, password and TOTP code"),
        ["op.login.email"] = ("邮箱", "E-mail"),
        ["op.login.password"] = ("密码", "Password"),
        ["op.login.totp"] = ("动态验证码（6 位）", "Authenticator code (6 digits)"),
        ["op.login.submit"] = ("登录", "Sign in"),
        ["op.login.key.title"] = ("使用运营密钥", "With the operator key"),
        ["op.login.key.about"] = ("初始所有者可使用服务器配置的运营密钥登录。", "The bootstrap owner can sign in with the operator key the server is configured with."),
        ["op.login.key"] = ("运营密钥", "Operator key"),
        ["op.login.key.submit"] = ("用密钥登录", "Sign in with the key"),
        ["op.login.key.missing"] = ("请输入运营密钥。", "Enter the operator key."),
        ["op.logout.about"] = ("退出后需重新登录才能使用运营管理。", "After signing out you need to sign in again to use the operator console."),

        // Dashboard
        ["op.dash.title"] = ("经营指标", "Key figures"),
        ["op.dash.from"] = ("开始日期", "From"),
        ["op.dash.to"] = ("结束日期", "To"),
        ["op.dash.show"] = ("查看", "Show"),
        ["op.dash.registrations"] = ("注册用户", "Registrations"),
        ["op.dash.verified"] = ("实名用户", "Verified users"),
        ["op.dash.dau"] = ("日活（平均）", "DAU (average)"),
        ["op.dash.mau"] = ("月活", "MAU"),
        ["op.dash.gmv"] = ("交易额", "GMV"),
        ["op.dash.churn"] = ("30 天流失率", "30-day churn"),
        ["op.dash.new_merchants"] = ("新增商户", "New merchants"),
        ["op.dash.active_merchants"] = ("活跃商户", "Active merchants"),
        ["op.dash.transactions"] = ("各类交易", "Transactions by type"),
        ["op.dash.transactions.chart"] = ("各类交易金额", "Volume by transaction type"),
        ["op.dash.type"] = ("类型", "Type"),
        ["op.dash.count"] = ("笔数", "Count"),
        ["op.dash.volume"] = ("金额", "Volume"),
        ["op.dash.retention"] = ("周留存", "Weekly retention"),
        ["op.dash.retention.about"] = ("按注册周分组；第 n 周为该组在其第 n 周内活跃的人数。", "Cohorts by registration week; week n is how many of the cohort were active in its n-th week."),
        ["op.dash.cohort"] = ("注册周", "Cohort week"),
        ["op.dash.users"] = ("人数", "Users"),
        ["op.dash.week"] = ("第", "Week"),
        ["op.dash.top_merchants"] = ("交易额最高的商户", "Top merchants"),
        ["op.dash.merchant"] = ("商户", "Merchant"),
        ["op.dash.orders"] = ("订单数", "Orders"),
        ["op.dash.campaigns"] = ("营销投入与回报", "Campaign spend and ROI"),
        ["op.dash.campaign"] = ("活动", "Campaign"),
        ["op.dash.discount"] = ("优惠", "Discount"),
        ["op.dash.cashback"] = ("返现", "Cashback"),
        ["op.dash.spend"] = ("投入", "Spend"),

        // API enum values
        ["op.value.payment"] = ("付款", "Payment"),
        ["op.value.transfer"] = ("转账", "Transfer"),
        ["op.value.top_up"] = ("充值", "Top-up"),
        ["op.value.withdrawal"] = ("提现", "Withdrawal"),
        ["op.value.refund"] = ("退款", "Refund"),
        ["op.value.red_packet"] = ("红包", "Red packet"),
        ["op.value.red_packet_claim"] = ("领红包", "Red packet claimed"),
        ["op.value.cashback"] = ("返现", "Cashback"),
    };
}
