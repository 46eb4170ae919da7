namespace Qianbao.Server.Adapters.Alipay;

/// <summary>The top-level <c>code</c> values of Alipay OpenAPI v2 responses.</summary>
internal static class GatewayCodes
{
    public const string Success = "10000";

    /// <summary>
    /// <c>alipay.trade.pay</c> only: the trade is created and waits for the buyer to confirm in their wallet; the merchant
    /// queries for the outcome. Not a failure (no <c>sub_code</c>), not in <see cref="GatewayErrors.Messages"/>'s table of
    /// errors; its msg is <see cref="PaymentInProcessMsg"/>.
    /// </summary>
    public const string PaymentInProcess = "10003";
    public const string PaymentInProcessMsg = "order success pay inprocess";
    public const string ServiceUnavailable = "20000";
    public const string InsufficientTokenPermissions = "20001";
    public const string MissingArguments = "40001";
    public const string InvalidArguments = "40002";
    public const string BusinessFailed = "40004";
    /// <summary>Flow control. Not in <see cref="GatewayErrors.Messages"/> (no method answers it); its msg is <see cref="GatewayLimits.CallLimitedMsg"/>.</summary>
    public const string CallLimited = "40005";
    public const string InsufficientPermissions = "40006";
}

/// <summary>
/// The <c>sub_code</c> values Qianbao emits. Gateway-level ones are Alipay's public error codes; business ones are
/// the <c>ACQ.*</c> trade codes. Spelled exactly as Alipay spells them, including its <c>unknow</c>.
/// </summary>
internal static class GatewaySubCodes
{
    // 20000
    public const string UnknownError = "isp.unknow-error";

    // 20001
    public const string InvalidAuthToken = "aop.invalid-auth-token";

    // 40001
    public const string MissingMethod = "isv.missing-method";
    public const string MissingSignature = "isv.missing-signature";
    public const string MissingSignatureType = "isv.missing-signature-type";
    public const string MissingSignatureKey = "isv.missing-signature-key";
    public const string MissingAppId = "isv.missing-app-id";
    public const string MissingTimestamp = "isv.missing-timestamp";
    public const string MissingVersion = "isv.missing-version";

    // 40002
    public const string InvalidParameter = "isv.invalid-parameter";
    public const string InvalidMethod = "isv.invalid-method";
    public const string InvalidFormat = "isv.invalid-format";
    public const string InvalidSignatureType = "isv.invalid-signature-type";
    public const string InvalidSignature = "isv.invalid-signature";
    public const string InvalidAppId = "isv.invalid-app-id";
    public const string InvalidTimestamp = "isv.invalid-timestamp";
    public const string InvalidCharset = "isv.invalid-charset";
    public const string InvalidEncryptType = "isv.invalid-encrypt-type";

    // 40004 (trade)
    public const string TradeNotExist = "ACQ.TRADE_NOT_EXIST";
    public const string TradeHasSuccess = "ACQ.TRADE_HAS_SUCCESS";
    public const string TradeHasClose = "ACQ.TRADE_HAS_CLOSE";
    public const string BuyerBalanceNotEnough = "ACQ.BUYER_BALANCE_NOT_ENOUGH";

    /// <summary>The buyer's account may not pay (an operator froze it); Alipay's "买家状态非法".</summary>
    public const string BuyerEnableStatusForbid = "ACQ.BUYER_ENABLE_STATUS_FORBID";

    /// <summary>The buyer's daily tier cap would be passed (买家付款日限额超限).</summary>
    public const string BuyerPaymentAmountDayLimitError = "ACQ.BUYER_PAYMENT_AMOUNT_DAY_LIMIT_ERROR";

    /// <summary>The buyer's longer tier cap (the year's, or class I's since opening) would be passed (买家付款月额度超限: Alipay has no year code).</summary>
    public const string BuyerPaymentAmountMonthLimitError = "ACQ.BUYER_PAYMENT_AMOUNT_MONTH_LIMIT_ERROR";
    public const string TradeStatusError = "ACQ.TRADE_STATUS_ERROR";
    public const string RefundAmtNotEqualTotal = "ACQ.REFUND_AMT_NOT_EQUAL_TOTAL";
    public const string SellerBalanceNotEnough = "ACQ.SELLER_BALANCE_NOT_ENOUGH";

    /// <summary>An operator froze the merchant: no trades, payments, refunds or settlements (商家账号被冻结).</summary>
    public const string SellerBeenBlocked = "ACQ.SELLER_BEEN_BLOCKED";
    public const string AcqInvalidParameter = "ACQ.INVALID_PARAMETER";
    public const string PaymentAuthCodeInvalid = "ACQ.PAYMENT_AUTH_CODE_INVALID";
    public const string ContextInconsistent = "ACQ.CONTEXT_INCONSISTENT";

