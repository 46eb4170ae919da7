using System.Security.Cryptography;
using Microsoft.Extensions.Primitives;
using Qianbao.Server.Adapters.Alipay;

namespace Qianbao.Server.Tests.Gateway.Alipay;

public sealed class GatewayRequestTests
{
    private static readonly RSA AppPublicKey = TestKeys.PublicOnly(TestKeys.App);

    private static GatewayError ShouldFail(GatewayParseResult result, string code, string subCode)
    {
        result.IsSuccess.ShouldBeFalse();
        result.Request.ShouldBeNull();
        var error = result.Error!.Value;
        error.Code.ShouldBe(code);
        error.Msg.ShouldBe(GatewayErrors.MsgOf(code));
        error.SubCode.ShouldBe(subCode);
        error.SubMsg.ShouldNotBeNullOrEmpty();
        return error;
    }

    [Fact]
    public void A_valid_sdk_shaped_request_parses_and_its_signature_verifies()
    {
        var result = GatewayRequests.Parse(GatewayRequests.Signed(GatewayRequests.ValidParameters()));

        result.IsSuccess.ShouldBeTrue(result.Error?.SubMsg);
        var request = result.Request;
        request.AppId.ShouldBe("2021000122671080");
        request.Method.ShouldBe("alipay.trade.precreate");
        result.Method.ShouldBe("alipay.trade.precreate");
        request.SignType.ShouldBe(AlipaySignType.Rsa2);
        request.Timestamp.ShouldBe(GatewayRequests.Now);
        request.NotifyUrl.ShouldBe("http://127.0.0.1:8080/notify?a=b&c=d");
        request.ReturnUrl.ShouldBeNull();
        request.BizContent!.Value.GetProperty("subject").GetString().ShouldBe("中文 & = 测试");
        request.SignContent.ShouldNotContain("sign=");
        request.VerifySignature(AppPublicKey).ShouldBeNull();
    }

    [Fact]
    public void All_parameters_in_the_body_also_work()
    {
        var parameters = GatewayRequests.Signed(GatewayRequests.ValidParameters());
        var form = parameters.Select(p => new KeyValuePair<string, StringValues>(p.Key, p.Value)).ToList();

        var result = GatewayRequest.Parse([], form, new FixedTimeProvider(GatewayRequests.Now));

        result.IsSuccess.ShouldBeTrue();
        result.Request.VerifySignature(AppPublicKey).ShouldBeNull();
    }

    [Fact]
    public void Tampered_biz_content_fails_verification()
    {
        var parameters = GatewayRequests.Signed(GatewayRequests.ValidParameters());
        parameters["biz_content"] = parameters["biz_content"].Replace("0.01", "0.02");

        var result = GatewayRequests.Parse(parameters);

        result.IsSuccess.ShouldBeTrue();
        var error = result.Request.VerifySignature(AppPublicKey);
        error.ShouldNotBeNull();
        error.Value.Code.ShouldBe("40002");
        error.Value.SubCode.ShouldBe("isv.invalid-signature");
    }

    [Fact]
    public void Signature_by_another_key_fails_verification()
    {
        var result = GatewayRequests.Parse(GatewayRequests.Signed(GatewayRequests.ValidParameters(), TestKeys.Stranger));

        result.Request!.VerifySignature(AppPublicKey)!.Value.SubCode.ShouldBe("isv.invalid-signature");
    }

    [Fact]
    public void Garbage_signature_fails_verification_without_throwing()
    {
        var parameters = GatewayRequests.ValidParameters();
        parameters["sign"] = "%%%not-base64%%%";

        GatewayRequests.Parse(parameters).Request!.VerifySignature(AppPublicKey)!.Value.SubCode
            .ShouldBe("isv.invalid-signature");
    }

    [Fact]
    public void An_empty_parameter_is_left_out_of_the_signed_content()
    {
        var parameters = GatewayRequests.Signed(GatewayRequests.ValidParameters());
        parameters["return_url"] = "";

        var result = GatewayRequests.Parse(parameters);

        result.Request!.VerifySignature(AppPublicKey).ShouldBeNull();
        result.Request.ReturnUrl.ShouldBeNull();
    }

    [Fact]
    public void Rsa_sha1_is_refused_unless_the_app_allows_it()
    {
        var parameters = GatewayRequests.ValidParameters();
        parameters["sign_type"] = "RSA";
        var result = GatewayRequests.Parse(GatewayRequests.Signed(parameters, signType: AlipaySignType.Rsa));

        result.IsSuccess.ShouldBeTrue();
        result.Request.SignType.ShouldBe(AlipaySignType.Rsa);
        result.Request.VerifySignature(AppPublicKey)!.Value.SubCode.ShouldBe("isv.invalid-signature-type");
        result.Request.VerifySignature(AppPublicKey, allowRsaSha1: true).ShouldBeNull();
    }

