using System.Text;
using Qianbao.Server.Modules.Channels;

namespace Qianbao.Server.Tests.Channels;

/// <summary>The <c>X-Qianbao-Signature</c> scheme: HMAC-SHA256 over "&lt;t&gt;.&lt;raw body&gt;", 5-minute replay window.</summary>
public sealed class ChannelSignatureTests
{
    private static readonly byte[] Key = Encoding.UTF8.GetBytes("0123456789abcdef0123456789abcdef");
    private static readonly byte[] Body = Encoding.UTF8.GetBytes("{\"order_id\":\"0190f5a0-0000-7000-8000-000000000001\",\"status\":\"succeeded\"}");
    private static readonly DateTimeOffset Now = new(2026, 3, 1, 12, 0, 0, TimeSpan.Zero);

    [Fact]
    public void MatchesAnIndependentComputation()
    {
        var t = Now.ToUnixTimeSeconds();
        var expected = Convert.ToHexStringLower(System.Security.Cryptography.HMACSHA256.HashData(Key, Encoding.UTF8.GetBytes($"{t}.").Concat(Body).ToArray()));
        ChannelSignature.Sign(Key, t, Body).ShouldBe($"t={t},v1={expected}");
        ChannelSignature.Verify(Key, $"t={t},v1={expected}", Body, Now).ShouldBe(SignatureCheck.Valid);
    }

    [Fact]
    public void TheWindowIsFiveMinutesEitherWay()
    {
        var t = Now.ToUnixTimeSeconds();
        var header = ChannelSignature.Sign(Key, t, Body);
        ChannelSignature.Verify(Key, header, Body, Now.AddSeconds(300)).ShouldBe(SignatureCheck.Valid);
        ChannelSignature.Verify(Key, header, Body, Now.AddSeconds(301)).ShouldBe(SignatureCheck.Stale);
        ChannelSignature.Verify(Key, header, Body, Now.AddSeconds(-300)).ShouldBe(SignatureCheck.Valid);
        ChannelSignature.Verify(Key, header, Body, Now.AddSeconds(-301)).ShouldBe(SignatureCheck.Stale);
    }

    [Fact]
    public void AnotherTimestampOrBodyOrKeyDoesNotVerify()
    {
        var t = Now.ToUnixTimeSeconds();
        var mac = ChannelSignature.Sign(Key, t, Body).Split(",v1=")[1];
        // Moving the timestamp into the window does not help: it is inside the MAC.
        ChannelSignature.Verify(Key, $"t={t + 1},v1={mac}", Body, Now).ShouldBe(SignatureCheck.Invalid);
        ChannelSignature.Verify(Key, $"t={t},v1={mac}", [.. Body, (byte)' '], Now).ShouldBe(SignatureCheck.Invalid);
        ChannelSignature.Verify(Encoding.UTF8.GetBytes("another key of enough length 0000"), $"t={t},v1={mac}", Body, Now).ShouldBe(SignatureCheck.Invalid);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("v1=00")]
    [InlineData("t=1772366400")]
    [InlineData("t=-1,v1=0000000000000000000000000000000000000000000000000000000000000000")]
    [InlineData("t=1772366400,v1=zz00000000000000000000000000000000000000000000000000000000000000")]
    [InlineData("t=1772366400,t=1772366400,v1=0000000000000000000000000000000000000000000000000000000000000000")]
    [InlineData("garbage")]
    public void MalformedHeadersAreInvalid(string? header) =>
        ChannelSignature.Verify(Key, header, Body, Now).ShouldBe(SignatureCheck.Invalid);

    [Fact]
    public void OneMatchingV1AmongSeveralIsEnough()
    {
        var header = ChannelSignature.Sign(Key, Now.ToUnixTimeSeconds(), Body);
        var rotated = header.Replace("v1=", "v1=" + new string('0', 64) + ",v1=");
        ChannelSignature.Verify(Key, rotated, Body, Now).ShouldBe(SignatureCheck.Valid);
    }
}
