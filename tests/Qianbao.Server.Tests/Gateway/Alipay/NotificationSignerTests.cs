using System.Text;
using Qianbao.Server.Adapters.Alipay;

namespace Qianbao.Server.Tests.Gateway.Alipay;

public sealed class NotificationSignerTests
{
    private static Dictionary<string, string> Fields() => new()
    {
        ["notify_time"] = "2024-05-13 17:49:20",
        ["notify_type"] = "trade_status_sync",
        ["notify_id"] = "ac05099524730693a8b330c5ecf72da9786",
        ["app_id"] = "2021000122671080",
        ["charset"] = "utf-8",
        ["version"] = "1.0",
        ["trade_no"] = "2024051322001",
        ["out_trade_no"] = "T1",
        ["trade_status"] = "TRADE_SUCCESS",
        ["total_amount"] = "12.30",
        ["subject"] = "中文 & = + 测试",
        ["gmt_refund"] = "",
    };

    /// <summary>Decodes an x-www-form-urlencoded body the way a merchant's web framework does.</summary>
    private static Dictionary<string, string> DecodeForm(string body) =>
        body.Split('&').Select(pair => pair.Split('=', 2)).ToDictionary(
            kv => Uri.UnescapeDataString(kv[0].Replace('+', ' ')),
            kv => Uri.UnescapeDataString(kv[1].Replace('+', ' ')));

    [Fact]
    public void Body_decodes_to_the_fields_plus_sign_type_and_sign_and_verifies()
    {
        var signed = NotificationSigner.Sign(Fields(), TestKeys.Platform);

        var received = DecodeForm(signed.FormBody);
        received["sign_type"].ShouldBe("RSA2");
        received["subject"].ShouldBe("中文 & = + 测试");
        received.ShouldNotContainKey("gmt_refund");
        AlipaySignature.Verify(AlipaySignature.BuildNotifySignContent(received), received["sign"],
            TestKeys.PublicOnly(TestKeys.Platform)).ShouldBeTrue();
    }

    [Fact]
    public void Fields_are_sorted_and_the_body_is_ascii()
    {
        var signed = NotificationSigner.Sign(Fields(), TestKeys.Platform);

        signed.Fields.Select(f => f.Key).ShouldBe(signed.Fields.Select(f => f.Key).Order(StringComparer.Ordinal));
        Encoding.UTF8.GetByteCount(signed.FormBody).ShouldBe(signed.FormBody.Length);
        signed.FormBody.ShouldNotContain(" ");
    }

    [Fact]
    public void Sdk_check_notify_sign_algorithm_accepts_it()
    {
        // A port of alipay-sdk 4.x checkNotifySign: keys sorted with nothing dropped, tried first with sign_type
        // kept and then without. The Node harness runs the real function too.
        var received = DecodeForm(NotificationSigner.Sign(Fields(), TestKeys.Platform).FormBody);
        var sign = received["sign"];
        received.Remove("sign");

        string Content(IDictionary<string, string> args) =>
            string.Join('&', args.Keys.Order(StringComparer.Ordinal).Select(k => $"{k}={args[k]}"));

        var withSignType = AlipaySignature.Verify(Content(received), sign, TestKeys.Platform);
        received.Remove("sign_type");
        var withoutSignType = AlipaySignature.Verify(Content(received), sign, TestKeys.Platform);

        (withSignType || withoutSignType).ShouldBeTrue();
    }

    [Fact]
    public void Tampered_amount_fails()
    {
        var received = DecodeForm(NotificationSigner.Sign(Fields(), TestKeys.Platform).FormBody);
        received["total_amount"] = "1230.00";

        AlipaySignature.Verify(AlipaySignature.BuildNotifySignContent(received), received["sign"], TestKeys.Platform)
            .ShouldBeFalse();
    }

    [Theory]
    [InlineData("sign")]
    [InlineData("sign_type")]
    [InlineData("")]
    public void Reserved_or_empty_names_are_a_bug(string name) =>
        Should.Throw<ArgumentException>(() =>
            NotificationSigner.Sign(new Dictionary<string, string> { [name] = "x" }, TestKeys.Platform));

    [Fact]
    public void Repeated_names_are_a_bug() =>
        Should.Throw<ArgumentException>(() =>
            NotificationSigner.Sign([new("a", "1"), new("a", "2")], TestKeys.Platform));
}
