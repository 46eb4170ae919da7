using System.Security.Cryptography;
using System.Text;
using Qianbao.Server.Adapters.Alipay;

namespace Qianbao.Server.Tests.Gateway.Alipay;

public sealed class AlipaySignatureTests
{
    [Fact]
    public void Request_content_drops_sign_and_empty_values_sorts_ordinally_and_keeps_raw_values()
    {
        var content = AlipaySignature.BuildRequestSignContent(new Dictionary<string, string>
        {
            ["timestamp"] = "2024-05-13 17:49:20",
            ["sign"] = "ignored",
            ["sign_type"] = "RSA2",
            ["app_id"] = "2021",
            ["notify_url"] = "",
            ["biz_content"] = """{"subject":"中文 & ="}""",
            ["Z_upper"] = "upper sorts before lower",
            ["method"] = "alipay.trade.precreate",
        });

        content.ShouldBe(
            "Z_upper=upper sorts before lower&app_id=2021&biz_content={\"subject\":\"中文 & =\"}"
            + "&method=alipay.trade.precreate&sign_type=RSA2&timestamp=2024-05-13 17:49:20");
    }

    [Fact]
    public void Notify_content_also_drops_sign_type()
    {
        var content = AlipaySignature.BuildNotifySignContent(new Dictionary<string, string>
        {
            ["trade_status"] = "TRADE_SUCCESS",
            ["sign_type"] = "RSA2",
            ["sign"] = "x",
            ["app_id"] = "2021",
            ["gmt_refund"] = "",
        });

        content.ShouldBe("app_id=2021&trade_status=TRADE_SUCCESS");
    }

    [Fact]
    public void Empty_input_gives_empty_content() =>
        AlipaySignature.BuildRequestSignContent([]).ShouldBe("");

    [Theory]
    [InlineData(AlipaySignType.Rsa2)]
    [InlineData(AlipaySignType.Rsa)]
    public void Sign_then_verify_succeeds_with_the_matching_public_key(AlipaySignType signType)
    {
        var signature = AlipaySignature.Sign("a=1&b=中文", TestKeys.App, signType);
        using var publicKey = TestKeys.PublicOnly(TestKeys.App);

        AlipaySignature.Verify("a=1&b=中文", signature, publicKey, signType).ShouldBeTrue();
    }

    [Fact]
    public void Rsa2_is_sha256_with_pkcs1_v15_padding()
    {
        // Independent of our Sign(): a PKCS#1 v1.5 SHA-256 signature made directly must verify.
        var data = Encoding.UTF8.GetBytes("k=v");
        var signature = Convert.ToBase64String(TestKeys.App.SignData(data, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1));

        AlipaySignature.Verify("k=v", signature, TestKeys.App).ShouldBeTrue();
        AlipaySignature.Verify("k=v", signature, TestKeys.App, AlipaySignType.Rsa).ShouldBeFalse();
    }

    [Fact]
    public void Tampered_content_fails()
    {
        var signature = AlipaySignature.Sign("total_amount=0.01", TestKeys.App);
        AlipaySignature.Verify("total_amount=0.02", signature, TestKeys.App).ShouldBeFalse();
    }

    [Fact]
    public void Tampered_signature_fails()
    {
        var signature = AlipaySignature.Sign("total_amount=0.01", TestKeys.App);
        var bytes = Convert.FromBase64String(signature);
        bytes[10] ^= 0x01;

        AlipaySignature.Verify("total_amount=0.01", Convert.ToBase64String(bytes), TestKeys.App).ShouldBeFalse();
    }

    [Fact]
    public void Signature_by_another_key_fails()
    {
        var signature = AlipaySignature.Sign("a=1", TestKeys.Stranger);
        AlipaySignature.Verify("a=1", signature, TestKeys.App).ShouldBeFalse();
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("not base64!")]
    [InlineData("====")]
    [InlineData("QUJD")] // valid Base64, wrong length for a 2048-bit signature
    [InlineData("QUJD=")]
    [InlineData("\u4e2d\u6587")]
    public void Malformed_signature_returns_false_without_throwing(string? signature) =>
        AlipaySignature.Verify("a=1", signature, TestKeys.App).ShouldBeFalse();

    [Fact]
    public void Over_long_signature_is_refused_before_decoding() =>
        AlipaySignature.Verify("a=1", new string('A', AlipaySignature.SignatureBase64LengthMax + 4), TestKeys.App)
            .ShouldBeFalse();
}
