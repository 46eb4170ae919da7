using Qianbao.Server.Modules.Merchants;

namespace Qianbao.Server.Tests.Infrastructure;

/// <summary>Valid unified social credit codes (GB 32100) for tests that register merchants: one per call, random enough not to collide.</summary>
internal static class CreditCodes
{
    /// <summary>A company registered with the market regulator (<c>9</c>, <c>1</c>) in Beijing (<c>110000</c>), a random organisation code, its check character.</summary>
    public static string New()
    {
        Span<char> first17 = stackalloc char[17];
        "91110000".CopyTo(first17);
        for (var i = 8; i < 17; i++) first17[i] = UnifiedSocialCreditCode.Alphabet[Random.Shared.Next(UnifiedSocialCreditCode.Alphabet.Length)];
        return new string(first17) + UnifiedSocialCreditCode.CheckCharacter(first17);
    }
}
