using System.Text.Json;
using Qianbao.Server.Modules.Identity;
using Qianbao.Server.Modules.Notifications;

namespace Qianbao.Server.Adapters.Alipay.Methods;

/// <summary>
/// <c>alipay.open.public.message.single.send</c> (服务窗 template message): <c>{to_user_id, template:{template_id,
/// context:{head_color, url, action_name, first:{value, color}, keyword1, keyword2, remark}}}</c> to one follower of the
/// calling merchant. It becomes a <c>service</c> notification from that merchant through the notifier, so the person's
/// preferences, quiet hours and a spam block of the merchant apply (held, or recorded and not shown: the call still
/// succeeds, as Alipay's does). The title is <c>first.value</c> (else the <c>action_name</c>), the body the keyword values
/// and the remark, one a line; tapping opens <c>context.url</c> (https only). <c>template_id</c> is kept as the variant
/// (there is no template registry here). A person who does not follow the merchant → 40004 <c>PUB.USER_NOT_FOLLOW</c>;
/// no such user → <c>USER_NOT_EXIST</c>.
/// Idempotent: the optional <c>out_biz_no</c> (≤ 64, the key the gateway's other sending methods take, per merchant) names
/// the message, and without it the request's signature does (the same signed request again, a retry or a replay within
/// the timestamp window, is the same message). A repeat answers success and sends nothing; the same <c>out_biz_no</c> for
/// another person or another text → 40004 <c>ACQ.CONTEXT_INCONSISTENT</c>. (Alipay documents no key for this method;
/// the SDK passes biz_content through unchanged, so a merchant may add it.)
/// </summary>
internal sealed class ServiceMessageSend(ServiceMessages messages, UserDirectory users) : IGatewayMethod
{
    public const int TemplateIdLengthMax = 64;
    public const int ValueLengthMax = 200;
    public const int UrlLengthMax = 1024;
    public const int OutBizNoLengthMax = 64;
    private static readonly string[] Keywords = ["keyword1", "keyword2", "keyword3", "keyword4", "keyword5", "remark"];

    public string Name => "alipay.open.public.message.single.send";

    public async Task<GatewayResult> InvokeAsync(GatewayContext c, CancellationToken ct)
    {
        var b = c.Biz;
        if (b.Require("to_user_id", 32, out var userText) is { } e1) return e1;
        if (b.Optional("out_biz_no", OutBizNoLengthMax, out var outBizNo) is { } e0) return e0;
        if (!b.TryGetProperty("template", out var template)) return GatewayResult.MissingParameter("template");
        if (template.ValueKind == JsonValueKind.String)
        {
            try { template = JsonDocument.Parse(template.GetString()!).RootElement; }
            catch (JsonException) { return GatewayResult.InvalidParameter("参数 template 不合法"); }
        }
        if (template.ValueKind != JsonValueKind.Object) return GatewayResult.InvalidParameter("参数 template 不合法");
        if (template.Require("template_id", TemplateIdLengthMax, out var templateId) is { } e2) return e2;
        if (!template.TryGetProperty("context", out var context)) return GatewayResult.MissingParameter("template.context");
        if (context.ValueKind != JsonValueKind.Object) return GatewayResult.InvalidParameter("参数 template.context 不合法");
        if (context.Optional("action_name", 16, out var actionName) is { } e3) return e3;
        if (context.Optional("url", UrlLengthMax, out var url) is { } e4) return e4;
        if (url is not null && !(Uri.TryCreate(url, UriKind.Absolute, out var u) && u.Scheme == "https"))
            return GatewayResult.InvalidParameter("参数 template.context.url 不合法: https 地址");
        if (Value(context, "first", out var first) is { } e5) return e5;
        var lines = new List<string>();
        foreach (var name in Keywords)
        {
            if (Value(context, name, out var value) is { } e6) return e6;
            if (value is not null) lines.Add(value);
        }
        var title = first ?? actionName;
        if (title is null || lines.Count == 0) return GatewayResult.InvalidParameter("参数 template.context 不合法: 需要 first (或 action_name) 与至少一个 keyword");

        if (!VoucherFields.TryParseId(userText, out var userId) || !await users.ExistsAsync(userId, ct))
            return GatewayResult.Business(GatewaySubCodes.UserNotExist, "用户不存在");
        var body = string.Join('\n', lines);
        var action = url is null ? null : NotificationAction.OpenUrl(url);
        var key = ServiceMessageKeys.DedupeKey(c.App.merchant_id, outBizNo, c.Request.Sign);
        return await messages.SendAsync(c.App.merchant_id, userId, key, title, body, templateId, action, ct) switch
        {
            ServiceMessageOutcome.KeyConflict => GatewayResult.Business(GatewaySubCodes.ContextInconsistent, "out_biz_no 已用于不同的消息"),
            ServiceMessageOutcome.NotFollowing => GatewayResult.Business(GatewaySubCodes.UserNotFollow, "用户未关注该生活号"),
            _ => GatewayResult.Success(),
        };
    }

    /// <summary>A keyword object <c>{value, color}</c> (its value) or absent.</summary>
    private static GatewayResult? Value(JsonElement context, string name, out string? value)
    {
        value = null;
        if (!context.TryGetProperty(name, out var keyword) || keyword.ValueKind == JsonValueKind.Null) return null;
        if (keyword.ValueKind != JsonValueKind.Object) return GatewayResult.InvalidParameter($"参数 template.context.{name} 不合法");
        if (keyword.Optional("value", ValueLengthMax, out value) is { } e) return e;
        return null;
    }
}
