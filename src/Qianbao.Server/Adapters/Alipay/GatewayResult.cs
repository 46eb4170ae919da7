
namespace Qianbao.Server.Adapters.Alipay;

/// <summary>What a gateway method answers: success fields (after code/msg) or an error, with optional echo fields.</summary>
internal readonly record struct GatewayResult(GatewayError? Error, IReadOnlyList<KeyValuePair<string, object?>> Fields)
{
    public static GatewayResult Success(params KeyValuePair<string, object?>[] fields) => new(null, fields);

    public static GatewayResult Fail(GatewayError error, params KeyValuePair<string, object?>[] fields) => new(error, fields);

    public static GatewayResult Business(string subCode, string subMsg, params KeyValuePair<string, object?>[] fields) =>
        new(GatewayError.BusinessFailed(subCode, subMsg), fields);

    public static GatewayResult InvalidParameter(string subMsg) =>
        new(GatewayError.InvalidArguments(GatewaySubCodes.InvalidParameter, subMsg), []);

    public static GatewayResult MissingParameter(string name) =>
        new(GatewayError.MissingArguments("isv.missing-parameter", $"缺少必选参数 {name}"), []);
}

internal static class Field
{
    public static KeyValuePair<string, object?> Of(string name, object? value) => new(name, value);
}