    [Theory]
    [InlineData("method", "isv.missing-method")]
    [InlineData("app_id", "isv.missing-app-id")]
    [InlineData("sign_type", "isv.missing-signature-type")]
    [InlineData("sign", "isv.missing-signature")]
    [InlineData("timestamp", "isv.missing-timestamp")]
    [InlineData("version", "isv.missing-version")]
    public void Missing_public_parameters_are_40001(string key, string subCode)
    {
        var parameters = GatewayRequests.Signed(GatewayRequests.ValidParameters());
        parameters.Remove(key);
        ShouldFail(GatewayRequests.Parse(parameters), "40001", subCode);

        // Empty is absent, as in the string-to-sign.
        parameters[key] = "";
        ShouldFail(GatewayRequests.Parse(parameters), "40001", subCode);
    }

    [Fact]
    public void Missing_method_leaves_no_method_to_answer_under()
    {
        var parameters = GatewayRequests.Signed(GatewayRequests.ValidParameters());
        parameters.Remove("method");
        GatewayRequests.Parse(parameters).Method.ShouldBeNull();
    }

    [Fact]
    public void Later_failures_keep_the_method_so_the_response_key_can_be_signed()
    {
        var parameters = GatewayRequests.Signed(GatewayRequests.ValidParameters());
        parameters.Remove("sign");

        GatewayRequests.Parse(parameters).Method.ShouldBe("alipay.trade.precreate");
    }

    [Theory]
    [InlineData("alipay")]
    [InlineData("Alipay.Trade.Pay")]
    [InlineData("alipay..trade")]
    [InlineData(".alipay.trade")]
    [InlineData("alipay.trade.")]
    [InlineData("alipay.trade pay")]
    [InlineData("alipay.trade\"pay")]
    [InlineData("alipay.trade.支付")]
    public void Malformed_method_is_40002_invalid_method_with_no_method_echoed(string method)
    {
        var parameters = GatewayRequests.ValidParameters();
        parameters["method"] = method;
        var result = GatewayRequests.Parse(GatewayRequests.Signed(parameters));

        ShouldFail(result, "40002", "isv.invalid-method");
        result.Method.ShouldBeNull();
    }

    [Fact]
    public void Over_long_method_is_refused()
    {
        var parameters = GatewayRequests.ValidParameters();
        parameters["method"] = "alipay." + new string('a', 122);
        ShouldFail(GatewayRequests.Parse(GatewayRequests.Signed(parameters)), "40002", "isv.invalid-method");
    }

    [Theory]
    [InlineData("app_id", "2021 0001", "40002", "isv.invalid-app-id")]
    [InlineData("sign_type", "rsa2", "40002", "isv.invalid-signature-type")]
    [InlineData("sign_type", "MD5", "40002", "isv.invalid-signature-type")]
    [InlineData("version", "2.0", "40002", "isv.invalid-parameter")]
    [InlineData("charset", "gbk", "40002", "isv.invalid-charset")]
    [InlineData("format", "xml", "40002", "isv.invalid-format")]
    [InlineData("encrypt_type", "AES", "40002", "isv.invalid-encrypt-type")]
    [InlineData("notify_url", "ftp://example.invalid/n", "40002", "isv.invalid-parameter")]
    [InlineData("notify_url", "/relative", "40002", "isv.invalid-parameter")]
    [InlineData("biz_content", "not json", "40002", "isv.invalid-parameter")]
    [InlineData("biz_content", "[1,2]", "40002", "isv.invalid-parameter")]
    [InlineData("biz_content", "\"text\"", "40002", "isv.invalid-parameter")]
    [InlineData("biz_content", "{\"a\":1", "40002", "isv.invalid-parameter")]
    [InlineData("biz_content", "{\"total_amount\":\"0.01\",\"total_amount\":\"100\"}", "40002", "isv.invalid-parameter")]
    public void Invalid_public_parameters_are_refused(string key, string value, string code, string subCode)
    {
        var parameters = GatewayRequests.ValidParameters();
        parameters[key] = value;
        ShouldFail(GatewayRequests.Parse(GatewayRequests.Signed(parameters)), code, subCode);
    }

    [Theory]
    [InlineData("UTF-8")]
    [InlineData("utf-8")]
    public void Charset_is_case_insensitive(string charset)
    {
        var parameters = GatewayRequests.ValidParameters();
        parameters["charset"] = charset;
        GatewayRequests.Parse(GatewayRequests.Signed(parameters)).IsSuccess.ShouldBeTrue();
    }