    /// <summary><c>alipay.trade.order.settle</c>: the shares exceed what the trade may still share (分账金额超过最大可分账金额).</summary>
    public const string AllocAmountValidateError = "ACQ.ALLOC_AMOUNT_VALIDATE_ERROR";

    // Marketing (vouchers and member cards): 40004 business failures.
    /// <summary>The merchant's settlement balance does not hold a voucher template's budget (amount × voucher_quantity).</summary>
    public const string InsufficientBalance = "INSUFFICIENT_BALANCE";

    /// <summary>No voucher or card template of that id belongs to the calling merchant.</summary>
    public const string TemplateNotExist = "TEMPLATE_NOT_EXIST";

    /// <summary>The voucher template is outside its publish window (or its campaign stopped or ended).</summary>
    public const string TemplateNotActive = "TEMPLATE_NOT_ACTIVE";

    /// <summary>Every voucher of the template has been sent.</summary>
    public const string VoucherStockNotEnough = "VOUCHER_STOCK_NOT_ENOUGH";

    /// <summary>The user holds as many vouchers of the template as one user may.</summary>
    public const string UserVoucherLimit = "USER_VOUCHER_LIMIT";

    /// <summary>No voucher of that id belongs to the calling merchant's templates.</summary>
    public const string VoucherNotExist = "VOUCHER_NOT_EXIST";

    /// <summary>No wallet user has that id.</summary>
    public const string UserNotExist = "USER_NOT_EXIST";

    /// <summary>No card of that number belongs to the calling merchant's templates.</summary>
    public const string CardNotExist = "CARD_NOT_EXIST";

    /// <summary><c>alipay.open.public.message.single.send</c>: the user does not follow the calling merchant (用户未关注生活号).</summary>
    public const string UserNotFollow = "PUB.USER_NOT_FOLLOW";

    // 40005
    /// <summary>Flow control: the app (or, in Qianbao, the client address) sent more requests than it may.</summary>
    public const string AppCallLimited = "isv.app-call-limited";

    // 40006
    public const string InsufficientIsvPermissions = "isv.insufficient-isv-permissions";
}

/// <summary>The code table: each <see cref="GatewayCodes"/> value with the exact <c>msg</c> text Alipay sends.</summary>
internal static class GatewayErrors
{
    /// <summary>Every code with its msg, in the order of the protocol page.</summary>
    public static readonly IReadOnlyDictionary<string, string> Messages = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        [GatewayCodes.Success] = "Success",
        [GatewayCodes.ServiceUnavailable] = "Service Currently Unavailable",
        [GatewayCodes.InsufficientTokenPermissions] = "Insufficient Token Permissions",
        [GatewayCodes.MissingArguments] = "Missing Required Arguments",
        [GatewayCodes.InvalidArguments] = "Invalid Arguments",
        [GatewayCodes.BusinessFailed] = "Business Failed",
        [GatewayCodes.InsufficientPermissions] = "Insufficient Permissions",
    };

    /// <summary>The msg for a code in the table; an unknown code is a bug in the caller.</summary>
    public static string MsgOf(string code) =>
        Messages.TryGetValue(code, out var msg)
            ? msg
            : throw new ArgumentOutOfRangeException(nameof(code), code, "Not an Alipay gateway code.");

    /// <summary>40002 isv.invalid-signature, with the sub_msg Alipay uses.</summary>
    public static GatewayError InvalidSignature() =>
        GatewayError.InvalidArguments(GatewaySubCodes.InvalidSignature,
            "验签出错，建议检查签名字符串或签名私钥与应用公钥是否匹配");

    /// <summary>40002 isv.invalid-signature-type: RSA when the app does not allow it, or an unknown type.</summary>
    public static GatewayError InvalidSignatureType() =>
        GatewayError.InvalidArguments(GatewaySubCodes.InvalidSignatureType, "无效的签名类型");

    /// <summary>40002 isv.invalid-app-id: no such app, or the app is disabled.</summary>
    public static GatewayError InvalidAppId() =>
        GatewayError.InvalidArguments(GatewaySubCodes.InvalidAppId, "无效的AppID参数");

    /// <summary>40002 isv.invalid-method: a method name Qianbao does not implement.</summary>
    public static GatewayError InvalidMethod() =>
        GatewayError.InvalidArguments(GatewaySubCodes.InvalidMethod, "不存在的方法名");

    /// <summary>40002 isv.invalid-parameter with a sub_msg naming what was wrong.</summary>
    public static GatewayError InvalidParameter(string detail) =>
        GatewayError.InvalidArguments(GatewaySubCodes.InvalidParameter, "参数无效: " + detail);

    /// <summary>20000 isp.unknow-error: our outage; the merchant should query before retrying a payment.</summary>
    public static GatewayError UnknownError() =>
        GatewayError.ServiceUnavailable(GatewaySubCodes.UnknownError, "服务暂不可用");
}
