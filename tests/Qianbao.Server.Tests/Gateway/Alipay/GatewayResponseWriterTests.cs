using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Qianbao.Server.Adapters.Alipay;

namespace Qianbao.Server.Tests.Gateway.Alipay;

public sealed partial class GatewayResponseWriterTests
{
    private readonly GatewayResponseWriter _writer = new(TestKeys.Platform);

    /// <summary>
    /// A line-by-line port of alipay-sdk 4.x <c>AlipaySdk.getSignStr</c> (dist/esm/alipay.js), including its quirk
    /// of applying an index from the original string to the already-shortened one. The Node harness checks the
    /// real thing; this port lets the rules be tested fast and in isolation.
    /// </summary>
    private static string SdkGetSignStr(string originStr, string responseKey)
    {
        var validateStr = originStr.Trim();
        var startIndex = originStr.IndexOf(responseKey + "\"", StringComparison.Ordinal);
        var lastIndex = originStr.LastIndexOf("\"sign\"", StringComparison.Ordinal);
        validateStr = JsSubstring(validateStr, startIndex + responseKey.Length + 1);
        validateStr = JsSubstring(validateStr, 0, lastIndex);
        validateStr = LeadingToBrace().Replace(validateStr, "{");
        validateStr = TrailingAfterBrace().Replace(validateStr, "}");
        return validateStr;
    }

    /// <summary>JavaScript's String.prototype.substring clamps its arguments instead of throwing.</summary>
    private static string JsSubstring(string s, int start, int? end = null)
    {
        var from = Math.Clamp(start, 0, s.Length);
        var to = Math.Clamp(end ?? s.Length, 0, s.Length);
        return from <= to ? s[from..to] : s[to..from];
    }

    [GeneratedRegex("^[^{]*{")]
    private static partial Regex LeadingToBrace();

    [GeneratedRegex("\\}([^}]*)$")]
    private static partial Regex TrailingAfterBrace();

    private static (string Text, JsonElement Root) Parse(byte[] body)
    {
        var text = Encoding.UTF8.GetString(body);
        return (text, JsonDocument.Parse(body).RootElement.Clone());
    }

    private static void ShouldVerifyLikeTheSdk(string body, string responseKey)
    {
        var sign = JsonDocument.Parse(body).RootElement.GetProperty("sign").GetString();
        var signed = SdkGetSignStr(body, responseKey);
        AlipaySignature.Verify(signed, sign, TestKeys.PublicOnly(TestKeys.Platform)).ShouldBeTrue(signed);
    }

    [Fact]
    public void Success_body_has_the_method_key_first_code_and_msg_first_and_sign_last()
    {
        var body = _writer.WriteSuccess("alipay.trade.precreate", new Dictionary<string, object?>
        {
            ["out_trade_no"] = "T1",
            ["qr_code"] = "https://qr.example/abc",
        });

        var (text, root) = Parse(body);
        text.ShouldStartWith("{\"alipay_trade_precreate_response\":{\"code\":\"10000\",\"msg\":\"Success\",");
        text.ShouldEndWith("\"}");
        root.EnumerateObject().Select(p => p.Name).ShouldBe(["alipay_trade_precreate_response", "sign"]);
        var inner = root.GetProperty("alipay_trade_precreate_response");
        inner.GetProperty("out_trade_no").GetString().ShouldBe("T1");
        inner.GetProperty("qr_code").GetString().ShouldBe("https://qr.example/abc");
        text.ShouldNotContain(" ");
    }

    [Fact]
    public void The_signature_covers_exactly_the_inner_object_bytes_as_written()
    {
        var body = _writer.WriteSuccess("alipay.trade.query", new Dictionary<string, object?> { ["trade_status"] = "TRADE_SUCCESS" });

        var text = Encoding.UTF8.GetString(body);
        var start = text.IndexOf(":{", StringComparison.Ordinal) + 1;
        var end = text.LastIndexOf(",\"sign\":", StringComparison.Ordinal);
        var inner = text[start..end];
        var sign = JsonDocument.Parse(body).RootElement.GetProperty("sign").GetString();

        inner.ShouldBe("{\"code\":\"10000\",\"msg\":\"Success\",\"trade_status\":\"TRADE_SUCCESS\"}");
        AlipaySignature.Verify(inner, sign, TestKeys.Platform).ShouldBeTrue();
        AlipaySignature.Verify(inner.Replace("SUCCESS", "CLOSED"), sign, TestKeys.Platform).ShouldBeFalse();
    }

    [Fact]
    public void Chinese_text_is_written_as_raw_utf8_and_round_trips_through_the_sdk_slicing()
    {
        var body = _writer.WriteSuccess("alipay.trade.precreate", new Dictionary<string, object?>
        {
            ["subject"] = "中文 商品 “引号” & <tag> 'q' \"dq\" \\ / 😀",
            ["total_amount"] = AlipayAmount.FormatYuan(1230),
        });

        var text = Encoding.UTF8.GetString(body);
        text.ShouldContain("中文 商品");
        // System.Text.Json still escapes characters outside the Basic Multilingual Plane (the emoji becomes a
        // surrogate-pair escape); the SDK verifies the text it slices either way.
        text.ShouldNotContain("\\u4E2D", Case.Insensitive);
        JsonDocument.Parse(body).RootElement.GetProperty("alipay_trade_precreate_response")
            .GetProperty("subject").GetString().ShouldBe("中文 商品 “引号” & <tag> 'q' \"dq\" \\ / 😀");
        ShouldVerifyLikeTheSdk(text, "alipay_trade_precreate_response");
    }

