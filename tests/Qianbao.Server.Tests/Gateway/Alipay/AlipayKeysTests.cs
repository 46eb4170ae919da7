using System.Security.Cryptography;
using Qianbao.Server.Adapters.Alipay;

namespace Qianbao.Server.Tests.Gateway.Alipay;

public sealed class AlipayKeysTests
{
    private static string Wrap(string base64, int lineLength) =>
        string.Join('\n', base64.Chunk(lineLength).Select(c => new string(c)));

    public static TheoryData<string, string> PrivateKeyForms()
    {
        var key = TestKeys.App;
        var pkcs1 = Convert.ToBase64String(key.ExportRSAPrivateKey());
        var pkcs8 = Convert.ToBase64String(key.ExportPkcs8PrivateKey());
        return new TheoryData<string, string>
        {
            { "PKCS#1 PEM", key.ExportRSAPrivateKeyPem() },
            { "PKCS#8 PEM", key.ExportPkcs8PrivateKeyPem() },
            { "PKCS#1 bare Base64", pkcs1 },
            { "PKCS#8 bare Base64", pkcs8 },
            { "PKCS#1 bare Base64 with line breaks", Wrap(pkcs1, 64) },
            { "PKCS#8 PEM with CRLF and padding", "\r\n  " + key.ExportPkcs8PrivateKeyPem().Replace("\n", "\r\n") + "\r\n" },
        };
    }

    public static TheoryData<string, string> PublicKeyForms()
    {
        var key = TestKeys.App;
        return new TheoryData<string, string>
        {
            { "SPKI PEM", key.ExportSubjectPublicKeyInfoPem() },
            { "PKCS#1 PEM", key.ExportRSAPublicKeyPem() },
            { "SPKI bare Base64", Convert.ToBase64String(key.ExportSubjectPublicKeyInfo()) },
            { "PKCS#1 bare Base64", Convert.ToBase64String(key.ExportRSAPublicKey()) },
            { "SPKI bare Base64 with line breaks", Wrap(Convert.ToBase64String(key.ExportSubjectPublicKeyInfo()), 76) },
        };
    }

    [Theory]
    [MemberData(nameof(PrivateKeyForms))]
    public void Private_keys_load_from_every_form_and_sign_verifiably(string form, string text)
    {
        AlipayKeys.TryImportPrivateKey(text, out var key).ShouldBeTrue(form);
        using (key)
        {
            var signature = AlipaySignature.Sign("a=1", key);
            AlipaySignature.Verify("a=1", signature, TestKeys.App).ShouldBeTrue(form);
        }
    }

    [Theory]
    [MemberData(nameof(PublicKeyForms))]
    public void Public_keys_load_from_every_form_and_verify(string form, string text)
    {
        AlipayKeys.TryImportPublicKey(text, out var key).ShouldBeTrue(form);
        using (key)
        {
            AlipaySignature.Verify("a=1", AlipaySignature.Sign("a=1", TestKeys.App), key).ShouldBeTrue(form);
        }
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("   ")]
    [InlineData("not a key")]
    [InlineData("QUJD")]
    [InlineData("-----BEGIN CERTIFICATE-----\nQUJD\n-----END CERTIFICATE-----")]
    [InlineData("-----BEGIN RSA PRIVATE KEY-----\nQUJD\n-----END RSA PRIVATE KEY-----")]
    public void Garbage_is_refused_without_throwing(string? text)
    {
        AlipayKeys.TryImportPrivateKey(text, out var privateKey).ShouldBeFalse();
        privateKey.ShouldBeNull();
        AlipayKeys.TryImportPublicKey(text, out var publicKey).ShouldBeFalse();
        publicKey.ShouldBeNull();
    }

    [Fact]
    public void A_public_key_is_not_accepted_where_a_private_key_is_expected()
    {
        AlipayKeys.TryImportPrivateKey(TestKeys.App.ExportSubjectPublicKeyInfoPem(), out _).ShouldBeFalse();
        AlipayKeys.TryImportPrivateKey(Convert.ToBase64String(TestKeys.App.ExportSubjectPublicKeyInfo()), out _)
            .ShouldBeFalse();
    }

    [Fact]
    public void Keys_shorter_than_2048_bits_are_refused()
    {
        using var weak = RSA.Create(1024);
        AlipayKeys.TryImportPrivateKey(weak.ExportPkcs8PrivateKeyPem(), out _).ShouldBeFalse();
        AlipayKeys.TryImportPublicKey(weak.ExportSubjectPublicKeyInfoPem(), out _).ShouldBeFalse();
    }

    [Fact]
    public void Exported_public_key_is_bare_spki_base64_that_loads_back()
    {
        var exported = AlipayKeys.ExportPublicKeyBase64(TestKeys.Platform);

        exported.ShouldNotContain("-----");
        exported.ShouldBe(Convert.ToBase64String(TestKeys.Platform.ExportSubjectPublicKeyInfo()));
        using var loaded = AlipayKeys.ImportPublicKey(exported);
        AlipaySignature.Verify("x", AlipaySignature.Sign("x", TestKeys.Platform), loaded).ShouldBeTrue();
    }

    [Fact]
    public void Throwing_import_reports_format_errors() =>
        Should.Throw<FormatException>(() => AlipayKeys.ImportPrivateKey("nope"));
}