    [Fact]
    public void Charset_and_format_and_biz_content_are_optional()
    {
        var parameters = GatewayRequests.ValidParameters();
        parameters.Remove("charset");
        parameters.Remove("format");
        parameters.Remove("biz_content");
        var result = GatewayRequests.Parse(GatewayRequests.Signed(parameters));

        result.IsSuccess.ShouldBeTrue();
        result.Request.BizContent.ShouldBeNull();
    }

    [Fact]
    public void Biz_content_nesting_is_bounded()
    {
        var parameters = GatewayRequests.ValidParameters();
        parameters["biz_content"] = "{\"a\":" + string.Concat(Enumerable.Repeat("[", 20))
            + string.Concat(Enumerable.Repeat("]", 20)) + "}";
        ShouldFail(GatewayRequests.Parse(GatewayRequests.Signed(parameters)), "40002", "isv.invalid-parameter");
    }

    [Theory]
    [InlineData(0)]
    [InlineData(15 * 60)]
    [InlineData(-15 * 60)]
    [InlineData(14 * 60 + 59)]
    public void Timestamps_within_15_minutes_are_accepted(int offsetSeconds)
    {
        var parameters = GatewayRequests.ValidParameters(GatewayRequests.Now.AddSeconds(offsetSeconds));
        GatewayRequests.Parse(GatewayRequests.Signed(parameters)).IsSuccess.ShouldBeTrue();
    }

    [Theory]
    [InlineData(15 * 60 + 1)]
    [InlineData(-15 * 60 - 1)]
    [InlineData(8 * 3600)]
    [InlineData(-8 * 3600)]
    public void Timestamps_outside_15_minutes_are_refused(int offsetSeconds)
    {
        var parameters = GatewayRequests.ValidParameters(GatewayRequests.Now.AddSeconds(offsetSeconds));
        ShouldFail(GatewayRequests.Parse(GatewayRequests.Signed(parameters)), "40002", "isv.invalid-timestamp");
    }

    [Fact]
    public void Timestamp_is_read_as_china_time_not_utc()
    {
        // 09:49:20 UTC is 17:49:20 in China; a client that sent UTC wall-clock time is eight hours early.
        var parameters = GatewayRequests.ValidParameters();
        parameters["timestamp"] = "2024-05-13 17:49:20";
        GatewayRequests.Parse(GatewayRequests.Signed(parameters)).IsSuccess.ShouldBeTrue();

        parameters["timestamp"] = "2024-05-13 09:49:20";
        ShouldFail(GatewayRequests.Parse(GatewayRequests.Signed(parameters)), "40002", "isv.invalid-timestamp");
    }

    [Theory]
    [InlineData("2024-05-13T17:49:20")]
    [InlineData("2024-05-13 17:49:20 ")]
    [InlineData(" 2024-05-13 17:49:20")]
    [InlineData("2024-5-13 17:49:20")]
    [InlineData("2024-05-13 17:49")]
    [InlineData("2024-05-13 17:49:20.000")]
    [InlineData("2024/05/13 17:49:20")]
    [InlineData("2024-05-13 24:00:00")]
    [InlineData("2024-02-30 17:49:20")]
    [InlineData("1715593760")]
    [InlineData("0001-01-01 00:00:00")]
    public void Malformed_timestamps_are_refused(string timestamp)
    {
        var parameters = GatewayRequests.ValidParameters();
        parameters["timestamp"] = timestamp;
        ShouldFail(GatewayRequests.Parse(GatewayRequests.Signed(parameters)), "40002", "isv.invalid-timestamp");
    }

    [Fact]
    public void The_skew_window_is_configurable()
    {
        var parameters = GatewayRequests.Signed(GatewayRequests.ValidParameters(GatewayRequests.Now.AddMinutes(3)));
        var options = new GatewayRequestOptions { TimestampSkewMax = TimeSpan.FromMinutes(2) };
        ShouldFail(GatewayRequests.Parse(parameters, options: options), "40002", "isv.invalid-timestamp");
    }

    [Fact]
    public void Duplicate_parameters_fail_before_validation()
    {
        var parameters = GatewayRequests.Signed(GatewayRequests.ValidParameters());
        var (query, form) = GatewayRequests.Split(parameters);
        form.Add(new("app_id", "2021000000000666"));

        var result = GatewayRequest.Parse(query, form, new FixedTimeProvider(GatewayRequests.Now));

        ShouldFail(result, "40002", "isv.invalid-parameter").SubMsg.ShouldContain("app_id");
        result.Method.ShouldBeNull();
    }
}