    [Fact]
    public void Inner_values_that_look_like_the_envelope_do_not_confuse_the_sdk_slicing()
    {
        var body = _writer.WriteSuccess("alipay.trade.precreate", new Dictionary<string, object?>
        {
            ["memo"] = "\"sign\":\"fake\"} alipay_trade_precreate_response\" {",
            ["nested"] = new Dictionary<string, object?> { ["sign"] = "inner sign field", ["list"] = new[] { 1, 2 } },
        });

        ShouldVerifyLikeTheSdk(Encoding.UTF8.GetString(body), "alipay_trade_precreate_response");
    }

    [Fact]
    public void Business_errors_go_under_the_method_key_with_sub_code_and_verify()
    {
        var body = _writer.WriteError("alipay.trade.query",
            GatewayError.BusinessFailed(GatewaySubCodes.TradeNotExist, "交易不存在"),
            new Dictionary<string, object?> { ["out_trade_no"] = "T404" });

        var text = Encoding.UTF8.GetString(body);
        text.ShouldStartWith("{\"alipay_trade_query_response\":{\"code\":\"40004\",\"msg\":\"Business Failed\","
            + "\"sub_code\":\"ACQ.TRADE_NOT_EXIST\",\"sub_msg\":\"交易不存在\",\"out_trade_no\":\"T404\"}");
        ShouldVerifyLikeTheSdk(text, "alipay_trade_query_response");
    }

    [Fact]
    public void Without_a_method_errors_use_error_response()
    {
        var body = _writer.WriteError(null,
            GatewayError.MissingArguments(GatewaySubCodes.MissingMethod, "缺少方法名参数"));

        var (text, root) = Parse(body);
        text.ShouldStartWith("{\"error_response\":{\"code\":\"40001\",\"msg\":\"Missing Required Arguments\"");
        root.GetProperty("sign").GetString().ShouldNotBeNullOrEmpty();
        ShouldVerifyLikeTheSdk(text, "error_response");

        // What the SDK does with it when called for some method: it cannot find the signed text, so verification
        // (validateSign: true) fails. That is why known methods must answer under their own key.
        var sliced = SdkGetSignStr(text, "alipay_trade_precreate_response");
        AlipaySignature.Verify(sliced, root.GetProperty("sign").GetString(), TestKeys.Platform).ShouldBeFalse();
    }

    [Fact]
    public void Nested_values_serialize_with_snake_case_names_and_numbers_stay_numbers()
    {
        var body = _writer.WriteSuccess("alipay.trade.order.settle", new Dictionary<string, object?>
        {
            ["trade_no"] = "2024",
            ["fund_bill_list"] = new[] { new { FundChannel = "ALIPAYACCOUNT", Amount = "0.01" } },
            ["count"] = 3,
            ["flag"] = true,
            ["none"] = null,
            ["node"] = JsonNode.Parse("{\"k\":\"v\"}"),
        });

        var inner = JsonDocument.Parse(body).RootElement.GetProperty("alipay_trade_order_settle_response");
        inner.GetProperty("fund_bill_list")[0].GetProperty("fund_channel").GetString().ShouldBe("ALIPAYACCOUNT");
        inner.GetProperty("count").GetInt32().ShouldBe(3);
        inner.GetProperty("flag").GetBoolean().ShouldBeTrue();
        inner.GetProperty("none").ValueKind.ShouldBe(JsonValueKind.Null);
        inner.GetProperty("node").GetProperty("k").GetString().ShouldBe("v");
    }

    [Theory]
    [InlineData("code")]
    [InlineData("msg")]
    [InlineData("sub_code")]
    [InlineData("sub_msg")]
    [InlineData("")]
    public void Reserved_or_empty_field_names_are_a_bug(string name) =>
        Should.Throw<ArgumentException>(() =>
            _writer.WriteSuccess("alipay.trade.query", new Dictionary<string, object?> { [name] = "x" }));

    [Fact]
    public void Repeated_field_names_are_a_bug() =>
        Should.Throw<ArgumentException>(() => _writer.WriteSuccess("alipay.trade.query",
            [new("a", "1"), new("a", "2")]));

    [Theory]
    [InlineData("alipay\"trade")]
    [InlineData("alipay")]
    [InlineData("Alipay.Trade")]
    public void Malformed_method_names_are_a_bug(string method) =>
        Should.Throw<ArgumentException>(() => _writer.WriteSuccess(method));

    [Fact]
    public void A_success_code_is_not_an_error() =>
        Should.Throw<ArgumentException>(() => _writer.WriteError("alipay.trade.query",
            new GatewayError("10000", "Success", "x", "y")));

    [Fact]
    public void Response_key_replaces_every_dot() =>
        GatewayResponseWriter.ResponseKeyOf("alipay.trade.fastpay.refund.query")
            .ShouldBe("alipay_trade_fastpay_refund_query_response");

    [Fact]
    public void Code_table_matches_alipay_text_exactly()
    {
        GatewayErrors.Messages.ShouldBe(new Dictionary<string, string>
        {
            ["10000"] = "Success",
            ["20000"] = "Service Currently Unavailable",
            ["20001"] = "Insufficient Token Permissions",
            ["40001"] = "Missing Required Arguments",
            ["40002"] = "Invalid Arguments",
            ["40004"] = "Business Failed",
            ["40006"] = "Insufficient Permissions",
        });
        Should.Throw<ArgumentOutOfRangeException>(() => GatewayErrors.MsgOf("40003"));
    }
}
