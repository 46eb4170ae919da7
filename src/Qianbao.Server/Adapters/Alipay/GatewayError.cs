namespace Qianbao.Server.Adapters.Alipay;

/// <summary>
/// A failed gateway outcome as Alipay reports it inside the response object: <c>code</c> and <c>msg</c> from the
/// fixed table in <see cref="GatewayErrors"/>, plus the detailed <c>sub_code</c> and human-readable <c>sub_msg</c>.
/// An expected outcome, not an exception.
/// </summary>
/// <param name="Code">One of the <see cref="GatewayCodes"/> values other than <see cref="GatewayCodes.Success"/>.</param>
/// <param name="Msg">The fixed English text that goes with <paramref name="Code"/>.</param>
/// <param name="SubCode">A <see cref="GatewaySubCodes"/> value, e.g. <c>isv.invalid-signature</c>; empty only for <see cref="PaymentInProcess"/> (no sub_code is written).</param>
/// <param name="SubMsg">Free text for the merchant's developer; never secrets.</param>
internal readonly record struct GatewayError(string Code, string Msg, string SubCode, string SubMsg)
{
    /// <summary>10003 without sub_code: the bar-code trade waits for the buyer (not a failure, but not 10000 either).</summary>
    public static GatewayError PaymentInProcess() => new(GatewayCodes.PaymentInProcess, GatewayCodes.PaymentInProcessMsg, "", "");

    /// <summary>20000 Service Currently Unavailable; for our outages, the caller may retry.</summary>
    public static GatewayError ServiceUnavailable(string subCode, string subMsg) =>
        new(GatewayCodes.ServiceUnavailable, GatewayErrors.MsgOf(GatewayCodes.ServiceUnavailable), subCode, subMsg);

    /// <summary>20001 Insufficient Token Permissions.</summary>
    public static GatewayError InsufficientTokenPermissions(string subCode, string subMsg) =>
        new(GatewayCodes.InsufficientTokenPermissions,
            GatewayErrors.MsgOf(GatewayCodes.InsufficientTokenPermissions), subCode, subMsg);

    /// <summary>40001 Missing Required Arguments.</summary>
    public static GatewayError MissingArguments(string subCode, string subMsg) =>
        new(GatewayCodes.MissingArguments, GatewayErrors.MsgOf(GatewayCodes.MissingArguments), subCode, subMsg);

    /// <summary>40002 Invalid Arguments.</summary>
    public static GatewayError InvalidArguments(string subCode, string subMsg) =>
        new(GatewayCodes.InvalidArguments, GatewayErrors.MsgOf(GatewayCodes.InvalidArguments), subCode, subMsg);

    /// <summary>40004 Business Failed, with an <c>ACQ.*</c> sub-code.</summary>
    public static GatewayError BusinessFailed(string subCode, string subMsg) =>
        new(GatewayCodes.BusinessFailed, GatewayErrors.MsgOf(GatewayCodes.BusinessFailed), subCode, subMsg);

    /// <summary>40006 Insufficient Permissions.</summary>
    public static GatewayError InsufficientPermissions(string subCode, string subMsg) =>
        new(GatewayCodes.InsufficientPermissions, GatewayErrors.MsgOf(GatewayCodes.InsufficientPermissions),
            subCode, subMsg);
}
